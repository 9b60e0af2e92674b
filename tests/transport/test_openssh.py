"""The OpenSSH transport (``transport="openssh"``): the ``ssh`` client against real servers.

The IOS-like paramiko server and a real sshd play the devices, as for the paramiko
transport; expected texts are the servers' own (``VERSION``, ``ISAKMP_SA``), host keys and
fingerprints the servers' keys, error kinds the same classes the paramiko transport raises.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from ipsecctl.errors import (
    AuthenticationError,
    CommandRejected,
    ConnectError,
    HostKeyError,
    TimeoutError_,
)
from ipsecctl.platforms import get_platform
from ipsecctl.transport import AskHostKey, Timeouts, fingerprint, host_key_name, open_session
from ipsecctl.transport.openssh import OpenSshSession
from tests.helpers import need

from .conftest import Sshd, free_port, ios_params, isolated_known, sshd_params, trust
from .ios_server import ISAKMP_SA, VERSION, IosServer
from .raw_peer import wait_until

IOS = get_platform("cisco_ios")
STRONGSWAN = get_platform("strongswan")
CAP = 30.0  # a bound far above what each wait needs, far below the timeouts it must not hit

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")

#: an OpenSSH client of 9.5 or later, unpacked beside the distribution's by .ci/run
NEWER_SSH = Path("/opt/ipsecctl/openssh/usr/bin/ssh")


@pytest.fixture(autouse=True, params=["system ssh", "ssh 9.5+"])
def ssh_client(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test with the distribution's client and with a newer one first on PATH: what
    ssh prints on failures, asks through askpass and accepts as options changes between
    releases, and jump hosts run both."""
    if request.param == "ssh 9.5+":
        need(NEWER_SSH.is_file(), f"no OpenSSH 9.5+ client at {NEWER_SSH} (.ci/run unpacks one)")
        monkeypatch.setenv("PATH", f"{NEWER_SSH.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    return str(request.param)


def session(
    server: IosServer,
    known_file: Path,
    *,
    ask: AskHostKey | None = None,
    trusted: bool = True,
    **overrides: object,
) -> OpenSshSession:
    if trusted:
        trust(known_file, server.address, server.port, server.host_key)
    opened = open_session(
        ios_params(server, known_file, **overrides),
        IOS,
        ask_host_key=ask,
        known_hosts=isolated_known(known_file),
        transport="openssh",
    )
    assert isinstance(opened, OpenSshSession)
    return opened


def test_shell_session_gives_the_devices_text(ios: IosServer, known_file: Path) -> None:
    with session(ios, known_file) as s:
        assert s.prompt == "rtr-01.lab-east(dc1)#"  # enabled with the secret
        assert s.send("show version") == VERSION
        assert s.send("show crypto isakmp sa") == ISAKMP_SA
        assert s.send("show version") == VERSION  # persistent: same shell
        with pytest.raises(CommandRejected, match="Invalid input"):
            s.send("show nonsense")
    assert ios.connections == 1
    assert ios.commands[:3] == ["enable", "terminal length 0", "terminal width 511"]


def test_paging_and_long_output(known_file: Path) -> None:
    """A device that ignores ``terminal length`` pages with --More--: answered, erased."""
    server = IosServer(address="127.0.0.11", honour_terminal_length=False)
    with server, session(server, known_file) as s:
        text = s.send("show long")
    assert text.splitlines()[0] == "line 001 of the long output"
    assert text.splitlines()[-1] == "line 060 of the long output"
    assert "More" not in text


def test_secrets_are_never_in_argv_environment_or_files(ios: IosServer, known_file: Path) -> None:
    with session(ios, known_file) as s:
        proc = s._proc
        assert proc is not None and s._dir is not None
        pid = proc.proc.pid
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        files = b"".join(p.read_bytes() for p in s._dir.iterdir() if p.name != "answer")
        for secret in (ios.password, ios.enable_secret):
            assert secret is not None
            assert secret.encode() not in cmdline + environ + files
        assert oct(s._dir.stat().st_mode & 0o777) == "0o700"
        directory = s._dir
    assert not directory.exists()  # removed with the session


def test_wrong_password_is_an_authentication_error(ios: IosServer, known_file: Path) -> None:
    with pytest.raises(AuthenticationError) as err:
        session(ios, known_file, password="not-the-password")
    message = str(err.value)
    assert message.startswith(f"authentication failed for admin@rtr-01 ({ios.address}:")
    assert "not-the-password" not in message
    assert err.value.device == "rtr-01" and "\n" not in message
    assert ios.commands == []


def test_no_password_no_key_is_a_missing_credentials_error(
    ios: IosServer, known_file: Path
) -> None:
    with pytest.raises(AuthenticationError, match="no credentials to log in as admin@rtr-01"):
        session(ios, known_file, password=None)


def test_unknown_key_under_reject_names_its_fingerprint(
    ios: IosServer, known_file: Path, own_known_hosts: Path
) -> None:
    with pytest.raises(HostKeyError) as err:
        session(ios, known_file, trusted=False)
    message = str(err.value)
    assert "unknown host key for rtr-01" in message
    assert fingerprint(ios.host_key) in message
    assert "--host-key-policy accept-new" in message
    assert not own_known_hosts.exists() and ios.commands == []


def test_accept_new_records_in_ipsecctls_file_then_reject_accepts(
    ios: IosServer, known_file: Path, own_known_hosts: Path
) -> None:
    with session(ios, known_file, trusted=False, host_key_policy="accept-new") as s:
        assert s.send("show version") == VERSION
    recorded = own_known_hosts.read_text()
    assert recorded.startswith(host_key_name(ios.address, ios.port) + " ecdsa-sha2-nistp256 ")
    assert recorded.split()[2] == ios.host_key.get_base64()
    with session(ios, known_file, trusted=False, host_key_policy="reject") as s:
        assert s.send("show version") == VERSION
    assert own_known_hosts.read_text() == recorded  # nothing recorded twice


@pytest.mark.parametrize("policy", ["reject", "accept-new", "ask"])
def test_changed_key_always_fails_naming_file_and_line(
    ios: IosServer, known_file: Path, policy: str, own_known_hosts: Path
) -> None:
    known_file.write_text("# inventory known_hosts\n\n")
    other = paramiko.ECDSAKey.generate()
    trust(known_file, ios.address, ios.port, other)  # line 3
    asked: list[str] = []

    def ask(device: str, hostname: str, key_type: str, fp: str) -> bool:
        asked.append(device)
        return True

    with pytest.raises(HostKeyError) as err:
        session(ios, known_file, trusted=False, ask=ask, host_key_policy=policy)
    message = str(err.value)
    assert "HOST KEY CHANGED for rtr-01" in message
    assert f"{known_file}:3" in message
    assert fingerprint(ios.host_key) in message and fingerprint(other) in message
    assert asked == [] and not own_known_hosts.exists()


def test_ask_accepts_records_and_declines(
    ios: IosServer, known_file: Path, own_known_hosts: Path
) -> None:
    calls: list[tuple[str, ...]] = []

    def ask(device: str, hostname: str, key_type: str, fp: str) -> bool:
        calls.append((device, hostname, key_type, fp))
        return True

    with pytest.raises(HostKeyError, match="was declined; not connecting"):
        session(ios, known_file, trusted=False, ask=lambda *a: False, host_key_policy="ask")
    with pytest.raises(HostKeyError, match="nobody to ask"):
        session(ios, known_file, trusted=False, host_key_policy="ask")
    with session(ios, known_file, trusted=False, ask=ask, host_key_policy="ask") as s:
        assert s.send("show version") == VERSION
    assert calls == [
        ("rtr-01", f"[{ios.address}]:{ios.port}", "ecdsa-sha2-nistp256", fingerprint(ios.host_key))
    ]
    with session(ios, known_file, trusted=False, ask=ask, host_key_policy="ask"):
        pass
    assert len(calls) == 1 and own_known_hosts.exists()  # recorded: not asked again


def test_refused_connection_is_unreachable(known_file: Path) -> None:
    port = free_port("127.0.0.12")  # nothing listens there
    params = ios_params(IosServer(address="127.0.0.12"), known_file, port=port)
    with pytest.raises(ConnectError, match="connection refused; check the address"):
        open_session(params, IOS, known_hosts=isolated_known(known_file), transport="openssh")


@pytest.fixture
def silent_listener() -> Iterator[tuple[str, int]]:
    """A TCP server that accepts and never says anything (a hung SSH service)."""
    address = "127.0.0.13"
    listener = socket.create_server((address, 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield address, listener.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def test_a_device_that_never_answers_is_a_timeout(
    silent_listener: tuple[str, int], known_file: Path
) -> None:
    address, port = silent_listener
    fast = Timeouts(connect=1, banner=1, auth=1, command=1, overall=20)
    params = ios_params(IosServer(address=address), known_file, port=port, timeouts=fast)
    started = time.monotonic()
    with pytest.raises(TimeoutError_) as err:
        open_session(params, IOS, known_hosts=isolated_known(known_file), transport="openssh")
    assert time.monotonic() - started < CAP
    assert "sent no SSH banner" in str(err.value) and err.value.device == "rtr-01"


def test_a_hung_command_times_out_and_the_session_reconnects(
    ios: IosServer, known_file: Path
) -> None:
    with session(ios, known_file) as s:
        with pytest.raises(TimeoutError_, match="'show hang'"):
            s.send("show hang", timeout=1)
        assert s.send("show version") == VERSION  # a new shell, not the hung one's output
    assert ios.connections == 2


def _ssh_version(binary: str) -> tuple[int, int]:
    """The client's version as ``ssh -V`` prints it (``OpenSSH_9.2p1 ...``)."""
    said = subprocess.run([binary, "-V"], capture_output=True, text=True, check=True).stderr
    found = re.match(r"OpenSSH_(\d+)\.(\d+)", said)
    assert found, said
    return int(found.group(1)), int(found.group(2))


def _argv_and_binary(s: OpenSshSession) -> tuple[list[bytes], str]:
    assert s._proc is not None
    pid = s._proc.proc.pid
    return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"), os.readlink(f"/proc/{pid}/exe")


def test_keystroke_timing_is_turned_off_exactly_where_ssh_has_it(
    ios: IosServer, known_file: Path
) -> None:
    """The client on PATH (each of the two): turned off exactly when its version has the
    option (9.5+); an older ssh refuses the option and would not start with it."""
    path = shutil.which("ssh")
    assert path is not None
    with session(ios, known_file) as s:
        argv, _ = _argv_and_binary(s)
        assert (b"ObscureKeystrokeTiming=no" in argv) == (_ssh_version(path) >= (9, 5))
        assert s.send("show version") == VERSION


def test_a_newer_ssh_sends_commands_without_keystroke_timing(
    ios: IosServer, known_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OpenSSH 9.5+ holds what is typed into a terminal session for fixed ticks, with chaff
    around it; the commands ipsecctl writes are no typing to hide, so its sessions turn it
    off (the time it costs is measured in the README, polling section)."""
    need(NEWER_SSH.is_file(), f"no OpenSSH 9.5+ client at {NEWER_SSH} (.ci/run unpacks one)")
    assert _ssh_version(str(NEWER_SSH)) >= (9, 5)
    monkeypatch.setenv("PATH", f"{NEWER_SSH.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    with session(ios, known_file) as s:
        argv, binary = _argv_and_binary(s)
        assert Path(binary).resolve() == NEWER_SSH.resolve()
        assert argv[argv.index(b"ObscureKeystrokeTiming=no") - 1] == b"-o"
        assert argv.index(b"ObscureKeystrokeTiming=no") < argv.index(b"--")
        assert s.send("show version") == VERSION
        assert s.send("show crypto isakmp sa") == ISAKMP_SA


def test_abandon_cuts_a_command_blocked_on_a_hung_device(ios: IosServer, known_file: Path) -> None:
    s = session(ios, known_file, timeouts=Timeouts(command=300, overall=600))
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(s.send("show hang"))
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    assert wait_until(lambda: "show hang" in ios.commands)
    s.abandon()
    worker.join(CAP)
    assert not worker.is_alive()
    assert isinstance(outcome[0], ConnectError)
    assert str(outcome[0]) == "rtr-01: closed while running 'show hang'"
    s.close()


def test_exec_platform_runs_commands_over_one_connection(sshd: Sshd, known_file: Path) -> None:
    need(shutil.which("sshd") is not None or Path("/usr/sbin/sshd").exists(), "no sshd")
    trust(known_file, sshd.address, sshd.port, sshd.host_key)
    params = sshd_params(sshd, known_file)
    known = isolated_known(known_file)
    with open_session(params, STRONGSWAN, known_hosts=known, transport="openssh") as s:
        assert s.send("echo hello") == "hello\n"
        first = s.send("echo $SSH_CONNECTION")
        assert first.split()[2:] == ["127.0.0.20", str(sshd.port)]
        with pytest.raises(CommandRejected, match=r"'sh -c \"exit 3\"' exited with status 3"):
            s.send('sh -c "exit 3"')
        with pytest.raises(TimeoutError_, match=r"'sleep 5' did not finish within 0\.5s"):
            s.send("sleep 5", timeout=0.5)
        assert s.send("echo $SSH_CONNECTION") == first  # the same connection throughout
