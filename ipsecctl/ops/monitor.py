"""The polling loop of ``watch``, ``collect`` and the exporter: schedule, events, summary.

A :class:`Monitor` reads a fleet over and over from a *source* and hands each round (a
:class:`Cycle`: the states and the events since the last round) to its caller:

- :class:`LiveSource` polls devices through a :class:`~ipsecctl.ops.fleet.Fleet`. The fleet
  records every poll to the history store, and the events are the ones the store computed
  while recording (against what the store last knew of each device), so ``watch``, ``history``
  and the dashboard tell the same story, also across restarts and collectors. Without a store
  (replayed outputs, a store that cannot be opened) the events come from
  :func:`ipsecctl.transitions.diff` over this process' own polls.
- :class:`StoreSource` polls nothing: it reads the latest states other collectors wrote to
  the store (:class:`~ipsecctl.ops.stored.StoredFleet`) and the events they recorded.

The schedule is fixed-rate: round *k* starts ``k * interval`` after the first; a round that
overruns the interval is followed at once by the next (the missed starts are dropped, never
run in a burst). One bad device is an error entry of its own state (the collector's rule);
a round that fails as a whole (the store cannot be read) is reported in :attr:`Cycle.error`
and the loop goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from ipsecctl.errors import IpsecctlError
from ipsecctl.models import DeviceState
from ipsecctl.transitions import Event, diff, is_complete, next_baseline

if TYPE_CHECKING:
    from ipsecctl.ops.fleet import Fleet, HistorySink
    from ipsecctl.ops.stored import StoredFleet
    from ipsecctl.store.base import FlapCounts

log = logging.getLogger(__name__)


def failing(state: DeviceState) -> bool:
    """A poll that failed: unreachable, or a command failed (unknown lines alone do not)."""
    return not is_complete(state)


@dataclass
class Cycle:
    """One round: what every device said and what changed since the round before."""

    number: int
    started: datetime
    duration_s: float
    states: list[DeviceState]
    events: list[Event]
    error: str | None = None

    @property
    def failing(self) -> list[str]:
        return [s.device for s in self.states if failing(s)]


@dataclass
class Summary:
    """What a run saw: rounds, events by kind, devices that failed (at the end, and ever)."""

    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None
    polls: int = 0
    devices: int = 0
    events: Counter[str] = field(default_factory=Counter)
    failing: list[str] = field(default_factory=list)
    ever_failed: set[str] = field(default_factory=set)
    round_errors: int = 0
    answered_last: bool = False

    def add(self, cycle: Cycle) -> None:
        self.polls += 1
        self.events.update(ev.event for ev in cycle.events)
        if cycle.error is not None:
            self.round_errors += 1
            return
        self.devices = len(cycle.states)
        self.failing = cycle.failing
        self.ever_failed.update(self.failing)
        self.answered_last = any(not failing(s) for s in cycle.states)

    def doc(self) -> dict[str, Any]:
        """The summary as a JSON object (the ``summary`` line of ``watch --json``)."""
        end = self.ended or datetime.now(UTC)
        return {
            "started": _iso(self.started),
            "ended": _iso(end),
            "duration_s": round((end - self.started).total_seconds(), 3),
            "polls": self.polls,
            "devices": self.devices,
            "events": dict(sorted(self.events.items())),
            "failing": list(self.failing),
            "failed_at_some_point": sorted(self.ever_failed),
            "round_errors": self.round_errors,
        }


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Source(Protocol):
    """Where a monitor's rounds come from."""

    order: list[str]

    def read(self) -> tuple[list[DeviceState], list[Event]]: ...

    def close(self, *, abandon: bool = False) -> None: ...


class EventTap:
    """Stands between a fleet and its history store and keeps the events each recorded poll
    returns (the store's own transitions), for the monitor to take after the poll.

    Everything else goes to the store unchanged.
    """

    def __init__(self, inner: HistorySink) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._recorded: set[str] = set()

    def record_poll(self, states: list[DeviceState], *, collector: str) -> Any:
        events = self.inner.record_poll(states, collector=collector)
        with self._lock:
            self._events.extend(events or [])
            self._recorded.update(s.device for s in states)
        return events

    def take(self) -> tuple[list[Event], set[str]]:
        """Events recorded since the last take, and the devices whose polls were recorded."""
        with self._lock:
            events, self._events = self._events, []
            recorded, self._recorded = self._recorded, set()
        return events, recorded

    def record_action(self, record: dict[str, Any]) -> None:
        self.inner.record_action(record)

    def latest(self, devices: Sequence[str] | None = None) -> list[DeviceState]:
        return self.inner.latest(devices)

    def flap_history(
        self, devices: Sequence[str] | None = None, since: datetime | None = None
    ) -> dict[tuple[str, str | None, str | None], FlapCounts]:
        return self.inner.flap_history(devices, since)

    def __getattr__(self, name: str) -> Any:  # close, flush, location...
        return getattr(self.inner, name)


class LiveSource:
    """Rounds polled through ``fleet`` (see the module docstring for where events come from).

    Takes over the fleet's history store with an :class:`EventTap`; the fleet still records
    every poll to it.
    """

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.order = list(fleet.order)
        self.tap: EventTap | None = None
        if fleet.store is not None:
            self.tap = EventTap(fleet.store)
            fleet.store = self.tap
        self._last: dict[str, DeviceState] = {}
        self._baseline: dict[str, DeviceState | None] = {}

    def read(self) -> tuple[list[DeviceState], list[Event]]:
        states = self.fleet.poll()
        recorded: set[str] = set()
        events: list[Event] = []
        if self.tap is not None:
            events, recorded = self.tap.take()
        for cur in states:
            prev = self._last.get(cur.device)
            base = self._baseline.get(cur.device, prev)
            if cur.device not in recorded:  # no store, or it failed: this process' own view
                events += diff(prev, cur, baseline=base)
            self._baseline[cur.device] = next_baseline(base, cur)
            self._last[cur.device] = cur
        return states, events

    def close(self, *, abandon: bool = False) -> None:
        self.fleet.close(abandon=abandon)


