"""What earlier polls saw of one tunnel, as the health rules take it.

The history store (or a dashboard that has been polling for a while) knows things two polls
cannot: a tunnel that went down and came back between polls, or before this process started.
It summarises them per ``(device, peer, vrf)`` into a :class:`TunnelHistory`, and
``health.evaluate(..., history=...)`` counts those transitions as flap evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

HistoryKey = tuple[str, str, str | None]  # (device, peer address, vrf or None)


@dataclass(frozen=True)
class TunnelHistory:
    """Transitions of one tunnel within the last ``window_s`` seconds.

    ``downs`` counts transitions to down (up -> down), ``ups`` transitions back to up, both
    within the window; ``last_down``/``last_up`` are the times of the latest ones (UTC).
    ``source`` says where the counts come from, and is quoted in the evidence.
    """

    downs: int
    ups: int = 0
    last_down: datetime | None = None
    last_up: datetime | None = None
    window_s: float = 3600.0
    source: str = "history"

    def __post_init__(self) -> None:
        if self.downs < 0 or self.ups < 0 or self.window_s <= 0:
            raise ValueError(f"TunnelHistory needs downs, ups >= 0 and window_s > 0, got {self!r}")


TunnelHistories = Mapping[HistoryKey, TunnelHistory]
