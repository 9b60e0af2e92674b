"""Benchmark: the history store at fleet scale, SQLite and PostgreSQL in one run.

Usage::

    python benchmarks/store_scale.py [--tunnels 1000] [--polls 100] [--backends sqlite postgresql]
                                     [--pg-url URL] [--out benchmarks/store_results.md]

Measures, per backend:

* write time per poll of ``--tunnels`` tunnels (``record_poll``: diff against the stored state,
  events, summaries, latest state), for two shapes: one hub with all the tunnels, and routers
  of 10 tunnels each;
* the database size after a day of 30 s polls (2,880 polls written through ``record_poll``,
  routers shape), then a week (the day's events and poll summaries repeated six days back:
  same rows, same indexes), and history queries over that week (store calls and the whole
  ``ipsecctl history --since 7d --json`` process).

The tunnels are those of a generated ``show crypto ipsec sa`` of a hub (the parse benchmark's
generator, laid out like the corpus' IOS samples) parsed by ipsecctl itself, so they carry
every field a real poll carries. Between polls the counters move, every tunnel rekeys once an
hour (IOS' default 3,600 s lifetime; staggered), and one tunnel flaps every ten minutes.
Without ``--pg-url`` a throwaway PostgreSQL server is started (initdb in a temporary folder).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from parse_ipsec_sa import generate  # noqa: E402

from ipsecctl.assemble import assemble  # noqa: E402
from ipsecctl.models import DeviceState, Tunnel  # noqa: E402
from ipsecctl.store import open_store  # noqa: E402

POLL_S = 30
DAY_POLLS = 86400 // POLL_S
REKEY_POLLS = 3600 // POLL_S
FLAP_POLLS = 600 // POLL_S


class Fleet:
    """Successive polls of ``tunnels`` tunnels laid out as ``per_device`` per router."""

    def __init__(self, tunnels: int, per_device: int) -> None:
        text, _ = generate(tunnels, False)
        hub = assemble("hub", "cisco_iosxe", {"show crypto ipsec sa": text})
        self.devices: dict[str, list[Tunnel]] = {}
        for i, t in enumerate(hub.tunnels):
            name = "hub" if per_device >= tunnels else f"r{i // per_device:05d}"
            t = t.model_copy(update={"device": name, "id": ""}).with_identity()
            self.devices.setdefault(name, []).append(t)

    def poll(self, k: int, when: datetime) -> list[DeviceState]:
        states = []
        index = 0
        flapping = (k // FLAP_POLLS) % max(1, sum(len(v) for v in self.devices.values()))
        for name, tunnels in self.devices.items():
            current = []
            for t in tunnels:
                current.append(
                    self._tunnel(t, k, index, down=index == flapping and k % FLAP_POLLS == 0)
                )
                index += 1
            states.append(
                DeviceState(device=name, platform="cisco_iosxe", polled_at=when, tunnels=current)
            )
        return states

    @staticmethod
    def _tunnel(t: Tunnel, k: int, index: int, down: bool) -> Tunnel:
        if down or not t.sas:
            return t.model_copy(update={"state": "down", "sas": [], "counters": {}})
        generation = (k + index) // REKEY_POLLS
        counters = {
            key: value + k * (40 + index % 7)
            for key, value in t.counters.items()
            if key.startswith("pkts_")
        } | {key: value for key, value in t.counters.items() if not key.startswith("pkts_")}
        sas = [
            sa.model_copy(update={"spi": (sa.spi + generation * 7919) & 0xFFFFFFFF}) for sa in t.sas
        ]
        return t.model_copy(update={"counters": counters, "sas": sas, "state": "up"})


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "mean_ms": statistics.fmean(ordered) * 1000,
    }


def write_times(location: str, fleet: Fleet, polls: int) -> dict[str, Any]:
    start = datetime.now(UTC) - timedelta(seconds=POLL_S * (polls + 2))
    with open_store(location) as store:
        t0 = time.perf_counter()
        store.record_poll(fleet.poll(0, start), collector="bench")
        first = time.perf_counter() - t0
        samples = []
        events = 0
        for k in range(1, polls + 1):
            states = fleet.poll(k, start + timedelta(seconds=POLL_S * k))
            t0 = time.perf_counter()
            events += len(store.record_poll(states, collector="bench"))
            samples.append(time.perf_counter() - t0)
    return {"first_ms": first * 1000, "events": events, **_stats(samples)}


def db_size(location: str) -> int:
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location) as conn:
            row = conn.execute(
                "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'"
            ).fetchone()
        return int(row[0] or 0) if row else 0
    import sqlite3

    conn = sqlite3.connect(location)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return Path(location).stat().st_size


def _sql(location: str, statements: list[str]) -> None:
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location) as conn:
            for s in statements:
                conn.execute(s)
            conn.execute("ANALYZE")
    else:
        import sqlite3

        conn = sqlite3.connect(location)
        for s in statements:
            conn.execute(s)
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()


def _rows(location: str, sql: str) -> int:
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location) as conn:
            row = conn.execute(sql).fetchone()
    else:
        import sqlite3

        conn = sqlite3.connect(location)
        row = conn.execute(sql).fetchone()
        conn.close()
    return int(row[0]) if row else 0


def day_and_week(location: str, fleet: Fleet, day_polls: int) -> dict[str, Any]:
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(seconds=POLL_S * day_polls)
    t0 = time.perf_counter()
    with open_store(location) as store:
        for k in range(day_polls):
            store.record_poll(
                fleet.poll(k, start + timedelta(seconds=POLL_S * k)), collector="bench"
            )
    fill_s = time.perf_counter() - t0
    day_size = db_size(location)
    day_events = _rows(location, "SELECT count(*) FROM events")
    day_poll_rows = _rows(location, "SELECT count(*) FROM polls")
    cols = "device, tunnel, peer, vrf, event, from_state, to_state, detail, collector"
    pcols = "n_polls, collector, reachable, tunnels_up, tunnels_total, ike_up, ike_total, errors"
    copies = []
    for d in range(1, 7):
        shift = d * 86400
        copies.append(
            f"INSERT INTO events (time, {cols}) SELECT time - {shift}, {cols} "
            f"FROM events WHERE time >= {start.timestamp()}"
        )
        copies.append(
            f"INSERT INTO polls (device, polled_at, last_at, {pcols}) SELECT device, "
            f"polled_at - {shift}, last_at - {shift}, {pcols} FROM polls "
            f"WHERE polled_at >= {start.timestamp()}"
        )
    _sql(location, copies)
    week_size = db_size(location)
    device = next(iter(fleet.devices))
    t = fleet.devices[device][3]
    since = end - timedelta(days=7)
    queries: dict[str, Any] = {}
    with open_store(location) as store:

        def timed(name: str, fn: Any) -> None:
            samples = []
            result = None
            for _ in range(5):
                t0 = time.perf_counter()
                result = fn()
                samples.append(time.perf_counter() - t0)
            n = len(result) if isinstance(result, list) else result
            queries[name] = {"median_ms": statistics.median(samples) * 1000, "result": n}

        timed("timeline of one tunnel, 7 days", lambda: store.timeline(t.id, since=since))
        timed("flaps of one peer, 7 days", lambda: store.flaps(device, t.peer or "", None, since))
        timed("uptime_since of one peer", lambda: store.uptime_since(device, t.peer or ""))
        timed("events of one device, 7 days", lambda: store.events([device], since=since))
        timed(
            "tunnel_down of the fleet, 7 days",
            lambda: store.events(since=since, kinds=["tunnel_down"]),
        )
        timed("latest state of every device", lambda: store.latest())
    env = {**os.environ, "NO_COLOR": "1"}
    samples = []
    found = 0
    for _ in range(3):
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "ipsecctl",
                "history",
                device,
                "--since",
                "7d",
                "--json",
                "--store",
                location,
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
        )
        samples.append(time.perf_counter() - t0)
        found = proc.stdout.count('"event":')
    queries["`ipsecctl history DEVICE --since 7d --json` (process)"] = {
        "median_ms": statistics.median(samples) * 1000,
        "result": found,
    }
    return {
        "fill_s": fill_s,
        "day_polls": day_polls,
        "day_size": day_size,
        "day_events": day_events,
        "day_poll_rows": day_poll_rows,
        "week_size": week_size,
        "queries": queries,
    }


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tunnels", type=int, default=1000)
    ap.add_argument("--polls", type=int, default=100, help="timed polls per shape")
    ap.add_argument("--day-polls", type=int, default=DAY_POLLS)
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    ap.add_argument("--pg-url", help="an empty PostgreSQL database (default: start one)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "store_results.md")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ipsecctl-store-bench-"))
    server = None
    created: list[str] = []

    def location(backend: str, name: str) -> str:
        nonlocal server
        if backend == "sqlite":
            return str(work / f"{name}.sqlite3")
        if args.pg_url:
            import psycopg

            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS bench_{name}")
                conn.execute(f"CREATE DATABASE bench_{name}")
            created.append(name)
            return args.pg_url.rsplit("/", 1)[0] + f"/bench_{name}"
        if server is None:
            from tests.store.pgserver import start_server

            pg_root = Path(tempfile.mkdtemp(prefix="ipsecctl-pg-"))
            server = (start_server(pg_root), pg_root)
        import psycopg

        with psycopg.connect(server[0].admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE bench_{name}")
        return server[0].admin_url.rsplit("/", 1)[0] + f"/bench_{name}"

    shapes = {"1 hub x {n}": args.tunnels, "{r} routers x 10": 10}
    results: dict[str, Any] = {}
    try:
        for backend in args.backends:
            for label, per in shapes.items():
                fleet = Fleet(args.tunnels, per)
                name = label.format(n=args.tunnels, r=len(fleet.devices))
                print(f"{backend}: write, {name} ...", flush=True)
                tag = f"w_{'hub' if per >= args.tunnels else 'routers'}"
                results[(backend, name)] = write_times(location(backend, tag), fleet, args.polls)
            fleet = Fleet(args.tunnels, 10)
            print(f"{backend}: a day of polls, then a week ...", flush=True)
            results[(backend, "week")] = day_and_week(
                location(backend, "week"), fleet, args.day_polls
            )
    finally:
        if server is not None:
            server[0].stop("immediate")
            shutil.rmtree(server[1], ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)

    lines = [
        "# History store at scale: SQLite and PostgreSQL",
        "",
        f"`python benchmarks/store_scale.py --tunnels {args.tunnels} --polls {args.polls}` "
        f"on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{datetime.now(UTC):%Y-%m-%d}. PostgreSQL: a local server on loopback (fsync off, as "
        "the test server; a production server with fsync on adds its commit latency).",
        "",
        f"## Write time per poll of {args.tunnels} tunnels (`record_poll`)",
        "",
        "Every tunnel rekeys once an hour and one flaps every 10 minutes, so most polls bring "
        "a few events; the first poll (every tunnel added) is shown apart.",
        "",
        "| backend | shape | median (ms) | p95 (ms) | mean (ms) | first poll (ms) | events |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (backend, name), r in results.items():
        if name == "week":
            continue
        lines.append(
            f"| {backend} | {name} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['mean_ms']:.1f} | {r['first_ms']:.0f} | {r['events']} |"
        )
    lines += [
        "",
        f"## A day and a week of 30 s polls ({args.tunnels} tunnels, routers of 10)",
        "",
        "| backend | polls written | fill time (s) | events / day | poll summary rows / day | "
        "size after 1 day (MiB) | size after 7 days (MiB) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (backend, name), r in results.items():
        if name != "week":
            continue
        lines.append(
            f"| {backend} | {r['day_polls']} | {r['fill_s']:.0f} | {r['day_events']} "
            f"| {r['day_poll_rows']} | {_mib(r['day_size'])} | "
            f"{_mib(r['week_size'])} |"
        )
    lines += [
        "",
        "## History queries over the week",
        "",
        "| backend | query | median (ms) | rows / result |",
        "| --- | --- | --- | --- |",
    ]
    for (backend, name), r in results.items():
        if name != "week":
            continue
        for q, v in r["queries"].items():
            lines.append(f"| {backend} | {q} | {v['median_ms']:.1f} | {v['result']} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
