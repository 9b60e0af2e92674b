"""Actions are honest under faults, audited before they act, and one at a time per tunnel.

Every test runs the real ``ipsecctl`` process against an IOS-like SSH server that shows a real
``show crypto ipsec sa`` output (ntc-templates sample, peer 2.2.2.2 with inbound SPI 0xABCD1234
and outbound 0x1234ABCD) and then misbehaves after accepting the clear, as devices do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.ops.locks import TunnelLock
from tests.helpers import CliRun, run_cli
from tests.transport.conftest import known_line
from tests.transport.ios_server import IosServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SA_TEXT = (FIXTURES / "cisco/ios/show_crypto_ipsec_sa_detail/ntc-templates-1.txt").read_text()
SA_TEXT = SA_TEXT.rstrip("\n") + "\n"  # a device ends its output with a newline
PEER = "2.2.2.2"
OLD_SPIS = [0x1234ABCD, 0xABCD1234]  # read from the sample: outbound and inbound ESP
ISAKMP = """IPv4 Crypto ISAKMP SA
dst             src             state          conn-id status
2.2.2.2         1.1.1.1         QM_IDLE           1001 ACTIVE

IPv6 Crypto ISAKMP SA
"""
OUTPUTS = {
    "show crypto ipsec sa": SA_TEXT,
    "show crypto isakmp sa": ISAKMP,
    "show crypto isakmp sa detail": "",
    "show crypto ikev2 sa detailed": "",
    "show crypto session detail": "",
    "show logging": "",
}
FAST = {
    "IPSECCTL_CONNECT_TIMEOUT": "3",
    "IPSECCTL_COMMAND_TIMEOUT": "3",
    "IPSECCTL_DEVICE_TIMEOUT": "8",
}


@pytest.fixture
def device() -> Iterator[IosServer]:
    with IosServer(
        address="127.0.0.61", hostname="r1", privileged=True, outputs=dict(OUTPUTS)
    ) as server:
        yield server


def _inventory(tmp_path: Path, server: IosServer) -> Path:
    known = tmp_path / "known_hosts"
    known.write_text(known_line(server.address, server.port, server.host_key) + "\n")
    inv = tmp_path / "inventory.yaml"
    inv.write_text(
        "hosts:\n  r1:\n"
        f"    hostname: {server.address}\n    port: {server.port}\n"
        f"    username: {server.username}\n    password: {server.password}\n"
        f"    platform: cisco_ios\n    data:\n      known_hosts: [{known}]\n"
    )
    return inv


def _clear(
    tmp_path: Path,
    server: IosServer,
    *extra: str,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> CliRun:
    return run_cli(
        "-i",
        str(_inventory(tmp_path, server)),
        "clear",
        "r1",
        "--peer",
        PEER,
        "--yes",
        "--json",
        "--wait",
        "4",
        *extra,
        home=tmp_path / "home",
        env={**FAST, **(env or {})},
        timeout=timeout,
    )


def _audit(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "home" / "state" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_healthy_device_first_shows_the_sample_spis(device: IosServer, tmp_path: Path) -> None:
    """The premise of the fault tests: the plan sees the SAs the sample holds."""
    run = _clear(tmp_path, device, "--dry-run")
    assert run.code == 0, run
    assert run.json["old_spis"] == sorted(OLD_SPIS)
    assert run.json["ok"] is True and run.json["dry_run"] is True
    assert not any(c.startswith("clear") for c in device.commands)


@pytest.mark.parametrize(
    "mode, why",
    [
        ("drop", "re-poll failed"),
        ("hang", "re-poll failed"),
        ("reject", "re-poll failed"),
        ("error", "re-poll failed"),
    ],
)
def test_clear_accepted_then_repoll_fails_is_not_ok(
    device: IosServer, tmp_path: Path, mode: str, why: str
) -> None:
    device.after_clear = mode
    run = _clear(tmp_path, device)
    assert run.code == 1, run
    doc = run.json
    assert doc["ok"] is False and doc["dry_run"] is False, doc
    assert why in doc["message"] and "not verified" in doc["message"], doc
    assert doc["sent"] == [f"clear crypto session remote {PEER}"]
    assert f"clear crypto session remote {PEER}" in device.commands  # it did reach the device
    records = _audit(tmp_path)
    assert [r["outcome"] for r in records] == ["started", "sending", "failed"], records
    assert len({r["action_id"] for r in records}) == 1
    assert records[1]["commands"] == [f"clear crypto session remote {PEER}"]
    assert why in records[-1]["details"]["message"]


@pytest.mark.parametrize("breakage", ["folder", "parent_is_a_file"])
def test_no_audit_trail_no_action(device: IosServer, tmp_path: Path, breakage: str) -> None:
    if breakage == "folder":
        audit = tmp_path / "audit-is-a-folder"
        audit.mkdir()
    else:
        (tmp_path / "a-file").write_text("not a folder\n")
        audit = tmp_path / "a-file" / "audit.jsonl"
    run = _clear(tmp_path, device, env={"IPSECCTL_AUDIT_LOG": str(audit)})
    assert run.code == 1, run
    assert "cannot write the audit log" in run.json["message"], run
    assert "nothing was sent" in run.json["message"]
    assert not any(c.startswith("clear") for c in device.commands)


def test_a_tunnel_busy_in_another_process_is_left_alone(device: IosServer, tmp_path: Path) -> None:
    lock = TunnelLock(tmp_path / "home" / "state" / "actions" / "locks", "r1", PEER)
    lock.acquire({"pid": os.getpid(), "action": "rekey", "time": "2026-12-05T10:00:00Z"})
    try:
        run = _clear(tmp_path, device)
    finally:
        lock.release()
    assert run.code == 1, run
    assert f"pid {os.getpid()} is already running rekey" in run.json["message"], run
    assert not any(c.startswith("clear") for c in device.commands)
    records = _audit(tmp_path)
    assert [r["outcome"] for r in records] == ["refused"]


def _start_clear(tmp_path: Path, server: IosServer) -> subprocess.Popen[str]:
    inv = _inventory(tmp_path, server)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        **FAST,
        "IPSECCTL_STATE_DIR": str(home / "state"),
        "IPSECCTL_DATA_DIR": str(home / "data"),
        "HOME": str(home),
        "NO_COLOR": "1",
    }
    env.pop("IPSECCTL_INVENTORY", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ipsecctl",
            "-i",
            str(inv),
            "clear",
            "r1",
            "--peer",
            PEER,
            "--yes",
            "--json",
            "--wait",
            "60",
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_clear(server: IosServer, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not server.cleared:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the clear never reached the device"
        time.sleep(0.05)


def test_killed_mid_action_is_named_by_the_next_run(device: IosServer, tmp_path: Path) -> None:
    device.after_clear = "hang"  # the re-poll hangs: the process is mid-action when killed
    proc = _start_clear(tmp_path, device)
    _wait_for_clear(device, proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    records = _audit(tmp_path)
    assert [r["outcome"] for r in records] == ["started", "sending"], records
    assert records[1]["commands"] == [f"clear crypto session remote {PEER}"]
    # the next run (any command) names it, once, and closes it in the audit trail
    device.after_clear = None
    run = run_cli("-i", str(_inventory(tmp_path, device)), "info", home=tmp_path / "home")
    assert "was interrupted" in run.err and f"clear crypto session remote {PEER}" in run.err, run
    records = _audit(tmp_path)
    assert records[-1]["outcome"] == "interrupted"
    assert records[-1]["action_id"] == records[0]["action_id"]
    assert records[-1]["commands"] == [f"clear crypto session remote {PEER}"]
    again = run_cli("-i", str(_inventory(tmp_path, device)), "info", home=tmp_path / "home")
    assert "was interrupted" not in again.err


def test_ctrl_c_mid_action_records_what_was_sent(device: IosServer, tmp_path: Path) -> None:
    device.after_clear = "hang"
    proc = _start_clear(tmp_path, device)
    _wait_for_clear(device, proc)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    records = _audit(tmp_path)
    assert [r["outcome"] for r in records] == ["started", "sending", "interrupted"], records
    assert records[-1]["commands"] == [f"clear crypto session remote {PEER}"]
    assert not list((tmp_path / "home" / "state" / "actions" / "inflight").glob("*.json"))
