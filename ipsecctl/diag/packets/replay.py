"""RFC 4303 Appendix A anti-replay: the receiver's sliding window, ESN-aware, plus statistics.

The window answers what a receiver with window size W would have done with each packet
(accepted / replay / too_old). The statistics answer what an operator asks after drops:
which sequence numbers never arrived (gaps), how deep reordering went, and the smallest window
that would have accepted every non-duplicate packet (``max reordering depth + 1``).
"""

from __future__ import annotations

from bisect import bisect_right
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


MAX_INTERVALS = 65536
"""Runs of received sequence numbers kept per SA before the oldest are folded (memory bound)."""


def _run_length(seqs: list[int], i: int, start: int) -> int:
    """Length of the longest prefix of ``seqs[i:]`` equal to ``start, start + 1, ...``."""
    n = len(seqs) - i
    if n <= 0 or seqs[i] != start:
        return 0
    good, k = 1, 2
    while True:
        k = min(k, n)
        if seqs[i + k - 1] == start + k - 1 and seqs[i : i + k] == list(range(start, start + k)):
            good = k
            if k == n:
                return n
            k *= 2
        else:
            break
    lo, hi = good, k  # seqs[i:i+lo] runs in order, seqs[i:i+hi] does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if seqs[i : i + mid] == list(range(start, start + mid)):
            lo = mid
        else:
            hi = mid
    return lo


VERDICT_JSON = {ACCEPTED: '"accepted"', REPLAY: '"replay"', TOO_OLD: '"too_old"', None: "null"}


@dataclass(slots=True)
class SaReplayStats:
    """Per-SA sequence analysis, independent of the window size for gaps and depth.

    What was received is kept as sorted runs of consecutive numbers (``starts``/``ends``), not
    as a set: in-order traffic is one run whatever the packet count, so a 1 GB capture costs a
    few bytes per gap, not per packet. When an SA has more than :data:`MAX_INTERVALS` separate
    runs the oldest half is folded into one: their gaps stay counted (and listed, up to the
    limit), but a packet that later arrives inside a folded gap -- far behind any window -- is
    neither a duplicate nor a filled gap (``untracked`` counts those).
    """

    window: ReplayWindow
    packets: int = 0
    replays: int = 0
    too_old: int = 0
    duplicates: int = 0
    max_depth: int = 0
    first_seq: int | None = None
    highest: int = 0
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    folded_gaps: list[list[int]] = field(default_factory=list)
    folded_missing: int = 0
    floor: int = -1
    """Numbers at or below this were folded (see the class docstring)."""
    untracked: int = 0

    def _seen(self, seq: int) -> None:
        """Add ``seq`` to the runs; counts duplicates and the reordering depth."""
        starts, ends = self.starts, self.ends
        if ends and seq == ends[-1] + 1:
            ends[-1] = seq
            self.highest = seq
            return
        if not ends or seq > ends[-1]:
            starts.append(seq)
            ends.append(seq)
            self.highest = seq
            if len(starts) > MAX_INTERVALS:
                self._fold()
            return
        if seq <= self.floor and seq >= starts[0]:
            self.untracked += 1
            return
        i = bisect_right(starts, seq) - 1
        if i >= 0 and seq <= ends[i]:
            self.duplicates += 1
            return
        depth = self.highest - seq
        if depth > self.max_depth:
            self.max_depth = depth
        joins_prev = i >= 0 and ends[i] == seq - 1
        joins_next = i + 1 < len(starts) and starts[i + 1] == seq + 1
        if joins_prev and joins_next:
            ends[i] = ends[i + 1]
            del starts[i + 1], ends[i + 1]
        elif joins_prev:
            ends[i] = seq
        elif joins_next:
            starts[i + 1] = seq
        else:
            starts.insert(i + 1, seq)
            ends.insert(i + 1, seq)
            if len(starts) > MAX_INTERVALS:
                self._fold()

    def _fold(self, limit: int = 100) -> None:
        starts, ends = self.starts, self.ends
        k = len(starts) // 2
        for j in range(k):
            lo, hi = ends[j] + 1, starts[j + 1] - 1
            self.folded_missing += hi - lo + 1
            if len(self.folded_gaps) < limit:
                self.folded_gaps.append([lo, hi])
        self.floor = ends[k]
        starts[: k + 1] = [starts[0]]
        ends[: k + 1] = [ends[k]]

    def record(self, seq: int) -> str:
        """Feed one authenticated (or unverifiable) packet; returns the window's verdict."""
        self.packets += 1
        if self.first_seq is None:
            self.first_seq = seq
        self._seen(seq)
        verdict = self.window.update(seq)
        if verdict == REPLAY:
            self.replays += 1
        elif verdict == TOO_OLD:
            self.too_old += 1
        return verdict

    def record_many(self, seqs: list[int]) -> list[tuple[int, str]]:
        """:meth:`record` for a run of packets; returns the verdicts that are not
        ``accepted``, as (index in ``seqs``, verdict as JSON text).

        Why a batch form: the whole capture's window runs in one process, in capture order.
        A run of consecutive numbers continuing the highest one seen is what almost every SA
        sends; such a run is found with list comparisons and applied at once (the window
        slides by its length, every new position received), the rest goes one by one.
        """
        exceptions: list[tuple[int, str]] = []
        win = self.window
        i, n = 0, len(seqs)
        while i < n:
            ends = self.ends
            if ends:
                start = ends[-1] + 1
                k = _run_length(seqs, i, start)
                if k:
                    last = start + k - 1
                    self.packets += k
                    ends[-1] = self.highest = win.top = last
                    if win.size <= 1:
                        win.bitmap = 1
                    elif k >= win.size:
                        win.bitmap = win.mask
                    else:
                        win.bitmap = ((win.bitmap << k) | ((1 << k) - 1)) & win.mask
                    i += k
                    continue
            verdict = self.record(seqs[i])
            if verdict != ACCEPTED:
                exceptions.append((i, VERDICT_JSON[verdict]))
            i += 1
        return exceptions

    def gaps(self, limit: int = 100) -> tuple[list[list[int]], int]:
        """Missing sequence ranges between the lowest and highest seen ([start, end] inclusive).

        Returns at most ``limit`` ranges, and the total count of missing numbers.
        """
        ranges = [list(r) for r in self.folded_gaps[:limit]]
        missing = self.folded_missing
        starts, ends = self.starts, self.ends
        for j in range(len(starts) - 1):
            lo, hi = ends[j] + 1, starts[j + 1] - 1
            missing += hi - lo + 1
            if len(ranges) < limit:
                ranges.append([lo, hi])
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
            "untracked": self.untracked,
        }
