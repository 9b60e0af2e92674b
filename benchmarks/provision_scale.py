"""Provisioning at fleet scale: render 1 hub + N spokes with every pair checked; plan a push.

1. Render: a hub-and-spoke spec whose spokes come from a CSV of ``--spokes`` rows (IOS and
   IOS-XE alternating), rendered by the command operators run (``ipsecctl provision render
   SPEC --out DIR --json``, a whole process) and, to show where the time goes, by the library
   in this process: expand (CSV, validation), render (jinja2), check (every generated
   configuration parsed back with the TTP config parser, ``diag pair`` both ways per pair,
   crypto audit per device). The named reference is the render phase alone (plain jinja2 over
   the same devices, no checks), which is what a template tool without verification costs.
2. Plan: a hub-and-spoke spec over every device of a ``--lab`` lab (the lab's default mix:
   IOS, IOS-XE and ASA; each ASA row names its own crypto map), planned with ``ipsecctl
   provision push SPEC --dry-run --json``: every device's running configuration fetched over
   SSH, the exact lines and rollback lines computed from the live diff, conflicts checked, and
   ``diag pair`` predicted on the live configurations with the planned lines applied.

Every run is checked from its own output: N pairs, all ``ok``; N+1 plans in the dry run.

Usage: python benchmarks/provision_scale.py [--spokes 1000] [--lab 200] [--runs 3]
       [--out benchmarks/provision_results.md]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write_spec(folder: Path, spokes: int) -> Path:
    rows = [["name", "platform", "outside_interface", "outside_address", "inside_networks"]]
    for i in range(spokes):
        ios = i % 2 == 1
        rows.append(
            [
                f"s{i + 1:05d}",
                "cisco_ios" if ios else "cisco_iosxe",
                "GigabitEthernet0/0" if ios else "GigabitEthernet1",
                f"127.{2 + i // 62500}.{(i // 250) % 250}.{1 + i % 250}",
                f"10.{100 + i // 250}.{i % 250}.0/24",
            ]
        )
    with (folder / "spokes.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    spec = {
        "name": "scale",
        "topology": "hub_spoke",
        "psk": "generate",
        "key_store": "keys",
        "hubs": [
            {
                "name": "hub",
                "platform": "cisco_iosxe",
                "outside_address": "127.1.0.1",
                "inside_networks": ["10.0.0.0/16"],
            }
        ],
        "spokes_csv": "spokes.csv",
    }
    path = folder / "scale.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def run_cli(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "ipsecctl.cli.app", *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return time.perf_counter() - t0, proc


def bench_render(spokes: int, runs: int) -> dict[str, object]:
    from ipsecctl.provision.device_configs import render_network
    from ipsecctl.provision.pairs import check_network
    from ipsecctl.provision.topology import load_network

    cli: list[float] = []
    phases: dict[str, list[float]] = {"expand": [], "render": [], "check": []}
    lines = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        spec = write_spec(folder, spokes)
        env = {**os.environ, "IPSECCTL_STATE_DIR": str(folder / "state"), "HOME": tmp}
        for r in range(runs):
            elapsed, proc = run_cli(
                ["provision", "render", str(spec), "--out", str(folder / f"out{r}"), "--json"], env
            )
            doc = json.loads(proc.stdout)
            assert proc.returncode == 0, proc.stderr[-500:]
            assert len(doc["pairs"]) == spokes and all(p["verdict"] == "ok" for p in doc["pairs"])
            assert len(doc["configs"]) == spokes + 1
            lines = sum(c["lines"] for c in doc["configs"])
            cli.append(elapsed)
            t0 = time.perf_counter()
            net = load_network(spec)
            t1 = time.perf_counter()
            renders = render_network(net)
            t2 = time.perf_counter()
            check = check_network(net, renders)
            t3 = time.perf_counter()
            assert check.ok and len(check.pairs) == spokes
            phases["expand"].append(t1 - t0)
            phases["render"].append(t2 - t1)
            phases["check"].append(t3 - t2)
    return {
        "spokes": spokes,
        "cli": cli,
        "lines": lines,
        **{k: statistics.median(v) for k, v in phases.items()},
    }


def bench_plan(devices: int, runs: int) -> dict[str, object]:
    from ipsecctl.lab import Lab

    times: list[float] = []
    planned = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with Lab(folder / "lab", devices=devices, seed=7) as lab:
            hub, *rest = lab.plan.routers
            rows = [
                [
                    "name",
                    "device",
                    "platform",
                    "outside_interface",
                    "outside_address",
                    "inside_networks",
                    "crypto_map",
                ]
            ]
            for i, r in enumerate(rest):
                rows.append(
                    [
                        f"p-{r.name}",
                        r.name,
                        r.platform,
                        r.wan_if,
                        r.address,
                        f"10.{150 + i // 250}.{i % 250}.0/24",
                        "outside_map" if r.platform == "cisco_asa" else "VPNMAP",
                    ]
                )
            with (folder / "spokes.csv").open("w", newline="") as fh:
                csv.writer(fh).writerows(rows)
            spec = folder / "plan.yaml"
            spec.write_text(
                yaml.safe_dump(
                    {
                        "name": "plan",
                        "topology": "hub_spoke",
                        "psk": "generate",
                        "key_store": "keys",
                        "map_seq_start": 5000,
                        "map_seq_step": 1,
                        "spoke_map_seq": 5000,
                        "hubs": [
                            {
                                "name": "p-hub",
                                "device": hub.name,
                                "platform": hub.platform,
                                "outside_interface": hub.wan_if,
                                "outside_address": hub.address,
                                "inside_networks": ["10.149.0.0/16"],
                                "crypto_map": "outside_map"
                                if hub.platform == "cisco_asa"
                                else "VPNMAP",
                            }
                        ],
                        "spokes_csv": "spokes.csv",
                    },
                    sort_keys=False,
                )
            )
            env = {**os.environ, "IPSECCTL_STATE_DIR": str(folder / "state"), "HOME": tmp}
            for _ in range(runs):
                elapsed, proc = run_cli(
                    [
                        "-i",
                        str(lab.inventory_path),
                        "provision",
                        "push",
                        str(spec),
                        "--dry-run",
                        "--json",
                    ],
                    env,
                )
                assert proc.returncode == 0, proc.stderr[-800:]
                doc = json.loads(proc.stdout)
                planned = len(doc["devices"])
                assert planned == devices, planned
                times.append(elapsed)
    return {"devices": devices, "times": times, "planned": planned}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spokes", type=int, default=1000)
    ap.add_argument("--lab", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "provision_results.md")
    args = ap.parse_args()
    render = bench_render(args.spokes, args.runs)
    plan = bench_plan(args.lab, args.runs)
    cli = render["cli"]
    assert isinstance(cli, list)
    times = plan["times"]
    assert isinstance(times, list)
    text = f"""# Provisioning at scale

