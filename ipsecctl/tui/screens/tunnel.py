"""One tunnel, everything about it: the IKE SA, both directions' SAs labelled in and out with
their SPIs, transforms and remaining lifetimes, counters with rates; then, in tabs, why it is
in that state (findings with evidence, causes and next steps), its history, the raw device
lines it was built from, and the probes and captures run on it from here.

It follows the tunnel by id: every poll of its device redraws it, and it says so when the
tunnel is no longer in the device's output.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static, TabbedContent, TabPane

from ipsecctl.models import Tunnel
from ipsecctl.tui.rawlines import Excerpt, tunnel_excerpts
from ipsecctl.tui.screens.base import DashScreen
from ipsecctl.tui.widgets.body import PaneBody
from ipsecctl.tui.widgets.crumbs import Crumbs
from ipsecctl.tui.widgets.detail import render_tunnel
from ipsecctl.tui.widgets.diagnosis import DiagnosisPane
from ipsecctl.tui.widgets.report import render_runs

TABS = ("why", "history", "raw", "tests")


class Scroll(VerticalScroll, can_focus=True):
    """A focusable, zoomable scroll pane with one Static inside."""

    ALLOW_MAXIMIZE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="pane.j"),
        Binding("k", "scroll_up", "Up", show=False, id="pane.k"),
        Binding("g", "scroll_home", "Top", show=False, id="pane.g"),
        Binding("G", "scroll_end", "Bottom", show=False, id="pane.G"),
    ]

    def __init__(self, body_id: str, *, id: str | None = None, classes: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.body_id = body_id
        self.content: RenderableType = Text("")

    def compose(self) -> ComposeResult:
        yield PaneBody(self.content, id=self.body_id)

    def set(self, renderable: RenderableType) -> None:
        self.content = renderable
        if self.is_mounted:
            self.query_one(f"#{self.body_id}", Static).update(renderable)


def render_excerpts(excerpts: list[Excerpt], device: str) -> RenderableType:
    if not excerpts:
        return Text(
            "no device output kept for this tunnel (the last poll failed, or the "
            "outputs were replayed without it)",
            style="dim",
        )
    parts: list[Any] = []
    for ex in excerpts:
        head = Text()
        head.append(f"{device}# {ex.command}", style="bold")
        if ex.cut:
            head.append(f"  ({ex.cut} more line(s) not shown)", style="dim")
        parts.append(head)
        width = len(str(ex.lines[-1][0])) if ex.lines else 1
        previous = None
        for number, line in ex.lines:
            if previous is not None and number != previous + 1:
                parts.append(Text(" " * width + " ⋮", style="dim"))
            row = Text(no_wrap=True, overflow="ellipsis")
            row.append(f"{number:>{width}} ", style="dim")
            row.append(line)
            parts.append(row)
            previous = number
        parts.append(Text(""))
    return Group(*parts)


class TunnelScreen(DashScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("c", "clear", "Clear", id="tunnel.clear"),
        Binding("r", "rekey", "Rekey", id="tunnel.rekey"),
        Binding("i", "probe", "Probe", id="tunnel.probe"),
        Binding("x", "capture", "Capture", id="tunnel.capture"),
        Binding("o", "decode", "Decode", id="tunnel.decode"),
        Binding("s", "shell", "Shell", id="tunnel.shell"),
        Binding("z", "zoom", "Zoom", id="tunnel.zoom"),
        Binding("right_square_bracket", "tab(1)", "Next tab", show=False, id="tab.next"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", show=False, id="tab.prev"),
        Binding("1", "show_tab('why')", "Why", show=False, id="tab.why"),
        Binding("2", "show_tab('history')", "History", show=False, id="tab.history"),
        Binding("3", "show_tab('raw')", "Raw", show=False, id="tab.raw"),
        Binding("4", "show_tab('tests')", "Tests", show=False, id="tab.tests"),
    ]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.tunnel: Tunnel | None = None
        self.history_source = ""

    def compose(self) -> ComposeResult:
        yield Crumbs(self.trail(), id="crumbs")
        yield Scroll("summary-body", id="summary", classes="pane")
        with TabbedContent(id="tabs", initial="why"):
            with TabPane("1 Why", id="why"):
                yield DiagnosisPane(id="tunnel-why", classes="pane")
            with TabPane("2 History", id="history"):
                yield Scroll("history-body", id="tunnel-history", classes="pane")
            with TabPane("3 Raw", id="raw"):
                yield Scroll("raw-body", id="tunnel-raw", classes="pane")
            with TabPane("4 Probe/capture", id="tests"):
                yield Scroll("tests-body", id="tunnel-tests", classes="pane")
        yield Footer()

    def trail(self) -> list[str]:
        row = self.dash.model.rows.get(self.key)
        t = row.tunnel if row is not None else self.tunnel
        if t is None:
            return ["fleet", self.key]
        peer = (t.peer or "?") + (f" vrf {t.vrf}" if t.vrf else "")
        return ["fleet", t.device, peer]

    def on_mount(self) -> None:
        self.query_one("#summary").border_title = "tunnel"
        self.redraw()
        self.dash.load_history(self)
        self.query_one("#tunnel-why").focus()

    # -- drawing ----------------------------------------------------------------------------
    def redraw(self) -> None:
        """Everything from the app's current knowledge (called on every poll of the device,
        on each new assessment and when a probe or capture finishes)."""
        app = self.dash
        row = app.model.rows.get(self.key)
        if row is not None:
            self.tunnel = row.tunnel
        t = self.tunnel
        summary = self.query_one("#summary", Scroll)
        if t is None:
            summary.set(
                Text(f"tunnel {self.key} is not in its device's output any more", style="red")
            )
            return
        note = ""
        if row is None:
            note = "this tunnel is gone from the device's last poll; below is the last seen"
        elif row.stale_since is not None:
            note = f"{row.stale_text}: last known data, the device is not answering"
        previous, seconds = app.previous_of(t)
        width = self.app.size.width
        summary.set(
            render_tunnel(
                t,
                app.ike_for(t),
                previous=previous,
                seconds=seconds,
                bars=True,
                counters=3 if width >= 110 else 2,
                note=note,
                width=width,
            )
        )
        summary.border_title = f"tunnel {t.id}"
        self.crumbs.set_trail(self.trail())
        findings, reasons, status, message = app.diagnosis_for_tunnel(self.key)
        why = self.query_one("#tunnel-why", DiagnosisPane)
        why.show(
            f"{t.device} → {t.peer or '?'}" + (f" vrf {t.vrf}" if t.vrf else ""),
            findings,
            reasons,
            status=status,
            message=message,
        )
        state = app.ops.current(t.device)
        self.query_one("#tunnel-raw", Scroll).set(
            render_excerpts(tunnel_excerpts(state, t), t.device)
        )
        self.query_one("#tunnel-tests", Scroll).set(render_runs(app.tools.runs_for(self.key)))
        app.update_status()

    def show_history(self, renderable: RenderableType, source: str) -> None:
        """The store's answer (from a thread): the screen may have been closed meanwhile."""
        if not self.is_attached:
            return
        self.history_source = source
        self.query_one("#tunnel-history", Scroll).set(renderable)

    def show_tests(self) -> None:
        self.query_one("#tunnel-tests", Scroll).set(render_runs(self.dash.tools.runs_for(self.key)))
        self.action_show_tab("tests")

    # -- keys -------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss()

    def action_show_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = tab
        pane = {
            "why": "#tunnel-why",
            "history": "#tunnel-history",
            "raw": "#tunnel-raw",
            "tests": "#tunnel-tests",
        }[tab]
        self.query_one(pane).focus()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        current = TABS.index(tabs.active) if tabs.active in TABS else 0
        self.action_show_tab(TABS[(current + step) % len(TABS)])

    def _rows(self) -> list[Any]:
        row = self.dash.model.rows.get(self.key)
        return [row] if row is not None else []

    def action_clear(self) -> None:
        self.dash.start_action("clear", self._rows())

    def action_rekey(self) -> None:
        self.dash.start_action("rekey", self._rows())

    def action_probe(self) -> None:
        self.dash.start_tool("probe", self._rows())

    def action_capture(self) -> None:
        self.dash.start_tool("capture", self._rows())

    def action_decode(self) -> None:
        self.dash.start_tool("decode", self._rows())

    def action_shell(self) -> None:
        if self.tunnel is not None:
            self.dash.action_shell(self.tunnel.device)
