"""The dashboard's poll schedule: each device on its own clock, backed off when it fails.

Polls run in the operations layer's collector pool (:meth:`Fleet.submit`); this module only
decides *when* each device is due, remembers which polls are in flight, and hands results to
the UI thread through a callback that posts a message. A device that hangs holds one pool
slot until its timeout and delays nothing else. Pausing stops new polls (those in flight
finish); "refresh now" makes devices due at once, paused or not.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from functools import partial

from ipsecctl.models import CommandError, DeviceState
from ipsecctl.ops.fleet import Fleet
from ipsecctl.tui.widgets.fleet import DeviceInfo

Deliver = Callable[[str, DeviceState], None]


class Poller:
    """``infos`` is the app's per-device memory; ``deliver`` runs on the poll thread."""

    def __init__(
        self,
        fleet: Fleet,
        infos: dict[str, DeviceInfo],
        deliver: Deliver,
        *,
        refresh: float,
        max_backoff: float,
    ) -> None:
        self.fleet = fleet
        self.infos = infos
        self.deliver = deliver
        self.refresh = refresh
        self.max_backoff = max_backoff
        self.paused = False
        self.closed = False
        self._futures: set[Future[DeviceState]] = set()
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        return sum(1 for i in self.infos.values() if i.in_flight)

    def tick(self) -> None:
        """Start a poll for every device that is due and not already being polled."""
        if self.paused or self.closed:
            return
        now = time.monotonic()
        self._start([n for n, i in self.infos.items() if not i.in_flight and i.next_due <= now])

    def refresh_now(self, names: Iterable[str] | None = None) -> list[str]:
        """Poll ``names`` (default: every device) now, even while paused; the ones already
        being polled are left to finish. Returns the names started."""
        chosen = list(self.infos) if names is None else [n for n in names if n in self.infos]
        return self._start([n for n in chosen if not self.infos[n].in_flight])

    def _start(self, names: list[str]) -> list[str]:
        started = []
        for name in names:
            info = self.infos[name]
            info.in_flight = True
            try:
                fut = self.fleet.submit(name)
            except RuntimeError:  # the collector was closed (the app is exiting)
                info.in_flight = False
                self.closed = True
                break
            with self._lock:
                self._futures.add(fut)
            fut.add_done_callback(partial(self._done, name))
            started.append(name)
        return started

    def _done(self, name: str, fut: Future[DeviceState]) -> None:
        """Runs in the poll thread: a failed future becomes an unreachable poll."""
        with self._lock:
            self._futures.discard(fut)
        if fut.cancelled() or self.closed:
            return
        exc = fut.exception()
        if exc is not None:
            platform = self.infos[name].platform if name in self.infos else ""
            state = DeviceState(
                device=name,
                platform=platform,
                reachable=False,
                errors=[CommandError(kind="internal", message=repr(exc))],
            )
        else:
            state = fut.result()
        self.deliver(name, state)

    def finished(self, info: DeviceInfo, *, failed: bool) -> float:
        """A scheduled poll of ``info`` ended: when is it due next (seconds from now)."""
        info.in_flight = False
        info.polls += 1
        if failed:
            delay = min(self.refresh * (2 ** max(1, info.failures)), self.max_backoff)
        else:
            delay = self.refresh
        info.next_due = time.monotonic() + delay
        return delay

    def close(self) -> None:
        """Start nothing more and ignore the polls in flight (their threads are the fleet's
        to abandon; their futures are the fleet's to settle); never waits."""
        self.closed = True
        with self._lock:
            self._futures.clear()
