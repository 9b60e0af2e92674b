"""How values look to people, once for every view (CLI tables, dashboard, events).

Scripts never see these forms: JSON and CSV carry raw values (integers, seconds, null).
"""

from __future__ import annotations

from collections.abc import Iterable

from ipsecctl.models import Tunnel
from parsers._convert import DH_KEYWORDS as DH_KEYWORDS  # the one table of DH keywords


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
