"""The history store as a one-shot poll takes it: opened by the first read or write.

A command like ``status`` needs the store only once the devices have answered (to find each
device's previous poll, to record this one), so opening it (the store's modules, SQLite or
a PostgreSQL connection, the schema check) before the first device is asked would only
delay the work. The location is still checked up front, so a malformed ``--store`` is a
usage error before any device is contacted (:func:`ipsecctl.store.check_location`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ipsecctl.models import DeviceState
    from ipsecctl.ops.fleet import HistorySink
    from ipsecctl.store.base import FlapCounts
    from ipsecctl.transitions import Event


class DeferredHistory:
    """A :class:`~ipsecctl.ops.fleet.HistorySink` that opens the store it stands for on
    first use, once, whichever thread comes first.

    ``open_store`` returns the store, or None when there is none to open (it has logged
    why); from then on every call is what a fleet without a store gets: nothing recorded,
    nothing found. What the store itself raises reaches the caller, as it would have.
    """

    def __init__(self, open_store: Callable[[], HistorySink | None]) -> None:
        self._open_store = open_store
        self._lock = threading.Lock()
        self._opened = False
        self._store: HistorySink | None = None

    @property
    def opened(self) -> bool:
        """Whether anything has needed the store yet."""
        return self._opened

    def _target(self) -> HistorySink | None:
        with self._lock:
            if not self._opened:
                self._opened = True  # one attempt: a store that cannot open is not retried
                self._store = self._open_store()
            return self._store

    def record_poll(self, states: list[DeviceState], *, collector: str) -> list[Event]:
        store = self._target()
        return [] if store is None else store.record_poll(states, collector=collector)

    def record_action(self, record: dict[str, object]) -> None:
        store = self._target()
        if store is not None:
            store.record_action(record)

    def latest(self, devices: Sequence[str] | None = None) -> list[DeviceState]:
        store = self._target()
        return [] if store is None else store.latest(devices)

    def flap_history(
        self, devices: Sequence[str] | None = None, since: datetime | None = None
    ) -> dict[tuple[str, str | None, str | None], FlapCounts]:
        store = self._target()
        return {} if store is None else store.flap_history(devices, since)
