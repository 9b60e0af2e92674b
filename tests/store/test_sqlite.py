"""The SQLite history store: events across restarts, queries, actions, schema, files, threads,
processes, the database locked away and back."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from ipsecctl.errors import InputFileError
from ipsecctl.redact import MASK
from ipsecctl.store import SCHEMA_VERSION, RetryBuffer, open_store
from ipsecctl.store.sqlite import SqliteStore
from tests.store.builders import T0, at, device, tunnel


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "history.sqlite3"


@pytest.fixture
def store(path: Path):
    with open_store(path) as s:
        yield s


def test_poll_events_are_stored_and_history_survives_a_restart(path):
    with open_store(path) as s:
        first = s.record_poll([device(at(0), tunnel())], collector="c1")
        assert [e.event for e in first] == ["tunnel_added"]
        assert s.record_poll([device(at(1), tunnel(encaps=1100, decaps=1100))]) == []
    # a new process: the next poll is compared with the stored state, not with nothing
    with open_store(path) as s:
        events = s.record_poll([device(at(2), tunnel(state="down", ike_state="MM_NO_STATE"))])
        assert [e.event for e in events] == ["tunnel_down", "ike_state"]
        stored = s.events()
        assert [e.event for e in stored] == ["tunnel_added", "tunnel_down", "ike_state"]
        assert stored[1].time == at(2) and stored[1].from_ == "up" and stored[1].to == "down"
        assert stored[0].detail == {"uptime_s": 600}


def test_flaps_last_down_uptime_and_rekeys_from_the_history(store):
    polls = [
        device(at(0), tunnel(spi_in=(1,), spi_out=(2,), uptime_s=100)),
        device(at(1), tunnel(state="down")),
        device(at(2), tunnel(spi_in=(3,), spi_out=(4,), uptime_s=10)),
        # rebuilt between polls 2 and 3: new SPIs, counters restarted
        device(at(3), tunnel(spi_in=(5,), spi_out=(6,), encaps=4, decaps=4, uptime_s=5)),
        # a rekey: new SPIs, counters go on
        device(at(4), tunnel(spi_in=(7,), spi_out=(8,), encaps=90, decaps=90, uptime_s=35)),
    ]
    for p in polls:
        store.record_poll([p])
    assert store.flaps("hub-1", "10.0.0.2") == 2
    assert store.flaps("hub-1", "10.0.0.2", since=at(2)) == 1
    assert store.flaps("hub-1", "10.0.0.9") == 0
    assert store.last_down("hub-1", "10.0.0.2") == at(3)
    assert store.uptime_since("hub-1", "10.0.0.2") == at(3)
    rekeys = store.rekeys("hub-1", "10.0.0.2")
    assert [(r.time, r.detail["in"]) for r in rekeys] == [(at(4), {"old": [5], "new": [7]})]
    assert store.uptime_since("hub-1", "10.0.0.2", vrf="") == at(3)
    # down at 1, up at 2, rebuilt (down and up) at 3
    key = ("hub-1", "10.0.0.2", None)
    assert store.flap_history() == {key: (2, 2, at(3), at(3))}
    assert store.flap_history(since=at(2)) == {key: (1, 2, at(3), at(3))}
    assert store.flap_history(since=at(3) + timedelta(seconds=1)) == {}  # no down since: no flap
    assert store.flap_history(["br-1"]) == {}
    assert store.uptime_since("hub-1", "10.0.0.2", vrf="RED") is None


def test_uptime_across_restarts_uses_the_first_sighting(path):
    with open_store(path) as s:
        s.record_poll([device(at(0), tunnel(uptime_s=3600))])
    with open_store(path) as s:
        s.record_poll([device(at(100), tunnel(uptime_s=6600, encaps=5000, decaps=5000))])
        assert s.uptime_since("hub-1", "10.0.0.2") == T0 - timedelta(seconds=3600)


def test_event_filters(store):
    store.record_poll(
        [
            device(at(0), tunnel(peer="10.0.0.2"), tunnel(peer="10.0.0.3", vrf="RED")),
            device(at(0), tunnel(device="br-1", peer="10.0.0.1"), name="br-1"),
        ]
    )
    store.record_poll(
        [
            device(
                at(1), tunnel(peer="10.0.0.2", state="down"), tunnel(peer="10.0.0.3", vrf="RED")
            ),
            device(at(1), reachable=False, name="br-1"),
        ]
    )
    assert len(store.events()) == 5
    assert [e.event for e in store.events(["br-1"])] == ["tunnel_added", "unreachable"]
    assert [e.event for e in store.events(peer="10.0.0.2")] == ["tunnel_added", "tunnel_down"]
    assert [e.peer for e in store.events(vrf="RED")] == ["10.0.0.3"]
    # the global table: its tunnels, and device events (which have no VRF)
    assert {e.peer for e in store.events(vrf="")} == {"10.0.0.2", "10.0.0.1", None}
    # one poll is one transaction, its devices written in name order
    assert [e.event for e in store.events(since=at(1))] == ["unreachable", "tunnel_down"]
    assert [e.event for e in store.events(kinds=["unreachable"])] == ["unreachable"]
    assert [e.event for e in store.events(limit=1)] == ["tunnel_down"]
    tid = tunnel(peer="10.0.0.2").id
    assert [e.event for e in store.timeline(tid)] == ["tunnel_added", "tunnel_down"]
    assert store.devices() == ["br-1", "hub-1"]


def test_latest_state_per_device_without_raw_and_poll_summaries(store):
    store.record_poll([device(at(0), tunnel(), raw={"show crypto ipsec sa": "interface: Gi1"})])
    store.record_poll(
        [
            device(
                at(1),
                tunnel(encaps=1100, decaps=1090),
                raw={"show crypto ipsec sa": "interface: Gi1"},
            )
        ]
    )
    (latest,) = store.latest()
    assert latest.raw is None and latest.polled_at == at(1)
    assert latest.tunnels[0].counters["pkts_encaps"] == 1100
    assert latest.tunnels[0].spis("in") == [0xC0FFEE01]
    assert store.latest(["nope"]) == []
    summaries = store.polls("hub-1")
    # two polls saying the same: one run
    assert [
        (p["since"], p["until"], p["polls"], p["tunnels_up"], p["tunnels_total"]) for p in summaries
    ] == [(at(0), at(1), 2, 1, 1)]
    assert summaries[0]["reachable"] is True and summaries[0]["collector"] == "local"


def test_an_older_poll_never_replaces_a_newer_state(store):
    store.record_poll([device(at(5), tunnel())])
    assert store.record_poll([device(at(3), tunnel(state="down"))]) == []
    (latest,) = store.latest()
    assert latest.polled_at == at(5) and latest.tunnels[0].state == "up"
    assert len(store.polls("hub-1")) == 2  # the late poll's summary is still recorded


def test_actions_are_redacted_ordered_and_in_the_timeline(store):
    store.record_action(
        {
            "action": "clear",
            "device": "hub-1",
            "peer": "10.0.0.2",
            "time": "2026-11-26T12:00:01Z",
            "commands": ["crypto isakmp key Sup3r address 10.0.0.2"],
            "ok": True,
        }
    )
    store.record_action(
        {
            "action": "rekey",
            "device": "hub-1",
            "peer": "10.0.0.2",
            "time": "2026-11-26T12:00:00Z",
            "password": "hunter2",
            "old_spis": [1],
            "new_spis": [2],
            "ok": True,
        }
    )
    store.record_action({"action": "clear", "device": "br-lon"})  # time filled in: now
    acts = store.actions()
    assert [a["action"] for a in acts] == ["rekey", "clear", "clear"]
    assert acts[0]["password"] == MASK and acts[0]["new_spis"] == [2]
    assert acts[1]["commands"] == [f"crypto isakmp key {MASK} address 10.0.0.2"]
    assert [a["device"] for a in store.actions(limit=1)] == ["br-lon"]
    timeline = store.events(["hub-1"], peer="10.0.0.2")
    assert [(e.event, e.to, e.detail["action"]) for e in timeline] == [
        ("action", "ok", "rekey"),
        ("action", "ok", "clear"),
    ]
    assert store.events(kinds=["tunnel_down"]) == []


def test_prune_keeps_the_retention_window(store):
    store.record_poll([device(at(0), tunnel())])
    store.record_action({"action": "clear", "device": "hub-1", "time": "2026-11-26T12:00:00Z"})
    counts = store.prune(timedelta(days=1))  # T0 is in the past of any machine running this
    assert counts == {"events": 1, "polls": 1, "actions": 1, "devices": 1}
    assert store.events() == [] and store.latest() == []


def test_retention_is_applied_as_polls_are_recorded(path):
    from datetime import UTC, datetime

    from ipsecctl.settings import Settings
    from ipsecctl.store import open_configured

    settings = Settings(history=path, history_retention_days=1)
    with open_configured(settings) as s:
        s.record_poll([device(at(0), tunnel(), name="old")])  # days ago: pruned at once
        now = datetime.now(UTC)
        s.record_poll([device(now, tunnel(device="new"), name="new")])
        assert [d.device for d in s.latest()] == ["new"]
        assert {e.device for e in s.events()} == {"new"}


def test_files_at_rest_schema_version_and_wal(path):
    open_store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with open_store(path) as s:  # open: the WAL and its index exist, private like the file
        s.record_poll([device(at(0), tunnel())])
        for side in ("-wal", "-shm"):
            assert stat.S_IMODE(Path(f"{path}{side}").stat().st_mode) == 0o600
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == list(range(1, SCHEMA_VERSION + 1))
    db.close()


@pytest.mark.parametrize("how", ["table", "pragma"])
def test_a_newer_schema_is_refused(path, how):
    open_store(path).close()
    db = sqlite3.connect(path)
    if how == "table":
        db.execute(
            "INSERT INTO schema_version VALUES (?, 'from the future', 0)", (SCHEMA_VERSION + 1,)
        )
    else:
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(InputFileError, match=f"v{SCHEMA_VERSION + 1} is newer than this"):
        open_store(path)


def test_garbage_file_is_a_clear_error(path):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputFileError, match="not a usable history database"):
        open_store(path)


def test_unknown_scheme_is_a_usage_error(tmp_path):
    from ipsecctl.errors import UsageError

    with pytest.raises(UsageError, match="unknown scheme 'mysql'"):
        open_store("mysql://x/y")
    with open_store(f"sqlite:///{tmp_path}/h.db") as s:
        assert isinstance(s, SqliteStore) and s.path == tmp_path / "h.db"


def test_threads_share_one_store(store):
    def worker(n: int) -> None:
        for i in range(25):
            store.record_poll(
                [
                    device(
                        at(i),
                        tunnel(device=f"r{n}", encaps=1000 + i, decaps=1000 + i),
                        name=f"r{n}",
                    )
                ]
            )

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [sum(p["polls"] for p in store.polls(f"r{n}")) for n in range(4)] == [25] * 4
    assert len(store.events(kinds=["tunnel_added"])) == 4


_WRITER = textwrap.dedent("""
    import sys
    from ipsecctl.store import open_store
    from tests.store.builders import at, device, tunnel
    name, path = sys.argv[1], sys.argv[2]
    with open_store(path) as s:
        for i in range(40):
            state = "down" if i % 10 == 5 else "up"
            s.record_poll([device(at(i), tunnel(device=name, state=state), name=name)],
                          collector=name)
        assert s.pending == 0, s.pending
