"""Diagnosis pane: findings of ``diag.health.evaluate`` over the current and previous poll."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Group
from rich.text import Text
from textual.widgets import Static

from ipsecctl.models import SEVERITY_ORDER, DeviceState, Finding

SEVERITY_STYLES = {"info": "dim", "warning": "yellow", "error": "red", "critical": "bold red"}

Evaluate = Callable[..., list[Finding]]


def load_evaluate() -> Evaluate | None:
    """The health rules, when that module exists in this build (it is optional here)."""
    try:
        from ipsecctl.diag import health
    except ImportError:
        return None
    fn = getattr(health, "evaluate", None)
    return fn if callable(fn) else None


class DiagnosisPane(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("diagnostics: waiting for the first poll", id=id)
        self.findings: list[Finding] = []
        self.scope: tuple[set[str], set[str]] | None = None  # (devices, peers) or None = all
        self.available = True

    def evaluate(self, evaluate: Evaluate | None, current: Sequence[DeviceState],
                 previous: Sequence[DeviceState] | None) -> None:
        if evaluate is None:
            self.available = False
            self.update("diagnostics not available")
            return
        try:
            found = list(evaluate(list(current), list(previous) if previous else None))
        except Exception as exc:  # a rule bug must not take the dashboard down
            self.findings = []
            self.update(f"diagnostics failed: {exc!r}")
            return
        self.show_findings(found)

    def show_findings(self, findings: list[Finding]) -> None:
        self.findings = findings
        self.redraw()

    def set_scope(self, devices: set[str] | None, peers: set[str] | None = None) -> None:
        self.scope = None if devices is None else (devices, peers or set())
        self.redraw()

    def shown_findings(self) -> list[Finding]:
        found = self.findings
        if self.scope is not None:
            devices, peers = self.scope
            found = [f for f in found if f.device in devices and (not peers or f.peer in peers
                                                                  or f.peer is None)]
        return sorted(found, key=lambda f: -SEVERITY_ORDER.get(f.severity, 0))

    def redraw(self) -> None:
        if not self.available:
            return
        found = self.shown_findings()
        if not found:
            scope = " for the selection" if self.scope else ""
            self.update(Text(f"no findings{scope}", style="green"))
            return
        parts: list[Any] = []
        for f in found:
            line = Text()
            line.append(f"{f.severity.upper():8} ", style=SEVERITY_STYLES.get(f.severity, ""))
            line.append(f"{f.code} ", style="bold")
            line.append(f"{f.device or ''} {f.peer or ''}: {f.summary}")
            parts.append(line)
            for step in f.next_steps[:2]:
                parts.append(Text(f"    $ {step}", style="dim"))
        self.update(Group(*parts))
