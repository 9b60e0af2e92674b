"""Start-up: how long ``ipsecctl`` takes before it does anything, as whole processes.

Measured (median of ``--repeat`` runs, round-robin so that load from elsewhere hits every case
alike):

* ``python -c pass``: the interpreter alone, the floor;
* ``ipsecctl --version`` and ``ipsecctl --help``: whole process;
* the framework alone: Typer and the pydantic modules Typer imports to convert any option's
  value (``typer._adapters``), the floor under every command that takes an option;
* one-shot commands on a small inventory, with the moment work begins: the first device poll
  (``Collector.ask``: a device's commands), or for ``parse`` its first step (naming the platform),
  is stamped from inside the process (an import hook wraps it; the hook costs well under a
  millisecond) and measured from the moment the process was started. ``status --json`` over the
  4-device replay folder in tests/fixtures (no network) and over a 4-router lab inventory (real SSH:
  work begins before the first connection), plus ``parse --json`` of one saved output. What a poll
  needs once it runs (the platform files, the parser templates, building the models) is work, not
  start-up: the *whole* column is the honest total;
* ``python -X importtime`` of ``--version`` and of the replayed ``status``: total import time
  and the heaviest top-level imports.

Usage: ``python benchmarks/startup.py [--repeat 11] [--no-lab]`` (writes
benchmarks/startup_results.md). Not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
SCRIPT = shutil.which("ipsecctl") or ""

#: runs ipsecctl's console entry with the first piece of work stamped: "BEGIN <epoch>" on
#: stderr. The first argument names the function whose first call is work (MODULE:ATTR or
#: MODULE:CLASS.ATTR); everything before that call is start-up.
_STAMPED = r"""
import sys, time
import importlib.machinery
_MODULE, _, _ATTR = sys.argv[1].partition(":")
class _Hook:
    def find_spec(self, name, path, target=None):
        if name != _MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            owner_path, _, attr = _ATTR.rpartition(".")
            owner = getattr(module, owner_path) if owner_path else module
            work = getattr(owner, attr)
            def stamped(*args, **kwargs):
                if not getattr(_Hook, "done", False):
                    _Hook.done = True
                    sys.stderr.write("BEGIN %r\n" % time.time())
                return work(*args, **kwargs)
            setattr(owner, attr, stamped)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, _Hook())