""")


def test_two_processes_write_one_file_at_once(path):
    open_store(path).close()
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, name, str(path)], cwd=root)
        for name in ("r1", "r2")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with open_store(path) as s:
        for name in ("r1", "r2"):
            assert sum(p["polls"] for p in s.polls(name)) == 40
            # four downs (polls 5, 15, 25, 35), each followed by an up at the next poll
            assert s.flaps(name, "10.0.0.2") == 4
            ups = s.events([name], kinds=["tunnel_up"])
            assert [e.time for e in ups] == [at(6), at(16), at(26), at(36)]


def test_database_locked_away_buffers_in_order_and_flushes(path):
    store = SqliteStore(path, busy_timeout=0.05, buffer=RetryBuffer(base_delay=0.0))
    store.record_poll([device(at(0), tunnel())])
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        down = store.record_poll([device(at(1), tunnel(state="down", ike_state=None))])
        up = store.record_poll([device(at(2), tunnel(spi_in=(9,), spi_out=(10,)))])
        # the events are still computed and returned while the database is away
        assert [e.event for e in down] == ["tunnel_down", "ike_state"]
        assert [e.event for e in up] == ["tunnel_up", "ike_state"]
        store.record_action(
            {
                "action": "clear",
                "device": "hub-1",
                "peer": "10.0.0.2",
                "time": "2026-11-26T12:01:00Z",
            }
        )
        assert store.pending == 3
        assert store.flush() is False
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    store.record_poll([device(at(3), tunnel(spi_in=(9,), spi_out=(10,), encaps=1100, decaps=1100))])
    assert store.pending == 0
    assert [(e.event, e.time) for e in store.events()] == [
        ("tunnel_added", at(0)),
        ("tunnel_down", at(1)),
        ("ike_state", at(1)),
        ("tunnel_up", at(2)),
        ("ike_state", at(2)),
        ("action", at(2)),
    ]
    assert [(p["since"], p["until"], p["polls"]) for p in store.polls("hub-1")] == [
        (at(0), at(0), 1),
        (at(1), at(1), 1),
        (at(2), at(3), 2),
    ]
    store.close()


def test_flapping_evidence_from_the_store_counts_the_comebacks(store):
    """The health rules quote the history store's downs *and* comebacks: a tunnel that went
    down twice and came back twice says so (it used to say 'came back 0 times': the store's
    comebacks were never read)."""
    from ipsecctl.diag.health import evaluate
    from ipsecctl.ops.stored import StoredFleet

    for n, state in enumerate(["up", "down", "up", "down", "up"]):
        store.record_poll([device(at(n), tunnel(state=state, encaps=1000 + n, decaps=1000 + n))])
    fleet = StoredFleet(store, ["hub-1"], owns_store=False, clock=lambda: at(5))
    assert fleet.history()[("hub-1", "10.0.0.2", None)].ups == 2
    findings = evaluate(fleet.poll(), history=fleet.history())
    (flap,) = [f for f in findings if f.code == "FLAPPING"]
    assert flap.evidence[0] == (
        "history store: the tunnel to 10.0.0.2 went down 2 times and came back 2 times in the "
        f"last 3600 s (last down {at(3).isoformat()})"
    )


def test_a_device_of_the_same_name_elsewhere_starts_its_own_history(store):
    """Two labs (or inventories) that name their routers alike, recorded into one store: a
    poll from the other endpoint is not compared with this one's, so its SPIs and counters
    are not read as the tunnel rebuilt between two polls (which made FLAPPING findings)."""
    here, there = "127.0.0.1:2201", "127.0.0.1:4401"
    ours = dict(spi_in=(1,), spi_out=(2,), uptime_s=900)
    theirs = dict(spi_in=(3,), spi_out=(4,), encaps=10, decaps=10, uptime_s=50)
    assert [e.event for e in store.record_poll([device(at(0), tunnel(**ours), endpoint=here)])] == [
        "tunnel_added"
    ]
    other = store.record_poll([device(at(1), tunnel(**theirs), endpoint=there)])
    assert [e.event for e in other] == ["tunnel_added"]
    back = store.record_poll(
        [device(at(2), tunnel(**ours, encaps=1100, decaps=1100), endpoint=here)]
    )
    assert [e.event for e in back] == ["tunnel_added"]
    # the other's poll written late (older than the stored one) changes nothing, as any
    late = device(at(1) + timedelta(seconds=5), tunnel(**theirs), endpoint=there)
    assert store.record_poll([late]) == []
    assert store.latest()[0].endpoint == here
    assert store.flap_history() == {}
    # polls from one endpoint, and polls without one (saved outputs, states stored before
    # endpoints were recorded), go on comparing: a rebuild is still a rebuild
    rebuilt = dict(spi_in=(5,), spi_out=(6,), encaps=4, decaps=4, uptime_s=5)
    store.record_poll([device(at(3), tunnel(**rebuilt), endpoint=here)])
    store.record_poll(
        [device(at(4), tunnel(spi_in=(7,), spi_out=(8,), encaps=2, decaps=2, uptime_s=3))]
    )
    assert store.flap_history() == {("hub-1", "10.0.0.2", None): (2, 2, at(4), at(4))}
