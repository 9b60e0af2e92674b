"""A fleet poll: the workers only talk to devices, and every answer is parsed in the poll's
own thread as it arrives. Polling the fleet gives each device the snapshot polling it alone
gives, in the hosts' order, and a parser failing on one device costs only that device."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import ipsecctl.assemble
from inventory import Host
from ipsecctl import errors
from ipsecctl.collect import Collector
from ipsecctl.models import DeviceState
from ipsecctl.sessions import SessionPool
from ipsecctl.settings import Settings

REPLAY = Path(__file__).parent / "fixtures" / "replay"


def _hosts() -> list[Host]:
    names = sorted(p.name for p in REPLAY.iterdir() if p.is_dir())
    assert len(names) == 4
    return [Host(name=n, hostname=n, platform="cisco_iosxe") for n in reversed(names)]


def _collector(tmp_path: Path) -> Collector:
    settings = Settings(known_hosts=tmp_path / "known_hosts")
    return Collector(SessionPool(settings, replay_dir=REPLAY), workers=4)


def _comparable(state: DeviceState) -> dict[str, Any]:
    return state.model_dump(mode="json", exclude={"polled_at"})


def test_the_fleet_poll_gives_each_device_its_own_poll(tmp_path: Path) -> None:
    hosts = _hosts()
    seen: list[str] = []
    with _collector(tmp_path) as collector:
        states = collector.poll(hosts, progress=lambda s: seen.append(s.device))
        alone = [collector.poll_one(h) for h in hosts]
    assert [s.device for s in states] == [h.name for h in hosts]
    assert sorted(seen) == sorted(h.name for h in hosts)
    assert all(s.reachable and not s.errors for s in states)
    assert sum(len(s.tunnels) for s in states) > 0
    assert [_comparable(s) for s in states] == [_comparable(s) for s in alone]


def test_answers_are_parsed_in_the_polling_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ipsecctl.assemble.assemble
    threads: list[threading.Thread] = []

    def watched(*args: Any, **kwargs: Any) -> DeviceState:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(ipsecctl.assemble, "assemble", watched)
    with _collector(tmp_path) as collector:
        collector.poll(_hosts())
        assert threads == [threading.current_thread()] * 4
        threads.clear()
        # a single device handed to the pool (the dashboard's refresh) is parsed there
        collector.submit(_hosts()[0]).result()
        assert len(threads) == 1 and threads[0] is not threading.current_thread()


@pytest.mark.parametrize(
    ("raised", "kind", "message"),
    [
        (RuntimeError("parser bug"), "internal", "internal error: RuntimeError('parser bug')"),
        (errors.ParseError("hub-1: output cut short"), "parse", "hub-1: output cut short"),
    ],
)
def test_a_parser_failing_on_one_device_costs_only_that_device(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raised: Exception, kind: str, message: str
) -> None:
    real = ipsecctl.assemble.assemble

    def failing(device: str, *args: Any, **kwargs: Any) -> DeviceState:
        if device == "hub-1":
            raise raised
        return real(device, *args, **kwargs)

    monkeypatch.setattr(ipsecctl.assemble, "assemble", failing)
    with _collector(tmp_path) as collector:
        states = {s.device: s for s in collector.poll(_hosts())}
    hub = states.pop("hub-1")
    assert not hub.reachable
    assert [(e.kind, e.message) for e in hub.errors] == [(kind, message)]
    assert len(states) == 3 and all(s.reachable and not s.errors for s in states.values())
