"""Benchmark: ``ipsecctl diag health`` over a generated hub's two snapshots, whole processes.

Usage::

    python benchmarks/health_hub.py [--peers 1000 10000] [--repeat 5]
                                    [--out benchmarks/health_results.md]

The hub is the parse benchmark's (``parse_ipsec_sa.save_hub``: ``show crypto isakmp sa``,
``... detail`` and ``show crypto ipsec sa`` of N peers, ~4 % of them idle with their IKE SA
retrying). The current snapshot is ``ipsecctl --replay DIR show hub --json``; the previous
one is the same document with every seventh tunnel's ``pkts_encaps`` 500 lower, so the
movement rules (one-way traffic between polls) have work: a hub of that size then has about
one finding per seven tunnels. Timed: ``ipsecctl diag health --snapshot CUR --previous PREV
--json`` (reading both snapshots, every health rule, next steps rendered per finding, the
document written to /dev/null), median of ``--repeat`` runs; the console script ``ipsecctl``
on PATH is the one timed. No other tool evaluates these rules, so there is no peer: the
figure is the command's own cost at fleet scale.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parse_ipsec_sa import run_child, save_hub  # a sibling benchmark script

ROOT = Path(__file__).resolve().parent.parent


def snapshots(folder: Path, peers: int, script: str) -> tuple[Path, Path]:
    """(current, previous) snapshot files of a generated ``peers``-peer hub."""
    replay = folder / "replay"
    save_hub(str(replay), peers)
    cur = folder / "current.json"
    with cur.open("wb") as out:
        done = subprocess.run(
            [script, "--replay", str(replay), "show", "hub", "--json"], stdout=out, check=False
        )
    if done.returncode not in (0, 3):  # 3: the hub's retrying peers are a fault
        raise SystemExit(f"ipsecctl show failed with exit code {done.returncode}")
    doc = json.loads(cur.read_text())
    for i, tunnel in enumerate(doc["devices"][0]["tunnels"]):
        if i % 7 == 0 and "pkts_encaps" in tunnel["counters"]:
            tunnel["counters"]["pkts_encaps"] = max(0, tunnel["counters"]["pkts_encaps"] - 500)
    prev = folder / "previous.json"
    prev.write_text(json.dumps(doc))
    return cur, prev


def findings(script: str, cur: Path, prev: Path) -> int:
    argv = [script, "diag", "health", "--snapshot", str(cur), "--previous", str(prev), "--json"]
    done = subprocess.run(argv, capture_output=True, check=False)
    return len(json.loads(done.stdout)["findings"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--peers", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "health_results.md"))
    args = ap.parse_args()
    script = shutil.which("ipsecctl")
    if script is None:
        raise SystemExit("ipsecctl is not on PATH: install the project first (pip install -e .)")
    env = {**os.environ, "COLUMNS": "120"}
    rows = []
    for peers in args.peers:
        with tempfile.TemporaryDirectory() as tmp:
            cur, prev = snapshots(Path(tmp), peers, script)
            argv = [script, "diag", "health", "--snapshot", str(cur), "--previous", str(prev)]
            runs: list[dict[str, Any]] = [
                run_child([*argv, "--json"], args.timeout, env) for _ in range(args.repeat)
            ]
            failed = [r["error"] for r in runs if "error" in r]
            if failed:
                raise SystemExit(f"diag health failed at {peers} peers: {failed[0]}")
            walls = [r["wall_s"] for r in runs]
            rows.append(
                f"| {peers:,} | {cur.stat().st_size / 1e6:.0f} MB | {findings(script, cur, prev)} "
                f"| {statistics.median(walls):.2f} s | {[round(w, 2) for w in walls]} "
                f"| {statistics.median(r['cpu_s'] for r in runs):.2f} s "
                f"| {max(r['maxrss_mib'] for r in runs):.0f} MiB |"
            )
            print(rows[-1], flush=True)
    text = "\n".join(
        [
            "# Health rules over a hub's two snapshots: whole processes",
            "",
            f"Run: `python benchmarks/health_hub.py --peers {' '.join(map(str, args.peers))} "
            f"--repeat {args.repeat}` on {platform.python_implementation()} "
            f"{platform.python_version()}, {os.cpu_count()} CPUs.",
            "",
            "`ipsecctl diag health --snapshot CUR --previous PREV --json` (see the script's "
            "docstring for the snapshots); *wall* is the median of the runs, *CPU* the median "
            "process CPU, *peak RSS* the largest of the runs.",
            "",
            "| peers | one snapshot | findings | wall | runs | CPU | peak RSS |",
            "| --- | --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )
    Path(args.out).write_text(text)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
