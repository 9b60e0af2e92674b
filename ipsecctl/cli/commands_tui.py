"""``ipsecctl dashboard`` and ``ipsecctl demo`` (the lab plus the dashboard on it)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ipsecctl import errors
from ipsecctl.cli.context import AppContext, stderr

if TYPE_CHECKING:
    from inventory import Host
    from ipsecctl.tui.context import DashboardContext

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
LAB_START_WAIT_S = 120.0  # how long quitting waits for a lab start already under way


def _context(
    obj: AppContext,
    hosts: list[Host],
    refresh: float | None,
    theme: str | None,
    *,
    store: bool = True,
) -> DashboardContext:
    from ipsecctl.tui.context import make_context

    return make_context(
        hosts,
        obj.settings,
        replay_dir=obj.replay,
        host_key_policy=obj.host_key_policy,  # None: the dashboard asks in a modal
        read_only=obj.is_read_only,
        refresh=refresh or obj.settings.refresh_interval,
        theme=theme or ("ansi" if os.environ.get("NO_COLOR") else None),
        keymap=obj.settings.keymap,
        store=obj.history_store() if store else None,
    )


def _open_dashboard(
    obj: AppContext, targets: list[str] | None, refresh: float | None, theme: str | None = None
) -> int:
    from ipsecctl.tui.app import run_dashboard
    from ipsecctl.tui.themes import validate_theme

    theme = validate_theme(theme)
    ctx = _context(obj, obj.select(targets or []), refresh, theme)
    return int(run_dashboard(ctx, handle_signals=True, own_process=obj.own_process) or 0)


class _LabStart:
    """The lab starting on its own thread while the dashboard draws its first frame."""

    def __init__(
        self, directory: Path, devices: int, seed: int, time_scale: float, real: bool = False
    ) -> None:
        self.handle: Any = None
        self.error: BaseException | None = None
        self._args = (directory, devices, seed, time_scale)
        self._real = real
        self._thread = threading.Thread(target=self._run, name="ipsecctl-lab-start", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from ipsecctl.lab import start_lab

        directory, devices, seed, time_scale = self._args
        try:
            self.handle = start_lab(
                directory, devices=devices, seed=seed, time_scale=time_scale, real=self._real
            )
        except BaseException as exc:  # handed to the dashboard, which says it
            self.error = exc

    def wait(self, timeout: float | None = None) -> Any:
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.handle

    def stop(self) -> None:
        """Stop the lab this command started (waiting for a start under way to finish)."""
        with contextlib.suppress(BaseException):
            handle = self.wait(LAB_START_WAIT_S)
            if handle is not None:
                handle.stop()


def register(app: typer.Typer) -> None:
    @app.command()
    def dashboard(
        ctx: typer.Context,
        targets: TargetsArg = None,
        refresh: RefreshOpt = None,
        theme: ThemeOpt = None,
    ) -> None:
        """The live dashboard: fleet, tunnels, why, events; Enter drills in; actions by key."""
        if ctx.obj.from_store:
            raise errors.UsageError(
                "the dashboard polls its devices itself; --from-store is read by status, "
                "tunnels, ike, show, watch, check and exporter",
                hint="drop --from-store, or use `ipsecctl watch --from-store URL`",
            )
        if not sys.stdout.isatty():
            raise errors.UsageError(
                "the dashboard needs a terminal",
                hint="use `ipsecctl status` or `tunnels` in scripts",
            )
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
        real: Annotated[
            bool,
            typer.Option(
                "--real",
                help="Add real strongSwan and libreswan gateways in network namespaces "
                "(root; see `ipsecctl lab up --real`).",
            ),
        ] = False,
    ) -> None:
        """Start the embedded lab, open the dashboard on it, stop the lab on exit.

        The dashboard shows at once and fills in as the lab's routers start and answer.
        """
        from ipsecctl.lab import find_lab
        from ipsecctl.tui.app import run_dashboard
        from ipsecctl.tui.themes import validate_theme

        obj: AppContext = ctx.obj
        directory = lab_dir or Path(obj.settings.lab_dir)
        if not sys.stdout.isatty():
            raise errors.UsageError(
                "the dashboard needs a terminal",
                hint="run `ipsecctl lab up` and the one-shot commands",
            )
        theme = validate_theme(theme)
        running = find_lab(directory)
        if running is not None and running.running:
            stderr().print(f"using the lab already running in {directory}")
            obj.inventory_path = str(running.inventory_path)
            obj.quiet = True
            raise typer.Exit(_open_dashboard(obj, None, refresh, theme))
        lab = _LabStart(directory, devices, seed, time_scale, real)

        def loader() -> DashboardContext:
            handle = lab.wait(LAB_START_WAIT_S)
            obj.inventory_path = str(handle.inventory_path)
            obj.quiet = True
            return _context(obj, obj.select([]), refresh, theme)

        try:
            pending = _context(obj, [], refresh, theme, store=False)
            code = run_dashboard(
                pending,
                loader=loader,
                handle_signals=True,
                own_process=obj.own_process,
                starting=f"starting the lab: {devices} routers in {directory}",
            )
        finally:
            lab.stop()
        raise typer.Exit(code)
