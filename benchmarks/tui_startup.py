"""Dashboard start-up, whole process, as an operator sees it in a terminal.

Run: ``python benchmarks/tui_startup.py [--runs 5] [--devices 12]`` (~1 min).

Each run starts the real command under a pseudo-terminal (120x36) and times, from the fork,
the first frame that shows the fleet (the ``fleet [N]`` pane with N devices listed), the
first frame with tunnel rows (``tunnels [k/n]`` with k > 0: routers answered), and how long
the process takes to exit after ``q``. Scenarios:

- ``demo``: ``ipsecctl demo`` on a fresh lab directory (lab start included, lab stopped on
  exit; checked);
- ``demo, no bytecode``: the same with an empty bytecode cache and none written (what a
  fresh install that did not precompile pays on its first run);
- ``dashboard``: ``ipsecctl dashboard`` on a lab already running.

Results go to stdout as a Markdown table (copy into benchmarks/tui_startup_results.md).
State, data and config directories are temporary, so no earlier history is involved.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import platform
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ANSI = re.compile(
    rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    rb"|\x1b[()][A-Z0-9]|\x1b[=>78]"
)


def run_once(
    argv: list[str], env: dict[str, str], devices: int, timeout: float = 60.0
) -> dict[str, float | None]:
    marks = {"fleet": rf"fleet \[{devices}\]", "tunnels": r"tunnels \[[1-9]\d*/\d+\]"}
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
    raw = b""
    found: dict[str, float | None] = dict.fromkeys(marks)
    end = t0 + timeout
    quit_sent: float | None = None
    exited: float | None = None
    while time.perf_counter() < end:
        ready, _, _ = select.select([fd], [], [], 0.02)
        if ready:
            with contextlib.suppress(OSError):
                raw += os.read(fd, 65536)
            text = ANSI.sub(b"", raw[-200_000:]).decode("utf-8", "replace")
            for name, pattern in marks.items():
                if found[name] is None and re.search(pattern, text):
                    found[name] = time.perf_counter() - t0
        if quit_sent is None and all(v is not None for v in found.values()):
            os.write(fd, b"q")
            quit_sent = time.perf_counter()
        wpid, _status = os.waitpid(pid, os.WNOHANG)
        if wpid:
            exited = time.perf_counter()
            break
    if exited is None:  # keep draining the terminal, or the app blocks writing to it
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    with contextlib.suppress(OSError):
        os.close(fd)
    found["quit"] = (exited - quit_sent) if exited and quit_sent else None
    return found


def _lab_running(directory: Path, env: dict[str, str]) -> bool:
    out = subprocess.run(
        [sys.executable, "-m", "ipsecctl", "lab", "status", "--dir", str(directory)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return out.returncode == 0 and "running" in out.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--devices", type=int, default=12)
    args = parser.parse_args()
    exe = [sys.executable, "-m", "ipsecctl"]
    rows: list[tuple[str, list[dict[str, float | None]]]] = []
    with tempfile.TemporaryDirectory(prefix="ipsecctl-startup-") as tmp_name:
        tmp = Path(tmp_name)
        config = tmp / "config.yaml"
        config.write_text("")
        env = dict(
            os.environ,
            TERM="xterm-256color",
            TEXTUAL_ANIMATIONS="none",
            IPSECCTL_CONFIG=str(config),
            IPSECCTL_STATE_DIR=str(tmp / "state"),
            IPSECCTL_DATA_DIR=str(tmp / "data"),
        )
        for label, extra in (
            ("demo", {}),
            (
                "demo, no bytecode",
                {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(tmp / "nopyc")},
            ),
        ):
            runs = []
            for n in range(args.runs):
                lab = tmp / f"{label.split(',')[0]}-{n}-{len(extra)}"
                r = run_once(
                    [*exe, "demo", "--dir", str(lab), "--devices", str(args.devices)],
                    dict(env, **extra),
                    args.devices,
                )
                if _lab_running(lab, env):
                    r["lab left running"] = 1.0
                    subprocess.run(
                        [*exe, "lab", "down", "--dir", str(lab)],
                        env=env,
                        capture_output=True,
                        check=False,
                    )
                runs.append(r)
            rows.append((label, runs))
        lab = tmp / "running-lab"
        subprocess.run(
            [*exe, "lab", "up", "--dir", str(lab), "--devices", str(args.devices)],
            env=env,
            capture_output=True,
            check=True,
        )
        try:
            inventory = str(lab / "inventory")
            runs = [
                run_once([*exe, "-i", inventory, "dashboard"], env, args.devices)
                for _ in range(args.runs)
            ]
            rows.append(("dashboard (lab running)", runs))
        finally:
            subprocess.run(
                [*exe, "lab", "down", "--dir", str(lab)], env=env, capture_output=True, check=False
            )

    def stat(runs: list[dict[str, float | None]], key: str) -> str:
        values = [r[key] for r in runs if r.get(key) is not None]
        if not values:
            return "-"
        return f"{statistics.median(values):.2f} / {max(values):.2f}"  # type: ignore[type-var]

    print(
        f"{args.runs} runs each, {args.devices} lab devices, 120x36 pty; Python "
        f"{platform.python_version()}, {os.cpu_count()} CPU(s)\n"
    )
    print(
        "| scenario | fleet shown (s, median / max) | first tunnels (s) | exit after q (s) "
        "| lab left running |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, runs in rows:
        left = sum(1 for r in runs if r.get("lab left running"))
        print(
            f"| {label} | {stat(runs, 'fleet')} | {stat(runs, 'tunnels')} | "
            f"{stat(runs, 'quit')} | {left} |"
        )


if __name__ == "__main__":
    main()
