"""A tunnel's history on the tunnel screen: state changes, re-keys, flaps, actions.

With a history store the tunnel screen reads the store's timeline of that tunnel (it spans
restarts and other collectors). Without one, the dashboard keeps its own short journal: the
same :mod:`ipsecctl.transitions` events computed between the polls it saw, lasting
conditions (one-way, errors rising) folded into a start and an end as the store does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.text import Text

from ipsecctl.models import DeviceState, Tunnel
from ipsecctl.ops.formatting import fmt_spis
from ipsecctl.transitions import Event, diff, next_baseline, settle

PER_TUNNEL = 100
EVENT_STYLES = {
    "tunnel_down": "bold red",
    "tunnel_up": "green",
    "rekey": "cyan",
    "one_way": "yellow",
    "errors_rising": "yellow",
    "action": "magenta",
    "unreachable": "red",
    "reachable": "green",
}


class Journal:
    """Per-tunnel events between the polls this dashboard saw (bounded per tunnel)."""

    def __init__(self, per_tunnel: int = PER_TUNNEL) -> None:
        self.per_tunnel = per_tunnel
        self._events: dict[str, deque[Event]] = {}
        self._baseline: dict[str, DeviceState] = {}
        self._ongoing: dict[str, dict[str, dict[str, Any]]] = {}

    def record(self, state: DeviceState) -> list[Event]:
        """Events of ``state`` against this device's previous poll (none for its first)."""
        base = self._baseline.get(state.device)
        if base is None:
            if state.reachable:
                self._baseline[state.device] = state
            return []
        events = diff(base, state)
        kept, self._ongoing[state.device] = settle(
            events, self._ongoing.get(state.device, {}), state
        )
        nxt = next_baseline(base, state)
        self._baseline[state.device] = state if nxt is None else nxt
        for ev in kept:
            if ev.tunnel:
                self._events.setdefault(ev.tunnel, deque(maxlen=self.per_tunnel)).append(ev)
        return kept

    def add(self, event: Event) -> None:
        """An event the dashboard made itself (an action's outcome)."""
        if event.tunnel:
            self._events.setdefault(event.tunnel, deque(maxlen=self.per_tunnel)).append(event)

    def action(self, when: datetime, plan: Any, result: Any, source: str) -> None:
        """An action's outcome on each tunnel it touched (the store records the same
        through the workflow when there is one)."""
        body = result.as_json()
        outcome = "ok" if result.ok else "failed"
        for t in getattr(plan, "tunnels", []):
            self.add(
                Event(
                    time=when,
                    device=plan.device,
                    peer=plan.peer,
                    vrf=plan.vrf,
                    tunnel=t.id,
                    event="action",
                    to=outcome,
                    detail={
                        "action": plan.action,
                        "outcome": outcome,
                        "spis": body.get("spis"),
                        "source": source,
                        "message": body.get("message"),
                    },
                )
            )

    def events(self, tunnel: str) -> list[Event]:
        return list(self._events.get(tunnel, ()))


def store_timeline(store: Any, tunnel: Tunnel, limit: int = 200) -> list[Event] | None:
    """The store's events for ``tunnel`` and the actions on its peer, oldest first; None
    when there is no store that keeps a timeline. Runs in a worker thread (a read)."""
    if store is None or not hasattr(store, "events"):
        return None
    by_tunnel = store.events([tunnel.device], tunnel=tunnel.id, limit=limit)
    actions = (
        store.events(
            [tunnel.device], peer=tunnel.peer, vrf=tunnel.vrf or "", kinds=["action"], limit=50
        )
        if tunnel.peer
        else []
    )
    merged = sorted([*by_tunnel, *actions], key=lambda e: e.time)
    return list(merged[-limit:])


def _spi_lines(spis: Any) -> list[str]:
    """``in OLD → NEW`` and ``out OLD → NEW``, one line per direction."""
    lines = []
    if isinstance(spis, dict):
        for direction in ("in", "out"):
            pair = spis.get(direction) or {}
            if pair.get("old") or pair.get("new"):
                lines.append(
                    f"{direction:3} {fmt_spis(pair.get('old', [])) or 'none'} → "
                    f"{fmt_spis(pair.get('new', [])) or 'none'}"
                )
    return lines


def _detail(ev: Event) -> list[str]:
    """What to say under an event, one fact a line (re-keys: one line per direction)."""
    d = ev.detail
    if ev.event == "rekey":
        return _spi_lines({k: d.get(k) for k in ("in", "out")})
    if ev.event == "action":
        text = f"{d.get('action', '?')} {d.get('outcome') or ev.to or ''}".rstrip()
        if d.get("source"):
            text += f" ({d['source']})"
        return [text, *_spi_lines(d.get("spis"))]
    if d.get("between_polls"):
        return ["between polls: " + ", ".join(d.get("evidence", []))]
    if ev.event == "one_way":
        what = f"{d.get('pkts_out', '?')} packets out, none in"
        return [f"ended; {what}" if d.get("ended") else what]
    if ev.event == "errors_rising":
        counters = d.get("counters") or {}
        return [
            ", ".join(
                f"{k} +{v.get('delta', '?')}" for k, v in counters.items() if isinstance(v, dict)
            )
        ]
    if ev.event == "tunnel_up" and d.get("spis"):
        return [f"{k:3} {fmt_spis(v) or 'none'}" for k, v in d["spis"].items()]
    return []


def render_history(events: Sequence[Event], *, source: str, now: datetime | None = None) -> Any:
    """Newest first: time, event and change on one line, the details below it."""
    if not events:
        return Text(f"no events for this tunnel yet ({source})", style="dim")
    parts: list[Any] = [Text(f"{len(events)} event(s), {source}", style="dim")]
    for ev in reversed(events):
        head = Text(no_wrap=True, overflow="ellipsis")
        head.append(ev.time.strftime("%m-%d %H:%M:%S "), style="dim")
        head.append(f"{ev.event:13}", style=EVENT_STYLES.get(ev.event, ""))
        if ev.from_ is not None or ev.to is not None:
            head.append(
                f" {ev.from_ if ev.from_ is not None else '-'} → "
                f"{ev.to if ev.to is not None else '-'}"
            )
        parts.append(head)
        for line in _detail(ev):
            parts.append(Text(f"               {line}"))
    return Group(*parts)
