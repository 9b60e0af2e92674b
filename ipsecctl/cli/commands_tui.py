"""``ipsecctl dashboard`` and ``ipsecctl demo`` (the lab plus the dashboard on it)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ipsecctl import errors
from ipsecctl.cli.context import AppContext, stderr

TargetsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Device names, group:NAME, tag:NAME or all (default).", show_default=False),
]
ThemeOpt = Annotated[
    str | None,
    typer.Option("--theme", help="Textual theme; 'ansi' keeps the terminal's own colours."),
]
RefreshOpt = Annotated[
    float | None, typer.Option("--refresh", min=0.5, help="Seconds between polls.")
]


def _open_dashboard(
    obj: AppContext, targets: list[str] | None, refresh: float | None, theme: str | None = None
) -> int:
    from ipsecctl.tui.app import make_context, run_dashboard
    from ipsecctl.tui.themes import validate_theme

    theme = validate_theme(theme)
    hosts = obj.select(targets or [])
    interval = refresh or obj.settings.refresh_interval

    ctx = make_context(
        hosts,
        obj.settings,
        replay_dir=obj.replay,
        host_key_policy=obj.host_key_policy,  # None: the dashboard asks in a modal
        read_only=obj.is_read_only,
        refresh=interval,
        theme=theme or ("ansi" if os.environ.get("NO_COLOR") else None),
        keymap=obj.settings.keymap,
        store=obj.history_store(),
    )
    return int(run_dashboard(ctx) or 0)


def register(app: typer.Typer) -> None:
    @app.command()
    def dashboard(
        ctx: typer.Context,
        targets: TargetsArg = None,
        refresh: RefreshOpt = None,
        theme: ThemeOpt = None,
    ) -> None:
        """The live dashboard: fleet, tunnels, detail, events, diagnosis; actions by key."""
        if not sys.stdout.isatty():
            raise errors.UsageError("the dashboard needs a terminal",
                                    hint="use `ipsecctl status` or `tunnels` in scripts")
        raise typer.Exit(_open_dashboard(ctx.obj, targets, refresh, theme))

    @app.command()
    def demo(
        ctx: typer.Context,
        devices: Annotated[int, typer.Option("--devices", min=2, max=500)] = 12,
        seed: Annotated[int, typer.Option("--seed")] = 1,
        time_scale: Annotated[float, typer.Option("--time-scale", min=0.1)] = 1.0,
        refresh: RefreshOpt = None,
        theme: ThemeOpt = None,
        lab_dir: Annotated[Path | None, typer.Option("--dir", help="Lab directory.")] = None,
    ) -> None:
        """Start the embedded lab, open the dashboard on it, stop the lab on exit."""
        from ipsecctl.lab import find_lab, start_lab

        obj: AppContext = ctx.obj
        directory = lab_dir or Path(obj.settings.lab_dir)
        if not sys.stdout.isatty():
            raise errors.UsageError("the dashboard needs a terminal",
                                    hint="run `ipsecctl lab up` and the one-shot commands")
        running = find_lab(directory)
        if running is not None and running.running:
            stderr().print(f"using the lab already running in {directory}")
            handle, owned = running, False
        else:
            stderr().print(f"starting the lab: {devices} routers in {directory} ...")
            handle = start_lab(directory, devices=devices, seed=seed, time_scale=time_scale)
            owned = True
        try:
            obj.inventory_path = str(handle.inventory_path)
            obj.quiet = True
            raise typer.Exit(_open_dashboard(obj, None, refresh, theme))
        finally:
            if owned:
                handle.stop()
