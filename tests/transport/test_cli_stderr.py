"""Transport failures seen through the real CLI process: stderr holds the one-line error only.

paramiko's transport thread logs its own tracebacks for failures we already report (no common
algorithm, no banner, a refused jump channel, a proxy command closing); these tests run
``python -m ipsecctl`` against real servers and read its stderr as an operator would.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import CliRun, run_cli

from .conftest import Sshd
from .ios_server import IosServer
from .raw_peer import RawPeer

SILENT_ADDR = "127.0.0.31"


def _inventory(path: Path, hosts: dict[str, dict[str, object]]) -> Path:
    lines = ["hosts:"]
    for name, fields in hosts.items():
        lines.append(f"  {name}:")
        lines.extend(f"    {key}: {value}" for key, value in fields.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def _status(tmp_path: Path, inventory: Path, *args: str, **env: str) -> CliRun:
    return run_cli(
        "-i",
        str(inventory),
        "--host-key-policy",
        "accept-new",
        "status",
        *args,
        home=tmp_path / "home",
        env=env,
        timeout=90,
    )


def _error_lines(run: CliRun) -> list[str]:
    """stderr without the table views' last line, which explains the exit code."""
    lines = [line for line in run.err.splitlines() if line.strip()]
    return [line for line in lines if not line.startswith(("exit 1: ", "exit 3: ", "exit 0: "))]


def test_sha1_only_server_gives_one_line_and_no_traceback(
    sshd_sha1_only: Sshd, tmp_path: Path
) -> None:
    inv = _inventory(
        tmp_path / "inv.yaml",
        {
            "old-ios": {
                "hostname": sshd_sha1_only.address,
                "port": sshd_sha1_only.port,
                "platform": "cisco_ios",
                "username": sshd_sha1_only.user,
                "key_file": sshd_sha1_only.client_key,
                "use_agent": "false",
            }
        },
    )
    run = _status(tmp_path, inv)
    assert run.code == 1, run
    lines = _error_lines(run)
    assert len(lines) == 1, run
    assert "old-ios" in lines[0] and "ipsecctl[legacy]" in lines[0], run
    assert "Traceback" not in run.err and "paramiko.transport" not in run.err, run


@pytest.fixture
def silent_port() -> Iterator[tuple[str, int]]:
    """A TCP port that accepts connections and never says anything (a hung sshd)."""
    with socket.socket() as listener:
        listener.bind((SILENT_ADDR, 0))
        listener.listen(8)
        yield SILENT_ADDR, int(listener.getsockname()[1])


def test_no_banner_is_a_timeout_naming_the_banner(
    silent_port: tuple[str, int], tmp_path: Path
) -> None:
    address, port = silent_port
    inv = _inventory(
        tmp_path / "inv.yaml",
        {
            "r02": {
                "hostname": address,
                "port": port,
                "platform": "cisco_ios",
                "username": "admin",
                "password": "pw",
                "use_agent": "false",
            }
        },
    )
    run = _status(tmp_path, inv, IPSECCTL_CONNECT_TIMEOUT="2")
    assert run.code == 1, run
    lines = _error_lines(run)
    assert len(lines) == 1, run
    assert f"r02 at {address}:{port} sent no SSH banner within 2 s" in lines[0], run
    assert "No existing session" not in run.err, run


def test_refused_jump_channel_is_one_line(sshd: Sshd, tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nothing listens on behind the jump host
        closed.bind(("127.0.0.32", 0))
        dead_port = int(closed.getsockname()[1])
    inv = _inventory(
        tmp_path / "inv.yaml",
        {
            "bastion": {
                "hostname": sshd.address,
                "port": sshd.port,
                "username": sshd.user,
                "key_file": sshd.client_key,
                "use_agent": "false",
            },
            "r09": {
                "hostname": "127.0.0.32",
                "port": dead_port,
                "platform": "cisco_ios",
                "username": "admin",
                "password": "pw",
                "jump_host": "bastion",
                "use_agent": "false",
            },
        },
    )
    run = _status(tmp_path, inv, "r09")
    assert run.code == 1, run
    lines = _error_lines(run)
    assert len(lines) == 1, run
    assert "could not open a channel to r09" in lines[0], run
    assert "Secsh channel" not in run.err and "Traceback" not in run.err, run


RELAY = """import socket, sys, threading
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while data := sys.stdin.buffer.read1(65536):
        s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := s.recv(65536):
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
"""


def test_proxy_command_host_exits_without_traceback(tmp_path: Path) -> None:
    """ProxyCommand from ~/.ssh/config: the poll works and exiting prints nothing extra."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    with IosServer(address="127.0.0.33") as ios:
        (home / ".ssh" / "config").write_text(
            f"Host rtr-proxied\n  HostName {ios.address}\n  Port {ios.port}\n"
            f"  ProxyCommand {sys.executable} {relay} %h %p\n"
        )
        inv = _inventory(
            tmp_path / "inv.yaml",
            {
                "rtr": {
                    "hostname": "rtr-proxied",
                    "platform": "cisco_ios",
                    "username": ios.username,
                    "password": ios.password,
                    "enable_secret": ios.enable_secret,
                    "use_agent": "false",
                }
            },
        )
        run = _status(tmp_path, inv)
        assert ios.connections == 1, run  # reached through the proxy, at ssh_config's Port
    # the IOS-like test server rejects the crypto show commands: those lines only
    assert _error_lines(run), run
    assert all(line.startswith("error: rtr") for line in _error_lines(run)), run
    assert "Traceback" not in run.err and "closed file" not in run.err, run


@pytest.mark.parametrize("mode", ["silent", "drip"])
def test_banner_timeouts_leave_no_paramiko_traceback_in_the_log_file(
    mode: str, tmp_path: Path
) -> None:
    """paramiko logs the end of a banner read (and, when a socket was closed under its reader,
    "Bad file descriptor") at ERROR with a traceback; the log file holds our line only."""
    with RawPeer("127.0.0.35", mode) as peer:
        inv = _inventory(
            tmp_path / "inv.yaml",
            {
                "r03": {
                    "hostname": peer.address,
                    "port": peer.port,
                    "platform": "cisco_ios",
                    "username": "admin",
                    "password": "pw",
                    "use_agent": "false",
                }
            },
        )
        log_file = tmp_path / "ipsecctl.log"
        run = _status(tmp_path, inv, "--log-file", str(log_file), IPSECCTL_CONNECT_TIMEOUT="2")
    assert run.code == 1, run
    lines = _error_lines(run)
    assert len(lines) == 1 and "r03" in lines[0] and "SSH banner" in lines[0], run
    log_text = log_file.read_text()
    for noise in ("Traceback", "Bad file descriptor", "paramiko", "Error reading SSH"):
        assert noise not in log_text, log_text
