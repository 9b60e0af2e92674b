"""The fleet as its collectors recorded it: a read-only, Fleet-like source over the store.

With several collectors (one per region or jump host, each polling its own part of the
inventory into one PostgreSQL history store), operators read the fleet from the store
instead of polling: ``dashboard --from-store URL``, ``status``/``tunnels``/``ike``/``show``
``--from-store URL``, ``check --from-store``, ``exporter --from-store``. A
:class:`StoredFleet` answers the questions a :class:`~ipsecctl.ops.fleet.Fleet` answers
(``poll``, ``submit``, ``current``, ``previous``, ``states``, ``history``) from the latest
state each device's collector wrote, and adds how old each one is (:meth:`age`; also
``state.extra["age_s"]`` on every state it returns).

It opens no SSH session: :meth:`session` (what actions use) refuses with the name of the
collector that polls the device, because actions go through a collector that can reach it.

One store query serves a whole refresh: :meth:`submit` per device (the dashboard's
schedule) reuses a fleet-wide read younger than ``min_read_interval`` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any, Protocol

from ipsecctl import errors
from ipsecctl.diag.history import TunnelHistory
from ipsecctl.models import CommandError, DeviceState
from ipsecctl.ops.fleet import FLAP_WINDOW, FlapSource, store_histories
from ipsecctl.transitions import Event

log = logging.getLogger(__name__)

NOT_RECORDED = "not_recorded"


class StoreReader(FlapSource, Protocol):
    """What a :class:`StoredFleet` reads (``ipsecctl.store.Store`` provides it)."""

    location: str

    def latest(self, devices: Sequence[str] | None = None) -> list[DeviceState]: ...

    def events(
        self, devices: Sequence[str] | None = None, *, since: datetime | None = None
    ) -> list[Event]: ...

    def polls(self, device: str, since: datetime | None = None) -> list[dict[str, Any]]: ...

    def close(self) -> None: ...


class StoredFleet:
    """Read-only fleet over a history store (see the module docstring).

    ``devices``: the names to read (None: every device the store holds, growing as
    collectors add devices). ``owns_store``: :meth:`close` closes the store too.
    Thread-safe.
    """

    def __init__(
        self,
        store: StoreReader,
        devices: Sequence[str] | None = None,
        *,
        min_read_interval: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        owns_store: bool = True,
    ) -> None:
        self.store = store
        self.location = store.location
        self.fixed = devices is not None
        self.order: list[str] = list(dict.fromkeys(devices or []))
        self.min_read_interval = min_read_interval
        self.clock = clock
        self.owns_store = owns_store
        self._current: dict[str, DeviceState] = {}
        self._previous: dict[str, DeviceState] = {}
        self._read_at: float | None = None
        self._lock = threading.Lock()

    # -- reading ------------------------------------------------------------------------------
    def refresh(self) -> list[DeviceState]:
        """Read the latest state of every device now (one query); states in :attr:`order`."""
        found = self.store.latest(self.order if self.fixed else None)
        now = self.clock()
        with self._lock:
            self._read_at = time.monotonic()
            if not self.fixed:
                known = set(self.order)
                self.order += sorted(s.device for s in found if s.device not in known)
            by_name = {s.device: s for s in found}
            for name in self.order:
                state = by_name.get(name)
                if state is None:
                    state = self._current.get(name) or self._missing(name, now)
                else:
                    old = self._current.get(name)
                    if old is not None and old.polled_at < state.polled_at:
                        if old.reachable:
                            self._previous[name] = old
                    elif old is not None:
                        state = old  # the same poll again: keep its previous as it is
                if state.extra.get("stored") is not False:
                    state.extra["age_s"] = _age(state, now)
                self._current[name] = state
            return [self._current[n] for n in self.order]

    def _missing(self, name: str, now: datetime) -> DeviceState:
        return DeviceState(
            device=name,
            platform="",
            polled_at=now,
            reachable=False,
            errors=[
                CommandError(
                    kind=NOT_RECORDED,
                    message=(f"{name}: no collector has recorded this device in {self.location}"),
                )
            ],
            extra={"stored": False},
        )

    def _fresh(self) -> bool:
        return self._read_at is not None and (
            time.monotonic() - self._read_at < self.min_read_interval
        )

    def poll(
        self,
        names: Iterable[str] | None = None,
        *,
        progress: Callable[[DeviceState], None] | None = None,
        **_: Any,
    ) -> list[DeviceState]:
        """The latest stored states (the selection's, or every device's)."""
        states = self.refresh()
        if names is not None:
            wanted = set(names)
            states = [s for s in states if s.device in wanted]
        if progress is not None:
            for s in states:
                progress(s)
        return states

    def poll_one(self, name: str, **_: Any) -> DeviceState:
        self.host(name)
        if not self._fresh():
            self.refresh()
        with self._lock:
            return self._current[name]

    def submit(self, name: str, **_: Any) -> Future[DeviceState]:
        """A completed future with the device's stored state (reads the store at most once
        per ``min_read_interval`` for the whole fleet)."""
        fut: Future[DeviceState] = Future()
        try:
            fut.set_result(self.poll_one(name))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def events(self, since: datetime | None = None) -> list[Event]:
        return self.store.events(self.order if self.fixed else None, since=since)

    # -- what was read ------------------------------------------------------------------------
    def host(self, name: str) -> str:
        if self.fixed and name not in self.order:
            raise errors.UsageError(
                f"{name!r} is not among the devices read from the store {self.location}"
            )
        if not self.fixed and name not in self.order and not self._fresh():
            self.refresh()
        if name not in self.order:
            raise errors.UsageError(f"{name!r}: no collector has recorded it in {self.location}")
        return name

    def current(self, name: str) -> DeviceState | None:
        with self._lock:
            return self._current.get(name)

    def previous(self, name: str) -> DeviceState | None:
        with self._lock:
            return self._previous.get(name)

    def states(self) -> list[DeviceState]:
        with self._lock:
            return [self._current[n] for n in self.order if n in self._current]

    def previous_states(self) -> list[DeviceState]:
        with self._lock:
            return [self._previous[n] for n in self.order if n in self._previous]

    def age(self, name: str, now: datetime | None = None) -> float | None:
        """Seconds since the device's stored poll (None: never recorded)."""
        state = self.current(name)
        if state is None or state.extra.get("stored") is False:
            return None
        return _age(state, now or self.clock())

    def ages(self, now: datetime | None = None) -> dict[str, float | None]:
        now = now or self.clock()
        return {n: self.age(n, now) for n in self.order}

    def collector_of(self, name: str) -> str | None:
        """The collector that recorded the device's latest poll (None: unknown)."""
        try:
            runs = self.store.polls(name)
        except errors.IpsecctlError:
            return None
        return str(runs[-1]["collector"]) if runs and runs[-1].get("collector") else None

    def history(self) -> dict[tuple[str, str, str | None], TunnelHistory]:
        """Flaps within the fault window, as :meth:`Fleet.history` gives them."""
        try:
            return store_histories(self.store, self.order or None, self.clock() - FLAP_WINDOW)
        except errors.IpsecctlError as exc:
            log.warning("history store: cannot read flaps: %s", exc)
            return {}

    # -- what it cannot do --------------------------------------------------------------------
    def session(self, name: str) -> Any:
        """Actions need a session: refused, naming the collector that can reach the device."""
        who = self.collector_of(name)
        where = f"the collector {who!r}" if who else "a collector that reaches it"
        raise errors.RefusedError(
            f"{name}: read from the history store {self.location}, not polled; run the "
            f"action through {where} (ipsecctl with an inventory that reaches {name})"
        )

    def close(self, *, abandon: bool = False) -> None:
        if self.owns_store:
            self.store.close()


def _age(state: DeviceState, now: datetime) -> float:
    polled = state.polled_at if state.polled_at.tzinfo else state.polled_at.replace(tzinfo=UTC)
    return max(0.0, round((now - polled).total_seconds(), 3))


def open_stored(location: str, devices: Sequence[str] | None = None, **kwargs: Any) -> StoredFleet:
    """A :class:`StoredFleet` over the store at ``location`` (a path, ``sqlite:///PATH`` or
    ``postgresql://...``); a SQLite file that does not exist is a usage error (nothing was
    ever recorded there), not a new empty store."""
    from ipsecctl.store import open_store, store_exists

    if not store_exists(location):
        raise errors.UsageError(
            f"--from-store {location}: no history store there (nothing "
            "was recorded yet); point it at the collectors' store"
        )
    return StoredFleet(open_store(location), devices, **kwargs)
