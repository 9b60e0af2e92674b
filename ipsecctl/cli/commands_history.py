"""``ipsecctl history``: the timeline of tunnels as the history store recorded it.

Reads only: no device is polled. Exit 0 whenever the store could be read, whatever it shows
(a past flap is not a current problem; ``status`` and ``check`` say what is wrong now).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.markup import escape

from ipsecctl import errors
from ipsecctl.cli import render
from ipsecctl.cli.commands_views import JsonOpt, OutputOpt, TargetsArg, output_format
from ipsecctl.cli.context import AppContext, stderr
from ipsecctl.models import envelope
from ipsecctl.ops.formatting import fmt_duration

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
HEADER = ("time", "device", "peer", "vrf", "event", "from", "to", "tunnel", "detail")
HUMAN_HEADER = ("time (UTC)", "device", "peer", "vrf", "event", "from -> to", "detail")
_STYLE = {
    "tunnel_down": "red",
    "unreachable": "red",
    "errors_rising": "yellow",
    "one_way": "yellow",
    "tunnel_up": "green",
    "reachable": "green",
    "rekey": "cyan",
    "action": "magenta",
}


def parse_since(text: str, now: datetime | None = None) -> datetime | None:
    """``30m`` / ``24h`` / ``7d`` / ``2w`` before now, an ISO time (UTC unless it says
    otherwise), or ``all`` (None: no lower bound)."""
    now = now or datetime.now(UTC)
    if text.strip().lower() == "all":
        return None
    m = _DURATION.match(text)
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNIT_S[m.group(2).lower()])
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise errors.UsageError(
            f"--since {text!r}: use a duration (30m, 24h, 7d), an ISO time "
            "(2026-11-26T12:00Z) or all"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _devices(obj: AppContext, targets: Sequence[str]) -> list[str] | None:
    """Plain names are taken as they are (a device may have left the inventory since);
    ``group:``/``tag:`` selections are resolved with the inventory."""
    wanted = [t for t in targets if t != "all"]
    if not wanted:
        return None
    names: list[str] = []
    for t in wanted:
        if ":" in t:
            names += [h.name for h in obj.select([t])]
        else:
            names.append(t)
    return names


def _spis(values: Sequence[int]) -> str:
    return " ".join(f"0x{v:08X}" for v in values) or "-"


def describe(ev: Any) -> str:
    """One line of detail for people (the JSON keeps the structure)."""
    d = ev.detail
    if ev.event == "rekey":
        return "; ".join(
            f"{side} {_spis(d[side]['old'])} -> {_spis(d[side]['new'])}"
            for side in ("in", "out")
            if side in d
        )
    if ev.event in ("errors_rising",):
        parts = [f"{name} +{c['delta']}" for name, c in d.get("counters", {}).items()]
        prefix = f"ended (since {d['since']}): " if d.get("ended") else ""
        return prefix + ", ".join(parts)
    if ev.event == "one_way":
        if d.get("ended"):
            return f"ended (since {d['since']}): {d.get('pkts_out', 0)} pkts out, none in"
        return f"{d.get('pkts_out', 0)} pkts out, 0 in, in {d.get('interval_s', 0):.0f} s"
    if d.get("between_polls"):
        return "between polls: " + ", ".join(d.get("evidence", []))
    if ev.event == "tunnel_up" and "spis" in d:
        return f"in {_spis(d['spis']['in'])}; out {_spis(d['spis']['out'])}"
    if ev.event == "tunnel_added" and d.get("uptime_s") is not None:
        return f"first seen, up for {fmt_duration(d['uptime_s'])}"
    if ev.event == "unreachable":
        return "; ".join(d.get("errors", []))
    if ev.event == "action":
        bits = [str(d.get("action") or "action")]
        if d.get("new_spis"):
            bits.append(f"new SPIs {_spis(d['new_spis'])}")
        if d.get("user"):
            bits.append(f"by {d['user']}")
        return " ".join(bits)
    if ev.event == "tunnel_down" and d.get("ike_state"):
        return f"IKE {d['ike_state']}"
    return ""


def _value(v: Any) -> str:
    return "" if v is None else str(v)


def _human_rows(events: Sequence[Any]) -> list[list[Any]]:
    rows = []
    for ev in events:
        style = _STYLE.get(ev.event)
        name = f"[{style}]{ev.event}[/]" if style else ev.event
        change = (
            ""
            if ev.from_ is None and ev.to is None
            else (f"{_value(ev.from_) or '-'} -> {_value(ev.to) or '-'}")
        )
        rows.append(
            [
                ev.time.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                escape(ev.device),
                ev.peer or "",
                escape(ev.vrf or ""),
                name,
                escape(change),
                escape(describe(ev)),
            ]
        )
    return rows


def _csv_rows(events: Sequence[Any]) -> list[list[Any]]:
    return [
        [
            ev.line()["time"],
            ev.device,
            ev.peer,
            ev.vrf,
            ev.event,
            json.dumps(ev.from_) if not isinstance(ev.from_, str | None) else ev.from_,
            json.dumps(ev.to) if not isinstance(ev.to, str | None) else ev.to,
            ev.tunnel,
            json.dumps(ev.detail, separators=(",", ":")) if ev.detail else "",
        ]
        for ev in events
    ]


def register(app: typer.Typer) -> None:
    @app.command()
    def history(
        ctx: typer.Context,
        targets: TargetsArg = None,
        peer: Annotated[str | None, typer.Option("--peer", help="Only this peer.")] = None,
        vrf: Annotated[
            str | None,
            typer.Option("--vrf", help="Only this VRF ('global' for tunnels outside VRFs)."),
        ] = None,
        since: Annotated[
            str, typer.Option("--since", help="30m, 24h, 7d, an ISO time, or all.")
        ] = "24h",
        kind: Annotated[
            list[str] | None,
            typer.Option("--kind", help="Only these events (repeat): tunnel_down, rekey, ..."),
        ] = None,
        limit: Annotated[
            int | None, typer.Option("--limit", min=1, help="Only the most recent N events.")
        ] = None,
        store: Annotated[
            str | None,
            typer.Option(
                "--store",
                help="History store: a SQLite file or postgresql://... "
                "(default: the store setting, else the state directory's file).",
            ),
        ] = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
    ) -> None:
        """A timeline of tunnel events (up, down, rekeys, one-way, errors, actions) from the
        history store; no device is polled."""
        from ipsecctl.store import default_location, open_store, store_exists
        from ipsecctl.transitions import EVENT_KINDS

        fmt = output_format(output, as_json)
        obj: AppContext = ctx.obj
        start = parse_since(since)
        kinds = list(dict.fromkeys(kind or [])) or None
        for k in kinds or []:
            if k not in EVENT_KINDS:
                raise errors.UsageError(f"--kind {k!r}: choose from {', '.join(EVENT_KINDS)}")
        if peer is not None:
            try:
                peer = str(ipaddress.ip_address(peer))
            except ValueError:
                raise errors.UsageError(f"--peer {peer!r} is not an IP address") from None
        vrf_filter = "" if vrf is not None and vrf.lower() in ("global", "none", "") else vrf
        location = store or default_location(obj.settings)
        devices = _devices(obj, targets or [])
        if not store_exists(location):
            stderr().print(
                f"no history recorded yet: {escape(str(location))} does not exist. ipsecctl "
                "records every poll and action there as they happen (use --store for "
                "another location).",
                highlight=False,
            )
            if fmt == "table":
                return
            events: list[Any] = []
        else:
            with open_store(location) as db:
                events = db.events(
                    devices, peer=peer, vrf=vrf_filter, since=start, kinds=kinds, limit=limit
                )
        if fmt == "table" and not events:
            stderr().print(
                f"no events in {escape(str(location))} for this selection (since {escape(since)})",
                highlight=False,
            )
            return
        render.emit(
            fmt,
            lambda: envelope(
                "history",
                since=None if start is None else start.isoformat().replace("+00:00", "Z"),
                events=[ev.model_dump(mode="json", by_alias=True) for ev in events],
            ),
            lambda: (HEADER, _csv_rows(events)),
            lambda: _table(f"history since {since}" if start else "history", events),
        )


def _table(title: str, events: list[Any]) -> None:
    render.emit_table(title, HUMAN_HEADER, _human_rows(events))
