"""RFC 4303 Appendix A anti-replay window and the per-SA statistics."""

from __future__ import annotations

from ipsecctl.diag.packets.replay import (
    ACCEPTED,
    REPLAY,
    TOO_OLD,
    ReplayWindow,
    SaReplayStats,
    estimate_seq_hi,
)


def _run(seqs: list[int], size: int = 64) -> tuple[list[str], SaReplayStats]:
    st = SaReplayStats(ReplayWindow(size))
    return [st.record(s) for s in seqs], st


def test_duplicates_and_old() -> None:
    verdicts, st = _run([1, 2, 2, 100, 37, 36, 100, 50])
    assert verdicts == [ACCEPTED, ACCEPTED, REPLAY, ACCEPTED, ACCEPTED, TOO_OLD, REPLAY, ACCEPTED]
    assert st.replays == 2 and st.too_old == 1 and st.duplicates == 2


def test_window_edge_is_exact() -> None:
    # With top 64 and W 64, seq 1 is the oldest still inside (64 - 1 = 63 < 64).
    assert _run([64, 1])[0] == [ACCEPTED, ACCEPTED]
    assert _run([65, 1])[0] == [ACCEPTED, TOO_OLD]
    assert _run([65, 1], size=0)[0] == [ACCEPTED, ACCEPTED]  # window off


def test_reordering_depth_min_window_and_gaps() -> None:
    _, st = _run([1, 2, 5, 3, 9, 4, 20, 12, 21])
    assert st.max_depth == 8  # 12 arrived after 20
    assert st.min_window() == 9
    ranges, missing = st.gaps()
    assert ranges == [[6, 8], [10, 11], [13, 19]] and missing == 3 + 2 + 7
    # The smallest window really is the smallest that accepts everything.
    assert all(v == ACCEPTED for v in _run([1, 2, 5, 3, 9, 4, 20, 12, 21], size=9)[0])
    assert TOO_OLD in _run([1, 2, 5, 3, 9, 4, 20, 12, 21], size=8)[0]


def test_large_jump_resets_bitmap() -> None:
    verdicts, _ = _run([1, 2, 10_000_000, 2, 9_999_990])
    assert verdicts == [ACCEPTED, ACCEPTED, ACCEPTED, TOO_OLD, ACCEPTED]


def test_esn_high_bits_estimation_across_wrap() -> None:
    w = 64
    top = 0xFFFFFFF0  # case A, close to the wrap
    assert estimate_seq_hi(top, 0xFFFFFFF5, w) == 0
    assert estimate_seq_hi(top, 0x00000003, w) == 1  # wrapped: next sub-space
    top = (1 << 32) | 5  # case B: window spans the wrap
    assert estimate_seq_hi(top, 0xFFFFFFF0, w) == 0  # late packet from before the wrap
    assert estimate_seq_hi(top, 0x00000007, w) == 1
    win = ReplayWindow(w)
    seqs = []
    for lo in (0xFFFFFFFE, 0xFFFFFFFF, 0x0, 0x1, 0xFFFFFFFD):
        seq = (win.seq_hi(lo) << 32) | lo
        seqs.append(seq)
        assert win.update(seq) == ACCEPTED
    assert seqs[2] == 1 << 32 and seqs[4] == 0xFFFFFFFD
    assert win.update(seqs[3]) == REPLAY
