"""ipsecctl audit: weak crypto from configs, certificate expiry from real pki outputs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from ipsecctl.cli.audit_cmd import app
from ipsecctl.diag.audit_crypto import audit_certificates, audit_config, parse_certificates
from ipsecctl.diag.config import parse_config

CFG = Path(__file__).parent.parent / "fixtures" / "configs"


def test_weak_config_findings_and_fix_lines() -> None:
    found = audit_config(parse_config((CFG / "weak.cfg").read_text()), "LEGACY")
    got = {(f.code, f.severity, f.summary.split(" uses ")[-1]) for f in found}
    assert ("WEAK_IKE_ENCRYPTION", "error", "DES") in got
    assert ("WEAK_IKE_ENCRYPTION", "warning", "3DES") in got
    assert ("WEAK_IKE_HASH", "error", "MD5") in got
    assert ("WEAK_DH_GROUP", "error", "DH group 1") in got  # IOS default group 1
    assert ("WEAK_DH_GROUP", "warning", "DH group 5") in got
    codes = {f.code for f in found}
    assert {"NO_PFS", "WILDCARD_PSK", "IKEV1_IN_USE", "UNUSUAL_IKE_LIFETIME"} <= codes
    enc = next(f for f in found if f.code == "WEAK_IKE_ENCRYPTION" and f.severity == "error")
    assert enc.next_steps == ["crypto isakmp policy 1", " encryption aes 256"]
    ts = next(f for f in found if f.code == "WEAK_IPSEC_TRANSFORM")
    assert ts.next_steps == ["crypto ipsec transform-set OLD esp-aes 256 esp-sha256-hmac"]
    assert all("Legacy1" not in json.dumps(f.model_dump()) for f in found)


def test_modern_ikev2_config_has_no_warnings() -> None:
    found = audit_config(parse_config((CFG / "ok_v2_a.cfg").read_text()), "HUB")
    assert [f for f in found if f.severity != "info"] == [f for f in found if f.code == "NO_PFS"]


def test_certificates_from_real_output() -> None:
    text = (CFG / "pki_ntc-templates-1.txt").read_text()
    certs = parse_certificates(text)
    assert [c["kind"] for c in certs] == ["Certificate", "CA Certificate", "CA Certificate"]
    soon = audit_certificates(text, "r1", now=datetime(2023, 6, 1, tzinfo=UTC))
    assert [(f.code, f.severity) for f in soon] == [("CERT_EXPIRING", "warning")]
    late = audit_certificates(text, "r1", now=datetime(2024, 1, 1, tzinfo=UTC))
    assert [(f.code, f.severity) for f in late] == [("CERT_EXPIRED", "critical")]
    assert "crypto pki enroll caserver.domain.com" in late[0].next_steps
    early = audit_certificates(text, "r1", now=datetime(2022, 7, 1, tzinfo=UTC))
    assert early == []


def test_cli_offline_fleet_summary() -> None:
    res = CliRunner().invoke(
        app, ["--config", str(CFG / "weak.cfg"), "--config", str(CFG / "ok_v2_a.cfg"), "--json"]
    )
    assert res.exit_code == 3, res.output
    doc = json.loads(res.stdout)
    assert doc["kind"] == "audit"
    rows = {r["device"]: r for r in doc["summary"]}
    assert rows["weak"]["error"] >= 3 and rows["ok_v2_a"]["error"] == 0
    res = CliRunner().invoke(app, ["--config", str(CFG / "garbage.cfg")])
    assert res.exit_code == 2 and "garbage.cfg" in res.stderr
