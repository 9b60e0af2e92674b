"""``ipsecctl diag``: why is a tunnel down (health, pair, logs, mtu).

Thin on purpose: read arguments, load files or poll devices, call the pure functions in
``ipsecctl.diag``, render. ``app`` is the Typer group that ``diag esp``, ``diag ike`` and
``diag probe`` join too.

Live forms poll through the operations layer (imported lazily, so the offline forms work
without the transport stack); ``diag health`` decides with :func:`ipsecctl.ops.faults.assess`,
the same rules ``tunnels --faults`` and the dashboard use.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from ipsecctl.cli.render import stdout_console
from ipsecctl.errors import (
    EXIT_OPERATIONAL,
    EXIT_PROBLEM,
    InputFileError,
    IpsecctlError,
    UsageError,
)
from ipsecctl.models import SEVERITY_ORDER, DeviceState, Finding, dump, envelope

if TYPE_CHECKING:
    from ipsecctl.cli.commands_views import Polled

app = typer.Typer(help="Diagnose why a tunnel is down.", no_args_is_help=True)

_SEV_STYLE = {"info": "cyan", "warning": "yellow", "error": "red", "critical": "bold red"}


# ---------------------------------------------------------------------------------------------
# shared helpers (also used by audit_cmd)


def fail(err: IpsecctlError) -> NoReturn:
    """One line on stderr, the error's exit code; never a traceback."""
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(err.exit_code)


def guarded(fn: Callable[[], int]) -> None:
    """Run a command body, turning deliberate errors into their exit codes."""
    try:
        code = fn()
    except IpsecctlError as err:
        fail(err)
    raise typer.Exit(code)


def emit_json(doc: dict[str, Any]) -> None:
    typer.echo(json.dumps(doc, indent=2, default=str))


def read_text(path: str, what: str) -> str:
    """Read a file (``-`` = stdin) or raise InputFileError naming it."""
    if path == "-":
        return sys.stdin.read()
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise InputFileError(f"cannot read {what} {path}: {reason}") from None


def load_snapshot(path: str) -> list[DeviceState]:
    """Devices from ``ipsecctl show --json`` (or a bare list / one DeviceState)."""
    text = read_text(path, "snapshot")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"snapshot {path} is not JSON (line {exc.lineno}): give 'ipsecctl show --json' output"
        ) from None
    items: Any
    if isinstance(doc, dict) and "devices" in doc:
        items = doc["devices"]
    elif isinstance(doc, dict):
        items = [doc]
    else:
        items = doc
    if not isinstance(items, list):
        raise InputFileError(f"snapshot {path} has no device list")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(DeviceState.model_validate(item))
        except Exception as exc:  # pydantic.ValidationError; message names the field
            first = str(exc).splitlines()
            detail = " ".join(first[1:3]) if len(first) > 2 else str(exc)
            raise InputFileError(
                f"snapshot {path}: device #{i + 1} is not valid: {detail}"
            ) from None
    return out


def diag_commands(platform: str) -> list[str]:
    """The platform's ``logs`` and on-demand ``diag`` commands (configuration): data, not
    code."""
    from ipsecctl.platforms import get_platform

    p = get_platform(platform)
    return list(dict.fromkeys([*p.collect.get("logs", []), *p.collect.get("diag", [])]))


def poll_diag(
    ctx: typer.Context,
    targets: list[str] | None,
    also: tuple[str, ...] = (),
    *,
    twice: bool = False,
    interval: float = 0.0,
) -> Polled:
    """Poll ``targets`` (all when empty) with each platform's logs and ``diag`` commands.

    With ``twice``, the fleet is polled twice ``interval`` seconds apart (movement rules);
    otherwise the previous poll is the history store's, when recent. Results keep the
    inventory's order.
    """
    import time

    from ipsecctl.cli.commands_views import Polled, poll_with_progress

    hosts = ctx.obj.select(targets or [])
    if not hosts:
        raise UsageError("the selection matches no device")

    def extra_for(host: Any) -> list[str]:
        return list(dict.fromkeys([*diag_commands(host.platform or ""), *also]))

    fleet = ctx.obj.fleet(hosts, logs=True)
    try:
        if twice:
            poll_with_progress(ctx.obj, fleet, extra_for=extra_for)
            time.sleep(interval)
        current = poll_with_progress(ctx.obj, fleet, extra_for=extra_for)
        return Polled(current, fleet.previous_states(), fleet.history())
    finally:
        fleet.close()


def poll_failed(states: list[DeviceState], optional: tuple[str, ...] = ()) -> list[str]:
    """Devices that could not be polled completely, one line each (exit 1 when any).

    A command in ``optional`` that the device rejects (no PKI on a router, say) is not a
    failure: the rest of the diagnosis stands without it.
    """
    out = []
    for st in states:
        errs = [
            e
            for e in st.errors
            if not (e.command in optional and e.kind in ("rejected", "unavailable"))
        ]
        if not st.reachable or errs:
            why = "; ".join(f"{e.command or 'connect'}: {e.message}" for e in errs)
            out.append(f"{st.device}: {why or 'unreachable'}")
    return out


