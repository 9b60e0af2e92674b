"""The top line of every screen: where you are (a breadcrumb) and how fresh the data is."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.widgets import Static


class Crumbs(Static):
    """``ipsecctl > r05 > 127.0.1.4`` on the left; refresh interval, last poll, paused,
    read-only and running actions on the right."""

    DEFAULT_CSS = """
    Crumbs { dock: top; height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def __init__(self, trail: Sequence[str] = (), *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.trail = list(trail)
        self.status = ""

    def set_trail(self, trail: Sequence[str]) -> None:
        self.trail = list(trail)
        self._draw()

    def set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._draw()

    def on_mount(self) -> None:
        self._draw()

    def _draw(self) -> None:
        left = Text(no_wrap=True, overflow="ellipsis")
        for n, part in enumerate(["ipsecctl", *self.trail]):
            if n:
                left.append(" > ", style="dim")
            last = n == len(self.trail)
            left.append(part, style="bold" if last else "")
        right = Text(self.status, no_wrap=True, overflow="ellipsis", style="dim", justify="right")
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(left, right)
        self.update(grid, layout=False)  # one line, always: no layout pass

    @property
    def text(self) -> str:
        return " > ".join(["ipsecctl", *self.trail]) + "  " + self.status
