"""``ipsecctl info`` and ``ipsecctl inventory list|check``: where things are, what is known."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from ipsecctl import __version__, errors
from ipsecctl.cli import render
from ipsecctl.cli.context import AppContext

inventory_app = typer.Typer(no_args_is_help=True, help="Inspect and validate the inventory.")


def register(app: typer.Typer) -> None:
    app.add_typer(inventory_app, name="inventory")

    @app.command()
    def info(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    ) -> None:
        """Paths and modes: config, inventory, audit log, known_hosts, lab, history."""
        from ipsecctl.settings import paths

        obj: AppContext = ctx.obj
        obj.quiet = True
        data: dict[str, object] = {"version": __version__}
        data.update({k: str(v) for k, v in paths().items()})
        try:
            data["inventory"] = str(obj.resolve_inventory_path())
        except errors.IpsecctlError as exc:
            data["inventory"] = None
            data["inventory_error"] = str(exc)
        try:
            from ipsecctl.lab import find_lab

            lab = find_lab(None)
            data["lab_running"] = lab is not None
            if lab is not None:
                data["lab_inventory"] = str(lab.inventory_path)
        except Exception:
            data["lab_running"] = False
        data["read_only"] = obj.is_read_only
        data["host_key_policy"] = obj.effective_host_key_policy
        data["workers"] = obj.effective_workers
        if as_json:
            render.emit_json("info", info=data)
        else:
            render.emit_table(
                "ipsecctl info",
                ["what", "value"],
                [[k, "" if v is None else v] for k, v in data.items()],
            )


@inventory_app.command("list")
def inventory_list(
    ctx: typer.Context,
    targets: Annotated[list[str] | None, typer.Argument(help="Selection (default all).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Hosts with their resolved settings (secrets redacted)."""
    obj: AppContext = ctx.obj
    hosts = obj.select(targets or [])
    if as_json:
        render.emit_json("inventory list", hosts=[h.as_dict(redact=True) for h in hosts])
        return
    rows = []
    for h in hosts:
        jump = (
            h.jump_host if isinstance(h.jump_host, str) or h.jump_host is None else h.jump_host.name
        )
        rows.append(
            [
                h.name,
                h.hostname,
                h.port,
                h.platform,
                h.username or "",
                ",".join(h.groups),
                ",".join(getattr(h, "tags", []) or []),
                jump or "",
            ]
        )
    render.emit_table(
        "inventory",
        ["name", "hostname", "port", "platform", "user", "groups", "tags", "jump"],
        rows,
    )


@inventory_app.command("check")
def inventory_check(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """Validate the inventory (files, lines, fields); exit 2 with the first problem."""
    obj: AppContext = ctx.obj
    inv = obj.inventory  # raises InventoryError naming file, line and field
    hosts = obj.select([])
    problems: list[str] = []
    for h in hosts:
        if not h.username:
            problems.append(
                f"host {h.name!r}: no username (set it in the inventory or IPSECCTL_USERNAME)"
            )
        if not (h.password or getattr(h, "key_file", None) or getattr(h, "use_agent", False)):
            problems.append(f"host {h.name!r}: no password, key file or ssh-agent")
    if as_json:
        render.emit_json(
            "inventory check",
            ok=not problems,
            hosts=len(hosts),
            problems=problems,
            path=str(getattr(inv, "path", "")),
        )
    else:
        for p in problems:
            print(f"warning: {p}", file=sys.stderr)
        print(
            f"{len(hosts)} host(s) OK"
            if not problems
            else f"{len(hosts)} host(s), {len(problems)} problem(s)"
        )
    if problems:
        raise typer.Exit(errors.EXIT_PROBLEM)
