"""A one-shot poll opens the history store once the devices have answered, not before the
first one is asked; where history goes is still checked before any device is contacted."""

from __future__ import annotations

import importlib.util
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.cli.context import AppContext
from ipsecctl.errors import UsageError
from ipsecctl.lab import Lab
from ipsecctl.ops.deferred_history import DeferredHistory
from ipsecctl.store import PSYCOPG_MISSING, check_location


def _stored_devices(path: Path) -> dict[str, float]:
    """device -> polled_at, read from the SQLite file itself."""
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT device, polled_at FROM devices"))


def test_the_store_is_opened_by_the_poll_and_the_poll_is_recorded(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    ctx = AppContext(
        inventory_path=str(lab.inventory_path),
        host_key_policy="reject",
        quiet=True,
        store_url=str(path),
    )
    names = [r.name for r in lab.routers[:3]]
    hosts = ctx.select(names)
    fleet = ctx.fleet(hosts)
    assert isinstance(fleet.store, DeferredHistory)
    assert not fleet.store.opened and not path.exists()  # nothing opened before the poll
    started = time.time()
    try:
        states = fleet.poll()
    finally:
        ctx.close()
    assert fleet.store.opened
    assert all(s.reachable for s in states), [s.errors for s in states]
    stored = _stored_devices(path)
    assert sorted(stored) == sorted(names)
    assert all(at >= started - 1 for at in stored.values()), stored


def test_a_malformed_store_is_refused_before_any_device_is_asked(lab: Lab, cli: Any) -> None:
    run = cli("-i", str(lab.inventory_path), "--store", "ftp://db/x", "status", "--json")
    assert run.code == 2, run
    assert "unknown scheme 'ftp'" in run.err and "Traceback" not in run.err
    assert run.out == ""  # no device was polled, nothing was printed


def test_a_store_that_cannot_open_costs_the_history_not_the_poll(
    lab: Lab, cli: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be\n")
    name = lab.routers[0].name
    run = cli("-i", str(lab.inventory_path), "--store", str(blocker / "h.sqlite3"), "status", name)
    assert run.code in (0, 3), run
    assert name in run.out
    assert run.err.count("history store unavailable") == 1, run.err


def test_the_store_is_opened_once_whichever_thread_asks_first() -> None:
    calls: list[int] = []
    gate = threading.Barrier(8)

    class Store:
        def latest(self, devices: Any = None) -> list[Any]:
            return []

    def opener() -> Any:
        calls.append(1)
        time.sleep(0.05)  # the others arrive while it opens
        return Store()

    deferred = DeferredHistory(opener)

    def use() -> None:
        gate.wait()
        deferred.latest(["r01"])

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]


@pytest.mark.parametrize(
    ("call", "empty"),
    [
        (lambda d: d.latest(["r01"]), []),
        (lambda d: d.record_poll([], collector="local"), []),
        (lambda d: d.flap_history(["r01"]), {}),
        (lambda d: d.record_action({"action": "clear"}), None),
    ],
)
def test_without_a_store_every_call_finds_nothing(call: Any, empty: Any) -> None:
    opened: list[int] = []
    deferred = DeferredHistory(lambda: opened.append(1))
    assert call(deferred) == empty
    assert call(deferred) == empty
    assert opened == [1]  # a store that could not open is not tried again


def test_the_location_check_refuses_what_no_store_could_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_location(tmp_path / "history.sqlite3")  # a file not made yet is fine
    check_location("postgresql://ipsecctl@db/ipsec")  # psycopg is installed here
    with pytest.raises(UsageError, match="write sqlite:///absolute/path"):
        check_location("sqlite://relative/history.sqlite3")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else find_spec(name)
    )
    with pytest.raises(UsageError) as refused:
        check_location("postgresql://ipsecctl@db/ipsec")
    assert str(refused.value) == PSYCOPG_MISSING