def report_failed(lines: list[str]) -> None:
    for line in lines:
        typer.echo(f"error: {line}", err=True)


def render_findings(findings: list[Finding], console: Console) -> None:
    if not findings:
        console.print("[green]no findings[/green]")
        return
    table = Table(show_lines=True)
    for col in ("severity", "code", "device", "peer", "summary / next steps"):
        table.add_column(col, overflow="fold", no_wrap=col == "code")
    for f in findings:
        body = f.summary
        if f.evidence:
            body += "\n[dim]" + "\n".join(f.evidence[:4]) + "[/dim]"
        if f.next_steps:
            body += "\n" + "\n".join(f"> {s}" for s in f.next_steps[:4])
        table.add_row(
            f"[{_SEV_STYLE[f.severity]}]{f.severity}[/]", f.code, f.device or "", f.peer or "", body
        )
    console.print(table)


def exit_for(findings: list[Finding]) -> int:
    return EXIT_PROBLEM if any(SEVERITY_ORDER[f.severity] >= 1 for f in findings) else 0


# ---------------------------------------------------------------------------------------------
# health


@app.command()
def health(
    ctx: typer.Context,
    targets: Annotated[
        list[str] | None, typer.Argument(help="devices or groups to poll (default: all)")
    ] = None,
    snapshot: Annotated[
        str | None, typer.Option("--snapshot", help="'ipsecctl show --json' output (offline)")
    ] = None,
    previous: Annotated[
        str | None, typer.Option("--previous", help="an earlier snapshot, for movement rules")
    ] = None,
    interval: Annotated[
        float, typer.Option("--interval", help="live: seconds between the two polls", min=0.0)
    ] = 3.0,
    once: Annotated[
        bool, typer.Option("--once", help="live: one poll only (no movement rules)")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON envelope")] = False,
) -> None:
    """Health rules over two polls (or saved snapshots); exit 3 on a warning or worse.

    Live, the devices are polled twice, --interval seconds apart, because one-way traffic,
    growing error counters and flaps are movement that one poll cannot show; each poll also
    reads the device's logs and configuration for evidence.
    """

    def body() -> int:
        from ipsecctl.ops.faults import assess

        prev: list[DeviceState] | None = load_snapshot(previous) if previous else None
        failed: list[str] = []
        history = None
        if snapshot:
            if targets:
                raise UsageError("give TARGETS to poll or --snapshot FILE, not both")
            current = load_snapshot(snapshot)
        else:
            polled = poll_diag(ctx, targets, twice=prev is None and not once, interval=interval)
            current, history = polled.states, polled.history
            prev = prev or polled.previous or None
            failed = poll_failed(current)
        findings = assess(current, prev, history=history).findings
        if as_json:
            emit_json(
                envelope(
                    "diag health",
                    findings=[dump(f) for f in findings],
                    devices=[d.summary() for d in current],
                )
            )
        else:
            render_findings(findings, stdout_console())
        report_failed(failed)
        return EXIT_OPERATIONAL if failed else exit_for(findings)

    guarded(body)


# ---------------------------------------------------------------------------------------------
# logs


@app.command()
def logs(
    ctx: typer.Context,
    file: Annotated[str | None, typer.Argument(help="log/debug file, or - for stdin")] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="read 'show logging' from this device")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON envelope")] = False,
) -> None:
    """Recognise %CRYPTO/%IKEV2/ASA syslog and debug lines; timeline per peer."""

    def body() -> int:
        from ipsecctl.diag.logs import analyse

        if device and file:
            raise UsageError("give a log FILE or --device D, not both")
        if device:
            states = poll_diag(ctx, [device]).states
            raw = (states[0].raw or {}) if states else {}
            text = raw.get("show logging")
            if text is None:
                why = "; ".join(poll_failed(states)) or "no 'show logging' in its log commands"
                raise IpsecctlError(f"device {device}: no log read ({why})")
            source = f"{device}: show logging"
        elif file:
            text = read_text(file, "log file")
            source = file
        else:
            raise UsageError("give a log FILE (or -) or --device D")
        if not text.strip():
            raise InputFileError(f"log {source} is empty: nothing to analyse")
        report = analyse(text)
        if as_json:
            emit_json(
                envelope(
                    "diag logs",
                    source=source,
                    events=[e.as_dict() for e in report.events],
                    peers=report.peers(),
                )
            )
        else:
            _render_logs(report, source)
        return EXIT_PROBLEM if report.has_errors() else 0

    guarded(body)


def _render_logs(report: Any, source: str) -> None:
    console = stdout_console()
    known = [e for e in report.events if e.code]
    console.print(
        f"[bold]{source}[/bold]: {len(known)} recognised, "
        f"{len(report.events) - len(known)} unrecognised IPsec lines"
    )

    def table_of(title: str, rows: list[dict[str, Any]]) -> Table:
        # The same columns for every table: what happened, what it means, what to type.
        table = Table(title=title)
        for col in ("line", "time", "severity", "code", "meaning", "fix"):
            table.add_column(col, overflow="fold", no_wrap=col == "code")
        for it in rows:
            sev = it["severity"] or ""
            table.add_row(
                str(it["line"]),
                it["time"] or "",
                f"[{_SEV_STYLE.get(sev, '')}]{sev}[/]" if sev else "",
                it["code"],
                it["summary"] or "",
                it["fix"] or "",
            )
        return table

    for peer, items in report.peers().items():
        console.print(table_of(f"peer {peer}", items))
    rest = [e.as_dict() for e in known if not e.peer]
    if rest:
        console.print(table_of("no peer on the line", rest))


