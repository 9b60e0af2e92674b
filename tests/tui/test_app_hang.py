"""A router that accepts TCP but never speaks SSH must not freeze the dashboard."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory.model import Host
from ipsecctl.collect import Collector
from ipsecctl.ops.fleet import Fleet
from ipsecctl.ops.setup import open_workflow
from ipsecctl.sessions import SessionPool
from ipsecctl.settings import Settings
from ipsecctl.tui.app import DashboardContext, IpsecApp

from .conftest import FROZEN, REPLAY, replay_hosts
from .helpers import wait_for


class SplitPool:
    """Saved outputs for the replayed devices, real SSH for the rest (two real pools)."""

    def __init__(self, replay: SessionPool, ssh: SessionPool, replayed: set[str]) -> None:
        self.replay, self.ssh, self.replayed = replay, ssh, replayed

    def _pool(self, name: str) -> SessionPool:
        return self.replay if name in self.replayed else self.ssh

    def session(self, host: Any) -> Any:
        return self._pool(host.name).session(host)

    def endpoint(self, host: Any) -> str | None:
        return self._pool(host.name).endpoint(host)

    def discard(self, name: str) -> None:
        self._pool(name).discard(name)

    def close(self, *, abandon: bool = False) -> None:
        self.replay.close(abandon=abandon)
        self.ssh.close(abandon=abandon)


@pytest.fixture
def silent_server() -> Iterator[tuple[str, int]]:
    """Accepts connections and never sends a byte (a wedged sshd / a black-holed router)."""
    srv = socket.socket()
    srv.bind(("127.0.0.93", 0))
    srv.listen(16)
    srv.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield "127.0.0.93", srv.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    srv.close()


async def test_silent_router_does_not_freeze_the_others(
    silent_server: tuple[str, int], tmp_path: Path
) -> None:
    address, port = silent_server
    settings = Settings(
        connect_timeout=10,
        command_timeout=10,
        device_timeout=12,
        audit_log=tmp_path / "audit.jsonl",
        actions_dir=tmp_path / "actions",
    )
    hosts = replay_hosts()
    stuck = Host(
        name="stuck",
        hostname=address,
        port=port,
        platform="cisco_iosxe",
        username="admin",
        use_agent=False,
    )
    pool = SplitPool(
        SessionPool(settings, replay_dir=REPLAY),
        SessionPool(settings, host_key_policy="reject"),
        {h.name for h in hosts},
    )
    collector = Collector(pool, workers=4)  # type: ignore[arg-type]
    fleet = Fleet([*hosts, stuck], collector, logs=True)
    workflow = open_workflow(settings, read_only=False, source="dashboard")
    ctx = DashboardContext(
        hosts=[*hosts, stuck], fleet=fleet, workflow=workflow, refresh=0.3, clock=lambda: FROZEN
    )
    app = IpsecApp(ctx)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, lambda: app.infos["stuck"].in_flight, what="stuck poll")
            # while the stuck router holds its poll, the others refresh again and again
            await wait_for(
                pilot,
                lambda: min(app.infos[h.name].polls for h in hosts) >= 3,
                timeout=10,
                what="other devices to keep refreshing",
            )
            assert app.infos["stuck"].in_flight and app.infos["stuck"].state is None
            # and the UI answers keys meanwhile
            await pilot.press("slash", *"hub", "enter")
            assert len(app.model.view) == 2
            # then the stuck router times out: shown down, backed off, in the events pane
            await wait_for(
                pilot,
                lambda: app.infos["stuck"].state is not None,
                timeout=30,
                what="stuck router to time out",
            )
            info = app.infos["stuck"]
            assert info.reachable is False and info.failures == 1
            stuck_events = [
                line
                for line in app.events_pane.lines_text
                if line.split(" ", 1)[1].startswith("stuck: ")
            ]
            assert stuck_events and "retry in" in stuck_events[-1]  # backed off, said so
            assert str(app.fleet.get_cell("stuck", "REACH")) == "down"
    finally:
        collector.close()
