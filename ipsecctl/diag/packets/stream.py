"""``diag esp --json`` for large captures: decrypt in chunks (in parallel), stream the document.

Why: per-packet Python work (decode, decrypt, summarise, JSON) is the cost, not the cipher, so
the capture is cut into runs of frames and each run is analysed by a worker process with the
same :class:`~ipsecctl.diag.packets.report.Analyzer` the sequential path uses. Workers also
encode their packet records as JSON text. Only the anti-replay window is inherently sequential:
workers queue (SA, sequence number) instead of checking it, and this process runs the window
over the queued numbers chunk by chunk, in capture order, while it writes the records out.
The document is the same as ``analyse()`` + ``envelope()`` gives (``replay`` is the last key
of each packet record instead of a middle one).

Extended sequence numbers need the window to guess each packet's high half *before*
decrypting, so captures with ESN SAs (and ``--write-decrypted`` runs, which keep plaintexts)
take the sequential path.
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.pcap import CaptureInfo, count_frames, open_capture
from ipsecctl.diag.packets.replay import REPLAY, TOO_OLD, ReplayWindow, SaReplayStats
from ipsecctl.diag.packets.report import Analyzer, Options
from ipsecctl.errors import IpsecctlError

PARALLEL_MIN_FRAMES = 20_000
"""Below this many frames the cost of starting workers outweighs what they save."""

SaKey = tuple[str, int, str, str]
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


@dataclass(slots=True)
class Chunk:
    """What one worker returns for frames ``first..last`` (picklable, mostly strings)."""

    records: list[str]
    """Each packet record as JSON text, without its closing brace and without ``replay``."""
    deferred: list[tuple[int, SaKey, int]]
    counts: dict[str, int]
    sas: list[tuple[SaKey, dict[str, Any], dict[str, int]]]
    """Per SA in first-seen order: key, fixed description, counters."""
    warnings: list[str] = field(default_factory=list)
    verdicts: list[str | None] | None = None
    """Replay verdicts already decided (sequential run: the window ran in the Analyzer)."""
    stats: dict[SaKey, SaReplayStats] | None = None


def analyse_chunk(
    capture: str,
    sas: list[SecurityAssociation],
    opts: Options,
    first: int,
    last: int,
    defer: bool = True,
) -> Chunk:
    """Analyse frames ``first..last`` of ``capture``; ``defer`` queues the replay window."""
    info = CaptureInfo()
    an = Analyzer(sas, opts)
    an.defer_replay = defer
    for frame in open_capture(capture, info, first, last):
        an.feed(frame)
    records = []
    verdicts: list[str | None] = []
    for rec in an.packets:
        verdicts.append(rec.pop("replay"))
        records.append(_ENCODE(rec)[:-1])
    sa_rows = []
    for key, st in an.states.items():
        sa_rows.append((key, st.describe(), dict(st.counts)))
    chunk = Chunk(records, an.deferred, dict(an.counts), sa_rows, info.warnings)
    if not defer:
        chunk.verdicts = verdicts
        chunk.stats = {key: st.stats for key, st in an.states.items()}
    return chunk


def _chunk_star(args: tuple[str, list[SecurityAssociation], Options, int, int, bool]) -> Chunk:
    return analyse_chunk(*args)


def plan_chunks(frames: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous 1-based frame runs: two per worker, so merging overlaps the decrypting."""
    if frames <= 0:
        return [(1, 1 << 62)]
    n = max(1, min(workers * 2, frames))
    step = -(-frames // n)
    runs = [(i, min(i + step - 1, frames)) for i in range(1, frames + 1, step)]
    lo, _ = runs[-1]
    runs[-1] = (lo, 1 << 62)  # the last run also takes anything after the count
    return runs


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _sequential_only(sas: list[SecurityAssociation], opts: Options) -> bool:
    return opts.esn or opts.collect_decrypted or any(sa.esn for sa in sas)


@dataclass(slots=True)
class _Merge:
    """Replay window and counters across chunks, in capture order."""

    window: int
    counts: dict[str, int] = field(default_factory=dict)
    order: dict[SaKey, tuple[dict[str, Any], dict[str, int]]] = field(default_factory=dict)
    stats: dict[SaKey, SaReplayStats] = field(default_factory=dict)

    def add_sas(
        self,
        rows: Iterable[tuple[SaKey, dict[str, Any], dict[str, int]]],
        stats: dict[SaKey, SaReplayStats] | None = None,
    ) -> None:
        for key, desc, counts in rows:
            seen = self.order.get(key)
            if seen is None:
                self.order[key] = (desc, dict(counts))
                self.stats[key] = (stats or {}).get(key) or SaReplayStats(
                    ReplayWindow(self.window)
                )
            else:
                for k, v in counts.items():
                    seen[1][k] = seen[1].get(k, 0) + v

    def verdicts(self, chunk: Chunk) -> dict[int, str]:
        """Run the window over the chunk's queued sequence numbers; verdict per record index."""
        if chunk.verdicts is not None:
            return {i: v for i, v in enumerate(chunk.verdicts) if v is not None}
        out: dict[int, str] = {}
        stats = self.stats
        replayed = too_old = 0
        for idx, key, seq in chunk.deferred:
            v = stats[key].record(seq)
            out[idx] = v
            if v == REPLAY:
                replayed += 1
            elif v == TOO_OLD:
                too_old += 1
        self.counts["replayed"] = self.counts.get("replayed", 0) + replayed
        self.counts["too_old"] = self.counts.get("too_old", 0) + too_old
        return out

    def add_counts(self, counts: dict[str, int], window_ran: bool) -> None:
        for k, v in counts.items():
            if window_ran or k not in ("replayed", "too_old"):
                self.counts[k] = self.counts.get(k, 0) + v

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


_VERDICT_JSON = {None: "null", "accepted": '"accepted"', REPLAY: '"replay"',
                 TOO_OLD: '"too_old"'}  # fmt: skip


CHUNK_TIMEOUT_S = 600


def write_json(
    capture: str | Path,
    sas: list[SecurityAssociation],
    opts: Options,
    out: IO[str],
    workers: int = 0,
    schema: str = "ipsecctl/v1",
    min_frames: int = PARALLEL_MIN_FRAMES,
) -> tuple[dict[str, Any], list[str]]:
    """Write the ``diag esp`` JSON document to ``out``; returns (summary, warnings).

    ``workers`` 0 picks the number of usable CPUs; 1 forces one process. The capture is split
    only when it has more than ``min_frames`` frames and no ESN SA is involved.
    """
    path = str(capture)
    nproc = workers or default_workers()
    frames = count_frames(path) if nproc > 1 else 0
    parallel = nproc > 1 and frames > min_frames and not _sequential_only(sas, opts)
    runs = plan_chunks(frames, nproc) if parallel else [(1, 1 << 62)]
    merge = _Merge(opts.replay_window)
    merge.counts = dict.fromkeys(("frames", "ike", "nat_keepalive", "wrong_key_suspected"), 0)
    warnings: list[str] = []
    out.write(f'{{"schema":{json.dumps(schema)},"kind":"diag esp","packets":[')
    first_record = True
    jobs = [(path, sas, opts, lo, hi, parallel) for lo, hi in runs]

    def consume(chunk: Chunk) -> None:
        nonlocal first_record
        merge.add_sas(chunk.sas, chunk.stats)
        merge.add_counts(chunk.counts, chunk.verdicts is not None)
        verdicts = merge.verdicts(chunk)
        warnings.extend(chunk.warnings)
        vj = _VERDICT_JSON
        get = verdicts.get
        parts = [f'{text},"replay":{vj[get(i)]}}}' for i, text in enumerate(chunk.records)]
        if parts:
            if not first_record:
                out.write(",")
            out.write(",".join(parts))
            first_record = False

    if parallel:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(min(nproc, len(jobs))) as pool:
            results = pool.imap(_chunk_star, jobs)
            for _ in jobs:
                try:
                    # a worker that dies (or cannot unpickle its task) never answers: bound it
                    chunk = results.next(timeout=CHUNK_TIMEOUT_S)
                except multiprocessing.TimeoutError:
                    raise IpsecctlError(
                        f"a decryption worker gave no result within {CHUNK_TIMEOUT_S} s",
                        hint="rerun with --workers 1",
                    ) from None
                consume(chunk)
    else:
        for job in jobs:
            consume(_chunk_star(job))
    summary = merge.summary()
    out.write('],"summary":')
    out.write(_ENCODE(summary))
    out.write("}\n")
    return summary, warnings
