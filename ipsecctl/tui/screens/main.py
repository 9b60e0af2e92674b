"""The main screen: the fleet and its tunnels, the detail and the diagnosis of the tunnel
under the cursor, the events. Enter drills into the tunnel (or, in the fleet pane, the
device); Space marks the row of the focused pane.

Layout by size (``app.tcss``): from 110x30 the fleet sits beside the tunnels and the detail
beside the diagnosis and events; below that the panes stack and the bottom pane shows the
diagnosis (``e`` swaps in the events).
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Input

from ipsecctl.tui.screens.base import DashScreen
from ipsecctl.tui.widgets.crumbs import Crumbs
from ipsecctl.tui.widgets.detail import DetailPane
from ipsecctl.tui.widgets.diagnosis import DiagnosisPane
from ipsecctl.tui.widgets.events import EventsPane
from ipsecctl.tui.widgets.fleet import FleetPane
from ipsecctl.tui.widgets.table import TunnelTable


class MainScreen(DashScreen):
    # footer order: what an operator needs first; at 80 columns the compact footer keeps
    # these, the rest are on ? (help) and in the palette
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open", id="open"),
        # priority: run while the key is read, so what is typed next ("/r07") goes to the
        # box that opens, not to the table (where "r" is re-key)
        Binding("slash", "filter", "Filter", id="filter", priority=True),
        Binding("space", "mark", "Mark", id="mark"),
        Binding("c", "clear", "Clear", id="clear"),
        Binding("r", "rekey", "Rekey", id="rekey"),
        Binding("i", "probe", "Probe", id="probe"),
        Binding("x", "capture", "Capture", id="capture"),
        Binding("f", "faults", "Faults", id="faults"),
        Binding("z", "zoom", "Zoom", id="zoom"),
        Binding("o", "decode", "Decode file", show=False, id="decode"),
        Binding("s", "shell", "Shell", show=False, id="shell"),
        Binding("d", "why", "Why", show=False, id="diagnose"),
        Binding("e", "events", "Events", show=False, id="events"),
        Binding("w", "wide", "Wide", show=False, id="wide"),
        Binding("ctrl+s", "export", "Export", show=False, id="export"),
        Binding("P", "sort('peer')", "Sort peer", show=False, id="sort.peer"),
        Binding("S", "sort('state')", "Sort state", show=False, id="sort.state"),
        Binding("U", "sort('uptime')", "Sort uptime", show=False, id="sort.uptime"),
        Binding("D", "sort('device')", "Sort device", show=False, id="sort.device"),
        Binding("escape", "escape", "Clear filter", show=False, id="escape"),
    ]

    def compose(self) -> ComposeResult:
        yield Crumbs(["fleet"], id="crumbs")
        with Horizontal(id="top"):
            yield FleetPane(id="fleet", classes="pane")
            yield TunnelTable(self.dash.model, id="tunnels", classes="pane")
        with Horizontal(id="bottom"):
            yield DetailPane(id="detail", classes="pane")
            with Vertical(id="side"):
                yield DiagnosisPane(id="diagnosis", classes="pane")
                yield EventsPane(id="events", classes="pane")
        yield Input(placeholder="filter: regex, !regex inverts, Esc clears", id="filter")
        yield Footer()

    def trail(self) -> list[str]:
        return ["fleet"]

    def on_mount(self) -> None:
        self.query_one("#fleet").border_title = f"fleet [{len(self.dash.infos)}]"
        self.query_one("#events").border_title = "events"
        self.query_one("#diagnosis").border_title = "why"
        self.query_one("#detail").border_title = "detail"
        self.query_one(TunnelTable).focus()
        self.layout_for(self.app.size.width, self.app.size.height)
        self.dash.main_ready()

    def on_resize(self, event: events.Resize) -> None:
        self.layout_for(event.size.width, event.size.height)

    def layout_for(self, width: int, height: int) -> None:
        narrow = width < 110 or height < 30
        self.set_class(narrow, "-narrow")
        self.set_class(narrow and height < 32, "-short")

    # -- widget messages -> the app ---------------------------------------------------------
    def on_tunnel_table_cursor_moved(self, message: TunnelTable.CursorMoved) -> None:
        self.dash.cursor_moved(message.key)

    def on_tunnel_table_header_clicked(self, message: TunnelTable.HeaderClicked) -> None:
        self.dash.action_sort(message.column)

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        """The fleet's cursor moved (by the operator): detail and diagnosis follow it."""
        fleet = self.query_one(FleetPane)
        if message.data_table is fleet and fleet.has_focus:
            self.dash.device_focused(str(message.row_key.value))

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        """Enter on a fleet row opens that device's screen."""
        if message.data_table is self.query_one(FleetPane):
            self.dash.open_device(str(message.row_key.value))

    def on_fleet_pane_marked(self, message: FleetPane.Marked) -> None:
        self.dash.mark_device(message.device)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        fleet = self.query_one(FleetPane)
        table = self.query_one(TunnelTable)
        if event.widget is fleet and fleet.cursor_device is not None:
            self.dash.device_focused(fleet.cursor_device)
        elif event.widget is table:
            self.dash.cursor_moved(table.cursor_key)

    # -- keys -------------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and isinstance(self.focused, Input):
            return False  # a "/" typed into an input (a regex, an IPv6 prefix) is text
        return super().check_action(action, parameters)

    def action_open(self) -> None:
        fleet = self.query_one(FleetPane)
        if fleet.has_focus and fleet.cursor_device is not None:
            self.dash.open_device(fleet.cursor_device)
            return
        key = self.query_one(TunnelTable).cursor_key
        if key is not None:
            self.dash.open_tunnel(key)

    def action_filter(self) -> None:
        self.dash.action_filter()

    def action_mark(self) -> None:
        self.dash.action_mark()

    def action_clear(self) -> None:
        self.dash.start_action("clear")

    def action_rekey(self) -> None:
        self.dash.start_action("rekey")

    def action_probe(self) -> None:
        self.dash.start_tool("probe")

    def action_capture(self) -> None:
        self.dash.start_tool("capture")

    def action_decode(self) -> None:
        self.dash.start_tool("decode")

    def action_shell(self) -> None:
        self.dash.action_shell()

    def action_faults(self) -> None:
        self.dash.action_faults()

    def action_why(self) -> None:
        self.dash.action_diagnose()

    def action_events(self) -> None:
        self.dash.action_events()

    def action_wide(self) -> None:
        self.dash.action_wide()

    def action_export(self) -> None:
        self.dash.action_export()

    def action_sort(self, column: str) -> None:
        self.dash.action_sort(column)

    def action_escape(self) -> None:
        self.dash.action_escape()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.dash.set_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.dash.filter_submitted(event.input)
