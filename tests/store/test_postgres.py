"""The history store on a real PostgreSQL server: same schema, collectors writing at once,
a migration from the first schema, and the server going away and coming back mid-run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from ipsecctl.errors import InputFileError, StoreError
from ipsecctl.store import SCHEMA_VERSION, RetryBuffer, open_store
from ipsecctl.store.db import epoch
from ipsecctl.store.postgres import PostgresStore
from tests.store.builders import at, device, tunnel

ROOT = Path(__file__).resolve().parents[2]


def _psql_rows(url: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


def test_same_schema_and_history_as_sqlite(pg_url):
    with open_store(pg_url) as store:
        assert isinstance(store, PostgresStore)
        assert "@127.0.0.1:" in store.location
        store.record_poll([device(at(0), tunnel(uptime_s=50))], collector="eu")
        store.record_poll(
            [device(at(1), tunnel(state="down", ike_state="MM_NO_STATE"))], collector="eu"
        )
        store.record_poll([device(at(2), tunnel(spi_in=(7,), spi_out=(8,)))], collector="eu")
        store.record_action(
            {
                "action": "clear",
                "device": "hub-1",
                "peer": "10.0.0.2",
                "password": "hunter2",
                "time": "2026-11-26T12:00:45Z",
            }
        )
        assert [e.event for e in store.events()] == [
            "tunnel_added",
            "tunnel_down",
            "ike_state",
            "action",
            "tunnel_up",
            "ike_state",
        ]
        assert store.flaps("hub-1", "10.0.0.2") == 1
        assert store.uptime_since("hub-1", "10.0.0.2") == at(2)
        (latest,) = store.latest()
        assert latest.polled_at == at(2) and latest.tunnels[0].spis("out") == [8]
        assert store.actions()[0]["password"] != "hunter2"
        assert store.polls("hub-1")[0]["collector"] == "eu"
    versions = _psql_rows(pg_url, "SELECT version FROM schema_version ORDER BY 1")
    assert [v for (v,) in versions] == list(range(1, SCHEMA_VERSION + 1))


_COLLECTOR = textwrap.dedent("""
    import sys
    from ipsecctl.store import open_store
    from tests.store.builders import at, device, tunnel
    name, url, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    devices = [f"r{n:03d}" for n in range(first, first + count)]
    with open_store(url, application_name=name) as s:
        for i in range(30):
            # every device flaps at polls 10 and 20 (down for one poll)
            state = "down" if i in (10, 20) else "up"
            s.record_poll([device(at(i), tunnel(device=d, state=state, encaps=1000 + i,
                                                decaps=1000 + i), name=d) for d in devices],
                          collector=name)
        assert s.pending == 0
