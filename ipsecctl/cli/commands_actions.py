"""Destructive actions: ``clear`` and ``rekey`` (plan shown first, confirmed, audited)."""

from __future__ import annotations

import ipaddress
import json
import re
import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from ipsecctl import actions, errors
from ipsecctl.cli import render
from ipsecctl.cli.context import AppContext, is_interactive, stderr
from ipsecctl.models import envelope

PeerOpt = Annotated[
    list[str],
    typer.Option("--peer", help="Peer address (repeat for several peers).", show_default=False),
]
VrfOpt = Annotated[str | None, typer.Option("--vrf", help="Front-door VRF of the peer.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="Print the commands and stop.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON result on stdout.")]
ReadOnlyOpt = Annotated[bool, typer.Option("--read-only", help="Refuse (same as global).")]


def audit_record(obj: AppContext, record: dict[str, Any]) -> None:
    """Append to the audit log; failing to audit is reported, never silently skipped."""
    from ipsecctl.audit import append_audit

    try:
        append_audit(obj.settings.audit_log, record)
    except OSError as exc:
        stderr().print(f"[red]error:[/] cannot write the audit log: {escape(str(exc))}")


def confirm(obj: AppContext, plans: list[actions.Plan], yes: bool, dry_run: bool) -> None:
    """Show the exact commands; raise RefusedError when the action may not or will not run."""
    console = stderr()
    devices = {p.device for p in plans}
    console.print(
        f"[bold]{plans[0].action}[/] will touch {sum(len(p.tunnels) for p in plans)} "
        f"tunnel(s), {sum(p.sa_count for p in plans)} SA(s), "
        f"{len({(p.device, p.peer) for p in plans})} peer(s) on {len(devices)} device(s):"
    )
    for p in plans:
        console.print(f"  {escape(p.describe())}")
        for cmd in p.commands + p.bring_up:
            console.print(f"    {p.device}# {escape(cmd)}", highlight=False)
    if dry_run:
        return
    if obj.is_read_only:
        raise errors.RefusedError(
            "read-only mode: no action was taken",
            hint="read-only comes from --read-only, IPSECCTL_READ_ONLY or read_only in the "
            "config file (`ipsecctl info` shows which file)",
        )
    if yes:
        return
    if not is_interactive():
        raise errors.RefusedError("confirmation needed but there is no terminal",
                                  hint="rerun with --yes")
    console.print("Proceed? \\[y/N] ", end="")
    if sys.stdin.readline().strip().lower() not in ("y", "yes"):
        raise errors.RefusedError("declined: no action was taken")


_SOURCE = re.compile(r"[A-Za-z][A-Za-z0-9./:-]{0,63}")


def check_source(source: str | None) -> None:
    """``--source`` goes into a device command: an address or an interface name, nothing else."""
    if source is None:
        return
    try:
        ipaddress.ip_address(source)
    except ValueError:
        if not _SOURCE.fullmatch(source):
            raise errors.UsageError(
                f"--source {source!r}: give an inside address or an interface name "
                "(e.g. 10.1.0.1 or GigabitEthernet0/1)"
            ) from None


def run_action(
    obj: AppContext,
    device: str,
    peers: list[str],
    *,
    action: actions.ActionKind,
    scope: actions.Scope,
    vrf: str | None,
    yes: bool,
    dry_run: bool,
    as_json: bool,
    wait: float | None,
    source: str | None = None,
) -> int:
    """Plan, confirm, run, verify, audit; with ``--json`` a document is printed even when the
    action is refused or fails before it starts, so a script always has something to read."""
    base: dict[str, Any] = {"action": action, "scope": scope, "device": device, "vrf": vrf}
    try:
        if not peers:
            raise errors.UsageError("--peer is required (repeat it for several peers)")
        check_source(source)
        results = _run(obj, device, peers, base, action=action, scope=scope, vrf=vrf, yes=yes,
                       dry_run=dry_run, wait=wait, source=source)
    except errors.IpsecctlError as exc:
        if as_json:
            planned = {p.peer: p for p in getattr(exc, "plans", [])}
            failed = []
            for peer in peers or [""]:
                plan_ = planned.get(peer)
                failed.append(actions.Result(
                    device=device, peer=peer, action=action, vrf=vrf,
                    commands=plan_.commands + plan_.bring_up if plan_ else [],
                    old_spis=plan_.old_spis if plan_ else [], message=str(exc)))
            _print_results(failed, action, as_json, error=exc)
        raise
    _print_results(results, action, as_json)
    if dry_run:
        return errors.EXIT_OK
    return errors.EXIT_OK if all(r.ok for r in results) else errors.EXIT_OPERATIONAL


def _run(
    obj: AppContext,
    device: str,
    peers: list[str],
    base: dict[str, Any],
    *,
    action: actions.ActionKind,
    scope: actions.Scope,
    vrf: str | None,
    yes: bool,
    dry_run: bool,
    wait: float | None,
    source: str | None,
) -> list[actions.Result]:
    hosts = obj.select([device])
    if len(hosts) != 1:
        raise errors.UsageError(f"{device!r} selects {len(hosts)} devices; name one device")
    host = hosts[0]
    with obj.collector() as collector:
        state = collector.poll_one(host)
        if not state.reachable or (state.errors and not state.tunnels and not state.ike_sas):
            # nothing to plan against: say why the device could not be read (exit 1)
            exc = errors.ConnectError(
                "; ".join(e.message for e in state.errors) or f"{device}: unreachable"
            )
            for peer in peers:
                audit_record(obj, {**base, "peer": peer, "commands": [], "outcome": "failed",
                                   "details": {"error": str(exc)}})
            raise exc
        plans = [
            actions.plan(state, peer, action=action, scope=scope, vrf=vrf, source=source)
            for peer in peers
        ]
        try:
            confirm(obj, plans, yes, dry_run)
        except errors.RefusedError as exc:
            for p in plans:
                audit_record(obj, {**base, "peer": p.peer, "commands": p.commands + p.bring_up,
                                   "outcome": "refused", "details": {"reason": exc.message}})
            exc.plans = plans  # type: ignore[attr-defined]  # for the --json document
            raise
        if dry_run:
            for p in plans:
                audit_record(obj, {**base, "peer": p.peer, "commands": p.commands + p.bring_up,
                                   "outcome": "dry-run"})
            return [
                actions.Result(device=p.device, peer=p.peer, action=action, vrf=vrf,
                               commands=p.commands + p.bring_up, old_spis=p.old_spis,
                               dry_run=True, message="dry run: nothing sent")
                for p in plans
            ]
        runner = obj_session(collector, host)
        results = []
        for p in plans:
            try:
                result = actions.execute(p, runner, lambda: collector.poll_one(host), wait_s=wait)
            except errors.IpsecctlError as exc:
                audit_record(obj, {**base, "peer": p.peer, "commands": p.commands,
                                   "outcome": "failed", "details": {"error": str(exc)}})
                raise
            results.append(result)
            audit_record(obj, {**base, "peer": p.peer, "commands": result.commands,
                               "outcome": "ok" if result.ok else "failed",
                               "details": {"old_spis": result.old_spis,
                                           "new_spis": result.new_spis,
                                           "message": result.message}})
        return results


def obj_session(collector: Any, host: Any) -> Any:
    return collector.pool.session(host)


def _print_results(
    results: list[actions.Result],
    action: str,
    as_json: bool,
    error: errors.IpsecctlError | None = None,
) -> None:
    if as_json:
        extra: dict[str, Any] = {}
        if error is not None:
            extra["error"] = {"kind": type(error).__name__, "message": str(error),
                              "exit_code": error.exit_code}
        if len(results) == 1:
            doc = envelope(action, **results[0].as_json(), **extra)
        else:
            doc = envelope(action, results=[r.as_json() for r in results],
                           ok=all(r.ok for r in results), **extra)
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    rows = []
    for r in results:
        outcome = "[yellow]dry-run[/]" if r.dry_run else ("[green]ok[/]" if r.ok else
                                                            "[red]failed[/]")
        width = max(len(r.old_spis), len(r.new_spis), 1)
        for i in range(width):
            rows.append([
                r.device if i == 0 else "", r.peer if i == 0 else "",
                f"0x{r.old_spis[i]:08X}" if i < len(r.old_spis) else "",
                f"0x{r.new_spis[i]:08X}" if i < len(r.new_spis) else "",
                outcome if i == 0 else "",
                r.message if i == 0 else "",
            ])
    render.emit_table(action, ["device", "peer", "old SPI", "new SPI", "result", "message"],
                      rows)


def register(app: typer.Typer) -> None:
    @app.command()
    def clear(
        ctx: typer.Context,
        device: Annotated[str, typer.Argument(help="Device name.")],
        peer: PeerOpt = [],  # noqa: B006 - typer needs a literal default
        ike: Annotated[bool, typer.Option("--ike", help="Clear only the IKE SA.")] = False,
        ipsec: Annotated[bool, typer.Option("--ipsec", help="Clear only IPsec SAs.")] = False,
        session: Annotated[bool, typer.Option("--session", help="IKE + IPsec (default).")]
        = False,
        vrf: VrfOpt = None,
        yes: YesOpt = False,
        dry_run: DryOpt = False,
        as_json: JsonOpt = False,
        read_only: ReadOnlyOpt = False,
        wait: Annotated[float, typer.Option("--wait", help="Seconds to verify.")] = 15.0,
    ) -> int:
        """Clear the SAs to a peer (prints the exact device commands first)."""
        if sum((ike, ipsec, session)) > 1:
            raise errors.UsageError("choose one of --ike, --ipsec, --session")
        scope: actions.Scope = "ike" if ike else "ipsec" if ipsec else "session"
        obj: AppContext = ctx.obj
        obj.read_only = obj.read_only or read_only
        raise typer.Exit(run_action(obj, device, peer, action="clear", scope=scope, vrf=vrf,
                                    yes=yes, dry_run=dry_run, as_json=as_json, wait=wait))

    @app.command()
    def rekey(
        ctx: typer.Context,
        device: Annotated[str, typer.Argument(help="Device name.")],
        peer: PeerOpt = [],  # noqa: B006
        vrf: VrfOpt = None,
        source: Annotated[
            str | None,
            typer.Option("--source", help="Inside address to source bring-up traffic from "
                         "(default: first host of the local selector)."),
        ] = None,
        yes: YesOpt = False,
        dry_run: DryOpt = False,
        as_json: JsonOpt = False,
        read_only: ReadOnlyOpt = False,
        wait: Annotated[float | None, typer.Option("--wait", help="Max seconds to wait for "
                                                   "new SAs (platform default).")] = None,
    ) -> int:
        """Re-key: clear the session and bring it back with traffic; old vs new SPIs."""
        obj: AppContext = ctx.obj
        obj.read_only = obj.read_only or read_only
        raise typer.Exit(run_action(obj, device, peer, action="rekey", scope="session",
                                    vrf=vrf, yes=yes, dry_run=dry_run, as_json=as_json,
                                    wait=wait, source=source))