sys.argv = ["ipsecctl", *sys.argv[2:]]
from ipsecctl.cli.console import run
run()
"""
#: the first device poll
POLL = "ipsecctl.collect:Collector.ask"
#: ``parse``'s first step (naming the platform, before its grammar, the file and the parse)
PARSE = "ipsecctl.platforms:canonical"


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float | None, int]:
    """(whole-process seconds, seconds until work began or None, exit code)."""
    start = time.time()
    t0 = time.perf_counter()
    proc = subprocess.run(
        argv, capture_output=True, text=True, env=env, check=False, stdin=subprocess.DEVNULL
    )
    wall = time.perf_counter() - t0
    begin = None
    for line in proc.stderr.splitlines():
        if line.startswith("BEGIN "):
            begin = float(line.split()[1]) - start
    return wall, begin, proc.returncode


def _importtime(argv: list[str], env: dict[str, str]) -> tuple[float, list[tuple[float, str]]]:
    """Total self time of every import, and the heaviest top-level ones (ms)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    total = 0.0
    top: list[tuple[float, str]] = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not m:
            continue
        total += int(m[1]) / 1000
        if len(m[3]) <= 3:  # top level and its direct imports
            top.append((int(m[2]) / 1000, ("  " if len(m[3]) > 1 else "") + m[4]))
    top.sort(reverse=True)
    return total, top[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=11)
    ap.add_argument("--no-lab", action="store_true", help="skip the SSH lab case")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "startup_results.md")
    args = ap.parse_args()
    if not SCRIPT:
        sys.exit("the ipsecctl console script is not on PATH (pip install -e .)")
    # installed packages carry their byte code; this checkout gets it the same way
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            str(ROOT / "ipsecctl"),
            str(ROOT / "parsers"),
            str(ROOT / "inventory"),
        ],
        check=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="ipsecctl-startup-"))
    env = {
        **os.environ,
        "IPSECCTL_STATE_DIR": str(tmp / "state"),
        "NO_COLOR": "1",
        "COLUMNS": "100",
    }
    saved = FIX / "replay" / "hub-1" / "show_crypto_ipsec_sa.txt"
    stamped = [sys.executable, "-c", _STAMPED]
    cases: list[tuple[str, list[str]]] = [
        ("python -c pass (interpreter alone)", [sys.executable, "-c", "pass"]),
        (
            "python -c 'import typer, typer._adapters' (the framework alone)",
            [sys.executable, "-c", "import typer, typer._adapters"],
        ),
        ("ipsecctl --version", [SCRIPT, "--version"]),
        ("ipsecctl --help", [SCRIPT, "--help"]),
        (
            "ipsecctl parse FILE --json (one saved output)",
            [
                *stamped,
                PARSE,
                "parse",
                str(saved),
                "-p",
                "cisco_iosxe",
                "-c",
                "show crypto ipsec sa",
                "--json",
            ],
        ),
        (
            "ipsecctl --replay DIR status --json (4 saved devices)",
            [*stamped, POLL, "--replay", str(FIX / "replay"), "status", "--json"],
        ),
    ]
    lab = None
    if not args.no_lab:
        sys.path.insert(0, str(ROOT))
        from ipsecctl.lab import start_lab

        lab = start_lab(tmp / "lab", devices=4, asa=0, seed=3)
        cases.append(
            (
                "ipsecctl -i LAB status --json (4 lab routers, SSH)",
                [*stamped, POLL, "-i", str(lab.inventory_path), "status", "--json"],
            )
        )
    try:
        samples: dict[str, list[tuple[float, float | None, int]]] = {n: [] for n, _ in cases}
        for _ in range(args.repeat):
            for name, argv in cases:
                samples[name].append(_run(argv, env))
        imports = [
            ("ipsecctl --version", _importtime(["-m", "ipsecctl", "--version"], env)),
            (
                "ipsecctl --replay DIR status --json",
                _importtime(
                    ["-m", "ipsecctl", "--replay", str(FIX / "replay"), "status", "--json"], env
                ),
            ),
        ]
    finally:
        if lab is not None:
            lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = []
    for name, _ in cases:
        walls = [w for w, _b, _c in samples[name]]
        begins = [b for _w, b, _c in samples[name] if b is not None]
        codes = sorted({c for _w, _b, c in samples[name]})
        begin = (
            f"{statistics.median(begins) * 1000:.0f} (fastest {min(begins) * 1000:.0f})"
            if begins
            else ""
        )
        rows.append(
            f"| {name} | {begin} | {statistics.median(walls) * 1000:.0f} | "
            f"{min(walls) * 1000:.0f} | {codes} |"
        )
        print(rows[-1], flush=True)
    lines = [
        "# Start-up: whole processes",
        "",
        f"Run: `python benchmarks/startup.py --repeat {args.repeat}` on "
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d')}; load average before the run "
        f"{os.getloadavg()[0]:.2f} (the machine is shared).",
        "",
        "*work begins*: from the moment the process was started to the first device poll, or "
        "for `parse` to its first step (stamped inside the process; what a poll or parse "
        "loads once it runs, platform files, templates, models, is work); *whole*: the "
        "process from start to exit, median and fastest of the runs. The console script is "
        "the installed `ipsecctl` entry point.",
        "",
        "| case | work begins (ms) | whole, median (ms) | whole, fastest (ms) | exit codes |",
        "| --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    for name, (total, top) in imports:
        lines += [
            f"`python -X importtime -m {name}`: "
            f"{total:.0f} ms of imports in all (importtime's own overhead included); "
            "heaviest:",
            "",
            "| cumulative ms | module |",
            "| --- | --- |",
        ]
        lines += [f"| {ms:.1f} | `{mod}` |" for ms, mod in top]
        lines.append("")
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