class StoreSource:
    """Rounds read from the history store: the latest state of each device and the events
    its collectors recorded since the last round (from the start of the run on)."""

    def __init__(self, stored: StoredFleet, *, since: datetime | None = None) -> None:
        self.stored = stored
        self.order = list(stored.order)
        self._since = since or datetime.now(UTC)
        self._seen_at_edge: set[tuple[Any, ...]] = set()

    def read(self) -> tuple[list[DeviceState], list[Event]]:
        states = self.stored.poll()
        found = self.stored.events(since=self._since)
        fresh = []
        for ev in found:
            key = (ev.time, ev.device, ev.tunnel, ev.event, repr(ev.from_), repr(ev.to))
            if ev.time == self._since and key in self._seen_at_edge:
                continue
            fresh.append(ev)
        if found:
            edge = max(ev.time for ev in found)
            if edge != self._since:
                self._seen_at_edge = set()
            self._since = edge
            self._seen_at_edge |= {
                (ev.time, ev.device, ev.tunnel, ev.event, repr(ev.from_), repr(ev.to))
                for ev in found
                if ev.time == edge
            }
        return states, fresh

    def close(self, *, abandon: bool = False) -> None:
        self.stored.close(abandon=abandon)


def first_sightings(events: Sequence[Event], seen: set[str]) -> list[Event]:
    """``events`` without the ``tunnel_added`` of devices not seen reachable before: the
    tunnels a device already had when the run began are its baseline, not changes."""
    return [ev for ev in events if not (ev.event == "tunnel_added" and ev.device not in seen)]


class Monitor:
    """Rounds from ``source`` every ``interval`` seconds.

    ``baseline_first``: a device's tunnels present at its first reachable round are not
    reported as added (``watch`` wants changes, not the inventory of the fleet).
    ``clock`` (monotonic seconds) and ``now`` (wall time) are injectable for tests.
    """

    def __init__(
        self,
        source: Source,
        *,
        interval: float,
        baseline_first: bool = True,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.source = source
        self.interval = interval
        self.baseline_first = baseline_first
        self.clock = clock
        self.now = now
        self.summary = Summary(started=now())
        self._number = 0
        self._seen: set[str] = set()

    def cycle(self) -> Cycle:
        """One round now; never raises for a device or a store problem."""
        self._number += 1
        started = self.now()
        t0 = self.clock()
        try:
            states, events = self.source.read()
        except IpsecctlError as exc:
            cycle = Cycle(self._number, started, self.clock() - t0, [], [], error=str(exc))
        except Exception as exc:  # a bug must not end a monitoring run
            log.exception("monitor round %d failed", self._number)
            cycle = Cycle(
                self._number, started, self.clock() - t0, [], [], error=f"internal error: {exc!r}"
            )
        else:
            if self.baseline_first:
                events = first_sightings(events, self._seen)
            self._seen.update(s.device for s in states if s.reachable)
            cycle = Cycle(self._number, started, self.clock() - t0, states, events)
        self.summary.add(cycle)
        return cycle

    def run(
        self,
        on_cycle: Callable[[Cycle], None],
        *,
        count: int | None = None,
        duration: float | None = None,
        stop: threading.Event | None = None,
    ) -> Summary:
        """Rounds until ``count`` rounds, ``duration`` seconds or ``stop`` is set (a
        KeyboardInterrupt propagates: the caller prints the summary it finds in
        :attr:`summary`)."""
        stop = stop or threading.Event()
        start = self.clock()
        end = start + duration if duration is not None else None
        k = 0
        try:
            while not stop.is_set():
                if count is not None and k >= count:
                    break
                if end is not None and k > 0 and self.clock() >= end:
                    break
                on_cycle(self.cycle())
                k += 1
                if count is not None and k >= count:
                    break
                now = self.clock()
                # fixed rate; an overrun drops the starts it missed
                slot = max(k, int((now - start) // self.interval) + 1)
                wake = start + slot * self.interval
                if end is not None:
                    if now >= end:
                        break
                    wake = min(wake, end)
                if wake > now and stop.wait(wake - now):
                    break
        finally:
            self.summary.ended = self.now()
        return self.summary

    def close(self, *, abandon: bool = False) -> None:
        self.source.close(abandon=abandon)


def seconds(text: str, option: str) -> float:
    """``90``, ``90s``, ``5m``, ``2h``, ``1d`` -> seconds (a usage error names ``option``)."""
    import re

    from ipsecctl.errors import UsageError

    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", text, re.IGNORECASE)
    if not m:
        raise UsageError(f"{option} {text!r}: write a number of seconds or 30s, 5m, 2h, 1d")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2).lower()]
    value = float(m.group(1)) * unit
    if value <= 0:
        raise UsageError(f"{option} {text!r}: must be more than zero")
    return value


__all__ = [
    "Cycle",
    "EventTap",
    "LiveSource",
    "Monitor",
    "Source",
    "StoreSource",
    "Summary",
    "failing",
    "first_sightings",
    "seconds",
]
