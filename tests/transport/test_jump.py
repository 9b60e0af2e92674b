"""Jump hosts through real OpenSSH sshd (direct-tcpip) to IOS-like devices; ssh_config."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipsecctl.errors import ConnectError, HostKeyError
from ipsecctl.platforms import get_platform
from ipsecctl.transport import (
    ConnectionParams,
    JumpPool,
    jump_chain,
    open_session,
    parse_proxy_jump,
    resolve_params,
)
from ipsecctl.transport.client import _ProxyCommand

from .conftest import IOS_ADDR, Sshd, free_port, ios_params, isolated_known, sshd_params, trust
from .ios_server import VERSION, IosServer

IOS = get_platform("cisco_ios")


def test_two_devices_share_one_jump_transport(sshd: Sshd, known_file: Path) -> None:
    trust(known_file, sshd.address, sshd.port, sshd.host_key)
    known = isolated_known(known_file)
    pool = JumpPool(known)
    spec = f"{sshd.user}@{sshd.address}:{sshd.port}"
    with IosServer(address="127.0.0.12") as r1, IosServer(address="127.0.0.13") as r2:
        for r in (r1, r2):
            trust(known_file, r.address, r.port, r.host_key)
        p1 = ios_params(r1, known_file, name="r1", jump=spec, key_filename=(str(sshd.client_key),))
        p2 = ios_params(r2, known_file, name="r2", jump=spec, key_filename=(str(sshd.client_key),))
        s1 = open_session(p1, IOS, jump_pool=pool, known_hosts=known)
        transport = pool.transport(jump_chain(s1.params))
        s2 = open_session(p2, IOS, jump_pool=pool, known_hosts=known)
        with s1, s2:
            assert s1.send("show version") == VERSION
            assert s2.send("show version") == VERSION
            assert len(pool) == 1
            assert pool.transport(jump_chain(s2.params)) is transport
            assert r1.connections == 1 and r2.connections == 1
        assert len(pool) == 1  # sessions closing leave the shared jump open for others
    pool.close()
    assert len(pool) == 0


def test_two_hop_chain_and_params_object_jump(sshd: Sshd, known_file: Path, ios: IosServer) -> None:
    trust(known_file, sshd.address, sshd.port, sshd.host_key)
    trust(known_file, ios.address, ios.port, ios.host_key)
    hop = f"{sshd.user}@{sshd.address}:{sshd.port}"
    key = (str(sshd.client_key),)
    params = ios_params(ios, known_file, jump=f"{hop},{hop}", key_filename=key)
    assert len(jump_chain(params)) == 2
    with open_session(params, IOS, known_hosts=isolated_known(known_file)) as s:
        assert s.send("show version") == VERSION
    inner = sshd_params(sshd, known_file, name="bastion")
    outer = sshd_params(sshd, known_file, name="bastion2", jump=inner)
    params = ios_params(ios, known_file, jump=outer)
    assert [h.name for h in jump_chain(params)] == ["bastion", "bastion2"]
    with open_session(params, IOS, known_hosts=isolated_known(known_file)) as s:
        assert s.send("show version") == VERSION


def test_jump_host_key_is_verified_too(sshd: Sshd, known_file: Path, ios: IosServer) -> None:
    trust(known_file, ios.address, ios.port, ios.host_key)  # device known, jump host not
    params = ios_params(
        ios,
        known_file,
        jump=f"{sshd.user}@{sshd.address}:{sshd.port}",
        key_filename=(str(sshd.client_key),),
    )
    with pytest.raises(HostKeyError, match=r"rtr-01: unknown host key for jump host") as err:
        open_session(params, IOS, known_hosts=isolated_known(known_file))
    assert err.value.device == "rtr-01"


def test_jump_to_unreachable_device_is_connect_error(sshd: Sshd, known_file: Path) -> None:
    trust(known_file, sshd.address, sshd.port, sshd.host_key)
    dead = ConnectionParams(
        name="dead",
        hostname="127.0.0.14",
        port=free_port("127.0.0.14"),
        username="admin",
        jump=f"{sshd.user}@{sshd.address}:{sshd.port}",
        key_filename=(str(sshd.client_key),),
        use_agent=False,
        use_ssh_config=False,
        known_hosts=(known_file,),
    )
    with pytest.raises(ConnectError, match="could not open a channel to dead"):
        open_session(dead, IOS, known_hosts=isolated_known(known_file))


def test_ssh_config_hostname_port_user_identity_and_proxyjump(
    sshd: Sshd, known_file: Path, ios: IosServer, tmp_path: Path
) -> None:
    trust(known_file, sshd.address, sshd.port, sshd.host_key)
    trust(known_file, ios.address, ios.port, ios.host_key)
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host bastion\n"
        f"  HostName {sshd.address}\n  Port {sshd.port}\n  User {sshd.user}\n"
        f"  IdentityFile {sshd.client_key}\n"
        "Host rtr-*.lab\n"
        f"  HostName {IOS_ADDR}\n  Port {ios.port}\n  User {ios.username}\n"
        "  ProxyJump bastion\n"
    )
    params = ConnectionParams(
        name="rtr-01",
        hostname="rtr-01.lab",
        password=ios.password,
        enable_secret=ios.enable_secret,
        use_agent=False,
        known_hosts=(known_file,),
        ssh_config=config,
    )
    resolved = resolve_params(params)
    assert (resolved.hostname, resolved.port, resolved.username, resolved.jump) == (
        IOS_ADDR,
        ios.port,
        "admin",
        "bastion",
    )
    [hop] = jump_chain(resolved)
    assert (hop.hostname, hop.port, hop.username, hop.key_filename) == (
        sshd.address,
        sshd.port,
        sshd.user,
        (str(sshd.client_key),),
    )
    with open_session(params, IOS, known_hosts=isolated_known(known_file)) as s:
        assert s.send("show version") == VERSION
    # explicit inventory values win over ssh_config, as on OpenSSH's command line
    assert (
        resolve_params(
            ConnectionParams(name="x", hostname="rtr-9.lab", port=2200, ssh_config=config)
        ).port
        == 2200
    )


def test_proxy_jump_parsing() -> None:
    device = ConnectionParams(name="r", hostname="10.1.1.1", password="pw", key_filename=("k",))
    hops = parse_proxy_jump("ops@bastion:2222,[::1]:22,gw", device)
    assert [(h.username, h.hostname, h.port) for h in hops] == [
        ("ops", "bastion", 2222),
        (None, "::1", 22),
        (None, "gw", None),
    ]
    assert all(h.password is None and h.key_filename == ("k",) for h in hops)


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


def test_proxy_command_from_params_and_ssh_config(
    ios: IosServer, known_file: Path, tmp_path: Path
) -> None:
    trust(known_file, ios.address, ios.port, ios.host_key)
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    command = f"{sys.executable} {relay} %h %p"
    params = ios_params(ios, known_file, proxy_command=command)
    with open_session(params, IOS, known_hosts=isolated_known(known_file)) as s:
        assert s.send("show version") == VERSION
    config = tmp_path / "ssh_config"
    config.write_text(f"Host {ios.address}\n  ProxyCommand {command}\n")
    params = ios_params(ios, known_file, use_ssh_config=True, ssh_config=config)
    assert (
        resolve_params(params).proxy_command == f"{sys.executable} {relay} {ios.address} {ios.port}"
    )
    with open_session(params, IOS, known_hosts=isolated_known(known_file)) as s:
        assert s.send("show version") == VERSION
    assert ios.connections == 2


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def paramiko_records() -> Iterator[list[logging.LogRecord]]:
    """paramiko's transport records, whatever logging setup an earlier test left behind."""
    logger = logging.getLogger("paramiko.transport")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_closing_a_proxy_command_session_is_clean(
    ios: IosServer, known_file: Path, tmp_path: Path, paramiko_records: list[logging.LogRecord]
) -> None:
    """Closing must not pull the pipes from under paramiko's reader thread (that logged
    "Unknown exception: I/O operation on closed file" and a traceback), and must reap the
    proxy process and close all its pipes."""
    trust(known_file, ios.address, ios.port, ios.host_key)
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    params = ios_params(ios, known_file, proxy_command=f"{sys.executable} {relay} %h %p")
    for _ in range(3):
        session = open_session(params, IOS, known_hosts=isolated_known(known_file))
        assert session.send("show version") == VERSION
        transport = session._client.get_transport()  # type: ignore[union-attr]
        assert transport is not None
        proxy = transport.sock
        assert isinstance(proxy, _ProxyCommand)
        session.close()
        assert not transport.is_alive()
        assert proxy.process.returncode is not None  # reaped, no zombie
        assert proxy.process.stdout is not None and proxy.process.stdout.closed
    # the in-process test server's own transport may log the client leaving ("Socket
    # exception: Connection reset by peer"): that is the server side, not what is tested here
    errors = [
        r.getMessage()
        for r in paramiko_records
        if r.levelno >= logging.ERROR and not r.getMessage().startswith("Socket exception")
    ]
    assert errors == []
