"""``diag esp --json``: stream the document while the capture is read, in bounded memory.

The capture is read in segments (:mod:`~ipsecctl.diag.packets.reader`); each segment is
analysed by :func:`~ipsecctl.diag.packets.batch.analyse_segment`, here or -- when the caller
passes an executor it owns -- in worker processes, a bounded number of segments in flight.
Results are consumed in capture order: this process runs the RFC 4303 anti-replay window over
each segment's queued sequence numbers (the only inherently sequential step), puts the verdicts
into the records and writes them out. Nothing per packet is kept, so memory is bounded by the
segments in flight plus the per-SA statistics, whatever the capture size.

Why the caller owns the processes: library code here starts none (no fork inside a call, no
process-wide state); ``cli/diag_esp.py`` creates the pool for the command's lifetime.

Extended sequence numbers need the window's estimate of each packet's high half *before* it
can be authenticated, so SAs with ESN (or ``--esn``) are analysed frame by frame in this process
with the window inline -- still streamed.

Document: ``{"schema", "kind": "diag esp", "packets": [...], "summary": {...}, "warnings":
[...]}``; with ``summary_only`` the ``packets`` key is left out.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ipsecctl.diag.packets.batch import Chunk, analyse_segment, record_text
from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.reader import (
    SEGMENT_BYTES,
    CaptureInfo,
    Segment,
    note_unsupported,
    read_segments,
)
from ipsecctl.diag.packets.reader import open_capture as _open_capture
from ipsecctl.diag.packets.replay import (
    ACCEPTED,
    REPLAY,
    VERDICT_JSON,
    ReplayWindow,
    SaReplayStats,
)
from ipsecctl.diag.packets.report import Analyzer, Options
from ipsecctl.errors import IpsecctlError

SaKey = tuple[str, int, str, str]
_FILE_FORMATS = ("pcap", "pcapng")  # segments that are byte ranges of the file itself
_REPLAY = VERDICT_JSON[REPLAY]
_ACCEPTED_LEN = len(VERDICT_JSON[ACCEPTED])
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode

SCHEMA = "ipsecctl/v1"
"""``ipsecctl.models.SCHEMA`` (a test keeps them equal): the streamed path does not import the
models, whose start-up cost is most of a small capture's run."""

CHUNK_TIMEOUT_S = 600.0
"""Longest wait for one segment's result from a worker before the command gives up."""


