"""Configuration drives the lab's tunnels: what each end is configured with decides whether a
tunnel comes up, and where it sticks when it does not.

Expected outcomes are the IPsec rules themselves (the knowledge notes: 1.1.2 phase 1 policies
must be equal in encryption, hash, authentication and group; 1.3 a PSK mismatch leaves IKEv1 in
MM_KEY_EXCH; 3.1 a transform set in common; 3.4 mirrored crypto ACLs; RFC 7296 notify names
NO_PROPOSAL_CHOSEN, AUTHENTICATION_FAILED, TS_UNACCEPTABLE).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab import Lab
from ipsecctl.lab.device_config import intents
from ipsecctl.lab.negotiation import negotiate
from ipsecctl.lab.state import Fleet
from ipsecctl.lab.topology import plan
from tests.lab.conftest import Shell

# -------------------------------------------------------------------------- pure negotiation
BASE = """hostname {name}
crypto isakmp policy 10
 encr aes 256
 hash {hash}
 authentication pre-share
 group 14
crypto isakmp key {key} address {peer}
crypto ipsec transform-set TS esp-aes 256 {integ}
 mode tunnel
crypto map VPN 10 ipsec-isakmp
 set peer {peer}
 set transform-set TS
 match address ACL
interface GigabitEthernet1
 ip address {me} 255.255.255.0
 crypto map VPN
ip access-list extended ACL
 permit ip {mine} 0.0.0.255 {theirs} {twild}
