"""``s``: an interactive SSH shell on a lab router from the dashboard, in a real terminal.

The whole ``ipsecctl dashboard`` process runs under a pseudo-terminal on a lab: ``s`` suspends
the dashboard and hands the terminal to an SSH shell on the device of the tunnel under the
cursor (the first row: r01), a command runs there, ``exit`` ends the session and the
dashboard comes back; ``q`` then quits.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipsecctl.errors import IpsecctlError
from ipsecctl.lab.manage import LabHandle, start_lab
from tests.helpers import need

from .ptyrun import PtyProcess


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    try:
        handle = start_lab(tmp_path_factory.mktemp("lab"), devices=2)
    except IpsecctlError as exc:
        need(False, f"lab not available: {exc}")
        raise
    yield handle
    handle.stop()


def test_shell_suspends_runs_a_command_and_resumes(small_lab: LabHandle, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("")
    env = dict(
        os.environ,
        TERM="xterm-256color",
        TEXTUAL_ANIMATIONS="none",
        IPSECCTL_CONFIG=str(config),
        IPSECCTL_STATE_DIR=str(tmp_path / "state"),
        IPSECCTL_DATA_DIR=str(tmp_path / "data"),
    )
    proc = PtyProcess(
        [
            sys.executable,
            "-m",
            "ipsecctl",
            "-i",
            str(small_lab.inventory_path),
            "dashboard",
            "--refresh",
            "30",
        ],
        env=env,
        cols=100,
        rows=30,
    )
    try:
        proc.wait_for(r"tunnels \[[1-9]\d*/", timeout=30)
        # each device's rows arrive with its own poll and the cursor stays on its row: with
        # both devices in, Up to the first row (r01's; rows sort by device)
        proc.wait_for(r"\br01 +up ", timeout=30)  # the fleet pane, once a device is polled
        proc.wait_for(r"\br02 +up ", timeout=30)
        proc.send("\x1b[A" * 10)
        mark = proc.size
        proc.send("s")
        proc.wait_for(r"SSH shell on r01", timeout=20, since=mark)
        proc.wait_for(r"r01[>#]\s*$", timeout=20, since=mark)  # the router's own prompt
        mark = proc.size
        proc.send("show clock\r")
        clock = proc.wait_for(r"\d{2}:\d{2}:\d{2}\.\d{3} UTC", timeout=10, since=mark)
        assert clock  # the device answered in the shell, not the dashboard
        mark = proc.size
        proc.send("exit\r")
        # back in the dashboard: it redraws, says the shell closed, still polls
        proc.wait_for(r"tunnels \[\d+/\d+\]", timeout=20, since=mark)
        proc.wait_for(r"r01: shell closed \(closed by the device\)", timeout=20, since=mark)
        proc.send("q")
        assert proc.wait_exit(20) == 0
    finally:
        proc.kill()
