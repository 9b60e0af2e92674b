"""``clear`` and ``rekey``: the terminal's side of the operations layer's action workflow.

Everything that makes an action safe (read-only, confirmation, one action per tunnel, the
audit trail written before each command, honest verification) is in :mod:`ipsecctl.ops`;
this module parses options, shows the plan, asks on a terminal and prints the results.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

import typer

from ipsecctl import actions, errors
from ipsecctl.cli import render
from ipsecctl.cli.context import AppContext
from ipsecctl.cli.render import Col, esc
from ipsecctl.models import envelope
from ipsecctl.ops.formatting import fmt_spi

PeerOpt = Annotated[
    list[str],
    typer.Option(
        "--peer",
        help="Peer address; repeat the option for several peers.",
        show_default=False,
        metavar="IP",
    ),
]
VrfOpt = Annotated[
    str | None, typer.Option("--vrf", help="Front-door VRF of the peer.", metavar="NAME")
]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
DryOpt = Annotated[bool, typer.Option("--dry-run", help="Print the commands and stop.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="JSON result on stdout.")]
ReadOnlyOpt = Annotated[bool, typer.Option("--read-only", help="Refuse (same as global).")]

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
    """Plan, show, run through the workflow, print; with ``--json`` a document is printed
    even when the action is refused or fails before it starts."""
    from ipsecctl.ops.tunnel_actions import TunnelActionSpec, plan_actions
    from ipsecctl.ops.workflow import ActionRequest

    plans: list[actions.Plan] = []
    try:
        if not peers:
            raise errors.UsageError("--peer is required (repeat it for several peers)")
        check_source(source)
        hosts = obj.select([device])
        if len(hosts) != 1:
            raise errors.UsageError(f"{device!r} selects {len(hosts)} devices; name one device")
        workflow = obj.workflow()
        fleet = obj.fleet(hosts)
        try:
            state = fleet.poll_one(hosts[0])
            try:
                plans = plan_actions(
                    state, peers, action=action, scope=scope, vrf=vrf, source=source
                )
            except errors.TransportError as exc:
                workflow.not_started(action, device, peers, vrf, str(exc))
                raise
            obj.show_request(ActionRequest(action, plans))
            results = workflow.run(
                TunnelActionSpec(fleet, wait_s=wait),
                plans,
                confirm=obj.confirmer(yes),
                yes=yes,
                dry_run=dry_run,
                progress=obj.progress,
            )
        finally:
            fleet.close()
    except errors.IpsecctlError as exc:
        if as_json:
            planned = {p.peer: p for p in plans}
            failed = []
            for peer in peers or [""]:
                p = planned.get(peer)
                failed.append(
                    actions.Result(
                        device=device,
                        peer=peer,
                        action=action,
                        vrf=vrf,
                        commands=p.all_commands if p else [],
                        old_spis=p.old_spis if p else [],
                        message=str(exc),
                    )
                )
            print_results(failed, action, as_json, error=exc)
        raise
    print_results(results, action, as_json)
    return errors.EXIT_OK if all(r.ok for r in results) else errors.EXIT_OPERATIONAL


def print_results(
    results: list[actions.Result],
    action: str,
    as_json: bool,
    error: errors.IpsecctlError | None = None,
) -> None:
    if as_json:
        extra: dict[str, Any] = {}
        if error is not None:
            extra["error"] = {
                "kind": type(error).__name__,
                "message": str(error),
                "exit_code": error.exit_code,
            }
        if len(results) == 1:
            doc = envelope(action, **results[0].as_json(), **extra)
        else:
            doc = envelope(
                action,
                results=[r.as_json() for r in results],
                ok=all(r.ok for r in results),
                **extra,
            )
        render.emit_json(doc)
        return
    rows = []
    for r in results:
        outcome = (
            "[yellow]dry-run[/]" if r.dry_run else ("[green]ok[/]" if r.ok else "[red]failed[/]")
        )
        lines = []
        for d in ("in", "out"):
            old = r.old_by_direction.get(d, [])
            new = r.new_by_direction.get(d, [])
            width = max(len(old), len(new), 1)
            for i in range(width):
                lines.append(
                    (
                        d if i == 0 else "",
                        fmt_spi(old[i]) if i < len(old) else "",
                        fmt_spi(new[i]) if i < len(new) else "",
                    )
                )
        for i, (d, old_spi, new_spi) in enumerate(lines):
            rows.append(
                [
                    esc(r.device) if i == 0 else "",
                    esc(r.peer) if i == 0 else "",
                    esc(r.vrf) if i == 0 else "",
                    d,
                    old_spi,
                    new_spi,
                    outcome if i == 0 else "",
                    esc(r.message) if i == 0 else "",
                ]
            )
    cols: tuple[Col, ...] = (
        Col("device", keep=True),
        Col("peer", keep=True),
        Col("vrf", 5),
        Col("dir", 2),
        Col("old SPI", 1),
        Col("new SPI", 1),
        Col("result", keep=True),
        Col("message", 3, atom=False),
    )
    if not any(r.vrf for r in results):
        cols = tuple(c for c in cols if c.name != "vrf")
        rows = [row[:2] + row[3:] for row in rows]
    render.emit_table(action, cols, rows)


def register(app: typer.Typer) -> None:
    @app.command()
    def clear(
        ctx: typer.Context,
        device: Annotated[str, typer.Argument(help="Device name.")],
        peer: PeerOpt = [],  # noqa: B006 - typer needs a literal default
        ike: Annotated[bool, typer.Option("--ike", help="Clear only the IKE SA.")] = False,
        ipsec: Annotated[bool, typer.Option("--ipsec", help="Clear only IPsec SAs.")] = False,
        session: Annotated[bool, typer.Option("--session", help="IKE + IPsec (default).")] = False,
        vrf: VrfOpt = None,
        yes: YesOpt = False,
        dry_run: DryOpt = False,
        as_json: JsonOpt = False,
        read_only: ReadOnlyOpt = False,
        wait: Annotated[
            float, typer.Option("--wait", help="Seconds to verify.", metavar="SECONDS")
        ] = 15.0,
    ) -> int:
        """Clear the SAs to a peer (prints the exact device commands first)."""
        if sum((ike, ipsec, session)) > 1:
            raise errors.UsageError("choose one of --ike, --ipsec, --session")
        scope: actions.Scope = "ike" if ike else "ipsec" if ipsec else "session"
        obj: AppContext = ctx.obj
        obj.read_only = obj.read_only or read_only
        raise typer.Exit(
            run_action(
                obj,
                device,
                peer,
                action="clear",
                scope=scope,
                vrf=vrf,
                yes=yes,
                dry_run=dry_run,
                as_json=as_json,
                wait=wait,
            )
        )

    @app.command()
    def rekey(
        ctx: typer.Context,
        device: Annotated[str, typer.Argument(help="Device name.")],
        peer: PeerOpt = [],  # noqa: B006
        vrf: VrfOpt = None,
        source: Annotated[
            str | None,
            typer.Option(
                "--source",
                help="Inside address to source bring-up traffic from "
                "(default: first host of the local selector).",
                metavar="ADDR",
            ),
        ] = None,
        yes: YesOpt = False,
        dry_run: DryOpt = False,
        as_json: JsonOpt = False,
        read_only: ReadOnlyOpt = False,
        wait: Annotated[
            float | None,
            typer.Option(
                "--wait",
                help="Max seconds to wait for new SAs (platform default).",
                metavar="SECONDS",
            ),
        ] = None,
    ) -> int:
        """Re-key: clear the session and bring it back with traffic; old vs new SPIs."""
        obj: AppContext = ctx.obj
        obj.read_only = obj.read_only or read_only
        raise typer.Exit(
            run_action(
                obj,
                device,
                peer,
                action="rekey",
                scope="session",
                vrf=vrf,
                yes=yes,
                dry_run=dry_run,
                as_json=as_json,
                wait=wait,
                source=source,
            )
        )
