"""The IKE prober against a real strongSwan responder in a namespace (real packets, no mocks)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.diag.ike.probe import enumeration_list
from ipsecctl.lab.strongswan import NetnsLab, Tunnel

pytestmark = pytest.mark.netns
ROOT = Path(__file__).resolve().parents[2]


def run_probe(
    lab: NetnsLab, peer: str, version: int, proposals: list[str], **opts: Any
) -> dict[str, Any]:
    """Run the prober inside namespace a (the host itself has no route into the lab)."""
    code = (
        "import json,sys; from ipsecctl.diag.ike.probe import probe, ProbeOptions; "
        f"print(json.dumps(probe({peer!r}, {version}, {proposals!r}, "
        f"ProbeOptions(**{opts!r}))))"
    )
    env = f"PYTHONPATH={ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    proc = lab.exec("a", ["env", env, sys.executable, "-c", code], timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_probe_v2_against_strongswan(netns_ok: None) -> None:
    tunnel = Tunnel(ike_proposals="aes256-sha256-ecp256", esp_proposals="aes256gcm16")
    with NetnsLab(tunnel, start_a=False) as lab:
        lab.up()
        assert lab.b is not None and lab.a is not None
        peer = lab.b.wan.split("/")[0]

        ok = run_probe(lab, peer, 2, ["aes256-sha256-ecp256"], timeout=1.0, retries=1)
        assert ok["result"] == "accepted"
        assert ok["chosen"]["encryption"] == "aes256"
        assert ok["chosen"]["integrity"] == "sha256"
        assert ok["chosen"]["prf"] == "prfsha256"
        assert ok["chosen"]["dh_group"] == 19
        assert ok["rtt_ms"] is not None and ok["spi_r"] != "0" * 16

        bad = run_probe(lab, peer, 2, ["3des-md5-modp1024"], timeout=1.0, retries=1)
        assert bad["result"] == "no_proposal_chosen"
        assert [n["name"] for n in bad["notify"]] == ["NO_PROPOSAL_CHOSEN"]

        # KE for modp2048 first; the responder only takes ecp256 -> INVALID_KE, then retry
        ke = run_probe(lab, peer, 2, ["aes256-sha256-modp2048-ecp256"], timeout=1.0, retries=1)
        assert ke["attempts"][0]["result"] == "invalid_ke"
        assert ke["attempts"][0]["wanted_group"] == 19
        assert ke["wanted_group"] == 19
        assert ke["result"] == "accepted" and ke["chosen"]["dh_group"] == 19

        # nothing listens on namespace a's own inside address
        silent = run_probe(lab, lab.a.inside, 2, ["aes256-sha256-ecp256"], timeout=0.5, retries=1)
        assert silent["result"] == "no_response"


def test_probe_v1_against_strongswan(netns_ok: None) -> None:
    tunnel = Tunnel(version=1, ike_proposals="aes128-sha1-modp2048", esp_proposals="aes128-sha1")
    with NetnsLab(tunnel, start_a=False) as lab:
        lab.up()
        assert lab.b is not None
        peer = lab.b.wan.split("/")[0]
        ok = run_probe(lab, peer, 1, ["aes128-sha1-modp2048"], timeout=1.0, retries=1)
        assert ok["result"] == "accepted"
        assert ok["chosen"]["encryption"] == "AES" and ok["chosen"]["key_length"] == 128
        assert ok["chosen"]["group"] == 14
        names = {v["name"] for v in ok["vendor_ids"]}
        assert "RFC 3947 NAT-T" in names or "Dead Peer Detection v1.0" in names
        bad = run_probe(lab, peer, 1, ["3des-md5-modp1024"], timeout=1.0, retries=1)
        assert bad["result"] == "no_proposal_chosen"
        aggr = run_probe(
            lab, peer, 1, ["aes128-sha1-modp2048"], timeout=1.0, retries=1, aggressive=True
        )
        # charon answers an aggressive-mode PSK offer for a main-mode connection with an
        # AUTHENTICATION_FAILED notify (it will not send its PSK hash to an unknown peer)
        assert aggr["result"] == "error"
        assert [n["name"] for n in aggr["notify"]] == ["AUTHENTICATION_FAILED"]
        assert aggr["rtt_ms"] is not None


def test_enumerate_against_strongswan(netns_ok: None) -> None:
    """`ipsecctl diag probe --enumerate` (the real CLI, inside namespace a): the responder's
    one proposal is accepted, every other one of the bounded list is rejected."""
    tunnel = Tunnel(ike_proposals="aes128-sha256-modp2048", esp_proposals="aes128gcm16")
    with NetnsLab(tunnel, start_a=False) as lab:
        lab.up()
        assert lab.b is not None
        peer = lab.b.wan.split("/")[0]
        env = f"PYTHONPATH={ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
        # the first 11 entries: every cipher suite with modp2048 (11 probes, 0.1 s apart)
        texts = enumeration_list(2)[:11]
        args = [a for t in texts for a in ("--proposal", t)]
        t0 = time.monotonic()
        proc = lab.exec(
            "a",
            [
                "env",
                env,
                sys.executable,
                "-m",
                "ipsecctl",
                "diag",
                "probe",
                peer,
                "--enumerate",
                *args,
                "--timeout",
                "1",
                "--retries",
                "1",
                "--json",
            ],
            timeout=60,
        )
        elapsed = time.monotonic() - t0
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["kind"] == "diag probe" and doc["accepted"] == ["aes128-sha256-modp2048"]
        results = {" ".join(r["proposals"]): r["result"] for r in doc["results"]}
        assert len(results) == 11
        assert results.pop("aes128-sha256-modp2048") == "accepted"
        assert set(results.values()) == {"no_proposal_chosen"}
        assert elapsed >= 10 * 0.1  # rate-limited: the default interval between probes
