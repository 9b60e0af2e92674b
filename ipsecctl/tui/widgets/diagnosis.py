"""The "why" pane: the diagnosis of whatever the cursor is on, focusable and scrollable.

It shows the findings of the operations layer's last assessment (:func:`ops.faults.assess`)
for the tunnel under the cursor (or the device under the fleet's cursor): evidence, likely
causes and the platform's next steps. It says "no findings" only when an assessment that
saw the tunnel's latest poll found nothing; before that it says the diagnosis is pending.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from ipsecctl.models import Finding
from ipsecctl.tui.widgets.body import PaneBody
from ipsecctl.tui.widgets.findings import render_findings

PENDING, READY, OFF, FAILED = "pending", "ready", "off", "failed"


class DiagnosisPane(VerticalScroll, can_focus=True):
    ALLOW_MAXIMIZE = True  # z zooms it (containers are not maximizable by default)
    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False, id="why.j"),
        Binding("k", "scroll_up", "Up", show=False, id="why.k"),
        Binding("g", "scroll_home", "Top", show=False, id="why.g"),
        Binding("G", "scroll_end", "Bottom", show=False, id="why.G"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.findings: list[Finding] = []
        self.reasons: tuple[str, ...] = ()
        self.subject = ""  # what the pane is about ("r05 → 127.0.1.4"), for tests and titles
        self.status = PENDING
        self.message = ""

    def compose(self) -> ComposeResult:
        yield PaneBody("diagnosis: waiting for the first poll", id="why-body")

    @property
    def body(self) -> Static:
        return self.query_one("#why-body", Static)

    def show(
        self,
        subject: str,
        findings: Sequence[Finding],
        reasons: Sequence[str] = (),
        *,
        status: str = READY,
        message: str = "",
    ) -> None:
        changed = subject != self.subject
        self.subject = subject
        self.findings = list(findings)
        self.reasons = tuple(reasons)
        self.status = status
        self.message = message
        self.body.update(self.renderable())
        if changed:
            self.scroll_home(animate=False)

    def renderable(self) -> RenderableType:
        head = Text(self.subject, style="bold") if self.subject else Text("")
        if self.status == OFF:
            return Text(self.message or "diagnostics switched off", style="dim")
        if self.status == FAILED:
            return Group(head, Text(self.message, style="red"))
        if not self.subject:
            return Text(self.message or "select a tunnel", style="dim")
        if self.findings or self.reasons:
            return Group(head, render_findings(self.findings, self.reasons))
        if self.status == PENDING:
            return Group(
                head,
                Text(
                    self.message or "diagnosing: the rules have not seen this poll yet", style="dim"
                ),
            )
        return Group(
            head,
            Text(
                self.message
                or "no findings: the health rules found nothing wrong in the last two polls",
                style="green",
            ),
        )

    def plain(self) -> str:
        """What the pane says, as text (tests, and the zoomed copy)."""
        from io import StringIO

        from rich.console import Console

        console = Console(width=200, record=True, file=StringIO())
        console.print(self.renderable())
        return console.export_text()
