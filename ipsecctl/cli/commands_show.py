"""The offline ``parse`` command: a saved device output into the ipsecctl/v1 model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ipsecctl import errors
from ipsecctl.cli import render
from ipsecctl.cli.commands_views import JsonOpt, OutputOpt, output_format, show_human
from ipsecctl.cli.context import stderr
from ipsecctl.models import dump
from ipsecctl.ops import export


def register(app: typer.Typer) -> None:
    @app.command()
    def parse(
        file: Annotated[Path, typer.Argument(help="Saved device output ('-' for stdin).")],
        platform: Annotated[str, typer.Option("--platform", "-p", help="cisco_ios, ...")],
        command: Annotated[str, typer.Option("--command", "-c", help="The show command.")],
        output: OutputOpt = "json",
        as_json: JsonOpt = False,
    ) -> int:
        """Parse a saved output offline into the ipsecctl/v1 model."""
        import parsers
        from ipsecctl.assemble import assemble
        from ipsecctl.platforms import get_platform

        get_platform(platform)
        fmt = output_format(output, as_json)
        try:
            parsers.resolve_command(command)
        except ValueError as exc:
            raise errors.UsageError(f"--command: {exc}") from None
        text = _read_input(file)
        try:
            records = parsers.parse(platform, command, text)
        except parsers.ParseError as exc:
            raise errors.ParseError(f"{file}: {exc}") from None
        except ValueError as exc:  # a command this platform has no template for
            raise errors.UsageError(f"{file}: {exc}") from None
        state = assemble(file.name, platform, {command: text})
        if state.errors:
            raise errors.ParseError(f"{file}: {state.errors[0].message}")
        others = {k: v for k, v in records.items() if k not in ("ike_sas", "tunnels")}
        if fmt == "json":
            render.emit_json(
                "parse",
                ike_sas=[dump(sa) for sa in state.ike_sas],
                tunnels=[dump(t) for t in state.tunnels],
                **others,
            )
        elif fmt == "csv":
            render.emit_csv(export.TUNNEL_HEADER, export.tunnel_rows(state.tunnels))
            for kind, recs in others.items():
                stderr().print(f"{kind}: {len(recs)} record(s) not in the CSV (use --json)")
        else:
            show_human([state], offline=True)
            for kind, recs in others.items():
                render.stdout_console().print(f"{kind}: {len(recs)} record(s) (see --json)")
        return 0




def _read_input(file: Path) -> str:
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(errors="replace")
    except OSError as exc:
        raise errors.InputFileError(f"{file}: cannot read ({exc.strerror})") from None
