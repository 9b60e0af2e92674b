"""A staged push to real strongSwan gateways over SSH, authenticated with lab-CA certificates.

The gateways are charon daemons in network namespaces, each exposed as an SSH device
(OpenSSH, the lab's known_hosts); the push writes each swanctl.conf 0600, loads it, brings the
child up and verifies it on a re-poll through the collector. Expected values come from charon
(``swanctl --list-sas`` / ``--list-conns`` in the namespace), not from the push report alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ipsecctl.lab.strongswan import NetnsLab, strongswan_missing
from tests.helpers import need


def _need() -> None:
    from ipsecctl.lab.sshd_gateway import sshd_missing

    missing = strongswan_missing() + sshd_missing()
    need(not missing, f"namespace lab prerequisites missing: {', '.join(missing)}")


def _spec(lab: NetnsLab, folder: Path, name: str) -> Path:
    assert lab.a is not None and lab.b is not None
    ends = [
        {
            "name": f"{name}-{side}",
            "device": f"gw-{side}",
            "platform": "strongswan",
            "outside_address": gw.wan.split("/")[0],
            "inside_networks": [gw.inside_net],
            "swanctl_file": str(gw.workdir / "swanctl" / "conf.d" / f"{name}.conf"),
        }
        for side, gw in (("a", lab.a), ("b", lab.b))
    ]
    path = folder / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": name,
                "topology": "hub_spoke",
                "auth": "cert",
                "force_encap": True,
                "hubs": ends[:1],
                "spokes": ends[1:],
                "pki": {"trustpoint": "LAB-CA", "domain": "vpn.example"},
            }
        )
    )
    return path


def _issue(prov: Any, ca: Path, lab: NetnsLab, name: str, foreign_b: Path | None = None) -> None:
    assert lab.a is not None and lab.b is not None
    for side, gw in (("a", lab.a), ("b", lab.b)):
        use = foreign_b if side == "b" and foreign_b is not None else ca
        run = prov(
            "pki",
            "issue",
            f"{name}-{side}",
            "--ca",
            str(use),
            "--subject",
            f"CN={name}-{side}.vpn.example",
            "--out",
            str(gw.workdir / "swanctl"),
            "--trustpoint",
            "LAB-CA",
        )
        assert run.code == 0, run


@pytest.mark.netns
def test_staged_push_to_strongswan_with_certificates(prov: Any, tmp_path: Path) -> None:
    _need()
    ca, other = tmp_path / "ca", tmp_path / "other-ca"
    assert prov("pki", "ca", "init", "--ca", str(ca)).code == 0
    assert prov("pki", "ca", "init", "--ca", str(other)).code == 0
    with NetnsLab() as lab:
        lab.up()
        assert lab.a is not None and lab.b is not None
        inv = lab.write_inventory(tmp_path / "inv.yaml")
        for gw in (lab.a, lab.b):  # as a stock swanctl.conf does: network snippets beside it
            main = gw.workdir / "swanctl" / "swanctl.conf"
            main.write_text(main.read_text() + "\ninclude conf.d/*.conf\n")
        _issue(prov, ca, lab, "ct")
        spec = _spec(lab, tmp_path, "ct")
        run = prov(
            "-i",
            str(inv),
            "provision",
            "push",
            str(spec),
            "--yes",
            "--wait",
            "20",
            "--json",
            timeout=180,
        )
        assert run.code == 0, run
        assert [(d["device"], d["ok"]) for d in run.json["devices"]] == [
            ("gw-a", True),
            ("gw-b", True),
        ]
        assert run.json["devices"][1]["tunnel_state"] == "up"
        sas = lab.swanctl(lab.b, "--list-sas")
        assert "ct: #" in sas and "ESTABLISHED" in sas and "CN=ct-a.vpn.example" in sas, sas
        conf = lab.b.workdir / "swanctl" / "conf.d" / "ct.conf"
        assert oct(conf.stat().st_mode & 0o777) == "0o600"
        # the same push again: nothing to change
        again = prov("-i", str(inv), "provision", "push", str(spec), "--yes", "--json", timeout=120)
        assert again.code == 0 and again.json["devices"] == [], again
        # a spoke whose certificate comes from another CA: verified down, rolled back
        _issue(prov, ca, lab, "cx", foreign_b=other)
        bad = _spec(lab, tmp_path, "cx")
        run = prov(
            "-i",
            str(inv),
            "provision",
            "push",
            str(bad),
            "--yes",
            "--wait",
            "8",
            "--json",
            timeout=180,
        )
        assert run.code == 1, run
        assert run.json["stopped_at"] == "gw-b"
        failed = run.json["devices"][1]
        assert failed["rollback"]["ok"] is True, failed
        assert not (lab.b.workdir / "swanctl" / "conf.d" / "cx.conf").exists()
        conns = lab.swanctl(lab.b, "--list-conns")
        # the failed network is gone; the first one and the lab's own connection stay
        assert "cx:" not in conns and "ct:" in conns and "lab:" in conns, conns
        assert "ESTABLISHED" in lab.swanctl(lab.b, "--list-sas", "--ike", "ct")
