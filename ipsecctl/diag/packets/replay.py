"""RFC 4303 Appendix A anti-replay: the receiver's sliding window, ESN-aware, plus statistics.

The window answers what a receiver with window size W would have done with each packet
(accepted / replay / too_old). The statistics answer what an operator asks after drops:
which sequence numbers never arrived (gaps), how deep reordering went, and the smallest window
that would have accepted every non-duplicate packet (``max reordering depth + 1``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ACCEPTED = "accepted"
REPLAY = "replay"
TOO_OLD = "too_old"

_MASK32 = 0xFFFFFFFF


def estimate_seq_hi(top: int, seq_lo: int, window: int) -> int:
    """RFC 4303 A2.1: infer the high 32 bits of an ESN from the window's top ``top``."""
    w = max(window, 1)
    th, tl = top >> 32, top & _MASK32
    if tl >= w - 1:  # case A: window within one sub-space
        return th if seq_lo >= tl - w + 1 else th + 1
    # case B: window spans two sub-spaces
    return th - 1 if seq_lo >= ((tl - w + 1) & _MASK32) else th


class ReplayWindow:
    """Receiver anti-replay window of ``size`` packets over 64-bit sequence numbers."""

    __slots__ = ("bitmap", "mask", "size", "top")

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.top = 0
        self.bitmap = 0
        self.mask = (1 << size) - 1 if size > 0 else 0

    def seq_hi(self, seq_lo: int) -> int:
        """High half to try for an ESN packet (never negative)."""
        return max(estimate_seq_hi(self.top, seq_lo, self.size), 0)

    def check(self, seq: int) -> str:
        """Verdict for ``seq`` without changing state."""
        if seq > self.top:
            return ACCEPTED
        diff = self.top - seq
        if self.size == 0:
            return ACCEPTED
        if diff >= self.size:
            return TOO_OLD
        return REPLAY if (self.bitmap >> diff) & 1 else ACCEPTED

    def update(self, seq: int) -> str:
        """Check and record ``seq`` (only call for authenticated packets)."""
        top = self.top
        if seq > top:
            shift = seq - top
            self.bitmap = ((self.bitmap << shift) | 1) & self.mask if shift < self.size else 1
            self.top = seq
            return ACCEPTED
        if self.size == 0:
            return ACCEPTED
        diff = top - seq
        if diff >= self.size:
            return TOO_OLD
        bit = 1 << diff
        if self.bitmap & bit:
            return REPLAY
        self.bitmap |= bit
        return ACCEPTED


@dataclass(slots=True)
class SaReplayStats:
    """Per-SA sequence analysis, independent of the window size for gaps and depth."""

    window: ReplayWindow
    packets: int = 0
    replays: int = 0
    too_old: int = 0
    duplicates: int = 0
    max_depth: int = 0
    first_seq: int | None = None
    highest: int = 0
    seen: set[int] = field(default_factory=set)

    def record(self, seq: int) -> str:
        """Feed one authenticated (or unverifiable) packet; returns the window's verdict."""
        self.packets += 1
        if self.first_seq is None:
            self.first_seq = seq
        seen = self.seen
        if seq in seen:
            self.duplicates += 1
        else:
            seen.add(seq)
            if seq < self.highest:
                depth = self.highest - seq
                if depth > self.max_depth:
                    self.max_depth = depth
            else:
                self.highest = seq
        verdict = self.window.update(seq)
        if verdict == REPLAY:
            self.replays += 1
        elif verdict == TOO_OLD:
            self.too_old += 1
        return verdict

    def gaps(self, limit: int = 100) -> tuple[list[list[int]], int]:
        """Missing sequence ranges between the lowest and highest seen ([start, end] inclusive).

        Returns at most ``limit`` ranges, and the total count of missing numbers.
        """
        if not self.seen:
            return [], 0
        ordered = sorted(self.seen)
        ranges: list[list[int]] = []
        missing = 0
        prev = ordered[0]
        for s in ordered[1:]:
            if s > prev + 1:
                missing += s - prev - 1
                if len(ranges) < limit:
                    ranges.append([prev + 1, s - 1])
            prev = s
        return ranges, missing

    def min_window(self) -> int:
        """Smallest window that accepts every non-duplicate packet seen."""
        return self.max_depth + 1

    def as_dict(self) -> dict[str, Any]:
        ranges, missing = self.gaps()
        return {
            "window": self.window.size,
            "packets": self.packets,
            "first_seq": self.first_seq,
            "highest_seq": self.highest if self.packets else None,
            "replays": self.replays,
            "too_old": self.too_old,
            "duplicates": self.duplicates,
            "gaps": ranges,
            "missing": missing,
            "max_reorder_depth": self.max_depth,
            "min_window": self.min_window(),
        }
