"""A one-shot command's previous poll comes from the history store only when it is the same
device: polled at the same endpoint (or either poll does not say where it came from).

Two inventories naming their routers alike and recording into one store made a one-shot
``tunnels --faults`` compare a router with the other inventory's router of that name: its
SPIs and counters read as tunnels rebuilt between polls (on the lab: 23 fault tunnels, all
FLAPPING, instead of 6).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from inventory import Host
from ipsecctl.collect import Collector
from ipsecctl.ops.faults import assess
from ipsecctl.ops.fleet import Fleet
from ipsecctl.sessions import SessionPool
from ipsecctl.settings import Settings
from ipsecctl.store import open_store
from tests.store.builders import device, tunnel

HERE, THERE = "127.0.0.1:2201", "127.0.0.1:4401"


def _previous_and_faults(
    tmp_path: Path, stored_at: str | None, polled_at: str | None
) -> tuple[bool, set[str]]:
    """Record a poll of hub-1 made at ``stored_at``, then take a rebuilt-looking poll made at
    ``polled_at`` as a one-shot command does: (was the stored poll its previous, fault codes)."""
    now = datetime.now(UTC)
    with open_store(tmp_path / "history.db") as store:
        before = tunnel(spi_in=(1,), spi_out=(2,), encaps=9000, decaps=9000, uptime_s=3600)
        store.record_poll([device(now - timedelta(seconds=60), before, endpoint=stored_at)])
        pool = SessionPool(Settings(known_hosts=tmp_path / "kh"), host_key_policy="reject")
        with Collector(pool, workers=1) as collector:
            fleet = Fleet(
                [Host(name="hub-1", hostname="127.0.0.1", platform="cisco_iosxe")],
                collector,
                store=store,
            )
            after = tunnel(spi_in=(3,), spi_out=(4,), encaps=40, decaps=40, uptime_s=30)
            fleet.accept(device(now, after, endpoint=polled_at), record=False)
            found = assess(fleet.states(), fleet.previous_states())
            codes = {c for reasons in found.faults.values() for c in reasons}
            return fleet.previous("hub-1") is not None, codes


def test_a_poll_from_elsewhere_is_not_the_previous_one(tmp_path: Path) -> None:
    assert _previous_and_faults(tmp_path, THERE, HERE) == (False, set())


def test_the_same_endpoint_or_none_keeps_comparing(tmp_path: Path) -> None:
    # a rebuild between two polls of one device is still seen
    assert _previous_and_faults(tmp_path / "a", HERE, HERE) == (True, {"FLAPPING"})
    assert _previous_and_faults(tmp_path / "b", None, HERE) == (True, {"FLAPPING"})
