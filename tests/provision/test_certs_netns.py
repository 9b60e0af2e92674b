"""Certificate-authenticated tunnels: the lab CA issues, real strongSwan authenticates with it.

The CA and certificates are made through the real CLI (``ipsecctl pki``); the gateways'
swanctl.conf comes from a topology spec with ``auth: cert``; charon (real IKEv2, in network
namespaces) then establishes the tunnel with RSA signatures, and a certificate from another
CA is refused. Expected values come from charon's own output (``swanctl --list-sas``), the
standard (X.509 path validation) and the ``cryptography`` package, not from ipsecctl.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from ipsecctl.lab.strongswan import NetnsLab, strongswan_missing
from ipsecctl.provision.device_configs import render_network
from ipsecctl.provision.topology import parse_topology
from tests.helpers import need


def _spec(lab: NetnsLab) -> dict[str, Any]:
    assert lab.a is not None and lab.b is not None
    ends = [
        {
            "name": side,
            "platform": "strongswan",
            "outside_address": gw.wan.split("/")[0],
            "inside_networks": [gw.inside_net],
        }
        for side, gw in (("a", lab.a), ("b", lab.b))
    ]
    return {
        "name": "certs",
        "topology": "hub_spoke",
        "auth": "cert",
        "force_encap": True,
        "hubs": ends[:1],
        "spokes": ends[1:],
        "pki": {"trustpoint": "LAB-CA", "domain": "vpn.example"},
    }


def test_pki_cli_makes_a_ca_and_certificates(prov: Any, tmp_path: Path) -> None:
    ca = tmp_path / "ca"
    run = prov("pki", "ca", "init", "--ca", str(ca), "--json")
    assert run.code == 0, run
    assert oct(ca.stat().st_mode & 0o777) == "0o700"
    assert oct((ca / "ca.key").stat().st_mode & 0o777) == "0o600"
    again = prov("pki", "ca", "init", "--ca", str(ca))
    assert again.code == 2 and "already" in again.err
    run = prov(
        "pki",
        "issue",
        "gw1",
        "--ca",
        str(ca),
        "--subject",
        "CN=gw1.vpn.example",
        "--ip",
        "127.0.0.9",
        "--out",
        str(tmp_path / "swan"),
        "--json",
    )
    assert run.code == 0, run
    doc = run.json
    assert doc["subject"] == "CN=gw1.vpn.example"
    cert = x509.load_pem_x509_certificate((tmp_path / "swan" / "x509" / "gw1.pem").read_bytes())
    ca_cert = x509.load_pem_x509_certificate((ca / "ca.pem").read_bytes())
    cert.verify_directly_issued_by(ca_cert)  # raises unless the CA signed it
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.9"]
    assert "gw1.vpn.example" in san.get_values_for_type(x509.DNSName)
    assert isinstance(cert.public_key(), rsa.RSAPublicKey)
    key = tmp_path / "swan" / "private" / "gw1.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert key.read_text() not in run.out + run.err
    assert (tmp_path / "swan" / "x509ca" / "IPSECCTL-CA.pem").read_bytes() == (
        ca / "ca.pem"
    ).read_bytes()


@pytest.mark.netns
def test_certificate_tunnel_on_real_strongswan(prov: Any, tmp_path: Path) -> None:
    missing = strongswan_missing()
    need(not missing, f"strongSwan namespace lab unavailable: {', '.join(missing)}")
    ca = tmp_path / "ca"
    assert prov("pki", "ca", "init", "--ca", str(ca)).code == 0
    with NetnsLab() as lab:
        lab.up()
        assert lab.a is not None and lab.b is not None
        for side, gw in (("a", lab.a), ("b", lab.b)):  # swanctl's layout beside the conf
            run = prov(
                "pki",
                "issue",
                side,
                "--ca",
                str(ca),
                "--subject",
                f"CN={side}.vpn.example",
                "--out",
                str(gw.workdir / "swanctl"),
                "--trustpoint",
                "LAB-CA",
            )
            assert run.code == 0, run
        net = parse_topology(_spec(lab))
        renders = render_network(net)
        for r, gw in zip(renders, (lab.a, lab.b), strict=True):
            assert "auth = pubkey" in r.text and "secret =" not in r.text
            path = gw.workdir / "swanctl" / "certs.conf"
            path.write_text(r.text)
            out = lab.swanctl(gw, "--load-all", "--file", str(path))
            assert "loaded connection 'certs'" in out, out
            assert "loaded RSA key from" in out, out
        out = lab.swanctl(lab.a, "--initiate", "--child", "certs", "--timeout", "15", timeout=25)
        assert "initiate completed successfully" in out, out
        sas = lab.swanctl(lab.a, "--list-sas")
        assert "ESTABLISHED" in sas and "INSTALLED" in sas, sas
        assert "CN=b.vpn.example" in sas, sas  # the peer was authenticated by its certificate
        log = lab.a.log.read_text(errors="replace")
        assert "RSA" in log or "signature" in log.lower()


@pytest.mark.netns
def test_certificate_from_another_ca_is_refused(prov: Any, tmp_path: Path) -> None:
    missing = strongswan_missing()
    need(not missing, f"strongSwan namespace lab unavailable: {', '.join(missing)}")
    with NetnsLab() as lab:
        lab.up()
        assert lab.a is not None and lab.b is not None
        for side, gw in (("a", lab.a), ("b", lab.b)):
            ca = tmp_path / f"ca-{side}"  # two unrelated CAs: nobody trusts the other's peer
            assert prov("pki", "ca", "init", "--ca", str(ca)).code == 0
            run = prov(
                "pki",
                "issue",
                side,
                "--ca",
                str(ca),
                "--subject",
                f"CN={side}.vpn.example",
                "--out",
                str(gw.workdir / "swanctl"),
                "--trustpoint",
                "LAB-CA",
            )
            assert run.code == 0, run
        net = parse_topology(_spec(lab))
        for r, gw in zip(render_network(net), (lab.a, lab.b), strict=True):
            path = gw.workdir / "swanctl" / "certs.conf"
            path.write_text(r.text)
            lab.swanctl(gw, "--load-all", "--file", str(path))
        out = lab.swanctl(
            lab.a, "--initiate", "--child", "certs", "--timeout", "10", timeout=20, check=False
        )
        assert "initiate completed successfully" not in out, out
        # b cannot verify a's certificate against the CA it trusts: IKEv2 says so
        assert "AUTHENTICATION_FAILED" in out, out
