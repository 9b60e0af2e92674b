"""``diag capture`` figures: command to decoded report for a 10 s capture on a lab router, and
decode throughput for a 100,000-packet device capture, against tshark on the same packets.

Run: ``python benchmarks/capture_device.py [--runs 3] [--out benchmarks/capture_device_results.md]``
(tshark on PATH for the peer column). Times are wall-clock on this machine; nothing here is
asserted by the tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPSECCTL_")}
    env.update(IPSECCTL_STATE_DIR=str(home / "state"), IPSECCTL_DATA_DIR=str(home / "data"),
               HOME=str(home), NO_COLOR="1")  # fmt: skip
    return env


def live_capture(runs: int, work: Path) -> list[dict[str, float]]:
    """`diag capture --seconds 10` on a healthy IOS-XE lab router at real time (scale 1)."""
    from ipsecctl.lab import Lab

    rows = []
    with Lab(work / "lab", devices=12, seed=1, time_scale=1.0) as lab:
        device = peer = None
        for r in lab.routers:
            if r.platform != "cisco_iosxe" or r.scenario != "healthy":
                continue
            for link, side in lab.fleet.ends_of(r.name):
                if link.behaviour == "healthy" and link.sas:
                    device = r.name
                    peer = link.spec.b_addr if side == "a" else link.spec.a_addr
                    break
            if device:
                break
        assert device and peer
        for _ in range(runs):
            home = Path(tempfile.mkdtemp(dir=work))
            t0 = time.perf_counter()
            proc = subprocess.run(
                [sys.executable, "-m", "ipsecctl", "-i", str(lab.inventory_path), "diag",
                 "capture", device, "--peer", peer, "--seconds", "10", "--yes", "--json"],
                capture_output=True, text=True, env=_env(home), timeout=120, cwd=home,
            )  # fmt: skip
            total = time.perf_counter() - t0
            doc = json.loads(proc.stdout)
            assert proc.returncode == 0, proc.stderr
            rows.append({"total_s": total, "packets": doc["packets"],
                         "overhead_s": total - 10.0})  # fmt: skip
    return rows


def make_dump(n: int, work: Path) -> tuple[Path, Path, str, str]:
    """A 100,000-packet IOS-XE ``buffer dump`` printed by a lab router, and the same packets
    as a pcapng (for tshark)."""
    from ipsecctl.diag.packets.pcap import LINKTYPE_ETHERNET, PcapngWriter
    from ipsecctl.lab import Lab
    from ipsecctl.lab.capture_cli import xe_dump
    from ipsecctl.lab.capture_packets import Filter, router_packets

    with Lab(work / "lab2", devices=12, seed=1, time_scale=1.0) as lab:
        fleet = lab.fleet
        name = next(r.name for r in lab.routers
                    if r.platform == "cisco_iosxe" and r.scenario == "healthy")  # fmt: skip
        link, side = next((lk, s) for lk, s in fleet.ends_of(name) if lk.sas)
        local = link.spec.a_addr if side == "a" else link.spec.b_addr
        peer = link.spec.b_addr if side == "a" else link.spec.a_addr
        with fleet.lock:
            t1 = fleet.advance()
            rate = link.spec.rate_ab + link.spec.rate_ba
            pkts = router_packets(fleet, name, Filter(None, local, peer), t1 - n / rate - 5, t1, n)
        text = work / "dump.txt"
        text.write_text(xe_dump(pkts))
        pcap = work / "dump.pcapng"
        with PcapngWriter(pcap) as w:
            for p in pkts:
                w.write(fleet.clock.wall(p.time).timestamp(), LINKTYPE_ETHERNET, p.data)
    return text, pcap, local, peer


def decode(text: Path, pcap: Path, local: str, peer: str, runs: int, work: Path
           ) -> dict[str, list[float]]:  # fmt: skip
    out: dict[str, list[float]] = {"ipsecctl": [], "ipsecctl_library": [], "tshark": []}
    home = work / "home"
    home.mkdir(exist_ok=True)
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "ipsecctl", "diag", "capture", "--from", str(text), "-p",
             "cisco_iosxe", "--peer", peer, "--local", local, "--json"],
            capture_output=True, text=True, env=_env(home), timeout=600,
        )  # fmt: skip
        out["ipsecctl"].append(time.perf_counter() - t0)
        assert proc.returncode in (0, 3), proc.stderr
        t0 = time.perf_counter()
        from ipsecctl.diag.capture.analysis import analyse_capture
        from ipsecctl.ops.capture import between_ends, frames_of_output

        frames = between_ends(frames_of_output(text.read_text(), "ios-dump", "cisco_iosxe",
                                               label="dump"), local, peer)  # fmt: skip
        analyse_capture(frames, device="r", peer=peer, local_addr=local).to_dict()
        out["ipsecctl_library"].append(time.perf_counter() - t0)
        if shutil.which("tshark"):
            t0 = time.perf_counter()
            fields = ["-T", "fields", "-e", "esp.spi", "-e", "esp.sequence"]
            subprocess.run(["tshark", "-r", str(pcap), *fields], capture_output=True,
                           timeout=600, check=True)  # fmt: skip
            out["tshark"].append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--packets", type=int, default=100_000)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ipsecctl-capture-bench-"))
    try:
        live = live_capture(args.runs, work)
        text, pcap, local, peer = make_dump(args.packets, work)
        dec = decode(text, pcap, local, peer, args.runs, work)
        size = text.stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    med = statistics.median
    lines = [
        "# diag capture benchmark",
        "",
        f"Machine: {os.cpu_count()} cores; {args.runs} runs each, median (min-max).",
        "",
        "## Command to decoded report, 10 s capture on a lab IOS-XE router (time scale 1)",
        "",
        "| what | median | min | max |",
        "| --- | --- | --- | --- |",
        f"| whole command (`diag capture --seconds 10 --yes --json`) | "
        f"{med(r['total_s'] for r in live):.2f} s | {min(r['total_s'] for r in live):.2f} s | "
        f"{max(r['total_s'] for r in live):.2f} s |",
        f"| beyond the 10 s capture (poll, commands, fetch, re-poll, analysis) | "
        f"{med(r['overhead_s'] for r in live):.2f} s | "
        f"{min(r['overhead_s'] for r in live):.2f} s | "
        f"{max(r['overhead_s'] for r in live):.2f} s |",
        "",
        f"Packets captured per run: {[int(r['packets']) for r in live]}.",
        "",
        f"## Decode throughput, {args.packets:,}-packet IOS-XE `buffer dump` ({size / 1e6:.1f} MB"
        " of text)",
        "",
        "| what | median | packets/s |",
        "| --- | --- | --- |",
    ]
    for key, label in (("ipsecctl", "`diag capture --from dump.txt -p cisco_iosxe --json` "
                        "(whole process)"),
                       ("ipsecctl_library", "read + analyse in-process (`frames_of_output`, "
                        "`analyse_capture`)"),
                       ("tshark", "tshark -T fields esp.spi,esp.sequence on the same packets "
                        "as pcapng (peer)")):  # fmt: skip
        vals = dec[key]
        if vals:
            lines.append(f"| {label} | {med(vals):.2f} s | {args.packets / med(vals):,.0f} |")
    text_out = "\n".join(lines) + "\n"
    print(text_out)
    if args.out:
        args.out.write_text(text_out)


if __name__ == "__main__":
    main()