# ---------------------------------------------------------------------------------------------
# mtu


@app.command()
def mtu(
    transform: Annotated[
        str, typer.Option("--transform", "-t", help="e.g. 'esp-aes 256 esp-sha-hmac', aes256gcm16")
    ],
    mode: Annotated[str, typer.Option("--mode", help="tunnel | transport")] = "tunnel",
    nat_t: Annotated[bool, typer.Option("--nat-t", help="UDP 4500 encapsulation")] = False,
    gre: Annotated[bool, typer.Option("--gre", help="GRE inside IPsec")] = False,
    ipv6: Annotated[bool, typer.Option("--ipv6", help="IPv6 outer header")] = False,
    path_mtu: Annotated[int, typer.Option("--path-mtu", help="outer path MTU")] = 1500,
    as_json: Annotated[bool, typer.Option("--json", help="JSON envelope")] = False,
) -> None:
    """IPsec overhead, the router's 'plaintext mtu', and the ip mtu / tcp mss to configure."""

    def body() -> int:
        from ipsecctl.diag.mtu import compute

        if mode not in ("tunnel", "transport"):
            raise UsageError(f"--mode {mode!r}: use tunnel or transport")
        r = compute(
            transform,
            mode=mode,  # type: ignore[arg-type]
            nat_t=nat_t,
            gre=gre,
            ipv6=ipv6,
            path_mtu=path_mtu,
        )
        if as_json:
            emit_json(envelope("diag mtu", **r.as_dict()))
            return 0
        table = Table(
            title=f"{r.transform} ({r.mode}{', NAT-T' if nat_t else ''}"
            f"{', GRE' if gre else ''}{', IPv6' if ipv6 else ''})"
        )
        table.add_column("value")
        table.add_column("bytes", justify="right")
        table.add_row("path mtu", str(r.path_mtu))
        table.add_row("overhead (min..max)", f"{r.overhead_min}..{r.overhead_max}")
        table.add_row("plaintext mtu (as IOS prints it)", str(r.plaintext_mtu))
        table.add_row("ip mtu for the tunnel interface", str(r.ip_mtu))
        table.add_row("ip tcp adjust-mss", str(r.tcp_mss))
        stdout_console().print(table)
        return 0

    guarded(body)


# ---------------------------------------------------------------------------------------------
# pair


@app.command()
def pair(
    ctx: typer.Context,
    device_a: Annotated[str | None, typer.Argument(help="first device (live)")] = None,
    device_b: Annotated[str | None, typer.Argument(help="second device (live)")] = None,
    config_a: Annotated[
        str | None, typer.Option("--config-a", help="running-config of side A (offline)")
    ] = None,
    config_b: Annotated[
        str | None, typer.Option("--config-b", help="running-config of side B (offline)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON envelope")] = False,
) -> None:
    """Predict whether two ends can build their tunnel, both directions; exit 3 when not."""

    def body() -> int:
        from ipsecctl.diag.config import parse_config
        from ipsecctl.diag.pair import check_pair, render_pair

        if config_a and config_b:
            name_a, name_b = device_a or "A", device_b or "B"
            text_a = read_text(config_a, "config")
            text_b = read_text(config_b, "config")
            src_a, src_b = config_a, config_b
        elif device_a and device_b:
            if config_a or config_b:
                raise UsageError("give DEVICE_A DEVICE_B or --config-a/--config-b, not both")
            states = poll_diag(ctx, [device_a, device_b]).states
            by_name = {s.device: s for s in states}
            texts = []
            for name in (device_a, device_b):
                st = by_name.get(name)
                txt = (st.raw or {}).get("show running-config") if st else None
                if not txt:
                    why = "; ".join(poll_failed([st])) if st else "not in the inventory"
                    raise IpsecctlError(
                        f"device {name}: no running-config read ({why or 'empty output'})"
                    )
                texts.append(txt)
            text_a, text_b = texts
            name_a, name_b = device_a, device_b
            src_a, src_b = f"{device_a}: show running-config", f"{device_b}: show running-config"
        else:
            raise UsageError("give DEVICE_A DEVICE_B, or --config-a FILE --config-b FILE")
        cfg_a = parse_config(text_a, source=src_a)
        cfg_b = parse_config(text_b, source=src_b)
        result = check_pair(cfg_a, cfg_b, name_a=name_a, name_b=name_b)
        if as_json:
            emit_json(envelope("diag pair", **result))
        else:
            render_pair(result, stdout_console())
        return 0 if result["verdict"] == "ok" else EXIT_PROBLEM

    guarded(body)
