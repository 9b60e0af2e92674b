"""Polling lab routers over the OpenSSH transport (``--transport openssh``).

Each router's answer must be the text the router prints (read by the fixture's own small
paramiko client, as a person would), and a router that never answers must not hold the poll
of the others.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from inventory import Host
from ipsecctl.collect import Collector
from ipsecctl.lab import Lab
from ipsecctl.sessions import SessionPool
from ipsecctl.settings import Settings

pytestmark = pytest.mark.skipif(shutil.which("ssh") is None, reason="no OpenSSH client")

COMMAND = {"cisco_asa": "show crypto ikev1 sa", "cisco_ios": "show crypto isakmp sa"}


@pytest.fixture
def silent_router(lab: Lab) -> Iterator[Host]:
    """An inventory host at an address that accepts TCP and never says anything."""
    listener = socket.create_server(("127.0.0.14", 0))
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
    model = next(iter(_hosts(lab)))
    yield replace(model, name="hung", hostname="127.0.0.14", port=listener.getsockname()[1])
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def _hosts(lab: Lab) -> list[Host]:
    import inventory as inv

    return list(inv.load_inventory(lab.inventory_path).select(["all"]))


def test_openssh_sessions_return_each_routers_own_text(lab: Lab, shell_factory: object) -> None:
    hosts = _hosts(lab)[:6]
    pool = SessionPool(Settings(), host_key_policy="reject", transport="openssh")
    try:
        for host in hosts:
            family = "cisco_asa" if host.platform == "cisco_asa" else "cisco_ios"
            runner = pool.session(host)
            got = runner.send(COMMAND[family])
            person = shell_factory(host.name)  # type: ignore[operator]
            assert got == person.cmd(COMMAND[family]), host.name
    finally:
        pool.close()


def test_a_router_that_never_answers_does_not_hold_the_others(
    lab: Lab, silent_router: Host
) -> None:
    hosts = [*_hosts(lab)[:8], silent_router]
    # the hung router fails at the connect timeout (no banner); the lab routers' commands get
    # a budget a loaded machine cannot overrun, so only the hung one can fail
    settings = Settings(connect_timeout=5.0, command_timeout=15.0, device_timeout=30.0)
    pool = SessionPool(settings, host_key_policy="reject", transport="openssh")
    with Collector(pool, workers=4) as collector:
        started = time.monotonic()
        states = {s.device: s for s in collector.poll(hosts)}
        first = time.monotonic() - started
        again = {s.device: s for s in collector.poll(hosts)}
    assert first < 60  # bounded by the timeouts, not by the hung router
    hung = states["hung"]
    assert not hung.reachable and [e.kind for e in hung.errors] == ["timeout"]
    assert "sent no SSH banner" in hung.errors[0].message
    for host in hosts[:-1]:
        for polled in (states[host.name], again[host.name]):
            assert polled.reachable and not polled.errors, (host.name, polled.errors)
            assert polled.tunnels, host.name  # every lab router has configured tunnels


def test_a_hosts_own_transport_wins_over_the_pools(lab: Lab, shell_factory: object) -> None:
    """An inventory ``transport`` is that host's SSH client; the others take the pool's."""
    from ipsecctl.transport.openssh import OpenSshSession
    from ipsecctl.transport.ssh import SshSession

    first, second, third = _hosts(lab)[:3]
    hosts = [replace(first, transport="openssh"), second, replace(third, transport="paramiko")]
    pool = SessionPool(Settings(), host_key_policy="reject", transport="paramiko")
    openssh_pool = SessionPool(Settings(), host_key_policy="reject", transport="openssh")
    try:
        kinds = {h.name: type(pool.session(h)) for h in hosts}
        assert kinds == {
            first.name: OpenSshSession,
            second.name: SshSession,
            third.name: SshSession,
        }
        assert type(openssh_pool.session(hosts[2])) is SshSession  # the host's, not the pool's
        assert type(openssh_pool.session(hosts[1])) is OpenSshSession
        for host in hosts:
            family = "cisco_asa" if host.platform == "cisco_asa" else "cisco_ios"
            person = shell_factory(host.name)  # type: ignore[operator]
            assert pool.session(host).send(COMMAND[family]) == person.cmd(COMMAND[family])
    finally:
        pool.close()
        openssh_pool.close()
