"""A version 1 history file (the first format: every poll whole, ``PRAGMA user_version=1``,
no ``schema_version`` table) is migrated: its snapshots become events, poll summaries and
the latest state per device, its actions gain peer/vrf, and the snapshots go."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ipsecctl.store import SCHEMA_VERSION, open_store
from ipsecctl.store.db import epoch
from tests.store.builders import at, device, tunnel

# The first format's DDL, as ipsecctl 0.1 wrote it (kept literally: the test must not depend
# on the product's own copy of it).
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id        INTEGER PRIMARY KEY,
    device    TEXT NOT NULL,
    polled_at REAL NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_device_time ON snapshots (device, polled_at);
CREATE TABLE IF NOT EXISTS actions (
    id     INTEGER PRIMARY KEY,
    time   REAL NOT NULL,
    device TEXT,
    action TEXT,
    body   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_time ON actions (time);
"""


def make_v1(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.execute("PRAGMA user_version=1")
    snapshots = [
        device(at(0), tunnel(uptime_s=100)),
        device(at(1), tunnel(state="down", ike_state="MM_NO_STATE")),
        device(at(2), tunnel(spi_in=(0xAB,), spi_out=(0xCD,))),
        device(at(0), tunnel(device="br-1", peer="10.0.0.1"), name="br-1"),
        device(at(1), name="br-1", reachable=False),
    ]
    for s in snapshots:  # saved as 0.1 did: the JSON of the model without raw
        db.execute(
            "INSERT INTO snapshots (device, polled_at, body) VALUES (?, ?, ?)",
            (s.device, epoch(s.polled_at), s.model_dump_json(exclude={"raw"})),
        )
    db.execute("INSERT INTO snapshots (device, polled_at, body) VALUES ('x', 0, '{\"bad\": 1}')")
    record = {
        "action": "clear",
        "device": "hub-1",
        "peer": "10.0.0.2",
        "ok": True,
        "time": "2026-11-26T12:00:45Z",
    }
    db.execute(
        "INSERT INTO actions (time, device, action, body) VALUES (?, ?, ?, ?)",
        (epoch(at(1)) + 15, "hub-1", "clear", json.dumps(record)),
    )
    db.commit()
    db.close()


def test_v1_file_is_migrated_into_events_and_latest_states(tmp_path):
    path = tmp_path / "history.sqlite3"
    make_v1(path)
    with open_store(path) as store:
        hub = store.events(["hub-1"])
        assert [(e.event, e.time) for e in hub] == [
            ("tunnel_added", at(0)),
            ("tunnel_down", at(1)),
            ("ike_state", at(1)),
            ("action", at(1).replace(second=45)),
            ("tunnel_up", at(2)),
            ("ike_state", at(2)),
        ]
        assert hub[4].detail["spis"] == {"in": [0xAB], "out": [0xCD]}
        assert [e.event for e in store.events(["br-1"])] == ["tunnel_added", "unreachable"]
        assert [s.polled_at for s in store.latest()] == [at(1), at(2)]
        assert len(store.polls("hub-1")) == 3
        assert store.flaps("hub-1", "10.0.0.2") == 1
        # the next poll goes on from the migrated state
        events = store.record_poll([device(at(3), tunnel(state="down"))])
        assert [e.event for e in events] == ["tunnel_down"]
    db = sqlite3.connect(path)
    tables = {t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "snapshots" not in tables
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    rows = db.execute("SELECT version, description FROM schema_version ORDER BY 1").fetchall()
    assert [v for v, _ in rows] == list(range(1, SCHEMA_VERSION + 1))
    assert rows[0][1].endswith("(adopted)")
    assert db.execute("SELECT peer FROM actions").fetchall() == [("10.0.0.2",)]
    db.close()
