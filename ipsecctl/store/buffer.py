"""Writes kept in memory while the database is away, retried with backoff, bounded.

A collector must not stop polling, nor lose its polls, because the database restarted; it
must not grow without limit either when the database stays away. The buffer holds whole
writes (one poll, one action) in order, each already encoded so its size is known; past the
limits (count or bytes) the oldest go first, each drop logged and counted. Retries wait
``base_delay`` seconds, doubling on each failure up to ``max_delay``.

Not thread-safe on its own: the store that owns it holds its lock around every call.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

MAX_ITEMS = 20_000  # a week of 30 s polls is 20,160
MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Pending:
    """One write waiting: ``kind`` ``poll`` (one encoded state per device) or ``action``."""

    kind: str
    payload: tuple[bytes, ...]
    collector: str | None = None

    @property
    def size(self) -> int:
        return sum(len(p) for p in self.payload)


class RetryBuffer:
    def __init__(
        self,
        *,
        max_items: int = MAX_ITEMS,
        max_bytes: int = MAX_BYTES,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_items = max(1, max_items)
        self.max_bytes = max(1, max_bytes)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._clock = clock
        self._items: deque[Pending] = deque()
        self.bytes = 0
        self.dropped = 0
        self.failures = 0
        self._next_try = 0.0

    def __len__(self) -> int:
        return len(self._items)

    def push(self, item: Pending) -> int:
        """Queue ``item`` behind the others; returns how many old writes were dropped."""
        self._items.append(item)
        self.bytes += item.size
        dropped = 0
        while len(self._items) > 1 and (
            len(self._items) > self.max_items or self.bytes > self.max_bytes
        ):
            old = self._items.popleft()
            self.bytes -= old.size
            dropped += 1
        if dropped:
            self.dropped += dropped
            log.warning(
                "history database unavailable: dropped the %d oldest buffered write(s) "
                "(%d dropped so far; limits %d writes, %d bytes)",
                dropped,
                self.dropped,
                self.max_items,
                self.max_bytes,
            )
        return dropped

    def peek(self) -> Pending | None:
        return self._items[0] if self._items else None

    def pop(self) -> None:
        old = self._items.popleft()
        self.bytes -= old.size

    def due(self) -> bool:
        return self._clock() >= self._next_try

    def failed(self) -> float:
        """Note a failed attempt; returns the delay before the next one."""
        delay = min(self.base_delay * (2**self.failures), self.max_delay)
        self.failures += 1
        self._next_try = self._clock() + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self._next_try = 0.0
