"""How values look to people, once for every view (CLI tables, dashboard, events).

Scripts never see these forms: JSON and CSV carry raw values (integers, seconds, null).
"""

from __future__ import annotations

from collections.abc import Iterable

from ipsecctl.models import Tunnel

# strongSwan keywords of the IANA Diffie-Hellman groups (RFC 3526, 5114, 5903, 7748, 8031)
DH_KEYWORDS: dict[int, str] = {
    1: "modp768",
    2: "modp1024",
    5: "modp1536",
    14: "modp2048",
    15: "modp3072",
    16: "modp4096",
    17: "modp6144",
    18: "modp8192",
    19: "ecp256",
    20: "ecp384",
    21: "ecp521",
    22: "modp1024s160",
    23: "modp2048s224",
    24: "modp2048s256",
    25: "ecp192",
    26: "ecp224",
    27: "ecp224bp",
    28: "ecp256bp",
    29: "ecp384bp",
    30: "ecp512bp",
    31: "curve25519",
    32: "curve448",
}


def fmt_duration(seconds: int | float | None) -> str:
    """Compact age, as k9s shows it: 42s, 5m03s, 3h12m, 2d04h; ``-`` when unknown."""
    if seconds is None:
        return "-"
    s = int(max(0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def fmt_spi(spi: int) -> str:
    return f"0x{spi:08X}"


def fmt_spis(spis: Iterable[int]) -> str:
    return " ".join(fmt_spi(s) for s in spis)


def fmt_dh(group: int | None) -> str:
    """A DH group for people: the strongSwan keyword (the JSON keeps the IANA number)."""
    if group is None:
        return "-"
    return DH_KEYWORDS.get(group, f"group{group}")


def fmt_ts(t: Tunnel, side: str) -> str:
    ts = t.local_ts if side == "local" else t.remote_ts
    return str(ts) if ts else ""


def fmt_count(value: int | None) -> str:
    return "-" if value is None else str(value)


def fmt_rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def rate(previous: int | None, current: int | None, seconds: float) -> float | None:
    """Per-second rate between two polls; a counter that went backwards was reset (a clear,
    a re-key, a reload), so what it counts now is all new since the reset."""
    if previous is None or current is None or seconds <= 0:
        return None
    delta = current - previous
    if delta < 0:
        delta = current
    return delta / seconds


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