`python benchmarks/provision_scale.py --spokes {args.spokes} --lab {args.lab} --runs {args.runs}`,
{os.cpu_count()} cores, Python {platform.python_version()}.

## Render 1 hub + {args.spokes} spokes (CSV), every pair checked both ways

`ipsecctl provision render SPEC --out DIR --json` (whole process): {args.spokes + 1} configurations,
{render["lines"]} configuration lines, {args.spokes} pairs, all `ok`.

| what | median (s) | max (s) |
| --- | --- | --- |
| whole command | {statistics.median(cli):.2f} | {max(cli):.2f} |
| library: expand (CSV, validation) | {render["expand"]:.2f} | |
| library: render (jinja2 only, the no-check reference) | {render["render"]:.2f} | |
| library: check (parse back, `diag pair` both ways, audit) | {render["check"]:.2f} | |

## Plan a push to {args.lab} lab devices

`ipsecctl provision push SPEC --dry-run --json` against a {args.lab}-device lab (IOS, IOS-XE,
ASA; hub-and-spoke over every device): running configurations fetched over SSH, exact lines
and rollback lines from the live diff, conflicts checked, `diag pair` predicted on the live
configurations with the planned lines; {plan["planned"]} device plans.

| what | median (s) | max (s) |
| --- | --- | --- |
| whole command | {statistics.median(times):.2f} | {max(times):.2f} |
"""
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
