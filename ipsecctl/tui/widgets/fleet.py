"""Fleet pane: one row per device, updated in place (keyed by device name)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from ipsecctl.models import DeviceState
from ipsecctl.ops.formatting import fmt_duration


@dataclass
class DeviceInfo:
    """What the dashboard knows about one device between polls (owned by the app)."""

    name: str
    platform: str
    state: DeviceState | None = None
    previous: DeviceState | None = None
    polled_at: datetime | None = None
    failures: int = 0
    next_due: float = 0.0
    in_flight: bool = False
    polls: int = 0
    error: str = ""
    last_ok: datetime | None = None  # when it last answered (dashboard clock)
    tunnels: tuple[int, int] = (0, 0)
    history: list[str] = field(default_factory=list)

    @property
    def reachable(self) -> bool | None:
        return None if self.state is None else self.state.reachable


FLEET_COLUMNS = ("DEVICE", "REACH", "IKE", "TUN", "AGE", "ERROR")


def _ellipsis(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


class FleetPane(DataTable[str | Text]):
    """Small (one row per device), so the built-in DataTable with row keys is right here.

    Space marks the device under the cursor (the tunnels pane then shows only the marked
    devices' tunnels); Enter opens its device screen; j/k/g/G move as in the tunnels pane.
    """

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="fleet.j"),
        Binding("k", "cursor_up", "Up", show=False, id="fleet.k"),
        Binding("g,home", "top", "Top", show=False, id="fleet.g"),
        Binding("G,end", "bottom", "Bottom", show=False, id="fleet.G"),
        Binding("space", "mark", "Mark device", id="fleet.mark"),
    ]

    class Marked(Message):
        """The operator marked or unmarked ``device`` (Space in the fleet pane)."""

        def __init__(self, device: str) -> None:
            super().__init__()
            self.device = device

    def action_top(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_bottom(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def action_mark(self) -> None:
        name = self.cursor_device
        if name is not None:
            self.post_message(self.Marked(name))

    @property
    def cursor_device(self) -> str | None:
        if not self.row_count:
            return None
        return str(self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, classes=classes)
        self.selected: set[str] = set()
        self._infos: dict[str, DeviceInfo] = {}
        self._now: datetime | None = None

    def on_mount(self) -> None:
        for name in FLEET_COLUMNS:
            # ERROR has a fixed width, fitted to what the pane leaves it (see _fit_error);
            # an auto width would grow with the longest message and scroll out of sight
            self.add_column(name, key=name, width=8 if name == "ERROR" else None)

    def _cells(self, info: DeviceInfo, now: datetime) -> list[str | Text]:
        mark = "● " if info.name in self.selected else ""
        reach: str | Text
        if info.reachable is None:
            reach = Text("…" if info.in_flight else "-", style="dim")
        elif info.reachable and not info.error:
            reach = Text("up", style="green")
        elif info.reachable:
            reach = Text("partial", style="yellow")
        else:
            reach = Text("down", style="bold red")
        state = info.state
        ike = f"{state.ike_up}/{len(state.ike_sas)}" if state and state.reachable else "-"
        up, total = info.tunnels
        tun = f"{up}/{total}" if total or (state and state.reachable) else "-"
        age = (
            fmt_duration((now - info.polled_at).total_seconds())
            if info.polled_at is not None
            else "never"
        )
        if info.in_flight and info.polled_at is None:
            age = "polling"
        return [mark + info.name, reach, ike, tun, age, _ellipsis(info.error, self._error_width())]

    def _error_width(self) -> int:
        """What is left of the pane for ERROR: the start of the message with an ellipsis (the
        detail pane shows it in full when the device is selected)."""
        col = self.columns.get(ColumnKey("ERROR"))
        return col.width if col is not None else 8

    def _fit_error(self) -> bool:
        """Give ERROR the width the other columns leave; True if it changed."""
        col = self.columns.get(ColumnKey("ERROR"))
        width = self.content_region.width - self.styles.scrollbar_size_vertical
        if col is None or width <= 0:
            return False
        used = sum(c.get_render_width(self) for key, c in self.columns.items() if key != "ERROR")
        fit = max(8, width - used - 2 * self.cell_padding)
        if fit == col.width:
            return False
        col.width = fit
        self._require_update_dimensions = True
        return True

    def _redraw_all(self) -> None:
        if self._now is not None:
            for info in self._infos.values():
                self._update(info, self._now)

    def on_resize(self) -> None:
        if self._fit_error():
            self._redraw_all()

    def upsert(self, info: DeviceInfo, now: datetime) -> None:
        """One device's row, updated in place; the ERROR column is refitted only when a row is
        added (a refit redraws every row and makes the layout recompute: not on every poll)."""
        new = info.name not in self._infos
        self._infos[info.name] = info
        self._now = now
        if new and self._fit_error():
            self._redraw_all()
        self._update(info, now)

    def _update(self, info: DeviceInfo, now: datetime) -> None:
        cells = self._cells(info, now)
        if info.name not in self.rows:
            self.add_row(*cells, key=info.name)
            return
        for col, value in zip(FLEET_COLUMNS, cells, strict=True):
            if self.get_cell(info.name, col) != value:
                self.update_cell(info.name, col, value)

    def tick(self, infos: list[DeviceInfo], now: datetime, *, full: bool = False) -> None:
        """Once a second: whole rows of the devices polled since (``full``), else only the
        AGE cells (ages move without a poll); a cell whose text is unchanged is left alone."""
        if full:
            for info in infos:
                self.upsert(info, now)
            return
        self._now = now
        for info in infos:
            if info.name in self.rows:
                age = self._cells(info, now)[4]
                if self.get_cell(info.name, "AGE") != age:
                    self.update_cell(info.name, "AGE", age)
