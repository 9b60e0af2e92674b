"""The polling side of the operations layer: which devices, their sessions, the last two
polls of each, and the history store every poll goes to.

The CLI's one-shot views, ``diag health``, the dashboard's per-device schedule, ``watch``
and the exporter all poll through a :class:`Fleet`, so "previous poll", "rates" and
"history" mean the same thing everywhere. A one-shot command has no previous poll of its
own: it takes the device's last state from the history store when that is recent, so
movement rules (one-way traffic, errors rising) work from the second command on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from inventory import Host
from ipsecctl import errors
from ipsecctl.diag.history import TunnelHistory
from ipsecctl.models import DeviceState
from ipsecctl.platforms import get_platform

if TYPE_CHECKING:
    from ipsecctl.collect import Collector
    from ipsecctl.store.base import FlapCounts
    from ipsecctl.transitions import Event
    from ipsecctl.transport.base import CommandRunner

log = logging.getLogger(__name__)

Progress = Callable[[DeviceState], None]

#: how old a stored poll may be to serve as a one-shot command's "previous" poll
PREVIOUS_MAX_AGE = timedelta(minutes=15)


class FlapSource(Protocol):
    """A history store's flap figures (``ipsecctl.store``), what :func:`store_histories`
    reads; the stores a fleet writes and a stored fleet reads both give them."""

    def flap_history(
        self, devices: Sequence[str] | None = None, since: datetime | None = None
    ) -> dict[tuple[str, str | None, str | None], FlapCounts]: ...


class HistorySink(FlapSource, Protocol):
    """What the operations layer needs of the history store (``ipsecctl.store``)."""

    def record_poll(self, states: list[DeviceState], *, collector: str) -> list[Event]: ...
    def record_action(self, record: dict[str, object]) -> None: ...
    def latest(self, devices: Sequence[str] | None = None) -> list[DeviceState]: ...


#: how far back the history store's flaps count for a fault (the health rules' own window)
FLAP_WINDOW = timedelta(hours=1)


def store_histories(
    store: FlapSource, devices: Sequence[str] | None, since: datetime
) -> dict[tuple[str, str, str | None], TunnelHistory]:
    """The store's downs and comebacks since ``since`` as the health rules take them (what
    a polled fleet and one read from the store both give). Raises what the store raises."""
    return {
        (device, peer, vrf): TunnelHistory(
            downs=c.downs,
            ups=c.ups,
            last_down=c.last_down,
            last_up=c.last_up,
            window_s=FLAP_WINDOW.total_seconds(),
            source="history store",
        )
        for (device, peer, vrf), c in store.flap_history(devices, since=since).items()
        if peer and c.downs > 0
    }


@dataclass
class _Slot:
    current: DeviceState | None = None
    previous: DeviceState | None = None
    logs: dict[str, str] = field(default_factory=dict)


class Fleet:
    """Selected hosts, a collector over persistent sessions, and what each poll returned.

    Thread-safe: the dashboard's poll threads and an action's re-polls call it at once.
    ``log_commands`` are the platform's log commands; they are sent every ``log_every``-th
    poll of a device (logs are large and change slowly) and their last output is carried
    into the polls in between, so log-based rules (flaps) hold steadily.
    """

    def __init__(
        self,
        hosts: Sequence[Host],
        collector: Collector,
        *,
        store: HistorySink | None = None,
        collector_name: str = "local",
        logs: bool = False,
        log_every: int = 1,
    ) -> None:
        self.hosts: dict[str, Host] = {h.name: h for h in hosts}
        self.order = [h.name for h in hosts]
        self.collector = collector
        self.store = store
        self.collector_name = collector_name
        self.logs = logs
        self.log_every = max(1, log_every)
        self._slots: dict[str, _Slot] = {name: _Slot() for name in self.order}
        self._polls: dict[str, int] = {}
        self._lock = threading.Lock()
        self._store_failed = False

    # -- hosts and sessions ------------------------------------------------------------------
    def host(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            known = ", ".join(self.order[:10]) + (" ..." if len(self.order) > 10 else "")
            raise errors.UsageError(
                f"{name!r} is not a device of this inventory (known: {known})"
            ) from None

    def session(self, name: str) -> CommandRunner:
        runner: CommandRunner = self.collector.pool.session(self.host(name))
        return runner

    # -- polling -----------------------------------------------------------------------------
    def _log_commands(self, host: Host, force: bool) -> list[str]:
        if not (self.logs or force):
            return []
        count = self._polls.get(host.name, 0)
        if not force and count % self.log_every != 0:
            return []
        platform = get_platform(host.platform or "")
        return list(platform.collect.get("logs", []))

    def keeps_logs(self, host: Host) -> bool:
        """Whether the device's platform has log commands (fault evidence a poll may read)."""
        return bool(self._log_set(host.platform or ""))

    def poll_one(self, name: str | Host, *, logs: bool = False) -> DeviceState:
        """Poll one device now (an action's re-poll, a refresh key) and remember it."""
        host = name if isinstance(name, Host) else self.host(name)
        extra = self._log_commands(host, logs)
        state = self.collector.poll_one(host, extra=extra)
        return self.accept(state)

    def submit(self, name: str, *, logs: bool = False) -> Future[DeviceState]:
        """Poll one device in the collector's pool; the future's result is already accepted."""
        host = self.host(name)
        extra = self._log_commands(host, logs)
        inner = self.collector.submit(host, extra=extra)
        outer: Future[DeviceState] = Future()

        def done(fut: Future[DeviceState]) -> None:
            if fut.cancelled():
                outer.cancel()
                return
            exc = fut.exception()
            if exc is not None:
                outer.set_exception(exc)
                return
            try:
                outer.set_result(self.accept(fut.result()))
            except Exception as err:  # a store or rule bug must not lose the poll
                log.exception("accepting a poll of %s failed", name)
                outer.set_exception(err)

        inner.add_done_callback(done)
        return outer

    def poll(
        self,
        names: Iterable[str] | None = None,
        *,
        progress: Progress | None = None,
        logs: bool = False,
        deadline: float | None = None,
        extra_for: Callable[[Host], Sequence[str]] | None = None,
    ) -> list[DeviceState]:
        """Poll devices concurrently (all by default); results keep the inventory order.

        ``extra_for`` adds commands per host (a diagnosis reads the configuration too)."""
        chosen = [self.host(n) for n in (names if names is not None else self.order)]
        extra = {
            h.name: [*self._log_commands(h, logs), *(extra_for(h) if extra_for is not None else ())]
            for h in chosen
        }
        states = self.collector.poll(chosen, progress=progress, deadline=deadline, extra=extra)
        accepted = [self.accept(s, record=False) for s in states]
        self._record(accepted)
        return accepted

    def accept(self, state: DeviceState, *, record: bool = True) -> DeviceState:
        """Make ``state`` the device's current poll (previous = the one before, or the
        store's last one); a failed poll keeps the last good data as previous."""
        with self._lock:
            slot = self._slots.setdefault(state.device, _Slot())
            self._polls[state.device] = self._polls.get(state.device, 0) + 1
            if state.raw:
                for command, text in state.raw.items():
                    if command in self._log_set(state.platform):
                        slot.logs[command] = text
            if slot.logs and state.reachable:
                raw = dict(state.raw or {})
                for command, text in slot.logs.items():
                    raw.setdefault(command, text)
                state.raw = raw
            if slot.current is None and slot.previous is None:
                slot.previous = self._stored_previous(state)
            elif slot.current is not None and slot.current.reachable:
                slot.previous = slot.current
            slot.current = state
        if record:
            self._record([state])
        return state

    def _log_set(self, platform: str) -> set[str]:
        try:
            return set(get_platform(platform).collect.get("logs", []))
        except errors.UsageError:
            return set()

    def _stored_previous(self, state: DeviceState) -> DeviceState | None:
        if self.store is None:
            return None
        try:
            found = self.store.latest([state.device])
        except Exception as exc:  # history is a help, never a reason to fail a poll
            log.warning("history store: cannot read %s: %s", state.device, exc)
            return None
        if not found:
            return None
        last = found[0]
        polled = last.polled_at if last.polled_at.tzinfo else last.polled_at.replace(tzinfo=UTC)
        if not last.reachable or datetime.now(UTC) - polled > PREVIOUS_MAX_AGE:
            return None
        return last if state.continues(last) else None

    def _record(self, states: list[DeviceState]) -> None:
        if self.store is None or not states:
            return
        try:
            self.store.record_poll(states, collector=self.collector_name)
            self._store_failed = False
        except Exception as exc:  # the store buffers and retries; never lose the poll
            if not self._store_failed:
                log.warning("history store: cannot record a poll: %s", exc)
            self._store_failed = True

    def history(self) -> dict[tuple[str, str, str | None], TunnelHistory]:
        """Flaps the history store saw within :data:`FLAP_WINDOW`, per (device, peer, vrf),
        as the health rules take them (empty without a store)."""
        if self.store is None:
            return {}
        try:
            return store_histories(self.store, self.order, datetime.now(UTC) - FLAP_WINDOW)
        except Exception as exc:  # history is a help, never a reason to fail
            log.warning("history store: cannot read flaps: %s", exc)
            return {}

    # -- what was seen -----------------------------------------------------------------------
    def current(self, name: str) -> DeviceState | None:
        with self._lock:
            slot = self._slots.get(name)
            return slot.current if slot else None

    def previous(self, name: str) -> DeviceState | None:
        with self._lock:
            slot = self._slots.get(name)
            return slot.previous if slot else None

    def states(self) -> list[DeviceState]:
        with self._lock:
            return [s.current for n in self.order if (s := self._slots[n]).current is not None]

    def previous_states(self) -> list[DeviceState]:
        with self._lock:
            return [s.previous for n in self.order if (s := self._slots[n]).previous is not None]

    def close(self, *, abandon: bool = False) -> None:
        """Close sessions; ``abandon`` never waits on a device (quitting the dashboard)."""
        self.collector.close(abandon=abandon)
