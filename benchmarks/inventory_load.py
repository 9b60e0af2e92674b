"""Benchmark: reading a large inventory, as whole processes, against nornir's SimpleInventory.

Every one-shot command reads the inventory before it does anything else, so a fleet of
thousands of routers pays for it on every call. The inventory is nornir's SimpleInventory
layout (``hosts.yaml``, ``groups.yaml``, ``defaults.yaml``), which both read as it is:

* ``ipsecctl -i DIR inventory check``: load, inherit groups and defaults, validate every
  field (errors name file and line), print the count;
* ``ipsecctl -i DIR inventory list --json``: the same, then every host's resolved settings as
  JSON (secrets redacted);
* nornir ``InitNornir`` with ``SimpleInventory`` (its own YAML reading, groups and defaults),
  then the number of hosts printed; logging off, so it writes no log file.

The generated hosts each have a hostname, a port, a platform, two groups and a few data
keys, as the embedded lab's inventory does; groups and defaults as the lab writes them.

Usage: ``python benchmarks/inventory_load.py [--hosts 200 2000 10000] [--repeat 7]`` (writes
benchmarks/inventory_results.md). Not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_NORNIR = """
import sys
from nornir import InitNornir
folder = sys.argv[1]
nr = InitNornir(
    inventory={
        "plugin": "SimpleInventory",
        "options": {
            "host_file": f"{folder}/hosts.yaml",
            "group_file": f"{folder}/groups.yaml",
            "defaults_file": f"{folder}/defaults.yaml",
        },
    },
    logging={"enabled": False},
)
print(f"{len(nr.inventory.hosts)} host(s)")
"""


def write_inventory(folder: Path, hosts: int) -> None:
    """``hosts`` routers in nornir's SimpleInventory layout."""
    folder.mkdir(parents=True, exist_ok=True)
    platforms = ("cisco_ios", "cisco_iosxe", "cisco_asa")
    lines = []
    for i in range(hosts):
        plat = platforms[i % 3]
        lines.append(
            f"r{i:05d}:\n"
            f"  hostname: 10.{i // 62500}.{i // 250 % 250}.{i % 250 + 1}\n"
            "  port: 22\n"
            f"  platform: {plat}\n"
            "  groups:\n"
            f"  - site{i % 40}\n"
            f"  - {plat.removeprefix('cisco_')}\n"
            "  data:\n"
            f"    region: r{i % 7}\n"
            "    expected_up:\n"
            f"    - 10.200.{i // 250 % 250}.{i % 250 + 1}\n"
        )
    (folder / "hosts.yaml").write_text("".join(lines))
    groups = [f"site{s}:\n  data:\n    site: {s}\n" for s in range(40)]
    groups += [f"{p.removeprefix('cisco_')}:\n  platform: {p}\n" for p in platforms]
    (folder / "groups.yaml").write_text("".join(groups))
    (folder / "defaults.yaml").write_text(
        "username: admin\npassword: not-a-real-password\nconnection_options:\n"
        "  netmiko:\n    extras:\n      secret: not-a-real-secret\n"
    )


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one whole process, and the first line it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} ...: exit {proc.returncode}: {proc.stderr[-300:]}")
    return wall, cpu, (proc.stdout.strip().splitlines() or [""])[0]


#: the case that reads the inventory as if for the first time (no cache entry)
COLD = "ipsecctl -i DIR inventory check (first read)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hosts", type=int, nargs="+", default=[200, 2000, 10000])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "inventory_results.md")
    args = ap.parse_args()
    script = shutil.which("ipsecctl")
    if script is None:
        sys.exit("the ipsecctl console script is not on PATH (pip install -e .)")
    try:
        import nornir  # noqa: F401
    except ImportError:
        sys.exit("nornir is not installed (pip install -e '.[bench]')")
    # installed packages carry their byte code; this checkout gets it the same way
    subprocess.run(
        [
            sys.executable,
            "-m",
            "compileall",
            "-q",
            *(str(ROOT / d) for d in ("ipsecctl", "inventory")),
        ],
        check=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="ipsecctl-inventory-"))
    base_env = {k: v for k, v in os.environ.items() if k not in ("IPSECCTL_CACHE_DIR",)}
    rows: list[str] = []
    try:
        for size in args.hosts:
            folder = tmp / f"inv{size}"
            write_inventory(folder, size)
            # the user's cache folder, new for each size: the first read of an inventory
            # writes the cache entry of each file's shape, the reads after it use it
            cache = tmp / f"cache{size}"
            env = {
                **base_env,
                "IPSECCTL_STATE_DIR": str(tmp / "state"),
                "XDG_CACHE_HOME": str(cache),
                "NO_COLOR": "1",
            }
            check = [script, "-i", str(folder), "inventory", "check"]
            cases = {
                COLD: check,
                "ipsecctl -i DIR inventory check": [
                    script,
                    "-i",
                    str(folder),
                    "inventory",
                    "check",
                ],
                "ipsecctl -i DIR inventory list --json": [
                    script,
                    "-i",
                    str(folder),
                    "inventory",
                    "list",
                    "--json",
                ],
                "nornir InitNornir (SimpleInventory)": [sys.executable, "-c", _NORNIR, str(folder)],
            }
            runs: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
            said: dict[str, str] = {}
            for _ in range(args.repeat):  # round-robin: load from elsewhere hits every case alike
                for name, argv in cases.items():
                    if name == COLD:
                        shutil.rmtree(cache / "ipsecctl" / "inventory", ignore_errors=True)
                    wall, cpu, first = _run(argv, env)
                    runs[name].append((wall, cpu))
                    said[name] = first
            nornir_wall = statistics.median(
                w for w, _ in runs["nornir InitNornir (SimpleInventory)"]
            )
            for name, samples in runs.items():
                wall = statistics.median(w for w, _ in samples)
                cpu = statistics.median(c for _, c in samples)
                ratio = "" if name.startswith("nornir") else f"{nornir_wall / wall:.2f}x"
                rows.append(
                    f"| {size} | {name} | {wall:.3f} | {min(w for w, _ in samples):.3f} | {cpu:.3f}"
                    f" | {ratio} | {said[name][:40]} |"
                )
                print(rows[-1], flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    lines = [
        "# Reading a large inventory: ipsecctl vs nornir's SimpleInventory",
        "",
        f"Run: `python benchmarks/inventory_load.py --hosts {' '.join(map(str, args.hosts))} "
        f"--repeat {args.repeat}` on {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}.",
        "",
        "Whole processes, median of the runs (round-robin). *vs nornir*: nornir's median wall "
        "time divided by this one's (above 1: faster than nornir). The first line each printed "
        "shows that every host was read. ipsecctl keeps the shape of each inventory file it "
        "has read in the user's cache folder (a new one for each size here): *first read* "
        "runs with that cache emptied before each run (the YAML is read and the entry "
        "written), the other ipsecctl commands find the entry.",
        "",
        "| hosts | command | wall, median (s) | wall, fastest (s) | CPU, median (s) | vs nornir "
        "| printed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