"""


def end(name: str, me: str, peer: str, mine: str, theirs: str, **kw: str) -> Any:
    values = {
        "hash": "sha256",
        "key": "samekey",
        "integ": "esp-sha256-hmac",
        "twild": "0.0.0.255",
        **kw,
    }
    text = BASE.format(name=name, me=me, peer=peer, mine=mine, theirs=theirs, **values)
    [it] = intents(name, text, "cisco_iosxe")
    return it


def pair(**b_kw: str) -> tuple[Any, Any]:
    a = end("a", "10.0.0.1", "10.0.0.2", "10.1.1.0", "10.2.2.0")
    b = end(
        "b",
        "10.0.0.2",
        "10.0.0.1",
        b_kw.pop("mine", "10.2.2.0"),
        b_kw.pop("theirs", "10.1.1.0"),
        **b_kw,
    )
    return a, b


@pytest.mark.parametrize(
    ("change", "result"),
    [
        ({}, "up"),
        ({"hash": "sha"}, "p1_mismatch"),  # 1.1.2: hash differs in every policy
        ({"key": "otherkey"}, "psk_mismatch"),  # 1.3: MM_KEY_EXCH
        ({"integ": "esp-sha-hmac"}, "p2_mismatch"),  # 3.1: no transform set in common
        ({"mine": "10.2.3.0"}, "proxy_mismatch"),  # 3.4: not a mirror image
        # the responder's ACL covers the initiator's: the initiator's request is a subset
        ({"theirs": "10.1.0.0", "twild": "0.0.255.255"}, "up"),
    ],
)
def test_negotiation_follows_configuration(change: dict[str, str], result: str) -> None:
    a, b = pair(**change)
    assert negotiate(a, b).result == result


def test_no_entry_at_the_responder_is_no_answer() -> None:
    a, _ = pair()
    assert negotiate(a, None).result == "no_response"


@pytest.mark.parametrize(("devices", "seed"), [(12, 1), (200, 3)])
def test_every_planned_tunnel_negotiates_from_the_rendered_configurations(
    devices: int,
    seed: int,
) -> None:
    fleet = Fleet(plan(devices, seed), seed=seed, history_s=0)
    pairs = [lk for lk in fleet.links if lk.spec.b is not None]
    assert len(pairs) >= devices
    assert all(lk.behaviour == "healthy" and lk.reason == "negotiated" for lk in pairs)
    planned = {(s.a, s.b) for s in fleet.plan.links if s.b}
    assert {(lk.spec.a, lk.spec.b) for lk in pairs} == planned


# -------------------------------------------------------------------------- over SSH
def neighbours(lab: Lab, kind: str = "crypto_map", version: int = 1) -> tuple[str, str]:
    """Two IOS routers joined by a healthy lab tunnel of that kind."""
    for lk in lab.fleet.links:
        if (
            lk.spec.b
            and lk.behaviour == "healthy"
            and lk.spec.kind == kind
            and lk.spec.ike_version == version
            and "cisco_asa" not in (lab.router(lk.spec.a).platform, lab.router(lk.spec.b).platform)
        ):
            return lk.spec.a, lk.spec.b
    raise AssertionError("no such pair")


def isakmp_state(sh: Shell, peer: str) -> str | None:
    for line in sh.cmd("show crypto isakmp sa").splitlines():
        words = line.split()
        if len(words) >= 4 and peer in words[:2]:
            return words[2]
    return None


def configure(sh: Shell, lines: list[str]) -> None:
    sh.chan.send(b"configure terminal\n")
    sh.read_until(rf"{sh.name}\(config\)#")
    for line in lines:
        sh.chan.send(line.encode() + b"\n")
        sh.read_until(rf"{sh.name}\([\w-]+\)#")
    sh.chan.send(b"end\n")
    sh.read_until(f"{sh.name}#")


def test_changed_key_sticks_in_mm_key_exch_then_recovers(lab: Lab) -> None:
    a_name, b_name = neighbours(lab)
    a, b = Shell(lab, a_name), Shell(lab, b_name)
    a_addr, b_addr = lab.router(a_name).address, lab.router(b_name).address
    link = next(lk for lk in lab.fleet.links if {lk.spec.a, lk.spec.b} == {a_name, b_name})
    a_lan = link.spec.a_lan if link.spec.a == a_name else link.spec.b_lan
    b_lan = link.spec.b_lan if link.spec.a == a_name else link.spec.a_lan
    ping = f"ping {b_lan.network_address + 1} source {a_lan.network_address + 1} repeat 5 timeout 1"
    try:
        configure(a, [f"crypto isakmp key 0 not-the-same-key address {b_addr}"])
        assert f"crypto isakmp key 0 not-the-same-key address {b_addr}" in a.cmd(
            "show running-config"
        )
        assert isakmp_state(a, b_addr) == "QM_IDLE"  # running SAs are not touched
        a.cmd(f"clear crypto session remote {b_addr}")
        out = a.cmd(ping)
        assert "Success rate is 0 percent" in out
        assert isakmp_state(a, b_addr) == "MM_KEY_EXCH"
        assert isakmp_state(b, a_addr) == "MM_KEY_EXCH"
        assert "%CRYPTO-4-IKMP_BAD_MESSAGE" in a.cmd("show logging")
        configure(
            a,
            [
                f"no crypto isakmp key 0 not-the-same-key address {b_addr}",
                f"crypto isakmp key 6 FLgBaJHXdYY_AVH]SKSY_YCOMTRaEcE address {b_addr}",
            ],
        )
        a.cmd(f"clear crypto session remote {b_addr}")
        assert "Success rate is" in a.cmd(ping)
        assert isakmp_state(a, b_addr) == "QM_IDLE"
    finally:
        a.close()
        b.close()


# -------------------------------------------------------------------------- provisioning
PSK = "Lab-Provision-Key-4e1c"


def _cli(lab: Lab, tmp: Path, *args: str, timeout: float = 120) -> tuple[int, Any, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("IPSECCTL_INVENTORY", "IPSECCTL_CONFIG", "IPSECCTL_READ_ONLY")
    }
    env.update(
        IPSECCTL_STATE_DIR=str(tmp / "state"),
        IPSECCTL_DATA_DIR=str(tmp / "data"),
        NO_COLOR="1",
        COLUMNS="200",
        PROV_PSK=PSK,
    )
    entry = (
        "import sys\nfrom ipsecctl.cli import app as m\nfrom ipsecctl.cli import provision\n"
        "if not any(g.name == 'provision' for g in m.app.registered_groups):\n"
        "    m.app.add_typer(provision.app, name='provision')\n"
        "sys.exit(m.main(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", entry, "-i", str(lab.inventory_path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=tmp,
    )
    doc = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
    return proc.returncode, doc, proc.stderr


def unlinked(lab: Lab) -> tuple[Any, Any]:
    """Two IOS routers with no tunnel between them yet."""
    linked = {frozenset((lk.spec.a, lk.spec.b)) for lk in lab.fleet.links if lk.spec.b}
    ios = [r for r in lab.fleet.plan.routers if not r.asa]
    for x in ios:
        for y in ios:
            if x.index < y.index and frozenset((x.name, y.name)) not in linked:
                return x, y
    raise AssertionError("every pair is linked")


def spec(lab: Lab, name: str, seq: int, **extra: Any) -> dict[str, Any]:
    ends = []
    for i, r in enumerate(unlinked(lab)):
        ends.append(
            {
                "name": r.name,
                "device": r.name,
                "platform": r.platform,
                "outside_interface": r.wan_if,
                "outside_address": r.address,
                "inside_networks": [f"10.{160 + i}.{seq % 250}.0/24"],
                "map_seq": seq,
            }
        )
    return {"name": name, "ike_version": 2, "psk": "${PROV_PSK}", "ends": ends, **extra}


@pytest.fixture(scope="module")
def plab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("prov-lab"), devices=12, seed=1, time_scale=1.0) as lab:
        yield lab


def test_provision_push_brings_a_new_lab_tunnel_up(plab: Lab, tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(spec(plab, "newtun", 911)))
    code, doc, err = _cli(
        plab, tmp_path, "provision", "push", str(path), "--yes", "--wait", "20", "--json"
    )
    assert code == 0, err
    assert [e["tunnel_state"] for e in doc["ends"]] == ["up", "up"], doc
    assert doc["tunnel_up"] is True
    # the two ends hold mirrored SPIs (read from the lab's own state)
    link = next(
        lk
        for lk in plab.fleet.links
        if lk.intents.get("a") is not None
        and lk.intents["a"].map_tag == "VPNMAP"
        and lk.intents["a"].seq == 911
    )
    assert link.spec.b is not None and link.sas and link.behaviour == "healthy"


@pytest.mark.parametrize(
    ("broken", "step", "ike_status", "notify"),
    [
        ({"psk": "another-key"}, "psk", "negotiating", "AUTHENTICATION_FAILED"),
        (
            {"proposals": [{"encryption": "aes128", "integrity": "sha1", "dh_group": "modp2048"}]},
            "phase1",
            "negotiating",
            "NO_PROPOSAL_CHOSEN",
        ),
        ({"inside": "10.99.0.0/24"}, "proxy", "up", "TS_UNACCEPTABLE"),
    ],
)
def test_broken_spec_fails_where_diag_pair_predicted(
    plab: Lab,
    tmp_path: Path,
    broken: dict[str, Any],
    step: str,
    ike_status: str,
    notify: str,
) -> None:
    """Each end pushed with the product's own push code, the pair check left out (overridden):
    end 1 from the spec, end 2 from a spec broken in one place."""
    from ipsecctl.cli.context import AppContext
    from ipsecctl.provision.device_configs import render_end
    from ipsecctl.provision.model import TunnelSpec
    from ipsecctl.provision.push import push_end

    seq = {"psk": 921, "phase1": 922, "proxy": 923}[step]
    good = spec(plab, f"bad{seq}", seq)
    bad = json.loads(json.dumps(good))
    psk_b = PSK
    if "psk" in broken:
        psk_b = broken["psk"]
    if "proposals" in broken:
        bad["proposals"] = broken["proposals"]
    if "inside" in broken:
        bad["ends"][1]["inside_networks"] = [broken["inside"]]
    obj = AppContext(inventory_path=str(plab.inventory_path), host_key_policy="reject", quiet=True)
    fleet = obj.fleet(obj.select([]))
    try:
        for data, which, psk in ((good, 0, PSK), (bad, 1, psk_b)):
            tunnel = TunnelSpec.model_validate(data)
            end_spec = tunnel.ends[which]
            push_end(
                fleet.session(end_spec.target),
                render_end(tunnel, end_spec, psk),
                tunnel,
                write_memory=False,
            )
    finally:
        fleet.close()
    a_name, b_name = good["ends"][0]["device"], good["ends"][1]["device"]
    code, doc, err = _cli(plab, tmp_path, "diag", "pair", a_name, b_name, "--json")
    assert code == 3, err
    assert doc["first_failure"] == step, doc
    # what the lab does: the initiating end's IKE SA and log, after the negotiation ran
    peer = plab.router(b_name).address
    s = Shell(plab, a_name)
    try:
        # the negotiation runs on the lab's clock: wait (bounded) until it has, not a guess
        deadline = time.monotonic() + 30
        while True:
            code, ike, err = _cli(plab, tmp_path, "ike", a_name, "--json")
            states = [
                sa
                for sa in ike["ike_sas"]
                if sa["remote"] == peer or sa["dst"] == peer or sa["src"] == peer
            ]
            logged = notify in s.cmd("show logging")
            if (states and states[0]["status"] == ike_status and logged) or (
                time.monotonic() > deadline
            ):
                break
            time.sleep(0.5)
        assert states and states[0]["status"] == ike_status, ike
        assert logged, f"{notify} not in {a_name}'s log"
        code, tun, err = _cli(plab, tmp_path, "tunnels", a_name, "--json")
        mine = [t for t in tun["tunnels"] if t["peer"] == peer]
        assert mine == [] or all(not t["sas"] for t in mine)
    finally:
        s.close()
