"""The dashboard's garbage collection as the CLI runs it: the process's objects are settled
(collected, then frozen out of the collector's walks) once every device has answered, and
again only while the operator is idle; keys postpone it; an embedded dashboard decides
nothing for its process."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.gc_policy import IdleCollector

from .helpers import all_polled, wait_for


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_settles_when_idle_and_after_polls_only() -> None:
    clock = Clock()
    collector = IdleCollector(idle_s=1.0, every_s=30.0, longest_s=300.0, clock=clock)
    collector.install()
    clock.now += 60
    assert not collector.tick()  # nothing new since: no walk for nothing
    collector.polled()
    collector.key()
    clock.now += 0.5
    assert not collector.tick()  # a key half a second ago: not now
    clock.now += 1.0
    assert collector.tick()  # idle, a poll since, 30 s since the last
    assert collector.settled == 1 and gc.get_freeze_count() > 0
    collector.polled()
    clock.now += 5
    assert not collector.tick()  # idle, but settled 5 s ago
    for _ in range(400):  # the keys never stop: after 300 s it settles anyway
        clock.now += 1
        collector.key()
        if collector.tick():
            break
    assert collector.settled == 2 and clock.now - 1000.0 >= 300


def test_uninstalled_collector_decides_nothing() -> None:
    collector = IdleCollector(clock=Clock())
    collector.polled(first_round_done=True)
    assert not collector.tick() and collector.settled == 0
    assert gc.get_freeze_count() == 0


async def test_dashboard_settles_after_the_first_poll_of_every_device(
    replay_ctx: DashboardContext,
) -> None:
    clock = Clock()
    collector = IdleCollector(idle_s=1.0, every_s=30.0, clock=clock)
    app = IpsecApp(replay_ctx, collector=collector)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.pause()
        assert collector.settled == 1
        frozen = gc.get_freeze_count()
        assert frozen > 0
        # the replayed models are out of the collector's walks
        some = next(iter(app.model.rows.values())).tunnel
        assert not any(o is some for o in gc.get_objects())
        # a key is seen: the next settling waits for a quiet second
        app.apply_state(app.infos["edge-1"].state)  # type: ignore[arg-type]
        clock.now += 60
        await pilot.press("j")
        assert not collector.tick()
        clock.now += 1.5
        collector.tick()  # unless the app's own timer saw the quiet second first
        assert collector.settled == 2
    assert gc.get_freeze_count() == 0  # given back when the dashboard ends


async def test_an_embedded_dashboard_leaves_the_collector_alone(
    replay_ctx: DashboardContext,
) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.pause()
        assert gc.get_freeze_count() == 0
