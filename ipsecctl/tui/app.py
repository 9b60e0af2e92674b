"""The live dashboard: an operator's workbench over the fleet's IPsec tunnels.

Thin by design: polling goes through the operations layer's :class:`~ipsecctl.ops.fleet.Fleet`
(its bounded thread pool, persistent sessions and history) on the schedule of
:mod:`ipsecctl.tui.polling`; faults and findings come from :func:`ipsecctl.ops.faults.assess`;
actions run through the same :class:`~ipsecctl.ops.workflow.Workflow` as the CLI's
(confirmation, read-only, locks, audit trail); probes are planned by :mod:`ipsecctl.ops.probe`;
exports are the CLI's documents. This module routes results (as messages, so the UI thread
never waits on a device) to the screens of :mod:`ipsecctl.tui.screens` and draws.

Screens: the main screen (fleet, tunnels, detail, why, events), a tunnel screen and a device
screen (Enter; Esc goes back), ``:ike``; the ``:`` command line and the ctrl+p palette.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Input

from ipsecctl import errors
from ipsecctl.models import DeviceState, Finding, IkeSa, Tunnel
from ipsecctl.ops import export
from ipsecctl.ops.faults import Assessment
from ipsecctl.ops.formatting import fmt_duration
from ipsecctl.tui import command_routing, keys, shell
from ipsecctl.tui.action_bridge import ActionBridge
from ipsecctl.tui.commands import DashboardCommands
from ipsecctl.tui.context import DashboardContext, HostKeyBridge, make_context
from ipsecctl.tui.diagnosing import Diagnoser
from ipsecctl.tui.gc_policy import IdleCollector
from ipsecctl.tui.history import Journal, render_history, store_timeline
from ipsecctl.tui.messages import ActionEvent, DevicePolled, ToolFinished
from ipsecctl.tui.polling import Poller
from ipsecctl.tui.screens.base import DashScreen
from ipsecctl.tui.screens.main import MainScreen
from ipsecctl.tui.screens.modals import ExportScreen, FilePickScreen, HelpScreen, HostKeyScreen
from ipsecctl.tui.state import FilterError, TunnelModel
from ipsecctl.tui.themes import validate_theme
from ipsecctl.tui.threads import background
from ipsecctl.tui.tools import Tools
from ipsecctl.tui.widgets.detail import DetailPane, render_device, seconds_between
from ipsecctl.tui.widgets.diagnosis import OFF, READY, DiagnosisPane
from ipsecctl.tui.widgets.events import EventsPane
from ipsecctl.tui.widgets.fleet import DeviceInfo, FleetPane
from ipsecctl.tui.widgets.table import TunnelTable

__all__ = [
    "ActionEvent",
    "DashboardContext",
    "DevicePolled",
    "HostKeyBridge",
    "IpsecApp",
    "make_context",
    "run_dashboard",
]

ACTION_NAMES = ("clear", "rekey")


def _without_device(message: str, device: str) -> str:
    """Errors from the transport already start with the device name; the events pane and the
    fleet pane add it themselves ('b01: b01: no prompt' otherwise)."""
    prefix = f"{device}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def _is_host_key_error(state: DeviceState) -> bool:
    return any("host key" in f"{e.kind} {e.message}".lower() for e in state.errors)


class IpsecApp(App[int]):
    """The ``ipsecctl dashboard`` / ``ipsecctl demo`` application.

    ``loader`` (``demo``): the app shows at once and builds its real context in a thread
    (starting the lab), then fills the fleet as routers answer.
    """

    TITLE = "ipsecctl"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {DashboardCommands}
    # shown after each screen's own keys in the footer
    BINDINGS = [
        Binding("colon", "command_line", "Cmd", id="command", priority=True),
        Binding("ctrl+p", "command_palette", "Palette", show=False, priority=True, id="palette"),
        Binding("ctrl+r", "refresh_now", "Refresh", show=False, id="refresh"),
        Binding("p", "pause", "Pause", show=False, id="pause"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        ctx: DashboardContext,
        *,
        loader: Callable[[], DashboardContext] | None = None,
        starting: str = "",
        handle_signals: bool = False,
        collector: IdleCollector | None = None,
    ) -> None:
        super().__init__(ansi_color=True if ctx.theme == "ansi" else None)
        self.model = TunnelModel()
        self.action_bridge = ActionBridge(self)
        self.tools = Tools(self)
        self.journal = Journal()
        self.loader = loader
        self.starting = starting if loader is not None else ""
        self.diagnoser = Diagnoser(self)
        self._fleet_dirty: set[str] = set()
        self._actions_running = 0
        self._filter_error = ""  # a bad regex being typed: shown, the previous filter kept
        self._quitting = False
        self.handle_signals = handle_signals
        # when the process's cyclic garbage is collected (the program that owns the process
        # passes one): see ipsecctl.tui.gc_policy
        self.collector = collector
        self._bind(ctx)

    def _bind(self, ctx: DashboardContext) -> None:
        self.ctx = ctx
        self.hosts = {h.name: h for h in ctx.hosts}
        self.infos: dict[str, DeviceInfo] = {
            h.name: DeviceInfo(name=h.name, platform=h.platform or "") for h in ctx.hosts
        }
        self.ops = ctx.fleet  # the operations layer's fleet (polls, previous polls, history)
        self.poller = Poller(
            ctx.fleet, self.infos, self._deliver, refresh=ctx.refresh, max_backoff=ctx.max_backoff
        )
        self.title = ctx.title
        if ctx.host_key_bridge is not None:
            ctx.host_key_bridge.app = self

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen()

    # -- the main screen's widgets -------------------------------------------------------------
    @property
    def screen_main(self) -> MainScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    @property
    def table(self) -> TunnelTable:
        return self.screen_main.query_one("#tunnels", TunnelTable)

    @property
    def fleet(self) -> FleetPane:
        return self.screen_main.query_one("#fleet", FleetPane)

    @property
    def events_pane(self) -> EventsPane:
        return self.screen_main.query_one("#events", EventsPane)

    @property
    def detail(self) -> DetailPane:
        return self.screen_main.query_one("#detail", DetailPane)

    @property
    def diagnosis(self) -> DiagnosisPane:
        return self.screen_main.query_one("#diagnosis", DiagnosisPane)

    @property
    def read_only(self) -> bool:
        return self.ctx.read_only

    def on_mount(self) -> None:
        if self.handle_signals:
            self._quit_on_signals()
        if self.ctx.theme == "ansi":
            self.theme = "ansi-dark"
        elif self.ctx.theme:
            try:
                self.theme = validate_theme(self.ctx.theme) or self.theme
            except errors.UsageError as exc:  # the CLI validates first; never a traceback
                self.notify(str(exc), severity="error")

    def main_ready(self) -> None:
        """The main screen is mounted: fill it and start polling (or loading)."""
        if self.ctx.keymap:
            self._apply_keymap(self.ctx.keymap)
        self._fill_fleet()
        if not self.ctx.diagnose:
            self.diagnosis.show("", [], status=OFF)
        self._update_title()
        self.set_interval(0.25, self._schedule)
        self.set_interval(1.0, self._tick)
        if self.collector is not None:
            self.collector.install()
            self.set_interval(0.5, self.collector.tick)
        if self.loader is not None:
            self.event(self.starting or "starting ...")
            self._load()
        else:
            self._started()

    def _fill_fleet(self) -> None:
        now = self.ctx.clock()
        fleet = self.fleet
        fleet.border_title = f"fleet [{len(self.infos)}]"
        for info in self.infos.values():
            fleet.upsert(info, now)
        self.update_status()

    def _started(self) -> None:
        self.event(
            f"dashboard started: {len(self.infos)} device(s), refresh "
            f"{self.ctx.refresh:g} s" + (", read-only" if self.read_only else "")
        )
        self._schedule()

    def _load(self) -> None:
        background(self._load_in_thread, self.loader, name="ipsecctl-load")

    def _load_in_thread(self, loader: Callable[[], DashboardContext]) -> None:
        try:
            ctx = loader()
        except errors.IpsecctlError as exc:
            self._from_thread(self._load_failed, str(exc))
            return
        except Exception as exc:  # the lab failed to start: say so, keep the app up
            self._from_thread(self._load_failed, repr(exc))
            return
        if not self._from_thread(self.attach, ctx):
            ctx.fleet.close(abandon=True)  # the operator quit while it loaded

    @property
    def closing(self) -> bool:
        """On the way out (``q``, a signal, or Textual's own exit, which drains the queued
        messages after the screens' widgets are gone): what arrives now is dropped."""
        return self._quitting or not self.is_running or not self.screen_stack

    def _from_thread(self, fn: Callable[..., Any], *args: Any) -> bool:
        """``call_from_thread`` that is a no-op once the app has gone (False then)."""
        if self.closing:
            return False
        try:
            self.call_from_thread(fn, *args)
        except RuntimeError:
            return False
        return True

    def _load_failed(self, message: str) -> None:
        self.starting = ""
        self.event(message, "error")
        self.notify(message, severity="error", timeout=30)
        self.update_status()

    def attach(self, ctx: DashboardContext) -> None:
        """Take the real context (``demo``: the lab is up) and start polling it."""
        old = self.ctx
        self.loader = None
        self.starting = ""
        ctx.clock, ctx.theme = old.clock, old.theme
        ctx.keymap = ctx.keymap or old.keymap
        self._bind(ctx)
        if old.fleet is not ctx.fleet:
            old.fleet.close(abandon=True)
        self._fill_fleet()
        self._started()

    def _quit_on_signals(self) -> None:
        """A closed terminal (SIGHUP) or a kill (SIGTERM) quits as ``q`` does, so ``demo``
        still stops its lab. Only when run as the program (``run_dashboard``)."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._signalled)

    def _signalled(self) -> None:
        self._quitting = True
        self.poller.close()
        if self.ctx.close_on_exit:
            self.ops.close(abandon=True)
        self.exit(0)

    def on_unmount(self) -> None:
        self.poller.close()
        if self.collector is not None:
            self.collector.uninstall()

    async def on_event(self, event: events.Event) -> None:
        if self.collector is not None and isinstance(event, events.Key):
            self.collector.key()
        await super().on_event(event)

    # -- polling ----------------------------------------------------------------------------
    def _schedule(self) -> None:
        if not self._quitting:
            self.poller.tick()

    def _deliver(self, name: str, state: DeviceState) -> None:
        """Runs in the poll thread: hand the result to the UI thread as a message."""
        self.post_message(DevicePolled(name, state))

    def on_device_polled(self, message: DevicePolled) -> None:
        if self.closing:  # a poll that ends while the app exits
            return
        self.apply_state(message.state, scheduled=message.scheduled)

    def apply_state(self, state: DeviceState, *, scheduled: bool = False) -> None:
        info = self.infos.get(state.device)
        if info is None:
            return
        now = self.ctx.clock()
        failed = not state.reachable
        error = "; ".join(_without_device(e.message, state.device) for e in state.errors if e.fatal)
        seen_before = (info.reachable, info.error, info.tunnels, info.polls)
        last_ok = info.last_ok
        if failed:
            info.failures += 1
            backoff = self.poller.finished(info, failed=True) if scheduled else 0.0
            if error != info.error:
                retry = f" (retry in {backoff:.0f} s)" if scheduled else ""
                self.event(f"{state.device}: {error or 'unreachable'}{retry}", "error")
                if _is_host_key_error(state):
                    # the operator must act (remove a known_hosts line): say it where it is
                    # read in full, not only in a pane that may be too small
                    self.notify(
                        error, title=f"{state.device}: host key", severity="error", timeout=30
                    )
        else:
            if info.failures and info.state is not None and not info.state.reachable:
                self.event(f"{state.device}: reachable again", "ok")
            elif error and error != info.error:
                self.event(f"{state.device}: {error}", "warn")
            info.failures = 0
            if scheduled:
                self.poller.finished(info, failed=False)
            info.previous, info.state = info.state, state
            info.last_ok = now
        if failed:
            # keep the last good data for tunnels, but show the device as down
            info.previous = info.state
            info.state = (
                state
                if info.state is None
                else info.state.model_copy(update={"reachable": False, "errors": state.errors})
            )
            if info.last_ok is not None:
                self.model.mark_stale(state.device, info.last_ok, now)
        info.error = error
        info.polled_at = now
        result = self.model.apply(state)
        if result.unseen and last_ok is not None:
            self.model.mark_stale(state.device, last_ok, now, result.unseen)
        if getattr(self.ops, "store", None) is None:
            self.journal.record(state)  # with a store, the tunnel screen reads its timeline
        info.tunnels = self.model.device_counts(state.device)
        for change in result.changes:
            if change.old is None and info.previous is None:
                continue  # the first poll is not an event per tunnel
            text = (
                f"{change.device} peer {change.peer or '?'}: {change.old or 'new'} -> "
                f"{change.new or 'gone'}"
            )
            self.event(text, "ok" if change.new == "up" else "warn")
        # a device that changed (reachability, error, tunnels up) is redrawn now; a routine
        # poll's row on the next tick (at most once a second whatever the number of devices
        # answering); the tunnels only where they show
        if (info.reachable, info.error, info.tunnels) != seen_before[:3] or not seen_before[3]:
            self.fleet.upsert(info, now)
        else:
            self._fleet_dirty.add(info.name)
        if result.reshaped or self.model._view is None or failed:
            self.table.refresh_view()
        else:
            self.table.refresh_keys(result.updated)
        self._update_title()
        self._follow_cursor(state.device)
        self._redraw_screens(state.device)
        self.diagnoser.dirty = True
        self.update_status()  # one line, redrawn only when its text changed
        if self.collector is not None:
            self.collector.polled(
                first_round_done=not self.collector.settled
                and all(i.state is not None for i in self.infos.values())
            )

    def _follow_cursor(self, device: str) -> None:
        """The detail and why panes follow what the focused pane's cursor is on."""
        fleet = self.fleet
        if fleet.has_focus:
            if fleet.cursor_device == device:
                self.device_focused(device)
            return
        cursor = self.table.cursor_row
        if cursor is not None and cursor.device == device:
            self.cursor_moved(cursor.key)
        elif cursor is None and self.detail.tunnel_id is not None:
            self.cursor_moved(None)

    def _redraw_screens(self, device: str | None = None) -> None:
        """Screens above the main one that show ``device`` (None: all of them)."""
        from ipsecctl.tui.screens.device import DeviceScreen
        from ipsecctl.tui.screens.ike import IkeScreen
        from ipsecctl.tui.screens.tunnel import TunnelScreen

        for screen in self.screen_stack[1:]:
            if not screen.is_mounted:
                continue  # pushed, not composed yet: its mount draws what the model holds now
            if isinstance(screen, TunnelScreen):
                t = screen.tunnel
                if device is None or (t is not None and t.device == device) or t is None:
                    screen.redraw()
                    if device is not None:
                        self.load_history(screen)
            elif isinstance(screen, DeviceScreen):
                if device is None or screen.device == device:
                    screen.redraw()
            elif isinstance(screen, IkeScreen):
                screen.redraw()

    def _tick(self) -> None:
        if self.closing:
            return
        try:
            fleet = self.fleet
        except NoMatches:  # the app is exiting: its widgets went before its timers
            return
        now = self.ctx.clock()
        dirty, self._fleet_dirty = self._fleet_dirty, set()
        fleet.tick([self.infos[n] for n in dirty if n in self.infos], now, full=True)
        fleet.tick([i for n, i in self.infos.items() if n not in dirty], now)
        if self.model.stale_devices and self.model.tick_stale(now):
            if self.model.filter.pattern is not None:
                self.model.invalidate()  # the STATE text is part of the filter's haystack
            self.table.refresh_view()
        if self.diagnoser.dirty:
            self.run_diagnosis()
        self.update_status()

    def action_refresh_now(self) -> None:
        """Poll now: the device of the screen shown, else every device (paused or not)."""
        from ipsecctl.tui.screens.device import DeviceScreen
        from ipsecctl.tui.screens.tunnel import TunnelScreen

        screen = self.screen
        names: list[str] | None = None
        if isinstance(screen, DeviceScreen):
            names = [screen.device]
        elif isinstance(screen, TunnelScreen) and screen.tunnel is not None:
            names = [screen.tunnel.device]
        started = self.poller.refresh_now(names)
        what = ", ".join(started) if names else f"{len(started)} device(s)"
        self.event(
            f"refresh now: polling {what}"
            if started
            else "refresh now: every device is being polled already"
        )
        self.update_status()

    def action_pause(self) -> None:
        self.poller.paused = not self.poller.paused
        self.event(
            "polling paused (p resumes; ctrl+r polls once)"
            if self.poller.paused
            else "polling resumed"
        )
        self.update_status()

    # -- diagnosis (tui.diagnosing) ---------------------------------------------------------
    def run_diagnosis(self, *, wait: bool = False) -> None:
        """Assess the fleet now (``wait``) or in the background: see :class:`Diagnoser`."""
        self.diagnoser.run(wait=wait)

    @property
    def assessment(self) -> Assessment | None:
        return self.diagnoser.assessment

    def diagnosis_for_tunnel(
        self, key: str | None
    ) -> tuple[list[Finding], tuple[str, ...], str, str]:
        return self.diagnoser.for_tunnel(key)

    def diagnosis_for_device(self, name: str) -> tuple[list[Finding], str, str]:
        return self.diagnoser.for_device(name)

    def _refresh_why(self) -> None:
        fleet = self.fleet
        if fleet.has_focus and fleet.cursor_device is not None:
            self.device_focused(fleet.cursor_device)
        else:
            self.cursor_moved(self.table.cursor_key)

    # -- what the cursor is on --------------------------------------------------------------
    def cursor_moved(self, key: str | None) -> None:
        """The tunnels cursor moved (or its tunnel changed): detail and why follow it."""
        self._show_detail(key)
        row = self.model.rows.get(key) if key else None
        if row is None:
            self.diagnosis.show("", [], status=READY, message="no tunnel selected")
            return
        t = row.tunnel
        findings, reasons, status, message = self.diagnosis_for_tunnel(key)
        self.diagnosis.show(
            f"{t.device} → {t.peer or '?'}" + (f" vrf {t.vrf}" if t.vrf else ""),
            findings,
            reasons,
            status=status,
            message=message,
        )

    def device_focused(self, name: str) -> None:
        self._show_device(name)
        findings, status, message = self.diagnosis_for_device(name)
        self.diagnosis.show(name, findings, status=status, message=message)

    def previous_of(self, tunnel: Tunnel) -> tuple[Tunnel | None, float]:
        """The tunnel in its device's previous poll, and the seconds between the two."""
        info = self.infos.get(tunnel.device)
        if info is None:
            return None, 0.0
        # this dashboard's own previous poll (the fleet's may come from the history store,
        # minutes old): the rates are the same as the table's IN/s and OUT/s
        prev_state, cur_state = info.previous, info.state
        if prev_state is None or cur_state is None:
            return None, 0.0
        prev = next((t for t in prev_state.tunnels if t.id == tunnel.id), None)
        return prev, seconds_between(prev_state.polled_at, cur_state.polled_at)

    def _show_detail(self, key: str | None) -> None:
        row = self.model.rows.get(key) if key else None
        if row is None:
            self.detail.show(None, None)
            return
        info = self.infos.get(row.device)
        error = info.error if info is not None else ""
        if row.stale_since is not None:
            error = f"{row.stale_text}: last known data, the device is not answering. {error}"
        previous, seconds = self.previous_of(row.tunnel)
        self.detail.show(row.tunnel, self.ike_for(row.tunnel), error, previous, seconds)

    def _device_line(self, name: str) -> str:
        info = self.infos[name]
        state = info.state
        up, total = info.tunnels
        parts = [f"tunnels {up}/{total} up"]
        if state is not None and state.reachable:
            parts.append(f"IKE SAs {state.ike_up}/{len(state.ike_sas)} up")
        if info.polled_at is not None:
            age = (self.ctx.clock() - info.polled_at).total_seconds()
            parts.append(f"polled {fmt_duration(age)} ago")
        if info.failures:
            parts.append(f"{info.failures} failed poll(s) in a row")
        return ", ".join(parts)

    def _show_device(self, name: str) -> None:
        info = self.infos.get(name)
        if info is None:
            return
        self.detail.show_device(
            name, info.platform, info.reachable, info.error, self._device_line(name)
        )

    def device_summary(self, name: str) -> RenderableType:
        info = self.infos[name]
        host = self.hosts.get(name)
        where = ""
        if host is not None and host.hostname and (host.hostname != name or host.port):
            where = host.hostname + (f":{host.port}" if host.port else "")
        if host is not None and host.jump_host is not None:
            jump = getattr(host.jump_host, "name", host.jump_host)
            where += f" via {jump}"
        body = render_device(
            name,
            info.platform,
            info.reachable,
            info.error,
            self._device_line(name) + (f"; {where}" if where else ""),
            hint="",
        )
        return Group(
            body,
            Text(
                "enter: open the tunnel   s: SSH shell   ctrl+r: poll now   [ ]: tabs", style="dim"
            ),
        )

    def ike_for(self, tunnel: Tunnel) -> IkeSa | None:
        info = self.infos.get(tunnel.device)
        if info is None or info.state is None or not tunnel.peer:
            return None
        best = None
        for sa in info.state.ike_sas:
            if tunnel.peer in (sa.remote, sa.dst, sa.src) and (best is None or sa.status == "up"):
                best = sa
        return best

    _ike_for = ike_for

    # -- screens ----------------------------------------------------------------------------
    def open_tunnel(self, key: str) -> None:
        from ipsecctl.tui.screens.tunnel import TunnelScreen

        if key not in self.model.rows:
            self.notify("that tunnel is not in the last poll", severity="warning")
            return
        self._back_to(TunnelScreen, key=key)
        self.push_screen(TunnelScreen(key))

    def open_device(self, name: str, tab: str = "tunnels") -> None:
        from ipsecctl.tui.screens.device import DeviceScreen

        if name not in self.infos:
            self.notify(f"no device {name!r} in this dashboard", severity="warning")
            return
        self._back_to(DeviceScreen, key=name)
        self.push_screen(DeviceScreen(name, tab))

    def open_ike(self) -> None:
        from ipsecctl.tui.screens.ike import IkeScreen

        self.push_screen(IkeScreen())

    def _back_to(self, kind: type, key: str) -> None:
        """Opening a screen already open for the same thing goes back to it instead of
        stacking a copy (Esc always walks back along the breadcrumb)."""
        stack = self.screen_stack
        for n, screen in enumerate(stack[1:], 1):
            if (
                isinstance(screen, kind)
                and getattr(screen, "key", getattr(screen, "device", None)) == key
            ):
                for _ in range(len(stack) - n):
                    self.pop_screen()
                return

    def load_history(self, screen: Any) -> None:
        """Fill a tunnel screen's history tab: the store's timeline (read in a thread) or
        this dashboard's journal."""
        t = screen.tunnel
        if t is None:
            return
        store = getattr(self.ops, "store", None)
        if store is None or not hasattr(store, "events"):
            screen.show_history(
                render_history(self.journal.events(t.id), source="seen by this dashboard"),
                "journal",
            )
            return
        background(self._read_history, screen, t, name="ipsecctl-history")

    def _read_history(self, screen: Any, tunnel: Tunnel) -> None:
        store = getattr(self.ops, "store", None)
        try:
            events = store_timeline(store, tunnel)
            source = f"history store {getattr(store, 'location', '')}".strip()
        except Exception as exc:  # the store is a help, never a reason to fail the screen
            events = self.journal.events(tunnel.id)
            source = f"seen by this dashboard (history store: {exc})"
        if events is None:
            events, source = self.journal.events(tunnel.id), "seen by this dashboard"
        body = render_history(events, source=source)
        self._from_thread(screen.show_history, body, source)

    # -- events, title, status --------------------------------------------------------------
    def event(self, text: str, level: str = "info") -> None:
        self.events_pane.add(self.ctx.clock(), text, level)

    def _update_title(self) -> None:
        table = self.table
        title = self.model.title(
            wide=table.wide, hidden=table.hidden_columns, filter_error=self._filter_error
        )
        sub = []
        if self._actions_running:
            sub.append(f"{self._actions_running} action(s) running")
        if self.read_only:
            sub.append("read-only")
        subtitle = " | ".join(sub)
        # only when it changed: a border title redraws the whole pane
        if table.border_title != title:
            table.border_title = title
        if (table.border_subtitle or "") != subtitle:
            table.border_subtitle = subtitle

    def status_text(self) -> str:
        """Refresh interval, last poll, and what is going on (the top line of every screen)."""
        if self.starting:
            return self.starting
        parts = []
        if self.poller.paused:
            parts.append("PAUSED")
        parts.append(f"every {self.ctx.refresh:g}s")
        polled = [i.polled_at for i in self.infos.values() if i.polled_at is not None]
        parts.append(f"last poll {max(polled).strftime('%H:%M:%S')}" if polled else "first poll …")
        busy = self.poller.in_flight
        if busy:
            parts.append(f"polling {busy}")
        if self._actions_running:
            parts.append(f"{self._actions_running} action(s)")
        if self.read_only:
            parts.append("read-only")
        return " · ".join(parts)

    def update_status(self) -> None:
        if not self.screen_stack:
            return
        screen = self.screen
        if isinstance(screen, DashScreen):
            with contextlib.suppress(NoMatches):
                screen.crumbs.set_status(self.status_text())

    # -- main screen keys -------------------------------------------------------------------
    def binding_ids(self) -> set[str]:
        """Every binding id a keymap may name (see :mod:`ipsecctl.tui.keys`)."""
        return keys.binding_ids(type(self))

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        keys.apply_keymap(self, keymap)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.screen_stack:
            return True
        if action in ("command_line", "command_palette") and isinstance(self.focused, Input):
            return False  # a ":" typed into an input (an IPv6 address, a path) is text
        # the command line opens over the dashboard's screens, not over a modal
        return action != "command_line" or isinstance(self.screen, DashScreen)

    def action_filter(self) -> None:
        box = self.screen_main.query_one("#filter", Input)
        box.add_class("-active")
        box.display = True
        box.value = self.model.filter.text
        box.cursor_position = len(box.value)
        # now, not via call_later as .focus() does: "/r07" typed in one go must put "r07" in
        # the box, not send "r" (re-key) to the table
        self.screen_main.set_focus(box)

    def set_filter(self, text: str) -> bool:
        """Apply a filter; a bad regex keeps the previous filter and says why in the table
        title and the filter box (a toast too, once the operator presses Enter on it)."""
        box = self.screen_main.query_one("#filter", Input)
        try:
            self.model.set_filter(text)
        except FilterError as exc:
            self._filter_error = str(exc)
            box.border_title = f"{exc}; kept </{self.model.filter.text}>"
            box.add_class("-error")
            self._update_title()
            return False
        self._filter_error = ""
        box.border_title = None
        box.remove_class("-error")
        self.table.refresh_view()
        self._update_title()
        return True

    def filter_submitted(self, box: Input) -> None:
        if self._filter_error:
            self.notify(
                f"{self._filter_error}; kept the previous filter </{self.model.filter.text}>",
                severity="error",
                title="filter not applied",
            )
            self._filter_error = ""
            box.border_title = None
            box.remove_class("-error")
            self._update_title()
        box.remove_class("-active")
        box.display = False
        self.table.focus()

    def action_escape(self) -> None:
        box = self.screen_main.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-active")
        box.display = False
        self.set_filter("")
        self.table.focus()

    def action_sort(self, column: str) -> None:
        self.model.set_sort(column)
        self.table.refresh_view()
        self._update_title()

    def action_mark(self) -> None:
        """Space: mark the row of the focused pane (a device in the fleet pane)."""
        fleet = self.fleet
        if fleet.has_focus:
            if fleet.cursor_device is not None:
                self.mark_device(fleet.cursor_device)
            return
        key = self.table.cursor_key
        if key is None:
            return
        self.model.toggle_mark(key)
        self.table.refresh()
        self._update_title()

    def mark_device(self, name: str) -> None:
        """Marked devices: the tunnels pane shows only theirs (none marked: all)."""
        sel = self.fleet.selected
        sel.symmetric_difference_update({name})
        self.model.set_devices(sel or None)
        now = self.ctx.clock()
        for info in self.infos.values():
            self.fleet.upsert(info, now)
        self.table.refresh_view()
        self._update_title()

    def action_wide(self) -> None:
        self.table.set_wide(not self.table.wide)
        self._update_title()

    def action_faults(self) -> None:
        self.model.set_faults_only(not self.model.faults_only)
        self.table.refresh_view()
        self._update_title()

    def action_diagnose(self) -> None:
        """Focus the why pane (on a narrow terminal it takes the bottom pane)."""
        main = self.screen_main
        main.remove_class("-show-events")
        self._refresh_why()
        if self.diagnoser.dirty:
            self.run_diagnosis()
        self.diagnosis.focus()

    def action_events(self) -> None:
        main = self.screen_main
        main.toggle_class("-show-events")
        if main.has_class("-show-events"):
            self.events_pane.focus()
        else:
            self.table.focus()

    def action_help(self) -> None:
        from ipsecctl.settings import config_file

        self.push_screen(HelpScreen(keys.help_rows(self), str(config_file())))

    # -- the command line (tui.command_routing) ---------------------------------------------
    def action_command_line(self) -> None:
        command_routing.open_command_line(self)

    def run_command(self, text: str) -> bool:
        """Run one ``:`` command line; a bad one is a toast that says why."""
        return command_routing.run_command(self, text)

    def _to_main(self) -> None:
        command_routing.to_main(self)

    # -- export -----------------------------------------------------------------------------
    def action_export(self) -> None:
        stamp = self.ctx.clock().strftime("%Y%m%dT%H%M%S")
        default = f"ipsecctl-tunnels-{stamp}.csv"
        self.push_screen(ExportScreen(default, len(self.model.view)), self._export_to)

    def _export_to(self, path: str | None) -> None:
        if not path:
            return
        try:
            written = self.export(Path(path))
        except errors.IpsecctlError as exc:
            self.event(str(exc), "error")
            self.notify(str(exc), severity="error")
            return
        fmt = "JSON" if Path(path).suffix.lower() == ".json" else "CSV"
        why = (
            ""
            if fmt == "JSON" or path.lower().endswith(".csv")
            else " (the name does not end in .json)"
        )
        msg = f"exported {written} tunnel(s) to {path} as {fmt}{why}"
        self.event(msg, "ok")
        self.notify(msg)

    def export(self, path: Path) -> int:
        """The current view (filter, sort, faults, device selection) as the CLI's ``tunnels``
        document: JSON when the name ends in .json, its CSV columns otherwise."""
        rows = self.model.visible_rows()
        devices = {r.device for r in rows}
        states = [s for s in self.ops.states() if s.device in devices] or self.ops.states()
        export.export_tunnels(path, states, [r.tunnel for r in rows])
        return len(rows)

    # -- actions ----------------------------------------------------------------------------
    def _targets(self, rows: Iterable[Any] | None) -> list[Any]:
        if rows is not None:
            return list(rows)
        return self.model.targets(self.table.cursor_key)

    def start_action(self, kind: str, rows: Iterable[Any] | None = None) -> None:
        """Clear or re-key the marked tunnels (else the one under the cursor)."""
        self.action_bridge.start(kind, self._targets(rows))

    def refuse(self, kind: str) -> None:
        """A device action typed in read-only mode: say why (audited by the workflow for
        clear and re-key, which name what would have been sent)."""
        if kind in ACTION_NAMES:
            self.start_action(kind)
            return
        msg = f"{kind} refused: actions are disabled, the dashboard is read-only"
        self.event(msg, "error")
        self.notify(msg, severity="error", title="read-only")

    def start_tool(self, kind: str, rows: Iterable[Any] | None = None) -> None:
        """Probe, capture or decode for the tunnel under the cursor (one tunnel: the results
        go to its screen, which opens)."""
        from ipsecctl.tui.screens.tunnel import TunnelScreen

        targets = (
            self._targets(rows)
            if rows is not None
            else ([r] if (r := self.table.cursor_row) is not None else [])
        )
        targets = [r for r in targets if r.tunnel.peer]
        if not targets:
            self.notify("select a tunnel with a peer first", severity="warning")
            return
        if kind == "capture" and self.read_only:
            self.refuse("capture")
            return
        row = targets[0]
        if not isinstance(self.screen, TunnelScreen) or self.screen.key != row.key:
            self.open_tunnel(row.key)
        if kind == "probe":
            self.tools.probe(row)
        elif kind == "capture":
            self.tools.capture(row)
        elif kind == "decode":

            def picked(choice: tuple[str, str] | None) -> None:
                if choice is not None:
                    self.tools.decode(row, *choice)
                    self.on_tool_finished(ToolFinished(row.key, None))

            self.push_screen(
                FilePickScreen(f"Decode a capture for {row.device} → {row.tunnel.peer}"), picked
            )
            return
        self.on_tool_finished(ToolFinished(row.key, None))

    def on_tool_finished(self, message: ToolFinished) -> None:
        from ipsecctl.tui.screens.tunnel import TunnelScreen

        if self.closing:
            return
        for screen in self.screen_stack[1:]:
            if isinstance(screen, TunnelScreen) and screen.key == message.key:
                screen.show_tests()
        run = message.run
        if run is not None and run.status != "running":
            level = {"failed": "error", "declined": "info"}.get(run.status, "ok")
            summary = run.error or (getattr(run.outcome, "summary", "") if run.outcome else "")
            self.event(f"{run.title}: {run.status}" + (f": {summary}" if summary else ""), level)

    def _action_started(self, delta: int) -> None:
        self._actions_running += delta
        if not self.closing:  # an action may end after the operator quit
            self._update_title()
            self.update_status()

    def on_action_event(self, message: ActionEvent) -> None:
        if self.closing:
            return
        self.event(message.text, message.level)
        if message.result is not None:
            self._redraw_screens(message.result.device)  # its history shows the outcome
        if message.result is not None:
            self.notify(
                message.text, severity="information" if message.result.ok else "error", timeout=8
            )

    # -- the SSH shell (tui.shell) ----------------------------------------------------------
    def action_shell(self, device: str | None = None) -> None:
        """An interactive SSH shell on the device (the cursor's, the focused fleet row's or
        the one named); the dashboard suspends and comes back when it ends."""
        shell.start_shell(self, device)

    # -- host keys --------------------------------------------------------------------------
    def ask_host_key(self, device: str, hostname: str, key_type: str, fingerprint: str) -> bool:
        """Called from a poll thread: show the modal, block this thread until answered."""
        done = threading.Event()
        answer = [False]

        def show() -> None:
            self.event(f"{device}: unknown {key_type} host key {fingerprint}", "warn")

            def answered(ok: bool | None) -> None:
                answer[0] = bool(ok)
                self.event(
                    f"{device}: host key {'trusted' if ok else 'rejected'}", "ok" if ok else "error"
                )
                done.set()

            self.push_screen(HostKeyScreen(device, hostname, key_type, fingerprint), answered)

        try:
            self.call_from_thread(show)
        except RuntimeError:  # app not running any more
            return False
        while not done.wait(0.2):
            if not self.is_running:
                return False
        return answer[0]

    # -- palette ----------------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Wide view", "Toggle SPIs, transforms, lifetimes", self.action_wide)
        yield SystemCommand("Faults only", "Toggle faults-only", self.action_faults)

    def jump_to(self, key: str) -> None:
        self._to_main()
        if self.model.index_of(key) is None:
            self.action_escape()
            if self.model.devices is not None:
                self.model.set_devices(None)
                self.fleet.selected.clear()
            if self.model.faults_only:
                self.model.set_faults_only(False)
            self.table.refresh_view()
        self.table.move_to_key(key)
        self.table.focus()
        self._update_title()

    async def action_quit(self) -> None:
        """Quit now: nothing waits on a device (sessions are cut and left to daemon threads,
        polls in flight are forgotten)."""
        self._quitting = True
        self.poller.close()
        if self.ctx.close_on_exit:
            self.ops.close(abandon=True)
        self.exit(0)


def run_dashboard(
    ctx: DashboardContext,
    *,
    loader: Callable[[], DashboardContext] | None = None,
    starting: str = "",
    handle_signals: bool = False,
    own_process: bool = False,
) -> int:
    """Run the dashboard until the operator quits; returns the exit code. Sessions are
    abandoned, not waited for: a device that hangs must not hold the terminal.
    ``handle_signals``: SIGTERM and SIGHUP quit cleanly (the CLI's commands);
    ``own_process``: the dashboard is the process's program, which then collects its cyclic
    garbage while the operator is idle (:mod:`ipsecctl.tui.gc_policy`)."""
    collector = IdleCollector() if own_process else None
    app = IpsecApp(
        ctx, loader=loader, starting=starting, handle_signals=handle_signals, collector=collector
    )
    try:
        code = app.run(size=unreported_terminal_size())
    finally:
        app.poller.close()
        if app.ctx.close_on_exit:
            app.ctx.fleet.close(abandon=True)
        if ctx is not app.ctx and ctx.close_on_exit:
            ctx.fleet.close(abandon=True)
    return int(code or 0)


def unreported_terminal_size() -> tuple[int, int] | None:
    """The size to start with on a terminal that reports none (0 columns or rows: ``script``
    without a terminal of its own, some container exec sessions before their first resize);
    None when the terminal reports one.

    Such a terminal reads as 80x24 in Textual's resize events (the standard library's
    fallback) but as 80x25 (Rich's) where the app asks for its size, and the dashboard's layout
    then flips between the two without end: a full core, and no signal or poll result ever
    handled. Starting with the size the events carry makes them agree; a real size (the
    terminal's resize signal) still applies when it comes."""
    import os
    import shutil
    import sys

    try:
        columns, lines = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
    except (AttributeError, OSError, ValueError):
        return None  # not a terminal: Textual decides (headless, a pipe)
    if columns and lines:
        return None
    size = shutil.get_terminal_size()
    return size.columns, size.lines
