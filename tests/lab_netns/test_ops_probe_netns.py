"""The dashboard's IKE probe (plan -> one call -> meaning) against a real strongSwan responder.

The plan is what :func:`ipsecctl.ops.probe.plan_probe` makes of an IOS-XE ``crypto ikev2
proposal``; it runs inside namespace a (the host has no route into the lab), real packets.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab.strongswan import NetnsLab, Tunnel

pytestmark = pytest.mark.netns
ROOT = Path(__file__).resolve().parents[2]

CONFIG_OK = "crypto ikev2 proposal P\n encryption aes-cbc-256\n integrity sha256\n group 19\n!\n"
CONFIG_BAD = "crypto ikev2 proposal P\n encryption 3des\n integrity md5\n group 2\n!\n"


def run_planned(lab: NetnsLab, peer: str, config: str) -> dict[str, Any]:
    code = (
        "import json; from ipsecctl.models import DeviceState, Tunnel; "
        "from ipsecctl.ops.probe import plan_probe, run_probe; "
        f"t = Tunnel(device='r1', platform='cisco_iosxe', peer={peer!r}, state='down', "
        "ike_state='READY').with_identity(); "
        "s = DeviceState(device='r1', platform='cisco_iosxe', tunnels=[t]); "
        f"p = plan_probe(s, t, config_text={config!r}); "
        "print(json.dumps(run_probe(p, timeout=1.0, retries=1).as_json()))"
    )
    env = f"PYTHONPATH={ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    proc = lab.exec("a", ["env", env, sys.executable, "-c", code], timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_planned_probe_against_strongswan(netns_ok: None) -> None:
    tunnel = Tunnel(ike_proposals="aes256-sha256-ecp256", esp_proposals="aes256gcm16")
    with NetnsLab(tunnel, start_a=False) as lab:
        lab.up()
        assert lab.b is not None
        peer = lab.b.wan.split("/")[0]
        ok = run_planned(lab, peer, CONFIG_OK)
        assert ok["proposals"] == ["aes256-sha256-ecp256"] and ok["source"] == "configuration"
        assert ok["result"] == "accepted" and ok["severity"] == "info"
        assert ok["probe"]["chosen"]["dh_group"] == 19
        # the tunnel is down although phase 1 would be accepted: look further on
        assert any("authentication" in m for m in ok["meaning"])
        bad = run_planned(lab, peer, CONFIG_BAD)
        assert bad["proposals"] == ["3des-md5-modp1024"]
        assert bad["result"] == "no_proposal_chosen" and bad["severity"] == "error"
