"""The live dashboard: fleet, tunnels, detail, events and diagnosis over persistent sessions.

Thin by design: polling goes through the operations layer's :class:`~ipsecctl.ops.fleet.Fleet`
(its bounded thread pool, persistent sessions and history), faults and findings come from
:func:`ipsecctl.ops.faults.assess`, actions run through the same
:class:`~ipsecctl.ops.workflow.Workflow` as the CLI's (confirmation, read-only, locks, audit
trail), and exports are the CLI's documents. This module only schedules, routes results (as
messages, so the UI thread never waits on a device) and draws. Each device is polled on its own
schedule, so a router that hangs holds one pool slot until its timeout and nothing else.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future
from functools import partial
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input

from ipsecctl import errors
from ipsecctl.actions import Result
from ipsecctl.models import CommandError, DeviceState, IkeSa, Tunnel
from ipsecctl.ops import export
from ipsecctl.ops.faults import Assessment, assess
from ipsecctl.ops.formatting import fmt_duration
from ipsecctl.tui.action_bridge import ActionBridge
from ipsecctl.tui.commands import DashboardCommands
from ipsecctl.tui.context import DashboardContext, HostKeyBridge, make_context
from ipsecctl.tui.screens import ExportScreen, HelpScreen, HostKeyScreen
from ipsecctl.tui.state import FilterError, TunnelModel
from ipsecctl.tui.themes import validate_theme
from ipsecctl.tui.widgets.detail import DetailPane
from ipsecctl.tui.widgets.diagnosis import DiagnosisPane
from ipsecctl.tui.widgets.events import EventsPane
from ipsecctl.tui.widgets.fleet import DeviceInfo, FleetPane
from ipsecctl.tui.widgets.table import TunnelTable

__all__ = ["DashboardContext", "HostKeyBridge", "IpsecApp", "make_context", "run_dashboard"]


def _without_device(message: str, device: str) -> str:
    """Errors from the transport already start with the device name; the events pane and the
    fleet pane add it themselves ('b01: b01: no prompt' otherwise)."""
    prefix = f"{device}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _is_host_key_error(state: DeviceState) -> bool:
    return any("host key" in f"{e.kind} {e.message}".lower() for e in state.errors)


class DevicePolled(Message):
    def __init__(self, device: str, state: DeviceState) -> None:
        super().__init__()
        self.device = device
        self.state = state


class ActionEvent(Message):
    def __init__(self, text: str, level: str = "action", result: Result | None = None) -> None:
        super().__init__()
        self.text = text
        self.level = level
        self.result = result



ACTION_NAMES = ("clear", "rekey")


class IpsecApp(App[int]):
    """The ``ipsecctl dashboard`` / ``ipsecctl demo`` application."""

    TITLE = "ipsecctl"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {DashboardCommands}
    # footer order: at 80 columns the compact footer shows up to Faults; Help and Quit come
    # early so they are never the ones cut off
    BINDINGS = [
        # priority: run while the key is read, so what is typed next ("/r07") goes to the box
        # that opens, not to the table (where "r" is re-key); see check_action
        Binding("slash", "filter", "Filter", id="filter", priority=True),
        Binding("colon", "command_palette", "Cmd", id="palette", priority=True),
        # a binding to command_palette stops Textual adding its own ctrl+p: add it back
        Binding("ctrl+p", "command_palette", "Cmd", show=False, priority=True,
                id="palette.ctrl_p"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("P", "sort('peer')", "Sort peer", show=False, id="sort.peer"),
        Binding("S", "sort('state')", "Sort state", show=False, id="sort.state"),
        Binding("U", "sort('uptime')", "Sort uptime", show=False, id="sort.uptime"),
        Binding("D", "sort('device')", "Sort device", show=False, id="sort.device"),
        Binding("space", "mark", "Mark", id="mark"),
        Binding("c", "clear", "Clear", id="clear"),
        Binding("r", "rekey", "Rekey", id="rekey"),
        Binding("d", "diagnose", "Diag", id="diagnose"),
        Binding("e", "events", "Events", show=False, id="events"),
        Binding("w", "wide", "Wide", id="wide"),
        Binding("f", "faults", "Faults", id="faults"),
        Binding("ctrl+s", "export", "Export", id="export"),
        Binding("escape", "escape", "Clear filter", show=False, id="escape"),
    ]

    def __init__(self, ctx: DashboardContext) -> None:
        super().__init__(ansi_color=True if ctx.theme == "ansi" else None)
        self.ctx = ctx
        self.model = TunnelModel()
        self.hosts = {h.name: h for h in ctx.hosts}
        self.infos: dict[str, DeviceInfo] = {
            h.name: DeviceInfo(name=h.name, platform=h.platform or "") for h in ctx.hosts
        }
        self.ops = ctx.fleet  # the operations layer's fleet (polls, previous polls, history)
        self.assessment: Assessment | None = None
        self.action_bridge = ActionBridge(self)
        self._diag_dirty = False
        self._actions_running = 0
        self._futures: set[Future[DeviceState]] = set()
        self._filter_error = ""  # a bad regex being typed: shown, the previous filter kept
        self.title = ctx.title
        if ctx.host_key_bridge is not None:
            ctx.host_key_bridge.app = self

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield FleetPane(id="fleet")
            yield TunnelTable(self.model, id="tunnels")
        with Horizontal(id="bottom"):
            yield DetailPane(id="detail")
            with Vertical(id="side"):
                yield EventsPane(id="events")
                yield DiagnosisPane(id="diagnosis")
        yield Input(placeholder="filter: regex, !regex inverts, Esc clears", id="filter")
        yield Footer()

    @property
    def table(self) -> TunnelTable:
        return self.screen_main.query_one("#tunnels", TunnelTable)

    @property
    def screen_main(self) -> Screen[Any]:
        return self.screen_stack[0]

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

    def on_mount(self) -> None:
        if self.ctx.keymap:
            self._apply_keymap(self.ctx.keymap)
        if self.ctx.theme == "ansi":
            self.theme = "ansi-dark"
        elif self.ctx.theme:
            try:
                self.theme = validate_theme(self.ctx.theme) or self.theme
            except errors.UsageError as exc:  # the CLI validates first; never a traceback
                self.notify(str(exc), severity="error")
        self.fleet.border_title = f"fleet [{len(self.infos)}]"
        self.events_pane.border_title = "events"
        self.diagnosis.border_title = "diagnosis"
        self.detail.border_title = "detail"
        now = self.ctx.clock()
        for info in self.infos.values():
            self.fleet.upsert(info, now)
        if not self.ctx.diagnose:
            self.diagnosis.update("diagnostics switched off")
            self.diagnosis.available = False
        self._update_title()
        self.table.focus()
        self._narrow(self.size.width, self.size.height)
        self.event(f"dashboard started: {len(self.infos)} device(s), refresh "
                   f"{self.ctx.refresh:g} s" + (", read-only" if self.ctx.read_only else ""))
        self._schedule()
        self.set_interval(0.25, self._schedule)
        self.set_interval(1.0, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        # event.size: the app's own size is only updated after this handler
        self._narrow(event.size.width, event.size.height)

    def _narrow(self, width: int, height: int) -> None:
        if not self.screen_stack:
            return
        narrow = width < 110 or height < 30
        screen = self.screen_main
        screen.set_class(narrow, "-narrow")
        screen.set_class(narrow and height < 32, "-short")
        # the compact footer fits every key (with ? Help and q Quit) in 80 columns
        for footer in screen.query(Footer):
            footer.compact = width < 140
            show = width >= 110  # ': Cmd' is on the left anyway
            if footer.show_command_palette != show:
                footer.show_command_palette = show
                footer.refresh(recompose=True)

    # -- polling ----------------------------------------------------------------------------
    def _schedule(self) -> None:
        """Start a poll for every device that is due and not already being polled."""
        now = time.monotonic()
        for name, info in self.infos.items():
            if info.in_flight or info.next_due > now:
                continue
            info.in_flight = True
            try:
                fut: Future[DeviceState] = self.ops.submit(name)
            except RuntimeError:  # the collector was closed (app exiting)
                info.in_flight = False
                return
            self._futures.add(fut)
            fut.add_done_callback(partial(self._poll_done, name))

    def _poll_done(self, name: str, fut: Future[DeviceState]) -> None:
        """Runs in the poll thread: hand the result to the UI thread as a message."""
        self._futures.discard(fut)
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            host = self.hosts[name]
            state = DeviceState(device=name, platform=host.platform or "", reachable=False,
                                errors=[CommandError(kind="internal", message=repr(exc))])
        else:
            state = fut.result()
        self.post_message(DevicePolled(name, state))

    def on_device_polled(self, message: DevicePolled) -> None:
        if not self.screen_stack:  # a poll that ends while the app exits
            return
        self.apply_state(message.state, scheduled=True)

    def apply_state(self, state: DeviceState, *, scheduled: bool = False) -> None:
        info = self.infos.get(state.device)
        if info is None:
            return
        now = self.ctx.clock()
        if scheduled:
            info.in_flight = False
            info.polls += 1
        failed = not state.reachable
        error = "; ".join(_without_device(e.message, state.device)
                          for e in state.errors if e.fatal)
        if failed:
            info.failures += 1
            backoff = min(self.ctx.refresh * (2 ** info.failures), self.ctx.max_backoff)
            if scheduled:
                info.next_due = time.monotonic() + backoff
            if error != info.error:
                self.event(f"{state.device}: {error or 'unreachable'} "
                           f"(retry in {backoff:.0f} s)", "error")
                if _is_host_key_error(state):
                    # the operator must act (remove a known_hosts line): say it where it is
                    # read in full, not only in a pane that may be too small
                    self.notify(error, title=f"{state.device}: host key", severity="error",
                                timeout=30)
        else:
            if info.failures and info.state is not None and not info.state.reachable:
                self.event(f"{state.device}: reachable again", "ok")
            elif error and error != info.error:
                self.event(f"{state.device}: {error}", "warn")
            info.failures = 0
            if scheduled:
                info.next_due = time.monotonic() + self.ctx.refresh
            info.previous, info.state = info.state, state
            info.last_ok = now
        if failed:
            # keep the last good data for tunnels, but show the device as down
            info.previous = info.state
            info.state = state if info.state is None else info.state.model_copy(
                update={"reachable": False, "errors": state.errors})
            if info.last_ok is not None:
                self.model.mark_stale(state.device, info.last_ok, now)
        info.error = error
        info.polled_at = now
        result = self.model.apply(state)
        info.tunnels = self.model.device_counts(state.device)
        for change in result.changes:
            if change.old is None and info.previous is None:
                continue  # the first poll is not an event per tunnel
            text = f"{change.device} peer {change.peer or '?'}: {change.old or 'new'} -> " \
                   f"{change.new or 'gone'}"
            self.event(text, "ok" if change.new == "up" else "warn")
        self.fleet.upsert(info, now)
        self.table.refresh_view()
        self._update_title()
        cursor = self.table.cursor_row
        if cursor is not None and cursor.device == state.device:
            self._show_detail(cursor.key)
        elif cursor is None and self.detail.tunnel_id is not None:
            self._show_detail(None)
        elif self.detail.device_name == state.device:
            self._show_device(state.device)
        self._diag_dirty = True

    def _tick(self) -> None:
        if not self.screen_stack:
            return
        try:
            fleet = self.fleet
        except NoMatches:  # the app is exiting: its widgets went before its timers
            return
        now = self.ctx.clock()
        fleet.tick(list(self.infos.values()), now)
        if self.model.stale_devices and self.model.tick_stale(now):
            if self.model.filter.pattern is not None:
                self.model.invalidate()  # the STATE text is part of the filter's haystack
            self.table.refresh_view()
        if self._diag_dirty:
            self.run_diagnosis()

    def run_diagnosis(self, *, wait: bool = False) -> None:
        """Assess the latest and previous polls (the one definition of a fault, shared with
        ``tunnels --faults`` and ``diag health``); in a thread worker (10,000 tunnels of rules
        must not stall a keystroke) unless ``wait``."""
        self._diag_dirty = False
        if not self.ctx.diagnose:
            return
        current = self.ops.states()
        previous = self.ops.previous_states()
        if wait:
            self._assessed(assess(current, previous or None, history=self.ops.history()))
        else:
            self._diagnose_in_thread(current, previous)

    @work(thread=True, exclusive=True, group="diagnosis", exit_on_error=False)
    def _diagnose_in_thread(self, current: list[DeviceState],
                            previous: list[DeviceState]) -> None:
        try:
            found = assess(current, previous or None, history=self.ops.history())
        except Exception as exc:  # a rule bug must not take the dashboard down
            self.call_from_thread(self.diagnosis.update, f"diagnostics failed: {exc!r}")
            return
        self.call_from_thread(self._assessed, found)

    def _assessed(self, assessment: Assessment) -> None:
        if not self.screen_stack:
            return
        self.assessment = assessment
        if self.model.set_faults(assessment.faults):
            self.table.refresh_view()
            self._update_title()
        self.diagnosis.show_findings(list(assessment.findings))

    # -- events, title, detail --------------------------------------------------------------
    def event(self, text: str, level: str = "info") -> None:
        self.events_pane.add(self.ctx.clock(), text, level)

    def _update_title(self) -> None:
        table = self.table
        table.border_title = self.model.title(wide=table.wide, hidden=table.hidden_columns,
                                              filter_error=self._filter_error)
        sub = []
        if self._actions_running:
            sub.append(f"{self._actions_running} action(s) running")
        if self.ctx.read_only:
            sub.append("read-only")
        table.border_subtitle = " | ".join(sub)

    def on_tunnel_table_cursor_moved(self, message: TunnelTable.CursorMoved) -> None:
        self._show_detail(message.key)

    def on_tunnel_table_header_clicked(self, message: TunnelTable.HeaderClicked) -> None:
        self.action_sort(message.column)

    def _show_detail(self, key: str | None) -> None:
        row = self.model.rows.get(key) if key else None
        if row is None:
            self.detail.show(None, None)
            return
        info = self.infos.get(row.device)
        error = info.error if info is not None else ""
        if row.stale_since is not None:
            error = f"{row.stale_text}: last known data, the device is not answering. {error}"
        self.detail.show(row.tunnel, self._ike_for(row.tunnel), error)

    def _show_device(self, name: str) -> None:
        info = self.infos.get(name)
        if info is None:
            return
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
        self.detail.show_device(name, info.platform, info.reachable, info.error,
                                ", ".join(parts))

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        """The fleet's cursor moved (by the operator): the detail pane shows that device,
        with its error in full."""
        if message.data_table is self.fleet and self.fleet.has_focus:
            self._show_device(str(message.row_key.value))

    def on_descendant_focus(self, event: Any) -> None:
        widget = getattr(event, "widget", None)
        if widget is self.fleet and self.fleet.row_count:
            key = self.fleet.coordinate_to_cell_key((self.fleet.cursor_row, 0)).row_key
            self._show_device(str(key.value))
        elif widget is self.table and self.detail.device_name is not None:
            self._show_detail(self.table.cursor_key)

    def _ike_for(self, tunnel: Tunnel) -> IkeSa | None:
        info = self.infos.get(tunnel.device)
        if info is None or info.state is None or not tunnel.peer:
            return None
        best = None
        for sa in info.state.ike_sas:
            if tunnel.peer in (sa.remote, sa.dst, sa.src) and (best is None or sa.status == "up"):
                best = sa
        return best

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        """Enter on a fleet row toggles that device in the tunnels table's selection."""
        if message.data_table is not self.fleet:
            return
        name = str(message.row_key.value)
        sel = self.fleet.selected
        sel.symmetric_difference_update({name})
        self.model.set_devices(sel or None)
        now = self.ctx.clock()
        for info in self.infos.values():
            self.fleet.upsert(info, now)
        self.table.refresh_view()
        self._update_title()

    # -- keys -------------------------------------------------------------------------------
    def binding_ids(self) -> set[str]:
        """Every binding id a keymap may name (the app's, the table's and the modals')."""
        from ipsecctl.tui import screens

        ids: set[str] = set()
        owners: list[Any] = [type(self), TunnelTable, screens.ConfirmScreen,
                             screens.HostKeyScreen, screens.ExportScreen, screens.HelpScreen]
        for owner in owners:
            for b in owner.BINDINGS:
                if isinstance(b, Binding) and b.id:
                    ids.add(b.id)
        return ids

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        """``settings.keymap`` (binding id -> keys, e.g. ``{rekey: R, quit: "q,ctrl+q"}``);
        an unknown id is reported, not fatal: the other remaps still apply."""
        known = self.binding_ids()
        unknown = sorted(set(keymap) - known)
        if unknown:
            self.event(f"keymap: unknown binding id(s) {', '.join(unknown)}; "
                       f"known: {', '.join(sorted(known))}", "warn")
        self.set_keymap({k: v for k, v in keymap.items() if k in known})

    def on_key(self, event: Any) -> None:
        """Read-only mode dims c/r in the footer and Textual then drops the key silently:
        say why instead (the key reaches here only when no binding ran)."""
        if not self.ctx.read_only or not self.screen_stack or self.screen is not self.screen_main:
            return
        active = self.active_bindings.get(event.key)
        if active is not None and active.binding.action in ACTION_NAMES:
            self.start_action(active.binding.action)
            event.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.screen_stack:
            return True
        if action in ("filter", "command_palette") and (
                self.screen is not self.screen_main or isinstance(self.focused, Input)):
            return False  # a "/" or ":" typed into an input (a regex, an IPv6 address) is text
        if action in ACTION_NAMES and self.ctx.read_only:
            return None  # shown, dimmed: the operator sees the key exists but is refused
        return True

    def action_filter(self) -> None:
        box = self.screen_main.query_one("#filter", Input)
        box.add_class("-active")
        box.display = True
        box.value = self.model.filter.text
        box.cursor_position = len(box.value)
        # now, not via call_later as .focus() does: "/r07" typed in one go must put "r07" in
        # the box, not send "r" (re-key) to the table
        self.screen_main.set_focus(box)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "filter":
            return
        self.set_filter(event.value)

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

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if self._filter_error:
                self.notify(f"{self._filter_error}; kept the previous filter "
                            f"</{self.model.filter.text}>", severity="error",
                            title="filter not applied")
                self._filter_error = ""
                event.input.border_title = None
                event.input.remove_class("-error")
                self._update_title()
            event.input.remove_class("-active")
            event.input.display = False
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
        key = self.table.cursor_key
        if key is None:
            return
        self.model.toggle_mark(key)
        self.table.refresh()
        self._update_title()

    def action_wide(self) -> None:
        self.table.set_wide(not self.table.wide)
        self._update_title()

    def action_faults(self) -> None:
        self.model.set_faults_only(not self.model.faults_only)
        self.table.refresh_view()
        self._update_title()

    def action_diagnose(self) -> None:
        rows = self.model.targets(self.table.cursor_key)
        devices = {r.device for r in rows}
        peers = {r.tunnel.peer for r in rows if r.tunnel.peer}
        self.diagnosis.set_scope(devices or None, peers)
        self.screen_main.remove_class("-show-events")
        self.screen_main.add_class("-show-side", "-show-diag")
        if self._diag_dirty:
            self.run_diagnosis()
        self.diagnosis.focus()

    def action_events(self) -> None:
        self.screen_main.remove_class("-show-diag")
        self.screen_main.toggle_class("-show-side", "-show-events")
        self.events_pane.focus()

    def action_help(self) -> None:
        from ipsecctl.settings import config_file

        rows = []
        for binding in self.BINDINGS:
            if isinstance(binding, Binding):
                keys = self._keymap.get(binding.id or "") or binding.key
                shown = ", ".join(self.get_key_display(dataclasses.replace(binding, key=k))
                                  for k in keys.split(","))
                rows.append((shown, binding.description, binding.id or ""))
        rows.append(("click header", "Sort by that column (again: reverse)", ""))
        rows.append(("enter (fleet)", "Show only the marked devices' tunnels", ""))
        rows.append(("tab", "Move between the fleet and tunnels panes", ""))
        self.push_screen(HelpScreen(rows, str(config_file())))

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
        why = "" if fmt == "JSON" or path.lower().endswith(".csv") else \
            " (the name does not end in .json)"
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
    def action_clear(self) -> None:
        self.start_action("clear")

    def action_rekey(self) -> None:
        self.start_action("rekey")

    def start_action(self, kind: str) -> None:
        """Clear or re-key the marked tunnels (else the one under the cursor)."""
        self.action_bridge.start(kind, self.model.targets(self.table.cursor_key))

    def _action_started(self, delta: int) -> None:
        self._actions_running += delta
        if self.screen_stack:  # an action may end after the operator quit
            self._update_title()

    def on_action_event(self, message: ActionEvent) -> None:
        if not self.screen_stack:
            return
        self.event(message.text, message.level)
        if message.result is not None:
            self.notify(message.text, severity="information" if message.result.ok else "error",
                        timeout=8)

    # -- host keys --------------------------------------------------------------------------
    def ask_host_key(self, device: str, hostname: str, key_type: str, fingerprint: str) -> bool:
        """Called from a poll thread: show the modal, block this thread until answered."""
        done = threading.Event()
        answer = [False]

        def show() -> None:
            self.event(f"{device}: unknown {key_type} host key {fingerprint}", "warn")

            def answered(ok: bool | None) -> None:
                answer[0] = bool(ok)
                self.event(f"{device}: host key {'trusted' if ok else 'rejected'}",
                           "ok" if ok else "error")
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
        if self.ctx.close_on_exit:
            self.ops.close(abandon=True)
        self.exit(0)


def run_dashboard(ctx: DashboardContext) -> int:
    """Run the dashboard until the operator quits; returns the exit code. Sessions are
    abandoned, not waited for: a device that hangs must not hold the terminal."""
    app = IpsecApp(ctx)
    try:
        code = app.run()
    finally:
        if ctx.close_on_exit:
            ctx.fleet.close(abandon=True)
    return int(code or 0)
