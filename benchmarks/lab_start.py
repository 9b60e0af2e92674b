"""How long ``ipsecctl lab up`` takes, as users run it: a whole process, until it returns.

For each fleet size: ``ipsecctl lab up --dir D -n N`` (fresh directory, so host keys are made
too) timed from the process start to its exit; then every device's SSH banner is checked (the
lab is usable, not just started), and ``ipsecctl lab down`` is timed and checked to leave
nothing behind. Optionally ``--real`` adds the real gateways (root, strongSwan, libreswan).

    python benchmarks/lab_start.py [--sizes 12 200] [--runs 3] [--real]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _banner(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=5) as s:
            return s.recv(64).startswith(b"SSH-2.0-")
    except OSError:
        return False


def _run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ipsecctl", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0, proc


def one(size: int, real: bool) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "IPSECCTL_STATE_DIR": str(Path(tmp) / "state")}
        lab = Path(tmp) / "lab"
        args = ["lab", "up", "--dir", str(lab), "-n", str(size)] + (["--real"] if real else [])
        up_s, proc = _run(args, env)
        if proc.returncode != 0:
            raise SystemExit(f"lab up failed: {proc.stderr}")
        state = json.loads((lab / "state.json").read_text())
        devices = state["routers"]
        answering = sum(_banner(r["address"], int(r["port"])) for r in devices)
        if answering != len(devices):
            raise SystemExit(f"{len(devices) - answering} devices do not answer SSH")
        down_s, proc = _run(["lab", "down", "--dir", str(lab)], env)
        if proc.returncode != 0 or lab.exists():
            raise SystemExit(f"lab down left {lab}: {proc.stderr}")
        return up_s, down_s, len(devices)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[12, 200])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("lab_start_results.md"))
    args = ap.parse_args()
    lines = [
        "# Lab start-up: `ipsecctl lab up` (whole process) and `lab down`",
        "",
        f"`python benchmarks/lab_start.py --sizes {' '.join(map(str, args.sizes))} "
        f"--runs {args.runs}{' --real' if args.real else ''}`, {os.cpu_count()} cores; "
        "fresh directory each run (host keys generated), every device's SSH banner checked "
        "after `up`, nothing left after `down`.",
        "",
        "| devices | real gateways | lab up median (s) | lab up max (s) | lab down median (s) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for size in args.sizes:
        ups, downs, n = [], [], 0
        for _ in range(args.runs):
            up_s, down_s, n = one(size, args.real)
            ups.append(up_s)
            downs.append(down_s)
            print(f"{size} devices: up {up_s:.2f} s, down {down_s:.2f} s ({n} answering)")
        lines.append(
            f"| {n} | {'yes' if args.real else 'no'} | {statistics.median(ups):.2f} | "
            f"{max(ups):.2f} | {statistics.median(downs):.2f} |"
        )
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