@dataclass(slots=True)
class Merge:
    """Anti-replay window and counters across segments, in capture order."""

    window: int
    counts: dict[str, int] = field(default_factory=dict)
    order: dict[SaKey, tuple[dict[str, Any], dict[str, int]]] = field(default_factory=dict)
    stats: dict[SaKey, SaReplayStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        base = ("frames", "esp", "ah", "decrypted", "icv_ok", "icv_bad", "no_key", "unverified",
                "malformed", "replayed", "too_old", "ike", "nat_keepalive",
                "wrong_key_suspected")  # fmt: skip
        for k in base:
            self.counts.setdefault(k, 0)

    def _stats(self, key: SaKey, desc: dict[str, Any], counts: dict[str, int]) -> SaReplayStats:
        seen = self.order.get(key)
        if seen is None:
            self.order[key] = (desc, dict(counts))
            st = self.stats[key] = SaReplayStats(ReplayWindow(self.window))
            return st
        for k, v in counts.items():
            seen[1][k] = seen[1].get(k, 0) + v
        return self.stats[key]

    def add(self, chunk: Chunk) -> str:
        """Fold one segment's result in; returns its records as final JSON text ('' if none).

        Deferred records read ``"accepted"``; only those the window judges otherwise are
        rewritten, so in-order traffic costs no per-packet work here.
        """
        for k, v in chunk.counts.items():
            if k not in ("replayed", "too_old"):
                self.counts[k] = self.counts.get(k, 0) + v
        patches: list[tuple[int, str]] = []
        for (key, desc, counts), seqs, where in zip(chunk.sas, chunk.seqs, chunk.where,
                                                   strict=True):  # fmt: skip
            st = self._stats(key, desc, counts)
            if not seqs:
                continue
            for i, verdict in st.record_many(seqs):
                if verdict == _REPLAY:
                    self.counts["replayed"] += 1
                else:
                    self.counts["too_old"] += 1
                if where:
                    patches.append((where[i], verdict))
        text = chunk.text
        if not patches:
            return text
        patches.sort()
        pieces = []
        last = 0
        for at, verdict in patches:
            pieces.append(text[last:at])
            pieces.append(verdict)
            last = at + _ACCEPTED_LEN
        pieces.append(text[last:])
        return "".join(pieces)

    def summary(self) -> dict[str, Any]:
        sas = []
        for key, (desc, counts) in self.order.items():
            d = dict(desc)
            d.update(self.stats[key].as_dict())
            d["replay_checked"] = d.pop("packets")
            d.update(counts)
            sas.append(d)
        summary: dict[str, Any] = dict(self.counts)
        summary["sas"] = sas
        return summary


def needs_inline_window(sas: list[SecurityAssociation], opts: Options) -> bool:
    """ESN (or kept plaintexts) needs the window inline, frame by frame, in one process."""
    return opts.esn or opts.collect_decrypted or any(sa.esn for sa in sas)


def _chunks_inline(
    segments: Iterator[Segment], sas: list[SecurityAssociation], opts: Options, summary_only: bool
) -> Iterator[Chunk]:
    for seg in segments:
        yield analyse_segment(seg, sas, opts, summary_only)


def _chunks_pooled(
    segments: Iterator[Segment],
    sas: list[SecurityAssociation],
    opts: Options,
    summary_only: bool,
    executor: Executor,
    in_flight: int,
    timeout: float,
    source: Path | None,
) -> Iterator[Chunk]:
    """Results in capture order with at most ``in_flight`` segments submitted at a time."""
    pending: deque[Future[Chunk]] = deque()
    try:
        for seg in segments:
            if source is not None:  # a file range, not the bytes, goes through the pipe
                seg = seg.detached(source)
            pending.append(executor.submit(analyse_segment, seg, sas, opts, summary_only))
            while len(pending) >= in_flight:
                yield _result(pending.popleft(), timeout)
        while pending:
            yield _result(pending.popleft(), timeout)
    finally:
        for f in pending:
            f.cancel()


def _result(fut: Future[Chunk], timeout: float) -> Chunk:
    try:
        return fut.result(timeout=timeout)
    except FutureTimeout:
        raise IpsecctlError(
            f"a decryption worker gave no result within {timeout:.0f} s",
            hint="rerun with --workers 1",
        ) from None


def write_json(
    capture: str | Path,
    sas: list[SecurityAssociation],
    opts: Options,
    out: IO[str],
    *,
    executor: Executor | None = None,
    workers: int = 1,
    summary_only: bool = False,
    schema: str = SCHEMA,
    fmt: str | None = None,
    timeout: float = CHUNK_TIMEOUT_S,
    segment_bytes: int = SEGMENT_BYTES,
    decrypted: Callable[[float, bytes], None] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Write the ``diag esp`` JSON document to ``out``; returns (summary, warnings).

    ``executor`` (owned by the caller, e.g. a process pool of ``workers`` processes) analyses
    segments in parallel; without it everything runs here. ``decrypted`` receives each
    decrypted inner packet (time, bytes) as it is found (frame by frame, in this process).
    Raises InputFileError before writing anything when the capture cannot be used at all.
    """
    if decrypted is not None:
        opts = Options(opts.replay_window, opts.esn, collect_decrypted=True)
    info = CaptureInfo()
    path = Path(capture)
    inline_window = needs_inline_window(sas, opts)
    if inline_window:
        frames = _open_capture(path, info, fmt)
        segments: Iterator[Segment] = iter(())
    else:
        segments = read_segments(path, info, segment_bytes, fmt)
    merge = Merge(opts.replay_window)
    out.write(f'{{"schema":{json.dumps(schema)},"kind":"diag esp"')
    if not summary_only:
        out.write(',"packets":[')
    first = True
    if inline_window:
        an = Analyzer(sas, opts)
        for frame in frames:
            an.feed(frame)
            if an.decrypted:
                if decrypted is not None:
                    for ts, data in an.decrypted:
                        decrypted(ts, data)
                an.decrypted.clear()
            if an.packets:
                if not summary_only:
                    text = ",".join(record_text(r) for r in an.packets)
                    out.write(text if first else "," + text)
                    first = False
                an.packets.clear()
        summary = an.result().summary
    else:
        if executor is not None and workers > 1:
            source = path if info.format in _FILE_FORMATS else None
            chunks = _chunks_pooled(segments, sas, opts, summary_only, executor, 2 * workers,
                                    timeout, source)  # fmt: skip
        else:
            chunks = _chunks_inline(segments, sas, opts, summary_only)
        for chunk in chunks:
            for lt, numbers in chunk.unsupported.items():
                info.unsupported.setdefault(lt, []).extend(numbers)
            text = merge.add(chunk)
            if text:
                out.write(text if first else "," + text)
                first = False
        note_unsupported(info, path)
        summary = merge.summary()
    if not summary_only:
        out.write("]")
    out.write(',"summary":')
    out.write(_ENCODE(summary))
    out.write(',"warnings":')
    out.write(_ENCODE(info.warnings))
    out.write("}\n")
    return summary, info.warnings
