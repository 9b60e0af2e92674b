"""Read-only views: ``status``, ``tunnels``, ``ike`` and ``show``.

Each polls through the operations layer, decides faults with its one definition
(:mod:`ipsecctl.ops.faults`), and ends a table with one line saying why the exit code is what
it is. JSON and CSV come from :mod:`ipsecctl.ops.export`, as the dashboard's export does.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from ipsecctl import errors
from ipsecctl.cli import render
from ipsecctl.cli.context import AppContext, escape, stderr
from ipsecctl.cli.render import Col, esc, styled_state
from ipsecctl.diag.history import TunnelHistory
from ipsecctl.models import DeviceState, Tunnel
from ipsecctl.ops import export
from ipsecctl.ops.faults import Assessment, assess, problem_summary
from ipsecctl.ops.formatting import fmt_dh, fmt_duration, fmt_spis, fmt_ts

if TYPE_CHECKING:
    from inventory import Host
    from ipsecctl.ops.fleet import Fleet

TargetsArg = Annotated[
    list[str] | None,
    typer.Argument(
        help="Device names, group:NAME, tag:NAME or all (default).",
        show_default=False,
        metavar="TARGET",
    ),
]
OutputOpt = Annotated[
    str, typer.Option("-o", "--output", help="table | json | csv", metavar="FORMAT")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as -o json.")]


def output_format(output: str, as_json: bool) -> str:
    fmt = "json" if as_json else output
    if fmt not in render.FORMATS:
        raise errors.UsageError(f"-o {fmt!r}: choose one of {', '.join(render.FORMATS)}")
    return fmt


@dataclass(frozen=True)
class Polled:
    """One poll of a selection: what the devices said, their previous poll (the history
    store's, when recent), and the flaps the history saw. ``logs_unread``: the devices keep
    logs that this poll did not read, so the fault rules that rest on log lines (flaps, PSK
    and proposal errors, replay and SPI errors) had no evidence from them."""

    states: list[DeviceState]
    previous: list[DeviceState]
    history: Mapping[tuple[str, str, str | None], TunnelHistory]
    logs_unread: bool = False

    def assess(self) -> Assessment:
        return assess(self.states, self.previous, history=self.history)


def poll_targets(
    obj: AppContext,
    targets: list[str] | None,
    *,
    logs: bool = False,
    keep_raw: bool = False,
    extra_for: Callable[[Host], Sequence[str]] | None = None,
) -> Polled:
    """Poll the selection once (a progress bar on a terminal), or read it from the store
    the collectors write (``--from-store``: each state's ``extra.age_s`` says how old)."""
    if obj.from_store:
        stored = obj.stored_fleet(targets or [])
        try:
            states = stored.poll()
            return Polled(states, stored.previous_states(), stored.history())
        finally:
            stored.close()
    hosts = obj.select(targets or [])
    if not hosts:
        raise errors.UsageError("the selection matches no device")
    fleet = obj.fleet(hosts, logs=logs, keep_raw=keep_raw)
    try:
        states = poll_with_progress(obj, fleet, extra_for=extra_for)
        unread = not logs and any(fleet.keeps_logs(h) for h in hosts)
        return Polled(states, fleet.previous_states(), fleet.history(), logs_unread=unread)
    finally:
        fleet.close()


def poll_with_progress(
    obj: AppContext,
    fleet: Fleet,
    *,
    extra_for: Callable[[Host], Sequence[str]] | None = None,
) -> list[DeviceState]:
    """One poll of the whole fleet, with a progress bar when a person watches stderr."""
    if not (sys.stderr.isatty() and not obj.quiet):
        return fleet.poll(extra_for=extra_for)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=stderr(),
        transient=True,
    ) as bar:
        task = bar.add_task("", total=len(fleet.order))

        def advance(state: DeviceState) -> None:
            bar.update(task, advance=1, description=state.device)

        return fleet.poll(progress=advance, extra_for=extra_for)


def report_errors(states: Sequence[DeviceState]) -> None:
    console = stderr()
    for s in states:
        for e in s.errors:
            line = e.message if e.message.startswith(f"{s.device}:") else f"{s.device}: {e.message}"
            level = "[yellow]warning:[/]" if not e.fatal else "[red]error:[/]"
            console.print(f"{level} {escape(line)}", highlight=False)


def failed_devices(states: Sequence[DeviceState]) -> list[DeviceState]:
    """Devices whose poll failed (unknown lines alone are warnings, not failures)."""
    return [s for s in states if not s.reachable or any(e.fatal for e in s.errors)]


def exit_code(states: Sequence[DeviceState], assessment: Assessment) -> int:
    """1 when a device failed, else 3 when a tunnel has a fault, else 0."""
    if failed_devices(states):
        return errors.EXIT_OPERATIONAL
    if assessment.faults:
        return errors.EXIT_PROBLEM
    return errors.EXIT_OK


#: Said after a view's verdict when it read no device logs: ``tunnels --faults`` (and the
#: dashboard, ``diag health``, ``check``) read them, and may name a tunnel the view did not.
LOGS_UNREAD = "device logs not read: `tunnels --faults` reads them too"


def explain_exit(
    code: int, states: Sequence[DeviceState], assessment: Assessment, *, logs_unread: bool = False
) -> None:
    """The last line of a table view: why the exit code is what it is."""
    console = stderr()
    note = f" ({LOGS_UNREAD})" if logs_unread else ""
    if code == errors.EXIT_OPERATIONAL:
        bad = failed_devices(states)
        names = ", ".join(s.device for s in bad[:5]) + (" ..." if len(bad) > 5 else "")
        console.print(f"exit 1: {len(bad)} device(s) could not be polled: {names}", highlight=False)
        summary = problem_summary(states, assessment)
        if summary:
            console.print(f"  also: {escape(summary)}", highlight=False)
    elif code == errors.EXIT_PROBLEM:
        console.print(
            f"exit 3: {escape(problem_summary(states, assessment) or '')}{escape(note)}",
            highlight=False,
        )
    else:
        tunnels = sum(len(s.tunnels) for s in states)
        console.print(
            f"exit 0: {len(states)} device(s), {tunnels} tunnel(s), no fault{escape(note)}",
            highlight=False,
        )


def conclude(fmt: str, polled: Polled, assessment: Assessment) -> NoReturn:
    """End a view: its exit code, explained under a table."""
    code = exit_code(polled.states, assessment)
    if fmt == "table":
        explain_exit(code, polled.states, assessment, logs_unread=polled.logs_unread)
    raise typer.Exit(code)


STATUS_COLS = (
    Col("device", keep=True),
    Col("platform", 6),
    Col("reachable", keep=True),
    Col("IKE up", 2, justify="right"),
    Col("tunnels up", 1, justify="right"),
    Col("faults", 3, justify="right"),
    Col("error", 7, atom=False),
)
AGE_COL = Col("age", 2, justify="right")  # states read from the store (--from-store)


def status_rows(states: Sequence[DeviceState], assessment: Assessment) -> list[list[str]]:
    rows = []
    aged = any("age_s" in s.extra for s in states)
    for s in states:
        summary = s.summary()
        faults = sum(1 for t in s.tunnels if assessment.is_fault(t))
        err = "; ".join(e["message"] for e in summary["errors"])
        rows.append(
            [
                esc(s.device),
                esc(s.platform),
                "[green]yes[/]" if s.reachable else "[red]no[/]",
                f"{summary['ike_up']}/{summary['ike_total']}",
                f"{summary['tunnels_up']}/{summary['tunnels_total']}",
                f"[red]{faults}[/]" if faults else "0",
                esc(err),
            ]
        )
        if aged:
            age = s.extra.get("age_s")
            rows[-1].insert(3, fmt_duration(int(age)) if age is not None else "never")
    return rows


def status_cols(states: Sequence[DeviceState]) -> tuple[Col, ...]:
    if any("age_s" in s.extra for s in states):
        return (*STATUS_COLS[:3], AGE_COL, *STATUS_COLS[3:])
    return STATUS_COLS


TUNNEL_COLS = (
    Col("device", keep=True),
    Col("peer", keep=True),
    Col("vrf", 4),
    Col("local", 6),
    Col("remote", 6),
    Col("IKE", 3),
    Col("state", keep=True),
    Col("SPI in", 7),
    Col("SPI out", 7),
    Col("pkts in", 8, justify="right"),
    Col("pkts out", 8, justify="right"),
    Col("errors", 5, justify="right"),
    Col("uptime", 5, justify="right"),
    Col("fault", 2),
)


def _fault_cell(t: Tunnel, assessment: Assessment) -> str:
    reasons = assessment.reasons(t)
    if not reasons:
        return ""
    return "[red]" + esc(",".join(r.lower() for r in reasons)) + "[/]"


def tunnel_rows(tunnels: Sequence[Tunnel], assessment: Assessment) -> list[list[str]]:
    return [
        [
            esc(t.device),
            esc(t.peer),
            esc(t.vrf),
            esc(fmt_ts(t, "local")),
            esc(fmt_ts(t, "remote")),
            esc(t.ike_state),
            styled_state(t.state),
            fmt_spis(t.spis("in")),
            fmt_spis(t.spis("out")),
            esc(t.pkts_in),
            esc(t.pkts_out),
            str(t.error_count),
            fmt_duration(t.uptime_s),
            _fault_cell(t, assessment),
        ]
        for t in tunnels
    ]


IKE_COLS = (
    Col("device", keep=True),
    Col("version", 6),
    Col("local", 4),
    Col("remote", keep=True),
    Col("state", keep=True),
    Col("status", 1),
    Col("conn-id", 7),
    Col("encryption", 3),
    Col("integrity", 5),
    Col("DH", 5),
    Col("auth", 6),
    Col("life left", 4, justify="right"),
)


def register(app: typer.Typer) -> None:
    @app.command()
    def status(
        ctx: typer.Context,
        targets: TargetsArg = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
    ) -> int:
        """Per device: reachable, IKE SAs up/total, tunnels up/total, faults, errors."""
        fmt = output_format(output, as_json)
        polled = poll_targets(ctx.obj, targets)
        states, assessment = polled.states, polled.assess()

        def table() -> None:
            render.emit_table("fleet", status_cols(states), status_rows(states, assessment))
            report_errors(states)

        render.emit(
            fmt,
            lambda: export.status_doc(states),
            lambda: (export.STATUS_HEADER, export.status_rows(states)),
            table,
        )
        conclude(fmt, polled, assessment)

    @app.command()
    def tunnels(
        ctx: typer.Context,
        targets: TargetsArg = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
        faults: Annotated[
            bool,
            typer.Option(
                "--faults",
                help="Only tunnels with a fault: expected up and not up, one-way, "
                "errors rising, flapping, IKE stuck (the dashboard's f).",
            ),
        ] = False,
    ) -> int:
        """Every tunnel: peer, selectors, IKE state, tunnel state, SPIs, packets, errors."""
        fmt = output_format(output, as_json)
        # faults need the log evidence the dashboard and diag health read (flaps)
        polled = poll_targets(ctx.obj, targets, logs=faults)
        states, assessment = polled.states, polled.assess()
        chosen = [t for s in states for t in s.tunnels if not faults or assessment.is_fault(t)]

        def table() -> None:
            title = "tunnels with a fault" if faults else "tunnels"
            cols: tuple[Col, ...] = TUNNEL_COLS
            rows = tunnel_rows(chosen, assessment)
            if not any(t.vrf for t in chosen):  # no VRFs anywhere: save the column
                cols = tuple(c for c in cols if c.name != "vrf")
                rows = [r[:2] + r[3:] for r in rows]
            render.emit_table(title, cols, rows)
            report_errors(states)

        render.emit(
            fmt,
            lambda: export.tunnels_doc(states, chosen),
            lambda: (export.TUNNEL_HEADER, export.tunnel_rows(chosen)),
            table,
        )
        conclude(fmt, polled, assessment)

    @app.command()
    def ike(
        ctx: typer.Context,
        targets: TargetsArg = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
    ) -> int:
        """Every IKE SA (IKEv1 and IKEv2) with state, algorithms and lifetime."""
        fmt = output_format(output, as_json)
        polled = poll_targets(ctx.obj, targets)
        states, assessment = polled.states, polled.assess()
        sas = [sa for s in states for sa in s.ike_sas]

        def table() -> None:
            rows = [
                [
                    esc(sa.device),
                    f"v{sa.version}" if sa.version else "",
                    esc(sa.local or sa.src),
                    esc(sa.remote or sa.dst),
                    esc(sa.state),
                    styled_state(sa.status),
                    esc(sa.conn_id),
                    esc(sa.encryption or sa.extra.get("encryption_raw")),
                    esc(sa.integrity),
                    fmt_dh(sa.dh_group) if sa.dh_group else "",
                    esc(sa.auth),
                    fmt_duration(sa.remaining_s) if sa.remaining_s else "",
                ]
                for sa in sas
            ]
            render.emit_table("IKE SAs", IKE_COLS, rows)
            report_errors(states)

        render.emit(
            fmt,
            lambda: export.ike_doc(states),
            lambda: (export.IKE_HEADER, [export.ike_row(sa) for sa in sas]),
            table,
        )
        code = exit_code(states, assessment)
        if code == 0 and any(sa.status != "up" for sa in sas):
            code = errors.EXIT_PROBLEM
        if fmt == "table":
            if code == errors.EXIT_PROBLEM and not assessment.faults:
                down = [sa for sa in sas if sa.status != "up"]
                stderr().print(
                    f"exit 3: {len(down)} IKE SA(s) not up: "
                    + ", ".join(
                        f"{sa.device} -> {sa.peer_address()} ({sa.state})" for sa in down[:5]
                    ),
                    highlight=False,
                )
            else:
                explain_exit(code, states, assessment, logs_unread=polled.logs_unread)
        raise typer.Exit(code)

    @app.command()
    def show(
        ctx: typer.Context,
        device: Annotated[str, typer.Argument(help="Device name from the inventory.")],
        peer: Annotated[
            str | None, typer.Option("--peer", help="Only this peer.", metavar="IP")
        ] = None,
        output: OutputOpt = "table",
        as_json: JsonOpt = False,
        raw: Annotated[bool, typer.Option("--raw", help="Include raw outputs (JSON).")] = False,
    ) -> int:
        """Everything about one device, or one tunnel with --peer."""
        fmt = output_format(output, as_json)
        obj: AppContext = ctx.obj
        norm: str | None = None
        if peer:
            try:
                norm = str(ipaddress.ip_address(peer))
            except ValueError:
                raise errors.UsageError(f"--peer {peer!r} is not an IP address") from None
        polled = poll_targets(obj, [device], keep_raw=raw)
        states, assessment = polled.states, polled.assess()
        if norm:
            for s in states:
                known = sorted({t.peer for t in s.tunnels if t.peer})
                s.tunnels = [t for t in s.tunnels if t.peer == norm]
                s.ike_sas = [sa for sa in s.ike_sas if norm in (sa.remote, sa.src, sa.dst)]
                if s.reachable and not failed_devices([s]) and not s.tunnels and not s.ike_sas:
                    raise errors.UsageError(
                        f"{s.device} has no tunnel or IKE SA to peer {norm}"
                        + (f" (known peers: {', '.join(known)})" if known else "")
                    )

        def table() -> None:
            show_human(states, assessment)
            report_errors(states)

        render.emit(
            fmt,
            lambda: export.show_doc(states, raw=raw),
            lambda: (
                export.TUNNEL_HEADER,
                export.tunnel_rows([t for s in states for t in s.tunnels]),
            ),
            table,
        )
        conclude(fmt, polled, assessment)


def show_human(
    states: Sequence[DeviceState], assessment: Assessment | None = None, offline: bool = False
) -> None:
    console = render.stdout_console()
    for s in states:
        when = "" if offline else f" polled {s.polled_at:%H:%M:%S}Z"
        console.rule(f"[bold]{esc(s.device)}[/] ({esc(s.platform)}){when}")
        if s.ike_sas:
            rows = [
                [
                    esc(sa.device),
                    f"v{sa.version}" if sa.version else "",
                    esc(sa.local or sa.src),
                    esc(sa.remote or sa.dst),
                    esc(sa.state),
                    styled_state(sa.status),
                    esc(sa.conn_id),
                    esc(sa.encryption or sa.extra.get("encryption_raw")),
                    esc(sa.integrity),
                    fmt_dh(sa.dh_group) if sa.dh_group else "",
                    esc(sa.auth),
                    fmt_duration(sa.remaining_s) if sa.remaining_s else "",
                ]
                for sa in s.ike_sas
            ]
            render.emit_table("IKE SAs", IKE_COLS, rows, console=console)
        for t in s.tunnels:
            fault = ""
            if assessment is not None and assessment.is_fault(t):
                fault = "  [red]fault: " + esc(", ".join(assessment.reasons(t))) + "[/]"
            title = (
                f"{esc(t.peer)}{' vrf ' + esc(t.vrf) if t.vrf else ''}  "
                f"{esc(fmt_ts(t, 'local'))} <-> {esc(fmt_ts(t, 'remote'))}  "
                f"[{styled_state(t.state)}]{fault}"
            )
            cols = (
                Col("dir", keep=True),
                Col("proto", 5),
                Col("SPI", keep=True),
                Col("transform", 6, atom=False),
                Col("mode", 7),
                Col("NAT-T", 8),
                Col("kB left", 4, justify="right"),
                Col("s left", 3, justify="right"),
                Col("status", 9),
            )
            rows = [
                [
                    sa.direction,
                    sa.protocol,
                    sa.spi_hex,
                    esc(sa.transform),
                    esc(sa.mode),
                    "yes" if sa.udp_encap else "no",
                    esc(sa.remaining_kb),
                    esc(sa.remaining_s),
                    esc(sa.status),
                ]
                for sa in t.sas
            ]
            render.emit_table(title, cols, rows, console=console)
            counters = "  ".join(f"{k}={v}" for k, v in t.counters.items())
            console.print(
                f"  interface {esc(t.interface or '-')}  map {esc(t.crypto_map or '-')}"
                f"  IKE {esc(t.ike_state or '-')}  {esc(counters)}"
            )
