"""Abandoning sessions (quitting the dashboard) never waits for a device, whatever it does.

Every wait here is an event or a join with a cap far below the device timeouts in play (300
s), so a pass means the cut worked, not that the machine was fast.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ipsecctl.errors import ConnectError
from ipsecctl.platforms import get_platform
from ipsecctl.transport import ConnectionParams, JumpPool, SshSession, Timeouts, open_session

from .conftest import ios_params, isolated_known, trust
from .ios_server import VERSION, IosServer
from .raw_peer import RawPeer, wait_until

IOS = get_platform("cisco_ios")
ADDR = "127.0.0.43"
PATIENT = Timeouts(connect=300, banner=300, auth=300, command=300, overall=600)
CAP = 30.0  # seconds a cut may take on a loaded machine; the devices would hold 300 s


def in_thread(target: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    """Run ``target`` on a thread; the list receives its result or its exception."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(target())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def finished(thread: threading.Thread) -> bool:
    thread.join(CAP)
    return not thread.is_alive()


def test_abandon_cuts_a_command_blocked_on_a_hung_device(ios: IosServer, known_file: Path) -> None:
    trust(known_file, ios.address, ios.port, ios.host_key)
    s = open_session(
        ios_params(ios, known_file, timeouts=PATIENT), IOS, known_hosts=isolated_known(known_file)
    )
    worker, outcome = in_thread(lambda: s.send("show hang"))
    assert wait_until(lambda: "show hang" in ios.commands)
    # the worker holds the session's lock: abandon must not need it
    aborter, _ = in_thread(s.abandon)
    assert finished(aborter)
    assert finished(worker)
    [error] = outcome
    assert isinstance(error, ConnectError), error
    assert str(error) == "rtr-01: closed while running 'show hang'"
    with pytest.raises(ConnectError, match="closed while running 'show version'"):
        s.send("show version")  # an abandoned session never reconnects
    assert ios.connections == 1
    s.close()  # closing after abandoning is harmless


def test_pool_abandon_cuts_a_connect_waiting_for_the_banner(known_file: Path) -> None:
    pool = JumpPool()
    with RawPeer(ADDR, "silent") as peer:
        params = ConnectionParams(
            name="r-silent",
            hostname=peer.address,
            port=peer.port,
            username="admin",
            password="pw-Zx81",
            use_agent=False,
            use_ssh_config=False,
            timeouts=PATIENT,
        )
        worker, outcome = in_thread(
            lambda: open_session(
                params, IOS, jump_pool=pool, known_hosts=isolated_known(known_file)
            )
        )
        assert peer.accepted.wait(CAP)
        pool.abandon()  # the session is not returned yet: only the pool can reach it
        assert finished(worker)
    [error] = outcome
    assert isinstance(error, ConnectError), error
    assert str(error) == "r-silent: closed while connecting"


@pytest.fixture
def full_backlog() -> Iterator[tuple[str, int]]:
    """A listener whose accept queue is full: the kernel drops new SYNs, connect() hangs."""
    listener = socket.socket()
    listener.bind((ADDR, 0))
    listener.listen(0)
    address = listener.getsockname()
    filler = socket.create_connection(address, timeout=5)  # takes the one queue slot
    yield ADDR, int(address[1])
    filler.close()
    listener.close()


def test_pool_abandon_cuts_a_tcp_connect(full_backlog: tuple[str, int], known_file: Path) -> None:
    address, port = full_backlog
    pool = JumpPool()
    params = ConnectionParams(
        name="r-blackhole",
        hostname=address,
        port=port,
        username="admin",
        password="pw-Zx81",
        use_agent=False,
        use_ssh_config=False,
        timeouts=PATIENT,
    )
    session = SshSession(params, IOS, jump_pool=pool, known_hosts=isolated_known(known_file))
    worker, outcome = in_thread(session.connect)
    assert wait_until(lambda: bool(session._cancel._items))  # its socket is connecting
    pool.abandon()
    assert finished(worker)
    [error] = outcome
    assert isinstance(error, ConnectError), error
    assert str(error) == "r-blackhole: closed while connecting"


def test_abandon_with_close(ios: IosServer, known_file: Path) -> None:
    """``close(abandon=True)`` is the same cut, for callers that only know ``close``."""
    trust(known_file, ios.address, ios.port, ios.host_key)
    s = open_session(
        ios_params(ios, known_file, timeouts=PATIENT), IOS, known_hosts=isolated_known(known_file)
    )
    assert s.send("show version") == VERSION
    worker, outcome = in_thread(lambda: s.send("show hang"))
    assert wait_until(lambda: "show hang" in ios.commands)
    s.close(abandon=True)
    assert finished(worker)
    assert isinstance(outcome[0], ConnectError)


SCRIPT = textwrap.dedent(
    """
    import sys, threading
    from pathlib import Path
    from ipsecctl.platforms import get_platform
    from ipsecctl.transport import ConnectionParams, JumpPool, KnownHosts, Timeouts, open_session

    address, port, known = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    patient = Timeouts(connect=300, banner=300, auth=300, command=300, overall=600)
    pool = JumpPool()
    params = ConnectionParams(
        name="rtr-01", hostname=address, port=port, username="admin",
        password="cisco-pw-Zq9", enable_secret="en-secret-Xy7", use_agent=False,
        use_ssh_config=False, known_hosts=(known,), timeouts=patient,
    )
    session = open_session(params, get_platform("cisco_ios"), jump_pool=pool,
                           known_hosts=KnownHosts([known], system=()))

    def poll():  # a non-daemon worker, as a thread pool's are: exit waits for it
        try:
            session.send("show hang")
        except Exception as exc:
            sys.stdout.write(f"worker: {exc}\\n")

    threading.Thread(target=poll).start()
    sys.stdin.readline()  # the operator presses q
    pool.abandon()
    sys.stdout.write("quit\\n")
    """
)


def test_process_exits_promptly_after_abandon(ios: IosServer, known_file: Path) -> None:
    trust(known_file, ios.address, ios.port, ios.host_key)
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, ios.address, str(ios.port), str(known_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        started = wait_until(
            lambda: "show hang" in ios.commands or proc.poll() is not None, timeout=60
        )
        assert started and proc.poll() is None, proc.communicate(timeout=CAP)
        out, err = proc.communicate("q\n", timeout=CAP)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert sorted(out.splitlines()) == [
        "quit",
        "worker: rtr-01: closed while running 'show hang'",
    ], out
    assert err == "", err  # no traceback, no paramiko noise
