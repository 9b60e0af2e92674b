"""The history of a real poll loop against the lab's flapping router, over SSH.

At a time scale of 30 the router's flap cycle (150 s up, 30 s down, simulated) lasts 6 real
seconds; polls every 2 real seconds (60 simulated) either land in the down window (a
``tunnel_down`` seen directly) or fall on both sides of a flap (new SPIs, counters and
session uptime restarted: a ``tunnel_down`` inferred between polls). Either way the history
must count each flap the router logged (its ``%CRYPTO-5-SESSION_STATUS`` / ``%IKEV2-5-SA``
DOWN lines), also across a restart of the store in the middle of the run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import inventory as inv
from ipsecctl.collect import Collector
from ipsecctl.lab import Lab
from ipsecctl.lab.state import Fleet
from ipsecctl.sessions import SessionPool
from ipsecctl.settings import Settings
from ipsecctl.store import open_store

SCALE = 30.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), devices=12, seed=1, time_scale=SCALE) as running:
        yield running


def _flapper(lab: Lab) -> tuple[str, str]:
    for r in lab.routers:
        if r.scenario == "flapping":
            for link, side in lab.fleet.ends_of(r.name):
                if link.behaviour == "flapping":
                    return r.name, Fleet.peer_addr(link, side)
    raise AssertionError("the 12-router lab has no flapping router")


def _downs_logged(lab: Lab, name: str, peer: str) -> int:
    with lab.fleet.lock:
        lab.fleet.advance()
        return sum(1 for x in lab.fleet.routers[name].log if "DOWN" in x.text and peer in x.text)


def test_flaps_between_and_during_polls_are_in_the_history(lab: Lab, tmp_path: Path) -> None:
    name, peer = _flapper(lab)
    hosts = inv.load_inventory(lab.inventory_path).select([name])
    settings = Settings(known_hosts=tmp_path / "known_hosts", audit_log=tmp_path / "a.jsonl")
    path = tmp_path / "history.sqlite3"
    with Collector(SessionPool(settings, host_key_policy="reject"), workers=1) as collector:
        before = _downs_logged(lab, name, peer)
        store = open_store(path)
        for i in range(12):  # about four flap cycles
            if i:
                time.sleep(2.0)
            if i == 6:  # ipsecctl restarts: the history goes on from the stored state
                store.close()
                store = open_store(path)
            (state,) = collector.poll(hosts)
            assert state.reachable and not state.errors, state.errors
            store.record_poll([state], collector="lab")
        after = _downs_logged(lab, name, peer)
        flaps = store.flaps(name, peer)
        downs = store.events([name], peer=peer, kinds=["tunnel_down"])
        store.close()
    logged = after - before
    assert logged >= 2, "the lab logged fewer than two flaps during the run"
    # a flap in progress at the first or last poll may fall on either side of the count
    assert abs(flaps - logged) <= 1, (flaps, logged, [d.detail for d in downs])
    assert flaps >= 2