""")


def test_two_collectors_write_at_once_and_lose_nothing(pg_url):
    open_store(pg_url).close()  # migrated once; the collectors then start together
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _COLLECTOR, name, pg_url, str(first), "10"], cwd=ROOT
        )
        for name, first in (("eu", 0), ("us", 10))
    ]
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    with open_store(pg_url) as store:
        latest = store.latest()
        assert len(latest) == 20 and {s.polled_at for s in latest} == {at(29)}
        for d in ("r000", "r009", "r010", "r019"):
            # per device: added, then down/up twice (down at 10 and 20, up at 11 and 21)
            assert [(e.event, e.time) for e in store.events([d]) if e.event != "ike_state"] == [
                ("tunnel_added", at(0)),
                ("tunnel_down", at(10)),
                ("tunnel_up", at(11)),
                ("tunnel_down", at(20)),
                ("tunnel_up", at(21)),
            ]
        assert len(store.events(kinds=["tunnel_down"])) == 40
        # the health rules' flap figures, from the same events in one grouped query
        assert store.flap_history(["r000", "r019"]) == {
            (d, "10.0.0.2", None): (2, 2, at(20), at(21)) for d in ("r000", "r019")
        }
        polls = _psql_rows(
            pg_url, "SELECT collector, SUM(n_polls), COUNT(*) FROM polls GROUP BY 1 ORDER BY 1"
        )
        # every poll counted; per device five runs of equal summaries (up, down, up, down, up)
        assert polls == [("eu", 300, 50), ("us", 300, 50)]


def test_collectors_racing_on_one_device_keep_the_newest_state(pg_url):
    stores = [open_store(pg_url, application_name=f"c{n}") for n in range(2)]
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            for i in range(n, 40, 2):  # interleaved polls of the same device
                stores[n].record_poll(
                    [device(at(i), tunnel(encaps=1000 + i, decaps=1000 + i))], collector=f"c{n}"
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    (latest,) = stores[0].latest()
    assert latest.polled_at == at(39)  # an older poll never replaced a newer one
    assert sum(run["polls"] for run in stores[0].polls("hub-1")) == 40
    assert [e.event for e in stores[0].events()] == ["tunnel_added"]
    for s in stores:
        s.close()


# The first schema as a PostgreSQL database would have had it, with its version recorded.
V1_PG = (
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
    "applied_at DOUBLE PRECISION NOT NULL)",
    "INSERT INTO schema_version VALUES (1, 'snapshots and actions', 0)",
    "CREATE TABLE snapshots (id BIGSERIAL PRIMARY KEY, device TEXT NOT NULL, "
    "polled_at DOUBLE PRECISION NOT NULL, body TEXT NOT NULL)",
    "CREATE TABLE actions (id BIGSERIAL PRIMARY KEY, time DOUBLE PRECISION NOT NULL, "
    "device TEXT, action TEXT, body TEXT NOT NULL)",
)


def test_migration_from_the_first_schema(pg_url):
    import psycopg

    with psycopg.connect(pg_url) as conn:
        for statement in V1_PG:
            conn.execute(statement)
        for s in (device(at(0), tunnel()), device(at(1), tunnel(state="down"))):
            conn.execute(
                "INSERT INTO snapshots (device, polled_at, body) VALUES (%s, %s, %s)",
                (s.device, epoch(s.polled_at), s.model_dump_json(exclude={"raw"})),
            )
    with open_store(pg_url) as store:
        assert [(e.event, e.time) for e in store.events()] == [
            ("tunnel_added", at(0)),
            ("tunnel_down", at(1)),
        ]
        assert [s.polled_at for s in store.latest()] == [at(1)]
    tables = {
        t
        for (t,) in _psql_rows(
            pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
    }
    assert "snapshots" not in tables and {"devices", "polls", "events"} <= tables


def test_a_newer_schema_is_refused(pg_url):
    open_store(pg_url).close()
    import psycopg

    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO schema_version VALUES (%s, 'future', 0)", (SCHEMA_VERSION + 1,))
    with pytest.raises(InputFileError, match="is newer than this ipsecctl"):
        open_store(pg_url)


def test_no_server_is_a_clear_error():
    import socket

    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StoreError, match=rf"postgresql://postgres@127.0.0.1:{port}/x: cannot"):
        open_store(f"postgresql://postgres:secret@127.0.0.1:{port}/x")


def test_server_goes_away_and_comes_back_without_losing_polls(pg_server, pg_url):
    store = open_store(pg_url, buffer=RetryBuffer(base_delay=0.05, max_delay=0.2))
    returned: list[str] = []
    for i in range(5):
        returned += [e.event for e in store.record_poll([device(at(i), tunnel())])]
    pg_server.stop("fast")
    try:
        # the collector goes on polling while the database is away
        for i in range(5, 15):
            state = "down" if i == 8 else "up"
            returned += [e.event for e in store.record_poll([device(at(i), tunnel(state=state))])]
        store.record_action(
            {
                "action": "clear",
                "device": "hub-1",
                "peer": "10.0.0.2",
                "time": "2026-11-26T12:04:05Z",
            }
        )
        assert store.pending == 11
        assert store.flush() is False
    finally:
        pg_server.start()
    # the next writes after the backoff flush everything, in order
    deadline = time.monotonic() + 30
    i = 15
    while store.pending and time.monotonic() < deadline:
        time.sleep(0.1)
        store.record_poll([device(at(i), tunnel())])
        i += 1
    assert store.pending == 0 and store.buffer.dropped == 0
    assert returned == ["tunnel_added", "tunnel_down", "tunnel_up"]
    # every poll is counted, in runs of equal summaries: up 0-7, down 8, up from 9 on
    assert [(p["since"], p["until"], p["polls"]) for p in store.polls("hub-1")] == [
        (at(0), at(7), 8),
        (at(8), at(8), 1),
        (at(9), at(i - 1), i - 9),
    ]
    assert [(e.event, e.time) for e in store.events()] == [
        ("tunnel_added", at(0)),
        ("tunnel_down", at(8)),
        ("action", at(8).replace(second=5)),
        ("tunnel_up", at(9)),
    ]
    store.close()
