"""One place that knows what a secret looks like, for the audit log, log files and exports.

Two complementary nets: patterns (device config lines and ``key: value`` shapes that carry
PSKs, passwords and session keys) and literal values registered at runtime (the inventory's
passwords), so a secret echoed in some unexpected form (a device banner, an exception message)
is still masked. Redaction is lossy on purpose: it may hide a harmless word that looks like a
key; it must never show a key.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "**********"

# Mapping keys whose values are secrets wherever they appear (audit details, JSON, data).
SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|psk|pre[-_ ]?shared|(^|[-_ ])keys?($|[-_ ])|^keys?$|token"
    r"|credential|authenticator|cipher[-_]?key|session[-_]?key|enc[-_]?key|auth[-_]?key",
    re.IGNORECASE,
)

_V = r"(?:\"[^\"]*\"|'[^']*'|\S+)"  # a value: quoted or one word
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # IOS: crypto isakmp key [0|6|7] <KEY> address|hostname ...
    (
        re.compile(
            r"(\bcrypto\s+isakmp\s+key\s+(?:[067]\s+(?!(?:address|hostname)\b))?)(\S+)", re.I
        ),
        rf"\1{MASK}",
    ),
    # IOS keyrings: pre-shared-key {address [ipv6] A [MASK] | hostname H} key [0|6|7] KEY;
    # IKEv2 keyrings: pre-shared-key [local|remote] [0|6] KEY; ASA: ikev1 pre-shared-key [0|8] KEY
    (
        re.compile(
            r"(\bpre-shared-key\s+(?:(?:address\s+(?:ipv6\s+)?|hostname\s+)\S+"
            r"(?:\s+\d+\.\d+\.\d+\.\d+)?\s+key\s+|(?:local|remote)\s+)?"
            r"(?:[0678]\s+(?=\S))?)(\S+)",
            re.I,
        ),
        rf"\1{MASK}",
    ),
    # Manual SAs: set session-key inbound|outbound esp <spi> cipher <hex> [authenticator <hex>]
    (re.compile(r"(\b(?:cipher|authenticator)\s+)([0-9A-Fa-f]{8,})", re.I), rf"\1{MASK}"),
    (
        re.compile(r"(\bset\s+session-key\s+\S+\s+ah\s+\d+\s+)([0-9A-Fa-f]{8,})", re.I),
        rf"\1{MASK}",
    ),
    # username x secret 9 $9$..., enable secret 5 ..., enable password x, key-string 7 ...
    (
        re.compile(r"(\b(?:secret|password|key-string)\s+(?:[0-9]\s+)?)(?![=:])(\S+)", re.I),
        rf"\1{MASK}",
    ),
    (re.compile(r"(\bip\s+nhrp\s+authentication\s+)(\S+)", re.I), rf"\1{MASK}"),
    (re.compile(r"(\bauthentication-key\s+(?:[0-9]\s+)?)(\S+)", re.I), rf"\1{MASK}"),
    # key = value / key: value / "key": "value" (swanctl secrets, JSON, query strings)
    (
        re.compile(
            r"""(["']?\b[\w-]*(?:password|passwd|secret|psk|passphrase|token|pre[-_]?shared[-_]?key"""
            r"""|session[-_]?key|enc[-_]?key|auth[-_]?key)["']?\s*[=:]\s*)(""" + _V + ")",
            re.I,
        ),
        rf"\1{MASK}",
    ),
    # strongSwan / ESP key material printed as 0x<hex> of 16+ bytes after "key"
    (re.compile(r"(\bkey\b\s*(?:[=:]\s*)?)(0x[0-9A-Fa-f]{32,})", re.I), rf"\1{MASK}"),
)

_registered: set[str] = set()
_lock = threading.Lock()
_MIN_LITERAL = 4  # shorter values would mask ordinary words


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember literal secrets (inventory passwords) so any occurrence of them is masked."""
    with _lock:
        _registered.update(v for v in values if v and len(v) >= _MIN_LITERAL)


def clear_registered() -> None:
    with _lock:
        _registered.clear()


def redact_text(text: str) -> str:
    """Mask every secret the patterns or the registered literals find in ``text``."""
    if not text:
        return text
    for pattern, replacement in _TEXT_PATTERNS:
        text = pattern.sub(replacement, text)
    with _lock:
        literals = sorted(_registered, key=len, reverse=True)
    for literal in literals:
        if literal in text:
            text = text.replace(literal, MASK)
    return text


def is_secret_key(key: object) -> bool:
    return isinstance(key, str) and bool(SECRET_KEY.search(key))


def redact(value: Any) -> Any:
    """A deep copy of ``value`` with secret-named keys masked and every string redacted.

    Objects with a ``get()``-only secret (``inventory.Secret``, pydantic ``SecretStr``) become
    the mask; other objects are left alone (their ``str`` is not ours to trust or change).
    """
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: (MASK if is_secret_key(k) and v not in (None, "", False) else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if type(value).__name__ in ("Secret", "SecretStr", "SecretBytes"):
        return MASK
    return value


def register_host_secrets(hosts: Iterable[Any]) -> None:
    """Register every password and enable secret of inventory hosts (and their jump hosts)."""
    values: list[str] = []
    for host in hosts:
        hop = host
        while hop is not None and not isinstance(hop, str):
            for secret in (getattr(hop, "password", None), getattr(hop, "enable_secret", None)):
                if secret is not None:
                    values.append(secret.get())
            hop = getattr(hop, "jump_host", None)
    register_secrets(values)
