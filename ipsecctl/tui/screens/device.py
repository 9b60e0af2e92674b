"""One device: its state and error in full, all its tunnels (Enter opens one), its log lines
explained by the ``diag logs`` engine, its findings and the raw outputs of its last poll;
``s`` opens an interactive SSH shell on it."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, TabbedContent, TabPane

from ipsecctl.models import DeviceState
from ipsecctl.ops.formatting import fmt_duration, fmt_rate
from ipsecctl.tui.rawlines import device_outputs
from ipsecctl.tui.screens.base import DashScreen
from ipsecctl.tui.screens.tunnel import Scroll, render_excerpts
from ipsecctl.tui.widgets.crumbs import Crumbs
from ipsecctl.tui.widgets.diagnosis import DiagnosisPane
from ipsecctl.tui.widgets.findings import SEVERITY_STYLES

TABS = ("tunnels", "logs", "why", "raw")
LOG_LIMIT = 300


def log_texts(state: DeviceState | None) -> list[tuple[str, str]]:
    """(command, text) of the device's log outputs in its last poll."""
    if state is None or not state.raw:
        return []
    from ipsecctl.platforms import get_platform

    try:
        wanted = set(get_platform(state.platform).collect.get("logs", []))
    except Exception:
        wanted = set()
    return [
        (c, t)
        for c, t in state.raw.items()
        if c in wanted or "logging" in c or c.startswith("journalctl")
    ]


def render_logs(state: DeviceState | None, peer: str | None = None) -> RenderableType:
    """The ``diag logs`` engine over the device's log: each recognised line with what it
    means and the fix, and the crypto lines it could not explain."""
    from ipsecctl.diag.logs import analyse

    texts = log_texts(state)
    if not texts:
        return Text(
            "no log in the last poll: logs are read every few polls (ctrl+r polls now)", style="dim"
        )
    parts: list[Any] = []
    for command, text in texts:
        report = analyse(text)
        events = [e for e in report.events if peer is None or e.peer == peer]
        head = Text()
        head.append(f"{command}", style="bold")
        known = sum(1 for e in events if e.code)
        head.append(
            f"  {known} line(s) explained, {len(events) - known} crypto line(s) not recognised",
            style="dim",
        )
        parts.append(head)
        shown = events[-LOG_LIMIT:]
        width = len(str(shown[-1].line)) if shown else 1
        for ev in reversed(shown):  # newest first
            head = Text(no_wrap=True, overflow="ellipsis")
            head.append(f"{ev.line:>{width}} ", style="dim")
            if ev.time:
                head.append(f"{' '.join(ev.time.split())} ", style="dim")
            head.append(f"{ev.peer or '-'}  ", style="bold")
            if ev.code:
                head.append(f"{ev.code} ", style=SEVERITY_STYLES.get(ev.severity or "", "bold"))
                head.append(ev.summary or "")
            else:
                head.append("(not recognised)", style="dim")
            parts.append(head)
            indent = " " * (width + 1)
            parts.append(Text(f"{indent}{ev.text.strip()}", style="dim"))
            if ev.fix:
                parts.append(Text(f"{indent}fix: {ev.fix}", style="cyan"))
        if len(events) > LOG_LIMIT:
            parts.append(Text(f"… {len(events) - LOG_LIMIT} older line(s)", style="dim"))
    return Group(*parts)


class DeviceScreen(DashScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="device.back"),
        Binding("enter", "open", "Open tunnel", id="device.open"),
        Binding("s", "shell", "Shell", id="device.shell"),
        Binding("z", "zoom", "Zoom", id="device.zoom"),
        Binding("right_square_bracket", "tab(1)", "Next tab", show=False, id="dtab.next"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False, id="dtab.prev"),
        Binding("1", "show_tab('tunnels')", "Tunnels", show=False, id="dtab.tunnels"),
        Binding("2", "show_tab('logs')", "Logs", show=False, id="dtab.logs"),
        Binding("3", "show_tab('why')", "Why", show=False, id="dtab.why"),
        Binding("4", "show_tab('raw')", "Raw", show=False, id="dtab.raw"),
    ]

    def __init__(self, name: str, tab: str = "tunnels") -> None:
        super().__init__()
        self.device = name
        self.initial = tab if tab in TABS else "tunnels"

    def compose(self) -> ComposeResult:
        yield Crumbs(self.trail(), id="crumbs")
        yield Scroll("device-summary-body", id="device-summary", classes="pane")
        with TabbedContent(id="dtabs", initial=self.initial):
            with TabPane("1 Tunnels", id="tunnels"):
                yield DataTable(id="device-tunnels", cursor_type="row", classes="pane")
            with TabPane("2 Logs", id="logs"):
                yield Scroll("logs-body", id="device-logs", classes="pane")
            with TabPane("3 Why", id="why"):
                yield DiagnosisPane(id="device-why", classes="pane")
            with TabPane("4 Raw", id="raw"):
                yield Scroll("draw-body", id="device-raw", classes="pane")
        yield Footer()

    def trail(self) -> list[str]:
        return ["fleet", self.device]

    def on_mount(self) -> None:
        table = self.query_one("#device-tunnels", DataTable)
        for name in ("PEER", "VRF", "STATE", "IKE", "UP", "IN/s", "OUT/s", "ERRS"):
            table.add_column(name, key=name)
        self.redraw()
        self.action_show_tab(self.initial)

    def redraw(self) -> None:
        app = self.dash
        info = app.infos.get(self.device)
        state = app.ops.current(self.device)
        summary = self.query_one("#device-summary", Scroll)
        summary.border_title = f"device {self.device}"
        if info is not None:
            summary.set(app.device_summary(self.device))
        table = self.query_one("#device-tunnels", DataTable)
        keys = sorted(app.model.by_device.get(self.device, ()), key=lambda k: app.model.rows[k].seq)
        current = table.cursor_row
        table.clear()
        for key in keys:
            row = app.model.rows[key]
            t = row.tunnel
            table.add_row(
                t.peer or "-",
                t.vrf or "-",
                Text(
                    row.cells.get("state", t.state),
                    style={"up": "green", "down": "bold red"}.get(t.state, "yellow"),
                ),
                t.ike_state or "-",
                fmt_duration(t.uptime_s),
                fmt_rate(row.rate_in),
                fmt_rate(row.rate_out),
                str(t.error_count),
                key=key,
            )
        if keys:
            table.move_cursor(row=min(current, len(keys) - 1))
        self.query_one("#device-logs", Scroll).set(render_logs(state))
        findings, status, message = app.diagnosis_for_device(self.device)
        self.query_one("#device-why", DiagnosisPane).show(
            self.device, findings, status=status, message=message
        )
        self.query_one("#device-raw", Scroll).set(
            render_excerpts(device_outputs(state), self.device)
        )
        app.update_status()

    # -- keys -------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss()

    def action_open(self) -> None:
        table = self.query_one("#device-tunnels", DataTable)
        if not table.row_count or self.query_one(TabbedContent).active != "tunnels":
            return
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        if key is not None:
            self.dash.open_tunnel(str(key))

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        if message.row_key.value is not None:
            self.dash.open_tunnel(str(message.row_key.value))

    def action_shell(self) -> None:
        self.dash.action_shell(self.device)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        pane = {
            "tunnels": "#device-tunnels",
            "logs": "#device-logs",
            "why": "#device-why",
            "raw": "#device-raw",
        }[tab]
        self.query_one(pane).focus()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        current = TABS.index(tabs.active) if tabs.active in TABS else 0
        self.action_show_tab(TABS[(current + step) % len(TABS)])
