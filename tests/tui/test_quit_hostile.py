"""Quitting never waits on a device: the dashboard process exits while hostile devices hang.

The whole ``ipsecctl dashboard`` process runs under a pseudo-terminal against two hostile
devices from the transport tests (a silent TCP peer that never sends an SSH banner, and an
IOS-like SSH server that stops in the middle of an output), with every timeout long. After
``q`` the process must be gone long before any of those timeouts could have fired, while
both devices are still hanging.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.transport.ios_server import IosServer
from tests.transport.raw_peer import RawPeer

from .ptyrun import PtyProcess

LONG_TIMEOUT = 120  # seconds: what a device may take before ipsecctl gives up on it
EXIT_BOUND = 20.0  # generous: the point is "not the device timeouts", not a speed test


@pytest.fixture
def hostile() -> Iterator[tuple[RawPeer, IosServer]]:
    server = IosServer(
        address="127.0.0.95", misbehave={"show crypto isakmp sa": "hang-midway"}
    ).start()
    with RawPeer("127.0.0.94", "silent") as peer:
        yield peer, server
    server.stop()


def _inventory(folder: Path, peer: RawPeer, server: IosServer) -> Path:
    folder.mkdir()
    (folder / "hosts.yaml").write_text(
        f"silent:\n  hostname: {peer.address}\n  port: {peer.port}\n  platform: cisco_ios\n"
        f"hang:\n  hostname: {server.address}\n  port: {server.port}\n  platform: cisco_ios\n"
    )
    (folder / "defaults.yaml").write_text(
        f"username: {server.username}\npassword: {server.password}\n"
        f"connection_options:\n  ipsecctl:\n    extras:\n      secret: {server.enable_secret}\n"
    )
    return folder


def test_quit_exits_promptly_while_devices_hang(
    hostile: tuple[RawPeer, IosServer], tmp_path: Path
) -> None:
    peer, server = hostile
    inventory = _inventory(tmp_path / "inventory", peer, server)
    config = tmp_path / "config.yaml"
    config.write_text("")
    env = dict(
        os.environ,
        TERM="xterm-256color",
        TEXTUAL_ANIMATIONS="none",
        IPSECCTL_CONFIG=str(config),
        IPSECCTL_STATE_DIR=str(tmp_path / "state"),
        IPSECCTL_DATA_DIR=str(tmp_path / "data"),
        IPSECCTL_CONNECT_TIMEOUT=str(LONG_TIMEOUT),
        IPSECCTL_COMMAND_TIMEOUT=str(LONG_TIMEOUT),
        IPSECCTL_DEVICE_TIMEOUT=str(LONG_TIMEOUT),
    )
    proc = PtyProcess(
        [
            sys.executable,
            "-m",
            "ipsecctl",
            "-i",
            str(inventory),
            "--host-key-policy",
            "accept-new",
            "dashboard",
            "--refresh",
            "1",
        ],
        env=env,
        cols=100,
        rows=30,
    )
    try:
        proc.wait_for(r"fleet \[2\]", timeout=30)
        # both polls are stuck: one waits for a banner, one in the middle of an output
        assert peer.accepted.wait(20), "the dashboard never connected to the silent peer"
        end = time.monotonic() + 20
        while "show crypto isakmp sa" not in server.commands and time.monotonic() < end:
            time.sleep(0.05)
        assert "show crypto isakmp sa" in server.commands, server.commands
        time.sleep(0.5)
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send("q")
        code = proc.wait_exit(EXIT_BOUND)
        elapsed = time.monotonic() - sent
        assert code == 0, f"the dashboard did not exit within {EXIT_BOUND} s of q (status {code})"
        # the devices are still hanging: the silent peer never said a word, and nothing
        # (no timeout of LONG_TIMEOUT s) could have ended the polls this soon
        assert elapsed < LONG_TIMEOUT / 2
        assert peer._listener.fileno() != -1
        print(f"exited {elapsed:.2f} s after q")
    finally:
        proc.kill()
