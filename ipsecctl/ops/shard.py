"""Which part of the inventory one collector polls: ``--shard K/N``.

Several collectors (one per region or jump host) share one history store; each polls its
own devices. Inventory groups (``group:region-a``) are the first way to split a fleet; a
shard is the second, for a fleet without such groups: device ``name`` belongs to shard
``1 + (SHA-256(name) mod N)``. The hash is of the name alone, so every collector computes
the same split on every machine and run (Python's own ``hash`` changes per process), and a
device keeps its shard when others join or leave the inventory.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from ipsecctl.errors import UsageError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 10_000


class Named(Protocol):
    @property
    def name(self) -> str: ...


N = TypeVar("N", bound=Named)


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` (1-based) of ``count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, name: str) -> bool:
        return shard_of(name, self.count) == self.index

    def select(self, hosts: Sequence[N]) -> list[N]:
        """The hosts of this shard, in their given order."""
        return [h for h in hosts if self.owns(h.name)]


def shard_of(name: str, count: int) -> int:
    """The 1-based shard of device ``name`` among ``count``."""
    digest = hashlib.sha256(name.encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> Shard:
    """``K/N`` with 1 <= K <= N; anything else is a usage error naming the value."""
    m = _SHARD.match(text)
    if not m:
        raise UsageError(f"--shard {text!r}: write K/N, e.g. 2/4 for the second of four shards")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"--shard {text!r}: N must be between 1 and {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text!r}: K must be between 1 and {count}")
    return Shard(index, count)
