"""`ipsecctl diag esp`: decode/decrypt ESP and AH from a capture and check anti-replay.

Thin layer: parse options, call :mod:`ipsecctl.diag.packets.report`, render. Exit codes:
0 all packets fine; 2 unreadable capture or bad key file; 3 wrong keys (ICV bad, or a good
ICV over an implausible plaintext: wrong encryption key) / replays.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ipsecctl.diag.capture.formats import FORMAT_CHOICES, check_format
from ipsecctl.diag.packets.keys import FORMATS, SecurityAssociation, load_keys
from ipsecctl.diag.packets.report import SUMMARY_KEYS, Analysis, Options, analyse, problems
from ipsecctl.errors import EXIT_OK, EXIT_PROBLEM, IpsecctlError, UsageError

if TYPE_CHECKING:
    from rich.console import Console

# rich, the models and the pcap writer are imported where they are used: the streamed
# --json path (the one big captures take) needs none of them, and start-up counts there.

_ICV_STYLE = {"ok": "green", "bad": "bold red", "no_key": "dim", "unverified": "yellow"}


def _inner_text(p: dict[str, Any]) -> str:
    inner = p["nested"][-1].get("inner") if p["nested"] else None
    inner = inner or p["inner"]
    if inner is None:
        return ""
    prefix = "".join(f"esp 0x{n['spi']:08x} > " for n in p["nested"] if n.get("decrypted"))
    return prefix + str(inner.get("text", ""))


def render_human(an: Analysis, out: Console, packets: bool = True) -> None:
    """Per-packet table and per-SA replay summary for people."""
    if packets:
        _packet_table(an, out)
    _sa_table(an, out)


def _packet_table(an: Analysis, out: Console) -> None:
    from rich.table import Table

    table = Table(title="ESP/AH packets", show_lines=False)
    for col, just in (("frame", "right"), ("time", "left"), ("src > dst", "left"),
                      ("proto", "left"), ("SPI", "left"), ("seq", "right"), ("ICV", "left"),
                      ("replay", "left"), ("inner / error", "left")):  # fmt: skip
        table.add_column(col, justify=just, no_wrap=col != "inner / error")  # type: ignore[arg-type]
    for p in an.packets:
        spi = f"0x{p['spi']:08x}" if p["spi"] is not None else "-"
        seq = str(p["seq"]) if p["seq"] is not None else "-"
        if p["seq_hi"]:
            seq = f"{p['seq_hi']}:{seq}"
        icv = p["icv"]
        icv_cell = f"[{_ICV_STYLE.get(icv, '')}]{icv}[/]"
        if p["wrong_key_suspected"]:
            icv_cell += " [bold red]wrong key?[/]"
        proto = p["protocol"] + ("/udp" if p["udp_encap"] else "")
        text = _inner_text(p)
        if p["error"]:
            text = f"{text} [red]{p['error']}[/]" if text else f"[red]{p['error']}[/]"
        replay = p["replay"] or "-"
        if replay != "accepted" and replay != "-":
            replay = f"[bold red]{replay}[/]"
        table.add_row(
            str(p["frame"]), p["time"][11:26], f"{p['src']} > {p['dst']}", proto, spi, seq,
            icv_cell, replay, text,
        )  # fmt: skip
    out.print(table)


def _sa_table(an: Analysis, out: Console) -> None:
    from rich.table import Table

    sas = Table(title="Security associations (anti-replay)")
    for col in ("SPI", "src > dst", "proto", "key", "pkts", "ok", "bad", "replays", "too old",
                "missing", "max reorder", "min window"):  # fmt: skip
        sas.add_column(col, no_wrap=True)
    for s in an.sas:
        sas.add_row(
            f"0x{s['spi']:08x}", f"{s['src']} > {s['dst']}", s["protocol"],
            s["encryption"] or s["integrity"] or "-" if s["key"] else "-", str(s["packets"]),
            str(s["icv_ok"]), str(s["icv_bad"]), str(s["replays"]), str(s["too_old"]),
            str(s["missing"]), str(s["max_reorder_depth"]),
            f"{s['min_window']} (window {s['window']})",
        )  # fmt: skip
    out.print(sas)
    summary = an.summary
    out.print(" ".join(f"{k}={summary[k]}" for k in (*SUMMARY_KEYS, "wrong_key_suspected")))


def _say(message: str) -> None:
    """One unwrapped line on stderr (messages; stdout carries data only)."""
    sys.stderr.write(message + "\n")


PARALLEL_MIN_BYTES = 8 << 20
"""Captures smaller than this are analysed in one process: starting workers costs more."""


def default_workers() -> int:
    """Worker processes to use: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def plan_workers(workers: int | None, capture: Path) -> int:
    """Processes for a capture: ``None`` = one per CPU when the file is big enough, else one;
    0 and 1 = one process; N = N processes."""
    if workers is None:
        try:
            big = capture.stat().st_size >= PARALLEL_MIN_BYTES
        except OSError:
            big = False  # the reader reports the unreadable file
        return default_workers() if big else 1
    return max(workers, 1)


