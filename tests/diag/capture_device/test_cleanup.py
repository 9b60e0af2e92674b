"""The device is cleaned up whatever happens: Ctrl-C, a connection dropped mid-capture, a
device gone for good (then the exact commands are named, and the next run removes what was
left, after saying so)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab import Lab
from ipsecctl.lab.capture_cli import points
from tests.diag.capture_device.test_lab_capture import device_points, inv, peer_of
from tests.helpers import CliRun

Cli = Callable[..., CliRun]


def _env(home: Path) -> dict[str, str]:
    drop = ("IPSECCTL_INVENTORY", "IPSECCTL_CONFIG", "IPSECCTL_READ_ONLY")
    base = {k: v for k, v in os.environ.items() if k not in drop}
    return {**base, "IPSECCTL_STATE_DIR": str(home / "state"),
            "IPSECCTL_DATA_DIR": str(home / "data"), "HOME": str(home),
            "NO_COLOR": "1"}  # fmt: skip


def _wait_for_point(lab: Lab, device: str, proc: subprocess.Popen[str], started: bool = True
                    ) -> None:  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pts = points(lab.fleet, device)
        if pts and (not started or any(p.started is not None for p in pts.values())):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the capture point never appeared on the device")


def _audit(home: Path) -> list[dict[str, Any]]:
    files = list(home.rglob("audit*.jsonl")) + list(home.rglob("audit*.log"))
    assert files, list(home.rglob("*"))
    return [json.loads(line) for f in files for line in f.read_text().splitlines() if line]


def test_ctrl_c_removes_the_capture_point(lab: Lab, tmp_path: Path) -> None:
    device, peer = peer_of(lab, "healthy", "cisco_iosxe")
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipsecctl", *inv(lab), "diag", "capture", device, "--peer",
         peer, "--seconds", "600", "--yes"],
        env=_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        stdin=subprocess.DEVNULL, cwd=home,
    )  # fmt: skip
    try:
        _wait_for_point(lab, device, proc)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    # the device lists no capture point any more
    assert points(lab.fleet, device) == {}
    assert "Status Information for Capture" not in device_points(lab, device)
    records = _audit(home)
    sent = [c for r in records if r.get("outcome") == "sending" for c in r.get("commands", [])]
    assert any(c.startswith("no monitor capture ICTL") for c in sent), sent
    assert any(r.get("outcome") == "interrupted" for r in records)


def test_dropped_connection_reconnects_and_cleans_up(lab: Lab) -> None:
    """The SSH connection is cut while the capture runs: the session reconnects for the next
    command, the capture point (on the device, not in the session) is fetched and removed."""
    from inventory import load_inventory
    from ipsecctl.ops.capture import CaptureSpec, plan_capture
    from ipsecctl.ops.setup import open_fleet
    from ipsecctl.settings import load_settings

    device, peer = peer_of(lab, "healthy", "cisco_iosxe")
    hosts = [h for h in load_inventory(lab.inventory_path).hosts.values() if h.name == device]
    fleet = open_fleet(load_settings(), hosts, host_key_policy="reject")
    cut: list[object] = []
    try:
        state = fleet.poll_one(device)
        plan = plan_capture(state, None, peer, seconds=600, packets=200)
        runner: Any = fleet.session(device)

        def progress(event: Any) -> None:
            if event.stage == "polling":  # the capture runs: cut the connection under it
                transport = runner._client.get_transport()
                cut.append(transport)
                transport.close()

        result = CaptureSpec(fleet).execute(plan, progress)
        assert cut and not cut[0].is_active()  # type: ignore[attr-defined]
        assert runner._client.get_transport() is not cut[0]  # a new connection was made
    finally:
        fleet.close()
    assert result.ok is True, result.message
    assert result.report["packets"] == 200  # the device stopped itself at its packet limit
    assert result.sent[-1] == plan.cleanup[-1]
    assert points(lab.fleet, device) == {}


@pytest.fixture
def own_lab(tmp_path: Path) -> Any:
    with Lab(tmp_path / "lab", devices=4, seed=3, time_scale=20.0) as running:
        yield running


def test_device_gone_names_what_to_remove_and_next_run_removes_it(
    own_lab: Lab, tmp_path: Path
) -> None:
    lab = own_lab
    device, peer = peer_of(lab, "healthy", "cisco_iosxe")
    home = tmp_path / "home"
    home.mkdir()
    args = [sys.executable, "-m", "ipsecctl", *inv(lab), "diag", "capture", device, "--peer",
            peer, "--yes", "--json"]  # fmt: skip
    proc = subprocess.Popen([*args, "--seconds", "600"], env=_env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL, cwd=home)  # fmt: skip
    try:
        _wait_for_point(lab, device, proc)
        lab.stop()  # the device goes away mid-capture: nothing answers any more
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    doc = json.loads(out)
    (left,) = points(lab.fleet, device)
    assert doc["cleanup_failed"] == [f"no monitor capture {left}"], doc
    assert f"no monitor capture {left}" in doc["message"]
    # the device comes back; the next run finds the point, names it, and removes it
    lab.start()
    run = subprocess.run([*args, "--seconds", "2"], env=_env(home), capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, cwd=home, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"REMOVES capture point(s) left by an earlier run: {left}" in run.stderr
    doc = json.loads(run.stdout)
    assert doc["commands"][0] == f"no monitor capture {left}"
    assert points(lab.fleet, device) == {}
