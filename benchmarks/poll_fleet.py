"""Time to poll N lab routers: ipsecctl vs netmiko + ntc-templates, same lab, same run.

For each fleet size it starts the embedded lab, then measures

* ipsecctl: first full poll (connect + prepare + show commands + parse into models) and a
  refresh over the persistent sessions;
* netmiko + ntc-templates: the same with ``ConnectHandler`` per device on the same thread
  pool size, ``show crypto ipsec sa detail`` parsed with ``use_textfsm=True`` (the only form
  ntc-templates parses; it has no ``show crypto isakmp sa`` template), refresh reusing the
  connections.

Usage: ``python benchmarks/poll_fleet.py --sizes 50 200 --workers 16`` (writes
benchmarks/poll_results.md). Not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("IPSECCTL_STATE_DIR", tempfile.mkdtemp(prefix="ipsecctl-bench-"))


def ipsecctl_poll(inventory_path: Path, workers: int) -> tuple[float, float, int]:
    import inventory as inv
    from ipsecctl.collect import Collector
    from ipsecctl.sessions import SessionPool
    from ipsecctl.settings import load_settings

    hosts = inv.load_inventory(inventory_path).select(["all"])
    pool = SessionPool(load_settings(), host_key_policy="reject")
    with Collector(pool, workers=workers) as collector:
        t0 = time.perf_counter()
        states = collector.poll(hosts)
        first = time.perf_counter() - t0
        errors = sum(len(s.errors) for s in states)
        t0 = time.perf_counter()
        states = collector.poll(hosts)
        refresh = time.perf_counter() - t0
        tunnels = sum(len(s.tunnels) for s in states)
    if errors:
        print(f"  ipsecctl: {errors} device errors")
    return first, refresh, tunnels


def netmiko_poll(inventory_path: Path, workers: int) -> tuple[float, float, int]:
    from netmiko import ConnectHandler

    import inventory as inv

    hosts = inv.load_inventory(inventory_path).select(["all"])
    def connect(h: Any) -> Any:
        # ssh_strict: netmiko's default would auto-add unknown keys; the lab's known_hosts
        # holds every router's key, so the comparison checks host keys like ipsecctl does.
        return ConnectHandler(
            device_type="cisco_ios", host=h.hostname, port=h.port, username=h.username,
            password=h.password.get() if h.password else None,
            secret=h.enable_secret.get() if h.enable_secret else "",
            fast_cli=True, ssh_strict=True, system_host_keys=False,
            alt_host_keys=True, alt_key_file=str(h.known_hosts[0]),
        )

    def run(conn: Any) -> int:
        """What a netmiko script must do: ntc-templates has no isakmp template and its ipsec
        template fails on an interface with several peers, so: session detail for the peers,
        then ``show crypto ipsec sa peer X detail`` per peer."""
        if not conn.check_enable_mode():
            conn.enable()
        sessions = conn.send_command("show crypto session detail", use_textfsm=True)
        count = len(sessions) if isinstance(sessions, list) else 0
        peers = sorted({row.get("peer") or row.get("remote") or "" for row in sessions
                        if isinstance(row, dict)} - {""}) if isinstance(sessions, list) else []
        for peer in peers:
            out = conn.send_command(f"show crypto ipsec sa peer {peer} detail", use_textfsm=True)
            count += len(out) if isinstance(out, list) else 0
        return count

    with ThreadPoolExecutor(workers) as pool:
        t0 = time.perf_counter()
        conns = list(pool.map(connect, hosts))
        records = sum(pool.map(run, conns))
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        records = sum(pool.map(run, conns))
        refresh = time.perf_counter() - t0
        for c in conns:
            c.disconnect()
    return first, refresh, records


def main() -> None:
    from ipsecctl.lab import start_lab

    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("poll_results.md"))
    args = parser.parse_args()
    lines = [
        "# Poll time: ipsecctl vs netmiko + ntc-templates",
        "",
        f"`python benchmarks/poll_fleet.py --sizes {' '.join(map(str, args.sizes))} "
        f"--workers {args.workers}`, {os.cpu_count()} cores, lab routers on loopback.",
        "",
        "| routers | tool | first poll (s) | refresh (s) | records |",
        "| --- | --- | --- | --- | --- |",
    ]
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            lab = start_lab(Path(tmp) / "lab", devices=size, seed=7)
            try:
                for name, fn in (("ipsecctl", ipsecctl_poll), ("netmiko+ntc", netmiko_poll)):
                    first, refresh, n = fn(lab.inventory_path, args.workers)
                    print(f"{size} routers {name}: first {first:.2f}s refresh {refresh:.2f}s "
                          f"({n} records)")
                    lines.append(f"| {size} | {name} | {first:.2f} | {refresh:.2f} | {n} |")
            finally:
                lab.stop()
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
