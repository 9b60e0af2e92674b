"""A real one-way strongSwan tunnel, diagnosed end to end with strongSwan's own commands.

Two charons in network namespaces (:class:`NetnsLab`), each exposed over real SSH; the CLI
takes two snapshots (``ipsecctl show --json``) around a ping whose replies gateway b cannot
route back into the tunnel (its route to a's inside network is replaced by a blackhole: "the
peer has no route back into the tunnel"). ``ipsecctl diag health --snapshot ... --previous``
must then find one-way traffic on both ends and tell each what to type in its own language:
swanctl and Linux commands, with charon's own CHILD_SA ids, never a Cisco command.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab.strongswan import NetnsLab, Tunnel, strongswan_missing
from tests.diag import grammar as G
from tests.helpers import CliRun, need, run_cli

pytestmark = pytest.mark.netns


@pytest.fixture
def netns_sshd_ok() -> None:
    from ipsecctl.lab.sshd_gateway import sshd_missing

    missing = strongswan_missing() + sshd_missing()
    need(not missing, f"namespace lab prerequisites missing: {', '.join(missing)}")


@dataclass
class Lab:
    lab: NetnsLab
    inventory: Path
    home: Path

    def cli(self, *args: str) -> CliRun:
        return run_cli("-i", str(self.inventory), *args, home=self.home, timeout=90)

    def snapshot(self, path: Path) -> Path:
        """Both gateways' polls in one ``show`` document (what --snapshot reads)."""
        doc: dict[str, Any] = {}
        for name in ("gw-a", "gw-b"):
            run = self.cli("show", name, "--json")
            # 3: the tunnel has a fault (once traffic is one-way, `show` says so too)
            assert run.code in (0, 3), run
            part = run.json
            doc = doc or {**part, "devices": []}
            doc["devices"] += part["devices"]
        path.write_text(json.dumps(doc))
        return path


@pytest.fixture
def gw(netns_sshd_ok: None, tmp_path: Path) -> Iterator[Lab]:
    with NetnsLab(Tunnel(), workdir=tmp_path) as lab:
        lab.up()
        lab.initiate()
        inventory = lab.write_inventory(tmp_path / "inventory.yaml")
        yield Lab(lab, inventory, tmp_path / "home")


def _child_id(raw: str) -> int:
    """charon's own CHILD_SA unique id, read from its vici dump (not with the product)."""
    m = re.search(r"child-sas \{\S+ \{name=\S+ uniqueid=(\d+)", raw)
    assert m, raw
    return int(m.group(1))


def _grammatical(f: dict[str, Any]) -> list[str]:
    """Steps that are not a form of their platform's grammar (empty when all are)."""
    bad = []
    for s in f["extra"]["steps"]:
        if s["mode"] == "ipsecctl":
            continue
        if not G.load(s["platform"]).accepts(s["command"], s["mode"]):
            bad.append(s["command"])
    return bad


def test_one_way_strongswan_tunnel_gets_swanctl_steps_on_both_ends(gw: Lab, tmp_path: Path) -> None:
    lab = gw.lab
    assert lab.a is not None and lab.b is not None
    wan_a, wan_b = lab.a.wan.split("/")[0], lab.b.wan.split("/")[0]
    prev = gw.snapshot(tmp_path / "prev.json")
    blackhole = ["ip", "route", "replace", "blackhole", lab.a.inside_net, "table", "220"]
    assert lab.exec("b", blackhole).returncode == 0
    assert lab.ping(count=5) == 0  # encrypted out of a, decrypted by b, no way back
    cur = gw.snapshot(tmp_path / "cur.json")

    run = gw.cli("diag", "health", "--snapshot", str(cur), "--previous", str(prev), "--json")
    assert run.code == 3, run
    findings = run.json["findings"]
    got = {(f["device"], f["code"], f["peer"]) for f in findings}
    assert ("gw-a", "ONE_WAY_TRAFFIC", wan_b) in got, got
    assert ("gw-b", "ONE_WAY_TRAFFIC_INBOUND", wan_a) in got, got

    out = next(f for f in findings if f["code"] == "ONE_WAY_TRAFFIC")
    child_a = _child_id(lab.list_sas("a"))
    assert f"swanctl --list-sas --child-id {child_a}" in out["next_steps"]
    assert f"swanctl --rekey --child-id {child_a}" in out["next_steps"]
    # gw-b was polled too: its own steps, from its side, are named for it
    assert "swanctl --list-sas --child lab   (on gw-b)" in out["next_steps"]
    back = f"ip route get {_first_host(lab.a.inside_net)} from {_first_host(lab.b.inside_net)}"
    assert f"{back}   (on gw-b)" in out["next_steps"]
    for f in findings:
        assert f["extra"]["platform"] == "strongswan"
        assert f["extra"]["tunnels"], f
        assert not _grammatical(f), (f["code"], _grammatical(f))
        cisco = [s for s in f["next_steps"] if s.startswith(("show ", "clear ", "debug "))]
        assert not cisco, (f["code"], cisco)


def _first_host(prefix: str) -> str:
    import ipaddress

    return str(next(ipaddress.ip_network(prefix).hosts()))
