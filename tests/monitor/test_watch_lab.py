"""``ipsecctl watch`` against the lab over real SSH: a tunnel cleared on a router shows as
down then up with the SPIs the router negotiated anew; rekeys show old and new SPIs per
direction; Ctrl-C ends with a summary and exit 0; a device that stops answering is one
event, not the end of the watch."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ipsecctl.lab import Lab
from tests.helpers import run_cli
from tests.monitor import labtruth
from tests.monitor.proc import Running

SCHEMA_KEYS = {
    "schema",
    "kind",
    "time",
    "device",
    "peer",
    "vrf",
    "tunnel",
    "event",
    "from",
    "to",
    "detail",
}


def _until(run: Running, seen: list[dict[str, Any]], want: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = run.next_line(max(0.1, end - time.monotonic()))
        if line is None:
            return False
        seen.append(json.loads(line))
        if want(seen[-1]):
            return True
    return False


def test_watch_json_sees_a_clear_and_rekeys_then_stops_cleanly(lab: Lab, tmp_path: Path) -> None:
    end = labtruth.healthy_link(lab)
    run = Running(
        "-i", str(lab.inventory_path), "watch", "--json", "--interval", "1", home=tmp_path
    )
    seen: list[dict[str, Any]] = []
    try:
        # the first poll is the baseline: what changes after it is reported
        assert f"baseline: {len(lab.routers)} device(s)" in run.wait_stderr("baseline:")
        old = labtruth.spis_in(lab, end.router, end.peer)
        cleared_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        assert lab.fleet.clear(end.router, "session", peer=end.peer) == 1
        mine = (end.router, end.peer)

        def back_up(ev: dict[str, Any]) -> bool:
            return (ev["device"], ev["peer"]) == mine and ev["event"] == "tunnel_up"

        assert _until(run, seen, back_up, 40), (seen, run.stderr)
        new = labtruth.spis_in(lab, end.router, end.peer)
        assert new and not new & old  # the lab negotiated new SAs
        ups = [ev for ev in seen if back_up(ev)]
        assert set(ups[-1]["detail"]["spis"]["in"]) == new
        downs = [
            ev for ev in seen if (ev["device"], ev["peer"]) == mine and ev["event"] == "tunnel_down"
        ]
        assert downs and downs[0]["from"] == "up"

        def rekey(ev: dict[str, Any]) -> bool:
            return ev["event"] == "rekey" and (ev["device"], ev["peer"]) != mine

        found = [ev for ev in seen if rekey(ev)]
        if not found:
            assert _until(run, seen, rekey, 90), "no rekey seen in 90 s (one SA minute)"
            found = [seen[-1]]
        ev = found[-1]
        lab_now = labtruth.spis_in(lab, ev["device"], ev["peer"], ev["vrf"])
        for direction in ("in", "out"):
            old_d, new_d = ev["detail"][direction]["old"], ev["detail"][direction]["new"]
            assert set(new_d) - set(old_d), ev  # something new in each direction
            assert all(isinstance(x, int) for x in old_d + new_d)
        assert set(ev["detail"]["in"]["new"]) - set(ev["detail"]["in"]["old"]) <= lab_now
        code = run.interrupt()
        tail = [json.loads(x) for x in run.rest()]
    finally:
        run.stop()
    assert code == 0, run.stderr
    assert "Traceback" not in run.stderr
    for ev in seen:
        assert ev["schema"] == "ipsecctl/v1" and ev["kind"] == "event"
        assert set(ev) == SCHEMA_KEYS
    # the baseline is not news (after the clear, an ASA shows the tunnel again: that is)
    added = [ev for ev in seen if ev["event"] == "tunnel_added" and ev["time"] < cleared_at]
    assert not added, added
    summary = tail[-1]
    assert summary["kind"] == "summary" and summary["interrupted"] is True
    # the baseline, a poll that saw the cleared tunnel down and a later one that saw it up
    # again: three at least; or, when the lab had negotiated the tunnel anew before the next
    # poll, the baseline and that poll, which records the rebuild as a down and an up at the
    # same time (a rekey elsewhere can come in any of them)
    rebuilt = downs[0]["time"] == ups[-1]["time"]
    assert summary["polls"] >= (2 if rebuilt else 3), (summary, downs[0], ups[-1])
    assert summary["devices"] == len(lab.routers)
    assert summary["events"]["tunnel_up"] >= 1 and summary["events"]["rekey"] >= 1


def test_watch_history_agree(lab: Lab, tmp_path: Path) -> None:
    """The events watch prints are the ones the history store recorded."""
    routers = labtruth.healthy_routers(lab)[:3]
    inv = str(lab.inventory_path)
    r = run_cli(
        "-i",
        inv,
        "watch",
        *routers,
        "--json",
        "--count",
        "8",
        "--interval",
        "1",
        home=tmp_path,
        timeout=120,
    )
    assert r.code == 0, r
    events = [json.loads(x) for x in r.out.splitlines()]
    assert events[-1]["kind"] == "summary" and events[-1]["polls"] == 8
    printed = {(e["time"], e["device"], e["tunnel"], e["event"]) for e in events[:-1]}
    h = run_cli("-i", inv, "history", *routers, "--json", "--since", "1h", home=tmp_path)
    assert h.code == 0, h
    stored = {
        (e["time"], e["device"], e["tunnel"], e["event"])
        for e in h.json["events"]
        if e["event"] != "tunnel_added"
    }
    assert printed == stored


def test_an_unreachable_device_is_an_event_and_the_watch_goes_on(tmp_path: Path, lab: Lab) -> None:
    import socket

    import yaml

    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inv = tmp_path / "inv"
    inv.mkdir()
    hosts = yaml.safe_load((lab.inventory_path / "hosts.yaml").read_text())
    first = labtruth.healthy_routers(lab)[0]
    kept = {
        first: hosts[first],
        "gone": {"hostname": "127.0.0.1", "port": port, "platform": "cisco_ios"},
    }
    (inv / "hosts.yaml").write_text(yaml.safe_dump(kept))
    for name in ("groups.yaml", "defaults.yaml"):
        (inv / name).write_text((lab.inventory_path / name).read_text())
    r = run_cli("-i", str(inv), "watch", "--count", "3", "--interval", "1", home=tmp_path)
    assert r.code == 0, r  # one device answered in the last poll
    assert "gone  unreachable" in r.out and f"{first}  unreachable" not in r.out
    assert len([x for x in r.out.splitlines() if "  unreachable  " in x]) == 1  # once
    assert "3 poll(s) of 2 device(s)" in r.err and "failing now: gone" in r.err
