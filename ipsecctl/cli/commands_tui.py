"""``ipsecctl dashboard`` and ``ipsecctl demo`` (the lab plus the dashboard on it)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ipsecctl import errors
from ipsecctl.cli.context import AppContext, stderr

TargetsArg = Annotated[
    list[str] | None,
    typer.Argument(help="Device names, group:NAME, tag:NAME or all (default).", show_default=False),
]
RefreshOpt = Annotated[
    float | None, typer.Option("--refresh", min=0.5, help="Seconds between polls.")
]


def _open_dashboard(obj: AppContext, targets: list[str] | None, refresh: float | None) -> int:
    hosts = obj.select(targets or [])
    interval = refresh or float(getattr(obj.settings, "refresh_interval", 5.0))
    try:
        from ipsecctl.tui.app import run_dashboard
    except ImportError:
        return _live_status(obj, hosts, interval)
    return int(run_dashboard(obj, hosts, refresh=interval) or 0)


def _live_status(obj: AppContext, hosts: list[Any], interval: float) -> int:
    """Fallback when the dashboard cannot load: a live-refreshing fleet table."""
    from rich.live import Live
    from rich.table import Table

    from ipsecctl.cli import render

    def table(states: list[Any]) -> Table:
        t = Table(title=f"fleet (refresh {interval:g}s, ctrl+c to quit)")
        for col in ("device", "reachable", "IKE up", "tunnels up", "error"):
            t.add_column(col)
        for row in render.status_rows(states, human=True):
            t.add_row(row[0], row[2], row[3], row[5], row[7])
        return t

    with obj.collector() as collector, Live(table([]), console=stderr(),
                                            refresh_per_second=2) as live:
        try:
            while True:
                live.update(table(collector.poll(hosts)))
                time.sleep(interval)
        except KeyboardInterrupt:
            return 0


def register(app: typer.Typer) -> None:
    @app.command()
    def dashboard(
        ctx: typer.Context, targets: TargetsArg = None, refresh: RefreshOpt = None
    ) -> None:
        """The live dashboard: fleet, tunnels, detail, events, diagnosis; actions by key."""
        if not sys.stdout.isatty():
            raise errors.UsageError("the dashboard needs a terminal",
                                    hint="use `ipsecctl status` or `tunnels` in scripts")
        raise typer.Exit(_open_dashboard(ctx.obj, targets, refresh))

    @app.command()
    def demo(
        ctx: typer.Context,
        devices: Annotated[int, typer.Option("--devices", min=2, max=500)] = 12,
        seed: Annotated[int, typer.Option("--seed")] = 1,
        time_scale: Annotated[float, typer.Option("--time-scale", min=0.1)] = 1.0,
        refresh: RefreshOpt = None,
        lab_dir: Annotated[Path | None, typer.Option("--dir", help="Lab directory.")] = None,
    ) -> None:
        """Start the embedded lab, open the dashboard on it, stop the lab on exit."""
        from ipsecctl.lab import start_lab
        from ipsecctl.settings import paths

        obj: AppContext = ctx.obj
        directory = lab_dir or Path(paths()["lab_dir"])
        stderr().print(f"starting the lab: {devices} routers in {directory} ...")
        handle = start_lab(directory, devices=devices, seed=seed, time_scale=time_scale)
        try:
            obj.inventory_path = str(handle.inventory_path)
            obj.quiet = True
            if not sys.stdout.isatty():
                raise errors.UsageError("the dashboard needs a terminal",
                                        hint=f"the lab inventory is {handle.inventory_path}")
            raise typer.Exit(_open_dashboard(obj, None, refresh))
        finally:
            handle.stop()
