"""Output for people (rich tables) and for scripts (JSON, CSV): data on stdout only.

Tables are for people and may change; JSON and CSV are the contract (README, schema test).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ipsecctl.models import DeviceState, IkeSa, Tunnel, envelope

FORMATS = ("table", "json", "csv")

_STATE_STYLE = {
    "up": "green",
    "down": "red",
    "negotiating": "yellow",
    "idle": "dim",
}


def stdout_console(width: int | None = None) -> Console:
    """The one console for data on stdout (no emoji codes: ``fd6c:ab::4`` is an address).

    Piped tables keep whole rows (people page them with less); scripts use json/csv.
    """
    if width is None and not sys.stdout.isatty():
        width = 220
    return Console(soft_wrap=False, width=width, emoji=False)


def emit_json(kind: str, **payload: Any) -> None:
    sys.stdout.write(json.dumps(envelope(kind, **payload), indent=2, default=str) + "\n")


def emit_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    sys.stdout.write(buf.getvalue())


def _csv_value(value: Any) -> Any:
    """CSV speaks like the JSON: ``true``/``false``, empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def emit_table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, header_style="bold", expand=False)
    for col in header:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    stdout_console().print(table)


def styled_state(state: str | None) -> str:
    if not state:
        return ""
    style = _STATE_STYLE.get(state)
    return f"[{style}]{state}[/]" if style else state


def fmt_spis(spis: Iterable[int]) -> str:
    return " ".join(f"0x{s:08X}" for s in spis)


def fmt_ts(t: Tunnel, side: str) -> str:
    ts = t.local_ts if side == "local" else t.remote_ts
    return str(ts) if ts else ""


def fmt_duration(seconds: int | None) -> str:
    """IOS-style ``1d02h`` / ``03:12:45``: what operators read on the devices themselves."""
    if seconds is None:
        return ""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{days}d{hours:02d}h" if days else f"{hours:02d}:{minutes:02d}:{secs:02d}"


# -- views ------------------------------------------------------------------------------------

STATUS_HEADER = ("device", "platform", "reachable", "ike_up", "ike_total", "tunnels_up",
                 "tunnels_total", "errors")


STATUS_HUMAN_HEADER = ("device", "platform", "reachable", "IKE up", "tunnels up", "error")


def status_rows(states: Sequence[DeviceState], human: bool) -> list[list[Any]]:
    rows = []
    for s in states:
        summary = s.summary()
        err = "; ".join(e["message"] for e in summary["errors"])
        if human:
            err = escape(err)  # `ipsecctl[legacy]` is advice, not markup
            rows.append([
                s.device, s.platform,
                "[green]yes[/]" if s.reachable else "[red]no[/]",
                f"{summary['ike_up']}/{summary['ike_total']}",
                f"{summary['tunnels_up']}/{summary['tunnels_total']}", err,
            ])
        else:
            rows.append([summary[k] if k != "errors" else err for k in STATUS_HEADER])
    return rows


TUNNEL_HEADER = ("device", "peer", "vrf", "local_ts", "remote_ts", "ike_state", "state",
                 "spi_in", "spi_out", "pkts_in", "pkts_out", "errors", "uptime_s", "expected_up",
                 "id")
HUMAN_TUNNEL_HEADER = ("device", "peer", "vrf", "local", "remote", "IKE", "state", "SPI in",
                       "SPI out", "pkts in", "pkts out", "errors", "uptime")


def tunnel_rows(states: Sequence[DeviceState], human: bool) -> list[list[Any]]:
    rows = []
    for s in states:
        for t in s.tunnels:
            rows.append([
                t.device, t.peer, t.vrf, fmt_ts(t, "local"), fmt_ts(t, "remote"), t.ike_state,
                styled_state(t.state) if human else t.state,
                *((fmt_spis(t.spis("in")), fmt_spis(t.spis("out"))) if human else
                  (" ".join(map(str, t.spis("in"))), " ".join(map(str, t.spis("out"))))),
                t.pkts_in, t.pkts_out, t.error_count,
                fmt_duration(t.uptime_s) if human else t.uptime_s, t.expected_up, t.id,
            ])
    return rows


IKE_HEADER = ("device", "version", "local", "remote", "src", "dst", "state", "status",
              "conn_id", "encryption", "integrity", "dh_group", "auth", "remaining_s")


def ike_rows(states: Sequence[DeviceState], human: bool) -> list[list[Any]]:
    rows = []
    for s in states:
        for sa in s.ike_sas:
            row = [getattr(sa, k) for k in IKE_HEADER]
            if human:
                row[7] = styled_state(sa.status)
            rows.append(row)
    return rows


def emit(
    fmt: str,
    kind: str,
    payload: Callable[[], dict[str, Any]],
    csv: Callable[[], tuple[Sequence[str], Iterable[Sequence[Any]]]],
    table: Callable[[], tuple[str, Sequence[str], Iterable[Sequence[Any]]]],
) -> None:
    """One view in the chosen format: JSON envelope, CSV for scripts, a table for people.

    The three forms are callables so only the chosen one is built (10,000 tunnels)."""
    if fmt == "json":
        emit_json(kind, **payload())
    elif fmt == "csv":
        emit_csv(*csv())
    else:
        emit_table(*table())


def device_errors(states: Sequence[DeviceState]) -> list[str]:
    """One line per error, prefixed with the device unless the message already names it."""
    return [
        e.message if e.message.startswith(f"{s.device}:") else f"{s.device}: {e.message}"
        for s in states
        for e in s.errors
    ]


def all_ike(states: Sequence[DeviceState]) -> list[IkeSa]:
    return [sa for s in states for sa in s.ike_sas]


def all_tunnels(states: Sequence[DeviceState]) -> list[Tunnel]:
    return [t for s in states for t in s.tunnels]
