"""A real OpenSSH sshd in a temporary directory, on a loopback address, for labs and tests.

Why OpenSSH and not the lab's paramiko server: strongSwan gateways are Linux hosts managed over
plain exec channels, and the product must work against the sshd operators really run. The
server gets its own host key, one client key (authorized for the running user), its own pid
and log file, and never reads /etc/ssh, so it cannot collide with the machine's sshd. An
optional ``ForceCommand`` lets a lab turn the server into a "device" whose commands run
somewhere else (a network namespace, a private /run view).
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ipsecctl.lab.errors import LabError

SSHD = "/usr/sbin/sshd"


class SshdError(LabError):
    """The lab's sshd could not be started (missing OpenSSH, bad config, port taken)."""


def sshd_missing() -> list[str]:
    """What stops a lab sshd here (empty when it can run); tests skip on this."""
    missing = []
    if not Path(SSHD).exists():
        missing.append("sshd (openssh-server)")
    if shutil.which("ssh-keygen") is None:
        missing.append("ssh-keygen (openssh-client)")
    return missing


def free_port(address: str) -> int:
    """A TCP port nothing listens on at *address* right now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def known_hosts_name(hostname: str, port: int) -> str:
    """OpenSSH's known_hosts spelling of a host: bare on port 22, ``[host]:port`` otherwise."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


@dataclass
class OpenSshServer:
    """A running sshd; :meth:`stop` ends it (and is safe to call twice)."""

    directory: Path
    address: str
    port: int
    user: str
    client_key: Path
    host_key_type: str
    host_key_b64: str
    proc: subprocess.Popen[bytes]

    @property
    def host_key_blob(self) -> bytes:
        return base64.b64decode(self.host_key_b64)

    def known_hosts_line(self) -> str:
        return (
            f"{known_hosts_name(self.address, self.port)} {self.host_key_type} "
            f"{self.host_key_b64}\n"
        )

    @property
    def log(self) -> Path:
        return self.directory / "sshd.log"

    def stop(self) -> None:
        """Terminate sshd and the sessions it forked (its own process group); never raises."""
        if self.proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=5)
                return
            except subprocess.TimeoutExpired:
                continue


def _keygen(path: Path, key_type: str) -> None:
    try:
        subprocess.run(
            ["ssh-keygen", "-q", "-N", "", "-t", key_type, "-f", str(path)],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise SshdError(f"ssh-keygen -t {key_type} failed for {path}: {exc}") from exc


def start_sshd(
    directory: Path,
    *,
    address: str = "127.0.0.1",
    port: int | None = None,
    extra_config: str = "",
    host_key_type: str = "ed25519",
    force_command: str | None = None,
    start_timeout: float = 10.0,
) -> OpenSshServer:
    """Start sshd on *address* with keys and config under *directory*; wait until it listens.

    ``extra_config`` is appended to sshd_config (e.g. to restrict algorithms); with
    ``force_command`` every session runs that command and the client's command line is in
    ``$SSH_ORIGINAL_COMMAND``. sshd runs in its own process group so :meth:`OpenSshServer.stop`
    also ends the sessions it forked.
    """
    missing = sshd_missing()
    if missing:
        raise SshdError(
            f"OpenSSH server unavailable: missing {', '.join(missing)}",
            hint="install openssh-server and openssh-client",
        )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    directory.mkdir(parents=True, exist_ok=True)
    host = directory / f"host_{host_key_type}"
    client = directory / "client_ed25519"
    if not host.exists():
        _keygen(host, host_key_type)
    if not client.exists():
        _keygen(client, "ed25519")
    (directory / "authorized_keys").write_text((directory / "client_ed25519.pub").read_text())
    port = port or free_port(address)
    config = directory / "sshd_config"
    config.write_text(
        f"ListenAddress {address}:{port}\n"
        f"HostKey {host}\n"
        f"PidFile {directory / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {directory / 'authorized_keys'}\n"
        "StrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PubkeyAuthentication yes\nPermitRootLogin yes\nAllowTcpForwarding yes\n"
        "PermitTunnel no\nX11Forwarding no\nLogLevel ERROR\nMaxStartups 50\nMaxSessions 50\n"
        + (f"ForceCommand {force_command}\n" if force_command else "")
        + extra_config
    )
    log = directory / "sshd.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)],
            stderr=err,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + start_timeout
    while True:
        if proc.poll() is not None:
            raise SshdError(
                f"sshd did not start on {address}:{port}: "
                f"{log.read_text(errors='replace').strip()[-400:]}"
            )
        try:
            socket.create_connection((address, port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    os.killpg(proc.pid, signal.SIGKILL)
                raise SshdError(
                    f"sshd on {address}:{port} did not listen within {start_timeout:g}s"
                ) from None
            time.sleep(0.05)
    key_type, key_b64 = (directory / f"host_{host_key_type}.pub").read_text().split()[:2]
    return OpenSshServer(
        directory, address, port, getpass.getuser(), client, key_type, key_b64, proc
    )
