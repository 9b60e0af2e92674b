"""Configuration as a device shows it: startup rendering per family, and the masking and
section filters of ``show running-config``."""

from __future__ import annotations

import re

from ipsecctl.lab.device_config import LAB_TYPE6
from ipsecctl.lab.state import Fleet

ENABLE_HASH = "$9$lab$7xkLj3Pq1Zr"
# ASA masks keys and passwords in show running-config
_ASA_SECRET = re.compile(
    r"^(\s*(?:ikev1 pre-shared-key|ikev2 (?:remote|local)-authentication "
    r"pre-shared-key))\s+\S.*$",
    re.M,
)


def render_startup_config(fleet: Fleet, name: str) -> str:
    if fleet.routers[name].spec.asa:
        from ipsecctl.lab.views_asa_config import running_config as asa_config

        return asa_config(fleet, name)
    from ipsecctl.lab.views_ios_config import running_config as ios_config

    return ios_config(fleet, name, LAB_TYPE6, ENABLE_HASH)


def display(fleet: Fleet, name: str, section: list[str] | None = None) -> str:
    """``show running-config [section...]`` of one device (ASA: keys masked, sections by
    their first words, as ``show running-config crypto map`` does)."""
    text = fleet.running_config(name)
    if not fleet.routers[name].spec.asa:
        return text
    text = _ASA_SECRET.sub(lambda m: f"{m.group(1)} *****", text)
    if not section:
        return text
    prefix = " ".join(section)
    out: list[str] = []
    keep = False
    for line in text.split("\n"):
        if line and not line.startswith(" "):
            keep = line.startswith(prefix + " ") or line == prefix
        if keep:
            out.append(line)
    return "\n".join(out) + ("\n" if out else "")
