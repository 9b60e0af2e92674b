"""Crypto sections of an IOS / IOS-XE running-config -> plain records (TTP template).

``parse_crypto_config(text)`` returns a dict of lists keyed by section (see
``templates/config/ios_crypto.ttp``). Secrets (pre-shared keys) are returned as the plain
strings the configuration holds: the caller (``ipsecctl.diag.config``) wraps them at once and
never prints them. Imports nothing from ``ipsecctl``.

Text that is not a running-config at all (no ``interface``/``hostname``/``crypto``/``!`` line)
raises :class:`parsers._engine.ParseError`, so a wrong file gives a clear error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ttp import ttp

from parsers._engine import ParseError

TEMPLATE = Path(__file__).parent / "templates" / "config" / "ios_crypto.ttp"
COMMAND = "show running-config"

_CONFIG_HINT = re.compile(
    r"^(?:hostname |interface |crypto |version |!|end$|ip access-list )", re.M
)
_GLOBALS = {
    "ipsec_lifetime_s": re.compile(
        r"^crypto ipsec security-association lifetime seconds (\d+)", re.M
    ),
    "ipsec_lifetime_kb": re.compile(
        r"^crypto ipsec security-association lifetime kilobytes (\d+)", re.M
    ),
    "aggressive_mode_disabled": re.compile(r"^crypto isakmp aggressive-mode disable", re.M),
    "no_default_policy": re.compile(r"^no crypto isakmp default policy", re.M),
}


def parse_crypto_config(text: str) -> dict[str, Any]:
    """Records of every crypto-related section; empty lists where a section is absent."""
    text = text.replace("\r\n", "\n")
    if not _CONFIG_HINT.search(text):
        first = next((ln for ln in text.splitlines() if ln.strip()), "")
        raise ParseError(COMMAND, first, 1, "not an IOS running-config")
    parser = ttp(data=text, template=TEMPLATE.read_text())
    parser.parse()
    raw = parser.result()[0][0] if parser.result() and parser.result()[0] else {}
    if not isinstance(raw, dict):
        raw = {}
    out: dict[str, Any] = {}
    for key in (
        "isakmp_policies",
        "isakmp_keys",
        "keyrings",
        "isakmp_profiles",
        "ikev2_proposals",
        "ikev2_policies",
        "ikev2_keyrings",
        "ikev2_profiles",
        "transform_sets",
        "ipsec_profiles",
        "crypto_maps",
        "acls",
        "numbered_acls",
        "interfaces",
    ):
        value = raw.get(key, [])
        out[key] = value if isinstance(value, list) else [value]
    for grp in out["keyrings"]:
        keys = grp.get("keys", [])
        grp["keys"] = keys if isinstance(keys, list) else [keys]
    for grp in out["ikev2_keyrings"]:
        peers = grp.get("peers", [])
        grp["peers"] = peers if isinstance(peers, list) else [peers]
    glob: dict[str, Any] = {}
    for name, rx in _GLOBALS.items():
        m = rx.search(text)
        glob[name] = (int(m.group(1)) if m.groups() else True) if m else None
    out["globals"] = glob
    return out
