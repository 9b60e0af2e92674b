"""The one jinja2 environment the built-in and the operator's templates render in.

Why sandboxed with ``StrictUndefined`` for both: an operator's template is code someone else
wrote, so it gets no attribute access to Python internals (``jinja2.sandbox``), and a variable
missing from the data is an error instead of an empty string in a device configuration. The
built-in templates render in the same environment so that an operator's template can import
the same blocks (``{% import "blocks/ios.j2" as ios %}``) and get the same spelling.

Filters take the product's vocabulary (strongSwan keywords, prefixes ``A.B.C.D/LEN``) and
write a platform's: ``ios_v1_enc``, ``ios_v2_enc``, ``ios_esp``, ``asa_esp_enc``, ``dh``,
``pfs_word``, ``wildcard``, ``net_mask``, ``ip_mask`` and friends.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from ipsecctl.provision import spelling
from ipsecctl.provision.model import DH_GROUPS


class KeywordError(ValueError):
    """A value a filter cannot spell (named, with the choices)."""


def _table(table: dict[str, str], what: str) -> Callable[[Any], str]:
    def spell(value: Any) -> str:
        key = str(value).lower()
        if key not in table:
            raise KeywordError(f"unknown {what} {value!r} (use one of {', '.join(table)})")
        return table[key]

    spell.__name__ = what.replace(" ", "_")
    return spell


def dh(value: Any) -> int:
    """``ecp256`` -> 19; numbers pass through."""
    text = str(value).lower().removeprefix("group")
    if text.isdigit():
        return int(text)
    if text not in DH_GROUPS:
        raise KeywordError(f"unknown DH group {value!r} (use one of {', '.join(DH_GROUPS)})")
    return DH_GROUPS[text][0]


def pfs_word(value: Any) -> str:
    return f"group{dh(value)}"


def _net(value: Any) -> ipaddress.IPv4Network:
    try:
        net = ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        raise KeywordError(f"{value!r} is not a prefix (A.B.C.D/LEN)") from None
    if not isinstance(net, ipaddress.IPv4Network):
        raise KeywordError(f"{value!r}: only IPv4 prefixes are generated")
    return net


def wildcard(value: Any) -> str:
    """An IOS ACL term: ``host A``, ``any`` or ``A WILDCARD``."""
    net = _net(value)
    if net.prefixlen == 32:
        return f"host {net.network_address}"
    if net.prefixlen == 0:
        return "any"
    return f"{net.network_address} {net.hostmask}"


def net_mask(value: Any) -> str:
    net = _net(value)
    return f"{net.network_address} {net.netmask}"


def ip_mask(value: Any) -> str:
    try:
        iface = ipaddress.ip_interface(str(value))
    except ValueError:
        raise KeywordError(f"{value!r} is not an interface address (A.B.C.D/LEN)") from None
    return f"{iface.ip} {iface.netmask}"


def ios_esp(esp: Any) -> str:
    """Transform-set words for an ESP setting (``encryption``, optional ``integrity``)."""
    enc = _table(spelling.IOS_ESP_ENC, "ESP encryption")(_get(esp, "encryption"))
    integ = _get(esp, "integrity")
    return enc + (f" {_table(spelling.IOS_ESP_INTEG, 'ESP integrity')(integ)}" if integ else "")


def asa_esp_integ(value: Any) -> str:
    if value in (None, "", "null"):
        return "null"
    return _table(spelling.ASA_ESP_INTEG, "ESP integrity")(value)


def as_list(value: Any) -> list[str]:
    """A list from a list, or from words separated by spaces, commas, ';' or '|' (CSV cells)."""
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [w for w in re.split(r"[\s,;|]+", str(value)) if w]


def cross(local: Any, remote: Any) -> list[tuple[str, str]]:
    """Every (local, remote) prefix pair: the crypto ACL of one end (the other mirrors it)."""
    return [(a, b) for a in as_list(local) for b in as_list(remote)]


def _get(obj: Any, name: str) -> Any:
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


FILTERS: dict[str, Callable[..., Any]] = {
    "ios_v1_enc": _table(spelling.IOS_V1_ENC, "IKEv1 encryption"),
    "ios_v1_hash": _table(spelling.IOS_V1_HASH, "IKEv1 hash"),
    "ios_v2_enc": _table(spelling.IOS_V2_ENC, "IKEv2 encryption"),
    "ios_v2_integ": _table(spelling.IOS_V2_INTEG, "IKEv2 integrity"),
    "asa_v2_enc": _table(spelling.ASA_V2_ENC, "IKEv2 encryption"),
    "asa_v2_integ": _table(spelling.ASA_V2_INTEG, "IKEv2 integrity"),
    "asa_esp_enc": _table(spelling.ASA_ESP_ENC, "ESP encryption"),
    "asa_esp_integ": asa_esp_integ,
    "ios_esp": ios_esp,
    "dh": dh,
    "pfs_word": pfs_word,
    "wildcard": wildcard,
    "net_mask": net_mask,
    "ip_mask": ip_mask,
    "as_list": as_list,
    "cross": cross,
}
BUILTIN = Path(__file__).resolve().parent / "templates"


def make_env(search: Sequence[Path] = ()) -> jinja2.Environment:
    """Sandboxed, strict; ``search`` folders first (operator templates), then the built-ins
    (so ``blocks/ios.j2`` and the device templates are always importable)."""
    loader = jinja2.FileSystemLoader([str(p) for p in search] + [str(BUILTIN)])
    env = ImmutableSandboxedEnvironment(
        loader=loader,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # device configuration, not HTML
    )
    env.filters.update(FILTERS)
    return env


_BUILTIN_ENV: jinja2.Environment | None = None


def builtin_env() -> jinja2.Environment:
    """The environment for the device templates (built once; jinja2 environments are
    thread-safe for rendering once configured)."""
    global _BUILTIN_ENV
    if _BUILTIN_ENV is None:
        _BUILTIN_ENV = make_env()
    return _BUILTIN_ENV
