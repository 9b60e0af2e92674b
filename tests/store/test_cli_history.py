"""``ipsecctl history`` as a user runs it: its own process, a store recorded beforehand."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecctl.store import open_store
from tests.helpers import run_cli
from tests.store.builders import at, device, tunnel


def record(location: str | Path) -> None:
    with open_store(location) as s:
        s.record_poll(
            [
                device(at(0), tunnel(), tunnel(peer="10.0.0.3", vrf="RED")),
                device(at(0), tunnel(device="br-1", peer="10.0.0.1"), name="br-1"),
            ]
        )
        s.record_poll(
            [
                device(
                    at(1),
                    tunnel(state="down", ike_state="MM_NO_STATE"),
                    tunnel(peer="10.0.0.3", vrf="RED"),
                ),
                device(at(1), name="br-1", reachable=False),
            ]
        )
        s.record_poll(
            [
                device(
                    at(2),
                    tunnel(spi_in=(0x0A0B0C0D,), spi_out=(0x01020304,)),
                    tunnel(
                        peer="10.0.0.3",
                        vrf="RED",
                        spi_in=(0x55,),
                        spi_out=(0x66,),
                        encaps=1100,
                        decaps=1100,
                    ),
                )
            ]
        )
        s.record_action(
            {
                "action": "clear",
                "device": "hub-1",
                "peer": "10.0.0.2",
                "ok": True,
                "time": "2026-11-26T12:00:40Z",
            }
        )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    record(tmp_path / "state" / "history.sqlite3")
    return tmp_path


def test_without_a_store_says_how_history_gets_recorded(tmp_path):
    run = run_cli("history", home=tmp_path)
    assert run.code == 0, run
    assert "no history recorded yet" in run.err and run.err.count("\n") == 1
    assert run.out == ""
    run = run_cli("history", "--json", home=tmp_path)
    assert run.code == 0 and run.json["events"] == [] and run.json["kind"] == "history"
    assert not (tmp_path / "state" / "history.sqlite3").exists()  # reading created nothing


def test_json_timeline_of_one_peer(home):
    run = run_cli("history", "hub-1", "--peer", "10.0.0.2", "--since", "all", "--json", home=home)
    assert run.code == 0, run
    doc = run.json
    assert (doc["schema"], doc["kind"], doc["since"]) == ("ipsecctl/v1", "history", None)
    assert [(e["time"], e["event"], e["from"], e["to"]) for e in doc["events"]] == [
        ("2026-11-26T12:00:00Z", "tunnel_added", None, "up"),
        ("2026-11-26T12:00:30Z", "tunnel_down", "up", "down"),
        ("2026-11-26T12:00:30Z", "ike_state", "QM_IDLE", "MM_NO_STATE"),
        ("2026-11-26T12:00:40Z", "action", None, "ok"),
        ("2026-11-26T12:01:00Z", "tunnel_up", "down", "up"),
        ("2026-11-26T12:01:00Z", "ike_state", "MM_NO_STATE", "QM_IDLE"),
    ]
    up = doc["events"][4]
    assert up["detail"]["spis"] == {"in": [0x0A0B0C0D], "out": [0x01020304]}
    assert up["peer"] == "10.0.0.2" and up["vrf"] is None and up["tunnel"].startswith("hub-1:")


def test_filters_vrf_kind_since_and_targets(home):
    red = run_cli("history", "--vrf", "RED", "--since", "all", "--json", home=home).json
    assert [e["event"] for e in red["events"]] == ["tunnel_added", "rekey"]
    assert red["events"][1]["detail"]["in"] == {"old": [0xC0FFEE01], "new": [0x55]}
    downs = run_cli(
        "history",
        "--kind",
        "tunnel_down",
        "--kind",
        "unreachable",
        "--since",
        "2026-11-26T12:00:10Z",
        "--json",
        home=home,
    ).json
    assert [(e["device"], e["event"]) for e in downs["events"]] == [
        ("br-1", "unreachable"),
        ("hub-1", "tunnel_down"),
    ]
    br = run_cli("history", "br-1", "--since", "all", "--json", home=home).json
    assert [e["event"] for e in br["events"]] == ["tunnel_added", "unreachable"]
    # the default window is the last 24 hours: these events are older
    assert run_cli("history", "--json", home=home).json["events"] == []


def test_table_for_people(home):
    run = run_cli("history", "--since", "all", "--peer", "10.0.0.2", home=home)
    assert run.code == 0, run
    assert "tunnel_down" in run.out and "up -> down" in run.out
    assert "in 0x0A0B0C0D; out 0x01020304" in run.out
    csv = run_cli("history", "--since", "all", "-o", "csv", "--kind", "rekey", home=home)
    lines = csv.out.splitlines()
    assert lines[0] == "time,device,peer,vrf,event,from,to,tunnel,detail"
    assert lines[1].startswith("2026-11-26T12:01:00Z,hub-1,10.0.0.3,RED,rekey,,,hub-1:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday': use a duration"),
        (["--kind", "flap"], "--kind 'flap': choose from"),
        (["--peer", "hub"], "--peer 'hub' is not an IP address"),
        (["--store", "mysql://db/x"], "unknown scheme 'mysql'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(home, args, message):
    run = run_cli("history", *args, home=home)
    assert run.code == 2, run
    assert message in run.err and "Traceback" not in run.err


def test_garbage_store_file(tmp_path):
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database at all" * 50)
    run = run_cli("history", "--store", str(bad), home=tmp_path)
    assert run.code == 2 and "not a usable history database" in run.err, run


def test_history_from_postgresql(tmp_path, pg_url):
    record(pg_url)
    run = run_cli(
        "history",
        "--store",
        pg_url,
        "--since",
        "all",
        "--kind",
        "tunnel_down",
        "--json",
        home=tmp_path,
    )
    assert run.code == 0, run
    assert [(e["device"], e["peer"]) for e in run.json["events"]] == [("hub-1", "10.0.0.2")]
