"""Two collectors, each polling its shard of the lab, write one real PostgreSQL store at the
same time; the one-shot views, ``check`` and ``watch`` then read the fleet from the store.

The server is started by the tests (tests/store/pgserver.py). Which collector polls which
device follows the documented shard rule, computed here on its own: shard
``1 + SHA-256(name)[:8] mod N``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ipsecctl import errors
from ipsecctl.lab import Lab
from ipsecctl.ops.stored import StoredFleet
from ipsecctl.store import open_store
from tests.helpers import run_cli
from tests.monitor import labtruth
from tests.monitor.proc import Running


def _shard(name: str, n: int) -> int:
    return 1 + int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % n


def test_two_collectors_one_postgres_and_readers_of_it(
    lab: Lab, pg_url: str, tmp_path: Path
) -> None:
    inv = str(lab.inventory_path)
    runs = [
        Running(
            "-i",
            inv,
            "--store",
            pg_url,
            "collect",
            "--shard",
            f"{k}/2",
            "--collector",
            f"region-{k}",
            "--count",
            "4",
            "--interval",
            "1",
            home=tmp_path / f"c{k}",
        )
        for k in (1, 2)
    ]
    try:
        codes = [r.wait(180) for r in runs]
    finally:
        for r in runs:
            r.stop()
    assert codes == [0, 0], [r.stderr for r in runs]
    for r in runs:
        assert "Traceback" not in r.stderr and "done: 4 poll(s)" in r.stderr, r.stderr

    names = [r.name for r in lab.routers]
    with open_store(pg_url) as store:
        latest = {s.device: s for s in store.latest()}
        assert sorted(latest) == sorted(names)
        for name in names:
            runs_of = store.polls(name)
            assert {p["collector"] for p in runs_of} == {f"region-{_shard(name, 2)}"}, name
            assert sum(p["polls"] for p in runs_of) == 4
        # the read-only fleet: ages, and actions refused with the collector named
        stored = StoredFleet(store, None, owns_store=False)
        states = stored.poll()
        assert [s.device for s in states] == sorted(names)
        ages = stored.ages()
        assert all(a is not None and 0 <= a < 120 for a in ages.values()), ages
        try:
            stored.session(names[0])
        except errors.RefusedError as exc:
            assert f"region-{_shard(names[0], 2)}" in str(exc)
        else:
            raise AssertionError("a stored fleet opened a session")

    home = tmp_path / "reader"  # a reader with no inventory at all
    status = run_cli("--from-store", pg_url, "status", "--json", home=home)
    assert status.code == 3, status  # the lab has tunnels down: a problem, not a failure
    assert sorted(d["device"] for d in status.json["devices"]) == sorted(names)
    table = run_cli("status", "--from-store", pg_url, home=home)
    assert " age " in table.out.splitlines()[1] or "age" in table.out, table
    show = run_cli("--from-store", pg_url, "show", names[0], "--json", home=home)
    assert show.json["devices"][0]["extra"]["age_s"] >= 0
    healthy = labtruth.healthy_routers(lab)
    check = run_cli("--from-store", pg_url, "check", *healthy, home=home)
    assert check.code == 0 and check.out.startswith("IPSEC OK - "), check
    stale = run_cli("--from-store", pg_url, "check", "--max-age", "0.001", home=home)
    assert stale.code == 3 and "its last recorded poll is" in stale.out, stale
    missing = run_cli("--from-store", pg_url, "status", "nosuch", home=home)
    assert missing.code == 1 and "no collector has recorded" in missing.err, missing


def test_watch_from_the_store_prints_what_a_collector_records(
    lab: Lab, pg_url: str, tmp_path: Path
) -> None:
    end = labtruth.healthy_link(lab)
    inv = str(lab.inventory_path)
    collector = Running(
        "-i",
        inv,
        "--store",
        pg_url,
        "collect",
        end.router,
        "--interval",
        "1",
        home=tmp_path / "collector",
    )
    reader: Running | None = None
    try:
        import time

        # the reader's baseline must hold the router's tunnel up: the collector records a
        # poll of it first, then the reader starts and takes the store's latest as baseline
        deadline = time.monotonic() + 60
        # (exit 1: no collector has recorded it yet; 3: recorded, with a fault elsewhere)
        while run_cli("--from-store", pg_url, "status", end.router, home=tmp_path).code == 1:
            assert time.monotonic() < deadline, collector.stderr
            time.sleep(0.2)
        reader = Running(
            "--from-store", pg_url, "watch", "--json", "--interval", "1", home=tmp_path / "reader"
        )
        assert "baseline: 1 device(s)" in reader.wait_stderr("baseline:")
        assert lab.fleet.clear(end.router, "session", peer=end.peer) == 1
        seen = []
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            line = reader.next_line(1)
            if line is None:
                continue
            ev = json.loads(line)
            seen.append(ev)
            if ev["event"] == "tunnel_up" and ev["peer"] == end.peer:
                break
        assert any(e["event"] == "tunnel_down" and e["peer"] == end.peer for e in seen), seen
        assert any(e["event"] == "tunnel_up" and e["peer"] == end.peer for e in seen), seen
        assert collector.interrupt() == 0, collector.stderr
        assert reader.interrupt() == 0, reader.stderr
    finally:
        if reader is not None:
            reader.stop()
        collector.stop()
