"""Events pane: state changes, actions and errors, newest last, each with its time."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import RichLog

LEVEL_STYLES = {"info": "", "ok": "green", "warn": "yellow", "error": "bold red", "action": "cyan"}


class EventsPane(RichLog):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        # wrap: an error (a changed host key and the known_hosts line to remove) must be
        # readable in full, not cut at the pane's edge
        super().__init__(
            id=id,
            classes=classes,
            max_lines=2000,
            wrap=True,
            min_width=20,
            markup=False,
            highlight=False,
        )
        self.lines_text: list[str] = []  # plain copy, for tests and export

    def add(self, when: datetime, text: str, level: str = "info") -> None:
        stamp = when.strftime("%H:%M:%S")
        self.lines_text.append(f"{stamp} {text}")
        if len(self.lines_text) > 2000:
            del self.lines_text[:1000]
        line = Text(stamp + " ", style="dim")
        line.append(text, style=LEVEL_STYLES.get(level, ""))
        self.write(line)
