"""Read-only views: ``status``, ``tunnels``, ``ike`` and ``show``."""

from __future__ import annotations

import ipaddress
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ipsecctl import errors
from ipsecctl.cli import render
from ipsecctl.cli.context import AppContext, stderr
from ipsecctl.models import DeviceState, dump

TargetsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Device names, group:NAME, tag:NAME or all (default).", show_default=False),
]
OutputOpt = Annotated[
    str, typer.Option("-o", "--output", help="table | json | csv", show_default=True)
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as -o json.")]


def output_format(output: str, as_json: bool) -> str:
    fmt = "json" if as_json else output
    if fmt not in render.FORMATS:
        raise errors.UsageError(f"-o {fmt!r}: choose one of {', '.join(render.FORMATS)}")
    return fmt


def poll_targets(
    obj: AppContext, targets: list[str] | None, commands: list[str] | None = None
) -> list[DeviceState]:
    """Select hosts and poll them with a progress bar on a terminal; errors stay per device."""
    hosts = obj.select(targets or [])
    if not hosts:
        raise errors.UsageError("the selection matches no device")
    with obj.collector(extra_commands=commands) as collector:
        collector.keep_raw = collector.keep_raw or bool(commands)
        if sys.stderr.isatty() and not obj.quiet:
            with Progress(
                TextColumn("polling"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}"), console=stderr(), transient=True,
            ) as progress:
                task = progress.add_task("", total=len(hosts))

                def advance(state: DeviceState) -> None:
                    progress.update(task, advance=1, description=state.device)

                states = collector.poll(hosts, progress=advance)
        else:
            states = collector.poll(hosts)
    return states


def report_errors(states: list[DeviceState]) -> None:
    console = stderr()
    for line in render.device_errors(states):
        # escape: device errors carry brackets ("ipsecctl[legacy]") that are not markup
        console.print(f"[red]error:[/] {escape(line)}", highlight=False, markup=True)


def exit_code(states: list[DeviceState]) -> int:
    """1 when a device failed (lines a parser left out are warnings, not failures), else 3
    when a tunnel that should be up is not, else 0."""
    if any(not s.reachable or any(e.kind != "parse_warning" for e in s.errors) for s in states):
        return errors.EXIT_OPERATIONAL
    for s in states:
        for t in s.tunnels:
            if t.state in ("down", "negotiating") and t.expected_up is not False:
                return errors.EXIT_PROBLEM
    return errors.EXIT_OK


def register(app: typer.Typer) -> None:
    @app.command()
    def status(
        ctx: typer.Context,
        targets: TargetsArg = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
    ) -> int:
        """Per device: reachable, IKE SAs up/total, tunnels up/total, errors."""
        fmt = output_format(output, as_json)
        states = poll_targets(ctx.obj, targets)
        render.emit(
            fmt, "status", lambda: {"devices": [s.summary() for s in states]},
            csv=lambda: (render.STATUS_HEADER, render.status_rows(states, human=False)),
            table=lambda: ("fleet", render.STATUS_HUMAN_HEADER,
                           render.status_rows(states, human=True)),
        )
        if fmt == "table":
            report_errors(states)
        raise typer.Exit(exit_code(states))

    @app.command()
    def tunnels(
        ctx: typer.Context,
        targets: TargetsArg = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
        faults: Annotated[bool, typer.Option("--faults", help="Only tunnels not up.")] = False,
    ) -> int:
        """Every tunnel: peer, selectors, IKE state, tunnel state, SPIs, packets, errors."""
        fmt = output_format(output, as_json)
        states = poll_targets(ctx.obj, targets)
        if faults:
            for s in states:
                s.tunnels = [t for t in s.tunnels if t.state != "up"]
        def table() -> tuple[str, list[str], list[list[Any]]]:
            rows = [r[:-2] for r in render.tunnel_rows(states, human=True)]
            header = list(render.HUMAN_TUNNEL_HEADER)
            if not any(r[2] for r in rows):  # no VRFs anywhere: save the column
                header.pop(2)
                rows = [r[:2] + r[3:] for r in rows]
            return "tunnels", header, rows

        render.emit(
            fmt, "tunnels",
            lambda: {"tunnels": [dump(t) for s in states for t in s.tunnels],
                     "devices": [s.summary() for s in states]},
            csv=lambda: (render.TUNNEL_HEADER, render.tunnel_rows(states, human=False)),
            table=table,
        )
        if fmt == "table":
            report_errors(states)
        raise typer.Exit(exit_code(states))

    @app.command()
    def ike(
        ctx: typer.Context,
        targets: TargetsArg = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
    ) -> int:
        """Every IKE SA (IKEv1 and IKEv2) with state, algorithms and lifetime."""
        fmt = output_format(output, as_json)
        states = poll_targets(ctx.obj, targets)
        render.emit(
            fmt, "ike",
            lambda: {"ike_sas": [dump(sa) for sa in render.all_ike(states)],
                     "devices": [s.summary() for s in states]},
            csv=lambda: (render.IKE_HEADER, render.ike_rows(states, human=False)),
            table=lambda: ("IKE SAs", render.IKE_HEADER, render.ike_rows(states, human=True)),
        )
        if fmt == "table":
            report_errors(states)
        code = exit_code(states)
        if code == 0 and any(sa.status != "up" for sa in render.all_ike(states)):
            code = errors.EXIT_PROBLEM
        raise typer.Exit(code)

    @app.command()
    def show(
        ctx: typer.Context,
        device: Annotated[str, typer.Argument(help="Device name from the inventory.")],
        peer: Annotated[str | None, typer.Option("--peer", help="Only this peer.")] = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
        raw: Annotated[bool, typer.Option("--raw", help="Include raw outputs (JSON).")] = False,
    ) -> int:
        """Everything about one device, or one tunnel with --peer."""
        fmt = output_format(output, as_json)
        obj: AppContext = ctx.obj
        hosts = obj.select([device])
        with obj.collector() as collector:
            collector.keep_raw = raw or collector.keep_raw
            states = collector.poll(hosts)
        if peer:
            try:
                wanted = ipaddress.ip_address(peer)
            except ValueError:
                raise errors.UsageError(f"--peer {peer!r} is not an IP address") from None
            norm = str(wanted)
            for s in states:
                known = sorted({t.peer for t in s.tunnels if t.peer})
                s.tunnels = [t for t in s.tunnels if t.peer == norm]
                s.ike_sas = [sa for sa in s.ike_sas if norm in (sa.remote, sa.src, sa.dst)]
                if s.reachable and not s.errors and not s.tunnels and not s.ike_sas:
                    raise errors.UsageError(
                        f"{s.device} has no tunnel or IKE SA to peer {norm}"
                        + (f" (known peers: {', '.join(known)})" if known else "")
                    )
        if fmt == "json":
            render.emit_json("show", devices=[dump(s) for s in states])
        elif fmt == "csv":
            render.emit_csv(render.TUNNEL_HEADER, render.tunnel_rows(states, human=False))
        else:
            _show_human(states)
            report_errors(states)
        raise typer.Exit(exit_code(states))


def _show_human(states: list[DeviceState], offline: bool = False) -> None:
    from rich.table import Table

    console = render.stdout_console()
    for s in states:
        when = "" if offline else f" polled {s.polled_at:%H:%M:%S}Z"
        console.rule(f"[bold]{s.device}[/] ({s.platform}){when}")
        if s.ike_sas:
            render.emit_table("IKE SAs", render.IKE_HEADER, render.ike_rows([s], human=True))
        for t in s.tunnels:
            table = Table(title=f"{t.peer} {render.fmt_ts(t, 'local')} <-> "
                          f"{render.fmt_ts(t, 'remote')}  [{render.styled_state(t.state)}]",
                          show_header=True, header_style="bold")
            for col in ("dir", "proto", "SPI", "transform", "mode", "NAT-T", "kB left",
                        "s left", "status"):
                table.add_column(col)
            for sa in t.sas:
                table.add_row(sa.direction, sa.protocol, sa.spi_hex, sa.transform or "",
                              sa.mode or "", "yes" if sa.udp_encap else "no",
                              _s(sa.remaining_kb), _s(sa.remaining_s), sa.status or "")
            console.print(table)
            counters = "  ".join(f"{k}={v}" for k, v in t.counters.items())
            console.print(f"  interface {t.interface or '-'}  map {t.crypto_map or '-'}  "
                          f"IKE {t.ike_state or '-'}  {counters}", highlight=False)


def _s(value: Any) -> str:
    return "" if value is None else str(value)
