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

from rich.table import Table
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


def _detail(ev: Event) -> str:
    d = ev.detail
    if ev.event == "rekey":
        parts = []
        for direction in ("in", "out"):
            spis = d.get(direction) or {}
            old = fmt_spis(spis.get("old", [])) or "none"
            new = fmt_spis(spis.get("new", [])) or "none"
            parts.append(f"{direction} {old} → {new}")
        return "; ".join(parts)
    if ev.event == "action":
        text = f"{d.get('action', '?')} {d.get('outcome') or ev.to or ''}".rstrip()
        if d.get("source"):
            text += f" ({d['source']})"
        for key in ("new_by_direction", "new_spis_by_direction"):
            if isinstance(d.get(key), dict):
                text += "; new " + "; ".join(f"{k} {fmt_spis(v)}" for k, v in d[key].items())
                break
        return text
    if d.get("between_polls"):
        return "between polls: " + ", ".join(d.get("evidence", []))
    if ev.event == "one_way":
        if d.get("ended"):
            return f"ended; {d.get('pkts_out', '?')} packets out, none in"
        return f"{d.get('pkts_out', '?')} packets out, none in"
    if ev.event == "errors_rising":
        counters = d.get("counters") or {}
        return ", ".join(
            f"{k} +{v.get('delta', '?')}" for k, v in counters.items() if isinstance(v, dict)
        )
    if ev.event == "tunnel_up" and d.get("spis"):
        spis = d["spis"]
        return "; ".join(f"{k} {fmt_spis(v) or 'none'}" for k, v in spis.items())
    return ""


def render_history(events: Sequence[Event], *, source: str, now: datetime | None = None) -> Any:
    """Newest first: time, event, from → to, detail (re-keys as in/out old → new SPIs)."""
    if not events:
        return Text(f"no events for this tunnel yet ({source})", style="dim")
    table = Table(
        box=None,
        pad_edge=False,
        header_style="bold",
        expand=False,
        title=f"{len(events)} event(s), {source}",
        title_justify="left",
        title_style="dim",
    )
    table.add_column("time", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("change", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for ev in reversed(events):
        stamp = ev.time.strftime("%m-%d %H:%M:%S")
        change = ""
        if ev.from_ is not None or ev.to is not None:
            change = (
                f"{ev.from_ if ev.from_ is not None else '-'} → "
                f"{ev.to if ev.to is not None else '-'}"
            )
        table.add_row(
            stamp, Text(ev.event, style=EVENT_STYLES.get(ev.event, "")), change, _detail(ev)
        )
    return table
