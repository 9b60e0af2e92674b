"""The real CLI managing real strongSwan gateways over real SSH, end to end.

Each gateway of a :class:`NetnsLab` is exposed through its own OpenSSH sshd on 127.0.0.x whose
forced command runs the client's command in the gateway's namespace and /run view, so the
product sees an ordinary Linux strongSwan host. What the CLI reports is checked against
``swanctl --list-sas --raw`` run directly in the namespaces (parsed here with plain regexes,
not with the product's parser), and actions are checked on the far end too.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab.strongswan import NetnsLab, Tunnel
from tests.helpers import CliRun, run_cli

pytestmark = pytest.mark.netns

_IKE = re.compile(
    r"uniqueid=(\d+) version=(\d) state=(\w+) .*?"
    r"initiator-spi=([0-9a-f]{16}) responder-spi=([0-9a-f]{16})"
)
_CHILD = re.compile(
    r"\{name=(\S+) uniqueid=(\d+) reqid=\d+ state=(\w+) .*?"
    r"spi-in=([0-9a-f]{8}) spi-out=([0-9a-f]{8})"
)


def raw_ike(lab: NetnsLab, which: str) -> list[dict[str, Any]]:
    return [
        {"unique_id": int(u), "version": int(v), "state": s, "spi_i": i, "spi_r": r}
        for u, v, s, i, r in _IKE.findall(lab.list_sas(which))
    ]


def raw_children(lab: NetnsLab, which: str) -> list[dict[str, Any]]:
    """CHILD_SAs as charon itself reports them (SPIs as integers)."""
    return [
        {"name": n, "unique_id": int(u), "state": s, "in": int(i, 16), "out": int(o, 16)}
        for n, u, s, i, o in _CHILD.findall(lab.list_sas(which))
    ]


@dataclass
class GatewayLab:
    lab: NetnsLab
    inventory: Path
    home: Path
    wan_a: str
    wan_b: str

    def cli(self, *args: str) -> CliRun:
        return run_cli("-i", str(self.inventory), *args, home=self.home, timeout=60)

    def tunnels(self, device: str) -> list[dict[str, Any]]:
        run = self.cli("tunnels", device, "--json")
        assert run.code == 0, run
        return list(run.json["tunnels"])

    def audit(self) -> list[dict[str, Any]]:
        path = self.home / "state" / "audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def gw(netns_sshd_ok: None, tmp_path: Path) -> Iterator[GatewayLab]:
    """Gateways a and b with one established IKEv2 SA + CHILD_SA, both exposed over SSH.

    The lab's connection has ``start_action = none``, no DPD and no rekey timers: nothing
    comes back up by itself, so after a clear the SAs must stay gone.
    """
    with NetnsLab(
        Tunnel(ike_proposals="aes256-sha256-ecp256", esp_proposals="aes256gcm16"), workdir=tmp_path
    ) as lab:
        lab.up()
        lab.initiate()
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        assert lab.a is not None and lab.b is not None
        yield GatewayLab(
            lab, inventory, tmp_path / "home", lab.a.wan.split("/")[0], lab.b.wan.split("/")[0]
        )


def test_status_ike_tunnels_show_match_charon(gw: GatewayLab) -> None:
    lab = gw.lab
    assert lab.a is not None and lab.b is not None

    status = gw.cli("status", "--json")
    assert status.code == 0, status
    devices = {d["device"]: d for d in status.json["devices"]}
    for name in ("gw-a", "gw-b"):
        assert devices[name] == {
            "device": name,
            "platform": "strongswan",
            "reachable": True,
            "ike_up": 1,
            "ike_total": 1,
            "tunnels_up": 1,
            "tunnels_total": 1,
            "errors": [],
        }

    ike = gw.cli("ike", "gw-a", "--json")
    assert ike.code == 0, ike
    [sa] = ike.json["ike_sas"]
    [charon_ike] = raw_ike(lab, "a")
    assert (sa["device"], sa["version"], sa["state"], sa["status"]) == (
        "gw-a",
        2,
        "ESTABLISHED",
        "up",
    )
    assert (sa["local"], sa["remote"], sa["role"]) == (gw.wan_a, gw.wan_b, "initiator")
    assert (sa["spi_i"], sa["spi_r"]) == (charon_ike["spi_i"], charon_ike["spi_r"])
    assert sa["conn_id"] == charon_ike["unique_id"]
    assert (sa["encryption"], sa["integrity"], sa["prf"], sa["dh_group"]) == (
        "aes256",
        "sha256",
        "prfsha256",
        19,
    )
    assert sa["nat_t"] is True  # the lab forces UDP encapsulation (kernel-libipsec)

    [tunnel] = gw.tunnels("gw-a")
    [child_a] = raw_children(lab, "a")
    [child_b] = raw_children(lab, "b")
    assert tunnel["kind"] == "child_sa" and tunnel["state"] == "up"
    assert tunnel["ike_state"] == "ESTABLISHED" and tunnel["ike_status"] == "up"
    assert tunnel["expected_up"] is True
    assert (tunnel["local_addr"], tunnel["peer"], tunnel["peer_port"]) == (gw.wan_a, gw.wan_b, 4500)
    assert tunnel["local_ts"]["prefix"] == lab.a.inside_net
    assert tunnel["remote_ts"]["prefix"] == lab.b.inside_net
    spis = {s["direction"]: s["spi"] for s in tunnel["sas"]}
    assert spis == {"in": child_a["in"], "out": child_a["out"]}
    assert (child_b["in"], child_b["out"]) == (child_a["out"], child_a["in"])  # mirrored
    assert {(s["protocol"], s["mode"], s["udp_encap"], s["encryption"]) for s in tunnel["sas"]} == {
        ("esp", "tunnel", True, "aes256gcm16")
    }
    assert tunnel["extra"]["unique_id"] == child_a["unique_id"]

    before = tunnel["counters"]
    assert lab.ping(count=3) == 3
    [after_tunnel] = gw.tunnels("gw-a")
    after = after_tunnel["counters"]
    assert after_tunnel["id"] == tunnel["id"]  # same identity across polls
    assert after["pkts_encaps"] - before["pkts_encaps"] >= 3
    assert after["pkts_decaps"] - before["pkts_decaps"] >= 3
    assert after["bytes_out"] > before["bytes_out"] and after["bytes_in"] > before["bytes_in"]

    show = gw.cli("show", "gw-b", "--json")
    assert show.code == 0, show
    [state] = show.json["devices"]
    assert state["device"] == "gw-b" and state["platform"] == "strongswan"
    assert state["errors"] == []
    [tb] = state["tunnels"]
    assert {s["direction"]: s["spi"] for s in tb["sas"]} == {
        "in": child_b["in"],
        "out": child_b["out"],
    }
    assert tb["local_ts"]["prefix"] == lab.b.inside_net
    assert tb["counters"]["pkts_decaps"] >= 3 and tb["counters"]["pkts_encaps"] >= 3
    assert [s["role"] for s in state["ike_sas"]] == ["responder"]


def test_rekey_replaces_child_sa_on_both_ends(gw: GatewayLab) -> None:
    lab = gw.lab
    [old_a] = raw_children(lab, "a")
    [old_b] = raw_children(lab, "b")
    old = sorted({old_a["in"], old_a["out"]})

    run = gw.cli("rekey", "gw-a", "--peer", gw.wan_b, "--yes", "--json")
    assert run.code == 0, run
    doc = run.json
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "rekey"
    assert doc["ok"] is True, doc
    assert doc["commands"] == [f"swanctl --rekey --child-id {old_a['unique_id']}"]
    assert doc["old_spis"] == old
    assert len(doc["new_spis"]) == 2 and not set(doc["new_spis"]) & set(old)

    # charon may still list the old CHILD_SA as DELETED for a few seconds: it carries nothing
    [new_a] = [c for c in raw_children(lab, "a") if c["state"] == "INSTALLED"]
    [new_b] = [c for c in raw_children(lab, "b") if c["state"] == "INSTALLED"]
    assert sorted({new_a["in"], new_a["out"]}) == doc["new_spis"]
    assert new_a["unique_id"] != old_a["unique_id"] and new_a["state"] == "INSTALLED"
    # the far end (b, read directly in its namespace) holds the mirror of the new SAs only
    assert (new_b["in"], new_b["out"]) == (new_a["out"], new_a["in"])
    assert not {new_b["in"], new_b["out"]} & {old_b["in"], old_b["out"]}
    # and through the CLI on b as well
    [tunnel_b] = gw.tunnels("gw-b")
    assert tunnel_b["state"] == "up"
    assert (
        sorted(s["spi"] for s in tunnel_b["sas"] if s["status"] == "INSTALLED") == doc["new_spis"]
    )
    assert raw_ike(lab, "a")[0]["state"] == "ESTABLISHED"  # the IKE SA is kept
    assert lab.ping(count=2) == 2  # traffic flows over the new CHILD_SA

    assert (gw.home / "state" / "audit.jsonl").stat().st_mode & 0o777 == 0o600
    # audit first: 'started', each command before it was sent, then the outcome
    records = gw.audit()
    assert [r["outcome"] for r in records] == ["started", "sending", "ok"], records
    assert len({r["action_id"] for r in records}) == 1
    record = records[-1]
    assert (record["action"], record["device"], record["peer"], record["outcome"]) == (
        "rekey",
        "gw-a",
        gw.wan_b,
        "ok",
    )
    assert record["commands"] == doc["commands"]
    assert record["details"]["old_spis"] == old
    assert record["details"]["new_spis"] == doc["new_spis"]


def test_clear_terminates_the_sas(gw: GatewayLab) -> None:
    lab = gw.lab
    [ike] = raw_ike(lab, "a")
    [child] = raw_children(lab, "a")

    run = gw.cli("clear", "gw-a", "--peer", gw.wan_b, "--yes", "--json")
    assert run.code == 0, run
    doc = run.json
    assert doc["kind"] == "clear" and doc["ok"] is True, doc
    assert doc["commands"] == [f"swanctl --terminate --ike-id {ike['unique_id']} --timeout 10"]
    assert doc["old_spis"] == sorted({child["in"], child["out"]})
    assert doc["new_spis"] == []
    # start_action = none and no DPD/auto: nothing re-initiates, both ends are empty
    assert raw_ike(lab, "a") == [] and raw_children(lab, "a") == []
    assert raw_ike(lab, "b") == [] and raw_children(lab, "b") == []
    assert gw.tunnels("gw-a") == []
    records = gw.audit()
    assert [r["outcome"] for r in records] == ["started", "sending", "ok"], records
    record = records[-1]
    assert (record["action"], record["outcome"], record["peer"]) == ("clear", "ok", gw.wan_b)

    # clearing again: nothing is left to clear -> a usage error naming the peer, exit 2
    again = gw.cli("clear", "gw-a", "--peer", gw.wan_b, "--yes", "--json")
    assert again.code == 2, again
    assert gw.wan_b in again.err and "Traceback" not in again.err


def test_charon_down_is_a_device_error(gw: GatewayLab) -> None:
    gw.lab.stop_charon("a")

    status = gw.cli("status", "--json")
    assert status.code == 1, status
    assert "Traceback" not in status.err
    devices = {d["device"]: d for d in status.json["devices"]}
    [error] = devices["gw-a"]["errors"]
    assert error["kind"] == "rejected"
    assert error["command"] == "swanctl --list-sas --raw"
    assert "connecting to 'unix:///var/run/charon.vici' failed" in error["message"]
    assert devices["gw-a"]["tunnels_total"] == 0
    # the other gateway is still polled and reported on in the same document
    assert devices["gw-b"]["reachable"] is True and devices["gw-b"]["errors"] == []


def test_rekeyed_child_sa_is_not_counted_up(gw: GatewayLab) -> None:
    [old] = raw_children(gw.lab, "a")
    assert gw.lab.a is not None
    gw.lab.swanctl(gw.lab.a, "--rekey", "--child-id", str(old["unique_id"]))
    # swanctl --rekey returns once charon has queued the job: wait for the exchange to end
    deadline = time.monotonic() + 5
    while True:
        states = {c["unique_id"]: c["state"] for c in raw_children(gw.lab, "a")}
        if states.get(old["unique_id"]) == "DELETED" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert states.get(old["unique_id"]) == "DELETED"  # the window this test is about
    tunnels = gw.tunnels("gw-a")
    up = [t for t in tunnels if t["state"] == "up"]
    assert [sorted(s["spi"] for s in t["sas"]) for t in up] != [sorted((old["in"], old["out"]))]
    assert len(up) == 1
    assert len({t["id"] for t in tunnels}) == len(tunnels)


def test_action_with_charon_down_reports_the_device_error(gw: GatewayLab) -> None:
    gw.lab.stop_charon("a")
    run = gw.cli("rekey", "gw-a", "--peer", gw.wan_b, "--yes", "--json")
    assert "Traceback" not in run.err
    assert run.code == 1, run
    assert "charon.vici" in run.err