@contextmanager
def process_pool(nproc: int) -> Iterator[Executor | None]:
    """The command's worker pool (the library never starts processes itself).

    ``fork`` where the platform has it: the workers start in milliseconds with the modules and
    the key table already loaded; this command holds no threads or locks when it forks.
    """
    if nproc <= 1:
        yield None
        return
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    pool = ProcessPoolExecutor(max_workers=nproc, mp_context=ctx)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run(
    capture: Path,
    keys: Path | None,
    keys_format: str | None,
    as_json: bool,
    write_decrypted: Path | None,
    replay_window: int,
    esn: bool,
    workers: int | None = None,
    summary_only: bool = False,
    capture_format: str | None = None,
) -> int:
    """The command body; returns the exit code (raises IpsecctlError for usage problems)."""
    if replay_window < 0:
        raise UsageError("--replay-window must be 0 (off) or a positive number of packets")
    if workers is not None and workers < 0:
        raise UsageError("--workers must be 0 or 1 (one process) or a number of processes")
    fmt = check_format(capture_format)
    sas: list[SecurityAssociation] = load_keys(keys, keys_format) if keys else []
    opts = Options(replay_window=replay_window, esn=esn, collect_decrypted=bool(write_decrypted))
    if as_json:
        # Streamed (and, for big captures, parallel): no per-packet list is kept in memory.
        from ipsecctl.diag.packets.pcap import LINKTYPE_RAW, PcapWriter
        from ipsecctl.diag.packets.stream import write_json

        nproc = plan_workers(workers, capture)
        sink = PcapWriter(write_decrypted, LINKTYPE_RAW) if write_decrypted else None
        try:
            with process_pool(nproc) as pool:
                summary, warnings = write_json(
                    capture, sas, opts, sys.stdout, executor=pool, workers=nproc,
                    summary_only=summary_only, fmt=fmt,
                    decrypted=sink.write if sink is not None else None,
                )  # fmt: skip
        finally:
            if sink is not None:
                sink.close()
        for w in warnings:
            _say(f"warning: {w}")
        if sink is not None:
            _say(f"wrote {sink.count} decrypted packets to {write_decrypted}")
        _no_match_note(keys, summary)
        return EXIT_PROBLEM if problems(summary) else EXIT_OK
    an = analyse(capture, sas, opts, fmt=fmt)
    for w in an.warnings:
        _say(f"warning: {w}")
    from ipsecctl.cli.render import stdout_console
    from ipsecctl.diag.packets.pcap import LINKTYPE_RAW, write_pcap
    from ipsecctl.models import envelope

    if write_decrypted:
        n = write_pcap(write_decrypted, LINKTYPE_RAW, an.decrypted)
        _say(f"wrote {n} decrypted packets to {write_decrypted}")
    if as_json:
        doc = envelope("diag esp", **({} if summary_only else {"packets": an.packets}),
                       summary=an.summary, warnings=an.warnings)  # fmt: skip
        sys.stdout.write(json.dumps(doc, separators=(",", ":")))
        sys.stdout.write("\n")
    else:
        out = stdout_console()
        if not out.is_terminal:
            out = stdout_console(200)
        render_human(an, out, packets=not summary_only)
    _no_match_note(keys, an.summary)
    return EXIT_PROBLEM if an.problems else EXIT_OK


def _no_match_note(keys: Path | None, s: dict[str, Any]) -> None:
    if keys and s["esp"] + s["ah"] and s["no_key"] == s["esp"] + s["ah"]:
        _say("note: no packet matched an SA of the key file (check SPIs and addresses)")


def esp(
    capture: Annotated[Path, typer.Argument(help="pcap or pcapng capture")],
    keys: Annotated[
        Path | None,
        typer.Option(
            "--keys",
            "-k",
            help="SA keys: Wireshark esp_sa, tcpdump -E file, ipsecctl YAML/JSON "
            "(sas: [{spi, src, dst, protocol, encryption, enc_key, integrity, auth_key, "
            "esn}], format and examples in docs/keys.md), `ip xfrm state` output or Cisco "
            "ipsec-manual config",
        ),
    ] = None,
    keys_format: Annotated[
        str | None, typer.Option("--keys-format", help=f"force one of: {', '.join(FORMATS)}")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document on stdout")] = False,
    write_decrypted: Annotated[
        Path | None,
        typer.Option("--write-decrypted", help="write decrypted inner packets to this pcap"),
    ] = None,
    replay_window: Annotated[
        int, typer.Option("--replay-window", help="anti-replay window size (0 = off)")
    ] = 64,
    esn: Annotated[
        bool, typer.Option("--esn", help="extended sequence numbers on every SA (RFC 4303 A2)")
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="processes for --json (default: one per CPU for captures of 8 MB or more; "
            "0 or 1 = one process)",
        ),
    ] = None,
    summary_only: Annotated[
        bool,
        typer.Option("--summary", help="counters and per-SA results only, no per-packet rows"),
    ] = False,
    capture_format: Annotated[
        str | None,
        typer.Option("--format", help=f"capture format (default: detected): {FORMAT_CHOICES}"),
    ] = None,
) -> None:
    """Decode and decrypt ESP/AH packets from a capture and check the anti-replay window.

    The capture is a pcap/pcapng file or a printed capture saved from a device (IOS/IOS-XE
    `show monitor capture ... buffer dump|detailed`, ASA `show capture NAME dump|detail`) or a
    plain hex dump. Exit 0 all packets fine, 2 unusable capture or key file, 3 wrong keys or
    replays.
    """
    try:
        code = run(
            capture, keys, keys_format, as_json, write_decrypted, replay_window, esn, workers,
            summary_only, capture_format,
        )  # fmt: skip
    except IpsecctlError as exc:
        _say(f"error: {exc}")
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(code)


def register(diag_app: typer.Typer) -> None:
    """Add `esp` to the `diag` sub-app."""
    diag_app.command("esp")(esp)


def _standalone() -> typer.Typer:
    app = typer.Typer(add_completion=False)
    app.command()(esp)
    return app


if __name__ == "__main__":  # `python -m ipsecctl.cli.diag_esp` until the main app registers it
    _standalone()()
