"""When the dashboard's process walks its long-lived objects for cyclic garbage: not in the
middle of a keystroke.

A dashboard over 10,000 tunnels holds ~350,000 objects the cyclic collector tracks (the
models of the current and previous poll of every device, Textual's widgets, the view-model).
CPython's full collection walks every one of them, ~200 ms with every thread paused, and runs
whenever enough new objects have piled up: during a live refresh, now and then while a key is
being handled. The models are freed by reference counting when a newer poll replaces them;
the walk finds next to nothing in them.

So, once the first poll of every device has been applied, and again whenever the operator is
idle (no key for ``idle_s``; at most every ``every_s``, only after new polls, and after
``longest_s`` even if the keys never stop), the process's cyclic garbage is collected and
everything left is frozen (``gc.freeze``): moved out of the collector's sight. The automatic
collections then walk only what was made since (the polls of the last minutes, Textual's
render objects): short pauses. The next settling gives the frozen objects back to the collector
first, so the cycles among them that died meanwhile are freed there, while nobody types.

This decides for the whole process, so only the program that owns the process installs it
(the CLI's ``dashboard`` and ``demo``), never an application embedding the dashboard.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable


class IdleCollector:
    """Settle (collect, then freeze) after the first full poll and while the operator is idle;
    :meth:`tick` on a timer, :meth:`key` on every key, :meth:`polled` after every poll."""

    def __init__(
        self,
        *,
        idle_s: float = 1.0,
        every_s: float = 30.0,
        longest_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.idle_s = idle_s
        self.every_s = every_s
        self.longest_s = longest_s
        self._clock = clock
        now = clock()
        self._last_key = now
        self._last_settle = now
        self._polls_since = 0
        self.settled = 0  # settlings so far (what tests and benchmarks read)
        self.installed = False

    def install(self) -> None:
        self.installed = True

    def uninstall(self) -> None:
        """Give the frozen objects back to the collector (the process goes on without the
        dashboard)."""
        if self.installed:
            self.installed = False
            gc.unfreeze()

    def key(self) -> None:
        self._last_key = self._clock()

    def polled(self, *, first_round_done: bool = False) -> None:
        """A poll was applied; ``first_round_done``: with it every device has answered once
        (the bulk of what the dashboard will hold is there: settle now)."""
        if not self.installed:
            return
        self._polls_since += 1
        if first_round_done and not self.settled:
            self.settle()

    def tick(self) -> bool:
        """Settle if now is the moment; True if it did."""
        if not self.installed or not self._polls_since:
            return False
        now = self._clock()
        since = now - self._last_settle
        idle = now - self._last_key >= self.idle_s
        if (idle and since >= self.every_s) or since >= self.longest_s:
            self.settle()
            return True
        return False

    def settle(self) -> None:
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self._last_settle = self._clock()
        self._polls_since = 0
        self.settled += 1
