"""History store: round trip of real models, ordering, filters, actions, schema, threads."""

from __future__ import annotations

import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta

import pytest

from ipsecctl.errors import InputFileError
from ipsecctl.models import DeviceState, IkeSa, IpsecSa, TrafficSelector, Tunnel
from ipsecctl.redact import MASK
from ipsecctl.store import SCHEMA_VERSION, Store

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)


def state(device: str, at: datetime, pkts: int = 0, up: bool = True) -> DeviceState:
    tunnel = Tunnel(
        device=device,
        platform="cisco_iosxe",
        kind="crypto_map",
        interface="GigabitEthernet1",
        crypto_map="VPN",
        map_seq=10,
        local_addr="10.0.0.1",
        peer="10.0.0.2",
        peer_port=500,
        local_ts=TrafficSelector(prefix="10.1.0.0/24"),
        remote_ts=TrafficSelector(prefix="10.2.0.0/24", protocol=6, port=443),
        pfs="group14",
        dh_group=14,
        counters={"pkts_encaps": pkts, "pkts_decaps": pkts // 2, "replay_failed": 0},
        sas=[
            IpsecSa(
                direction="in",
                spi=0xC0FFEE01,
                transform="esp-256-aes esp-sha256-hmac",
                encryption="aes256",
                integrity="sha256",
                mode="tunnel",
                remaining_kb=4607999,
                remaining_s=3500,
                replay_window=64,
                status="ACTIVE",
            ),
            IpsecSa(
                direction="out",
                spi=0x1A2B3C4D,
                transform="esp-256-aes esp-sha256-hmac",
                encryption="aes256",
                integrity="sha256",
                mode="tunnel",
                status="ACTIVE",
            ),
        ],
        ike_state="QM_IDLE",
        ike_status="up",
        state="up" if up else "down",
        expected_up=True,
        uptime_s=120,
        extra={"ident": 1},
    ).with_identity()
    ike = IkeSa(
        device=device,
        version=1,
        src="10.0.0.1",
        dst="10.0.0.2",
        state="QM_IDLE",
        status="up",
        conn_id=1001,
        encryption="aes256",
        integrity="sha256",
        dh_group=14,
        auth="psk",
        lifetime_s=86400,
        remaining_s=86000,
        nat_t=False,
    )
    return DeviceState(
        device=device,
        platform="cisco_iosxe",
        polled_at=at,
        ike_sas=[ike],
        tunnels=[tunnel],
        raw={"show crypto ipsec sa": "interface: Gi1 ..."},
    )


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "state" / "history.sqlite3") as s:
        yield s


def test_round_trip_without_raw(store):
    original = state("hub-1", T0, pkts=100)
    store.save_snapshot(original)
    loaded = store.last("hub-1")
    assert loaded is not None and loaded.raw is None
    assert loaded == original.model_copy(update={"raw": None})
    assert loaded.tunnels[0].spis("in") == [0xC0FFEE01]
    assert loaded.polled_at == T0


def test_order_since_limit_and_devices(store):
    # saved out of order; microsecond and whole-second timestamps must sort by time, not text
    times = [T0 + timedelta(seconds=5), T0, T0 + timedelta(seconds=5, microseconds=500000)]
    for i, at in enumerate(times):
        store.save_snapshot(state("hub-1", at, pkts=i))
    store.save_snapshot(state("br-lon", T0))
    got = store.snapshots("hub-1")
    assert [s.polled_at for s in got] == sorted(times)
    assert [s.polled_at for s in store.snapshots("hub-1", limit=2)] == sorted(times)[1:]
    since = store.snapshots("hub-1", since=T0 + timedelta(seconds=1))
    assert len(since) == 2
    assert store.snapshots("nope") == [] and store.last("nope") is None
    assert store.devices() == ["br-lon", "hub-1"]
    assert store.prune(T0 + timedelta(seconds=1)) == 2
    assert len(store.snapshots("hub-1")) == 2


def test_actions_are_redacted_and_ordered(store):
    store.record_action(
        {
            "action": "clear",
            "device": "hub-1",
            "time": "2026-11-26T12:00:01Z",
            "commands": ["crypto isakmp key Sup3r address 10.0.0.2"],
            "ok": True,
        }
    )
    store.record_action(
        {
            "action": "rekey",
            "device": "hub-1",
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


def test_schema_version_wal_and_permissions(tmp_path):
    path = tmp_path / "h.sqlite3"
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    with pytest.raises(InputFileError, match="newer than this ipsecctl"):
        Store(path)


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputFileError, match="not a usable history database"):
        Store(path)


def test_threads_share_one_store(store):
    def worker(n: int) -> None:
        for i in range(25):
            store.save_snapshot(state(f"r{n}", T0 + timedelta(seconds=i)))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [len(store.snapshots(f"r{n}")) for n in range(4)] == [25, 25, 25, 25]
