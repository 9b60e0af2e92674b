"""Real SSH servers for transport tests: the IOS-like paramiko server and OpenSSH sshd.

Everything listens on 127.0.0.x. sshd runs from a temp dir with its own host keys and an
authorized key; it is the jump host (direct-tcpip) and the exec-channel (strongSwan-style) peer.
"""

from __future__ import annotations

import base64
import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest

from ipsecctl.platforms import get_platform
from ipsecctl.transport import (
    ConnectionParams,
    KnownHosts,
    SshSession,
    Timeouts,
    host_key_name,
    open_session,
)
from tests.helpers import need

from .ios_server import IosServer

SSHD = "/usr/sbin/sshd"
IOS_ADDR = "127.0.0.10"
SSHD_ADDR = "127.0.0.20"
FAST = Timeouts(connect=3, banner=5, auth=5, command=5, overall=30)


def free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def known_line(hostname: str, port: int, key: paramiko.PKey) -> str:
    return f"{host_key_name(hostname, port)} {key.get_name()} {key.get_base64()}\n"


@pytest.fixture(autouse=True)
def own_known_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the real user's known_hosts: ipsecctl's own file lives in tmp."""
    path = tmp_path / "own" / "known_hosts"
    monkeypatch.setenv("IPSECCTL_KNOWN_HOSTS", str(path))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.ssh/config, no ~/.ssh keys
    return path


@pytest.fixture
def ios() -> Iterator[IosServer]:
    with IosServer(address=IOS_ADDR) as server:
        yield server


@pytest.fixture
def known_file(tmp_path: Path) -> Path:
    """An inventory-style known_hosts file (like the lab's) the tests fill in."""
    path = tmp_path / "inventory_known_hosts"
    path.touch()
    return path


def trust(path: Path, hostname: str, port: int, key: paramiko.PKey) -> None:
    with path.open("a") as fh:
        fh.write(known_line(hostname, port, key))


def _params(known_file: Path, overrides: dict[str, object], **values: object) -> ConnectionParams:
    """The test servers' parameters on top of what every test wants: no agent, no
    ~/.ssh/config, only the test's own known_hosts file and short timeouts."""
    merged: dict[str, object] = dict(
        use_agent=False, known_hosts=(known_file,), use_ssh_config=False, timeouts=FAST
    )
    merged.update(values)
    merged.update(overrides)
    return ConnectionParams(**merged)  # type: ignore[arg-type]


def ios_params(server: IosServer, known_file: Path, **overrides: object) -> ConnectionParams:
    return _params(
        known_file,
        overrides,
        name="rtr-01",
        hostname=server.address,
        port=server.port,
        username=server.username,
        password=server.password,
        enable_secret=server.enable_secret,
        host_key_policy="reject",
    )


def isolated_known(known_file: Path) -> KnownHosts:
    """System files excluded so the machine's own known_hosts cannot change a result."""
    return KnownHosts([known_file], system=())


def trusted_ios_session(server: IosServer, known_file: Path) -> SshSession:
    """An IOS command session to ``server``, its host key trusted in ``known_file`` only."""
    trust(known_file, server.address, server.port, server.host_key)
    return open_session(
        ios_params(server, known_file),
        get_platform("cisco_ios"),
        known_hosts=isolated_known(known_file),
    )


@dataclass
class Sshd:
    address: str
    port: int
    user: str
    client_key: Path
    host_key: paramiko.PKey
    proc: subprocess.Popen[bytes]
    log: Path

    def logins(self) -> int:
        """Successful logins so far (needs ``log_level="VERBOSE"``)."""
        return self.log.read_text(errors="replace").count("Accepted publickey")


def _start_sshd(directory: Path, extra: str, host_key_type: str, log_level: str = "ERROR") -> Sshd:
    need(Path(SSHD).exists() and shutil.which("ssh-keygen") is not None, "OpenSSH sshd missing")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation dir
    directory.mkdir(parents=True, exist_ok=True)
    host = directory / f"host_{host_key_type}"
    client = directory / "client_ed25519"
    gen = ["ssh-keygen", "-q", "-N", ""]
    subprocess.run([*gen, "-t", host_key_type, "-f", str(host)], check=True)
    if not client.exists():
        subprocess.run([*gen, "-t", "ed25519", "-f", str(client)], check=True)
    (directory / "authorized_keys").write_text((directory / "client_ed25519.pub").read_text())
    port = free_port(SSHD_ADDR)
    config = directory / "sshd_config"
    config.write_text(
        f"ListenAddress {SSHD_ADDR}:{port}\n"
        f"HostKey {host}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {directory / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin yes\nAllowTcpForwarding yes\n"
        "PermitTunnel no\nX11Forwarding no\nMaxStartups 50\nMaxSessions 50\n"
        f"LogLevel {log_level}\n" + extra
    )
    log = directory / "sshd.log"
    with log.open("wb") as err:
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stderr=err)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            need(False, f"sshd did not start: {log.read_text().strip()}")
        try:
            socket.create_connection((SSHD_ADDR, port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    key_text = (directory / f"host_{host_key_type}.pub").read_text().split()
    host_key = paramiko.PKey.from_type_string(key_text[0], base64.b64decode(key_text[1]))
    return Sshd(SSHD_ADDR, port, getpass.getuser(), client, host_key, proc, log)


def _stop(server: Sshd) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(5)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    server = _start_sshd(tmp_path_factory.mktemp("sshd"), "", "ed25519")
    yield server
    _stop(server)


@pytest.fixture(scope="session")
def sshd_sha1_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    """An old-IOS-like peer: SHA-1 kex and ssh-rsa host key signatures only."""
    extra = "KexAlgorithms diffie-hellman-group14-sha1\nHostKeyAlgorithms ssh-rsa\n"
    server = _start_sshd(tmp_path_factory.mktemp("sshd_sha1"), extra, "rsa")
    yield server
    _stop(server)


@pytest.fixture
def verbose_sshd(tmp_path: Path) -> Iterator[Sshd]:
    """A private sshd whose log records every login, for counting jump-host logins."""
    server = _start_sshd(tmp_path / "sshd_verbose", "", "ed25519", log_level="VERBOSE")
    yield server
    _stop(server)


def sshd_params(server: Sshd, known_file: Path, **overrides: object) -> ConnectionParams:
    return _params(
        known_file,
        overrides,
        name="gw-linux",
        hostname=server.address,
        port=server.port,
        username=server.user,
        key_filename=(str(server.client_key),),
        platform="strongswan",
    )
