"""Audit log: 0600, one redacted JSON record per action, safe under concurrent writers."""

from __future__ import annotations

import getpass
import json
import os
import socket
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ipsecctl.ops.audit_trail import AuditLog, read_audit
from ipsecctl.redact import MASK

SECRETS = ("Sup3rPSK", "hunter2", "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba98")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_0600_with_full_record(tmp_path):
    path = tmp_path / "state" / "audit.jsonl"
    old = os.umask(0o000)  # even a permissive umask must not widen the file
    try:
        AuditLog(path).record(
            "clear",
            outcome="ok",
            device="hub-1",
            peer="10.0.0.2",
            vrf="blue",
            commands=["clear crypto sa peer vrf blue 10.0.0.2"],
            details={"old_spis": [1, 2], "new_spis": [3, 4]},
        )
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    (record,) = read_audit(path)
    assert record["action"] == "clear" and record["outcome"] == "ok"
    assert record["device"] == "hub-1" and record["peer"] == "10.0.0.2" and record["vrf"] == "blue"
    assert record["commands"] == ["clear crypto sa peer vrf blue 10.0.0.2"]
    assert record["details"] == {"old_spis": [1, 2], "new_spis": [3, 4]}
    assert record["user"] == getpass.getuser() and record["host"] == socket.gethostname()
    assert record["time"].endswith("Z") and "T" in record["time"]


def test_existing_loose_file_is_tightened_and_appended(tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text(json.dumps({"action": "old", "outcome": "ok"}) + "\n")
    path.chmod(0o644)
    AuditLog(path).record("rekey", outcome="dry-run", device="r1")
    assert mode(path) == 0o600
    assert [r["action"] for r in read_audit(path)] == ["old", "rekey"]


def test_secrets_never_written(tmp_path):
    path = tmp_path / "audit.jsonl"
    AuditLog(path).record(
        "provision",
        outcome="failed",
        device="r1",
        commands=[
            "crypto isakmp key Sup3rPSK address 10.0.0.2",
            " pre-shared-key remote hunter2",
            "set session-key inbound esp 256 cipher 0123456789abcdef0123456789abcdef "
            "authenticator fedcba9876543210fedcba98",
        ],
        details={"password": "hunter2", "nested": {"psk": "Sup3rPSK"}, "note": "enable ok"},
    )
    text = path.read_text()
    for secret in SECRETS:
        assert secret not in text
    (record,) = read_audit(path)
    assert record["details"]["password"] == MASK and record["details"]["nested"]["psk"] == MASK
    assert record["commands"][0] == f"crypto isakmp key {MASK} address 10.0.0.2"
    assert record["details"]["note"] == "enable ok"


def test_outcome_is_checked(tmp_path):
    with pytest.raises(ValueError, match="outcome"):
        AuditLog(tmp_path / "a.jsonl").record("clear", outcome="maybe")


def test_read_limit_missing_and_garbage(tmp_path, caplog):
    path = tmp_path / "audit.jsonl"
    assert read_audit(path) == []
    log = AuditLog(path)
    for i in range(5):
        log.record(f"a{i}", outcome="ok")
    with path.open("a") as handle:
        handle.write('{"truncated": \n')
    assert [r["action"] for r in read_audit(path, limit=2)] == ["a3", "a4"]
    assert len(read_audit(path)) == 5
    assert "audit.jsonl:6: skipping" in caplog.text


def test_concurrent_writers_never_interleave(tmp_path):
    """Four processes append 200 large records each; every line must parse."""
    path = tmp_path / "audit.jsonl"
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from ipsecctl.ops.audit_trail import AuditLog
        log = AuditLog(Path({str(path)!r}))
        for i in range(200):
            log.record("bulk", outcome="ok", device=sys.argv[1], details={{"pad": "x" * 5000}})
        """
    )
    root = Path(__file__).resolve().parents[1]
    procs = [subprocess.Popen([sys.executable, "-c", script, f"w{n}"], cwd=root) for n in range(4)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    lines = path.read_text().splitlines()
    assert len(lines) == 800
    devices = [json.loads(line)["device"] for line in lines]
    assert sorted(set(devices)) == ["w0", "w1", "w2", "w3"]


def test_append_audit_dict_form(tmp_path):
    path = tmp_path / "audit.jsonl"
    from ipsecctl.ops.audit_trail import append_audit

    append_audit(
        path,
        {
            "action": "rekey",
            "scope": "peer",
            "device": "r1",
            "peer": "10.0.0.2",
            "vrf": None,
            "commands": ["clear crypto sa peer 10.0.0.2"],
            "details": {"reason": "x"},
        },
    )
    append_audit(path, {"action": "clear", "ok": False})
    first, second = read_audit(path)
    assert first["outcome"] == "failed" and first["details"] == {"reason": "x", "scope": "peer"}
    assert second["outcome"] == "failed"
    append_audit(path, {"action": "clear", "ok": True, "new_spis": [7]})
    assert read_audit(path, limit=1)[0]["details"] == {"ok": True, "new_spis": [7]}
