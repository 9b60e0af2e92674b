"""Fleet pane: one row per device, updated in place (keyed by device name)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.text import Text
from textual.widgets import DataTable

from ipsecctl.models import DeviceState
from ipsecctl.tui.state import fmt_duration


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
    """Small (one row per device), so the built-in DataTable with row keys is right here."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.selected: set[str] = set()
        self._infos: dict[str, DeviceInfo] = {}
        self._now: datetime | None = None

    def on_mount(self) -> None:
        for name in FLEET_COLUMNS:
            self.add_column(name, key=name)

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
            if info.polled_at is not None else "never"
        )
        if info.in_flight and info.polled_at is None:
            age = "polling"
        return [mark + info.name, reach, ike, tun, age, _ellipsis(info.error, self._error_width())]

    def _error_width(self) -> int:
        """What is left of the pane for ERROR: the start of the message with an ellipsis (the
        detail pane shows it in full when the device is selected)."""
        width = self.scrollable_content_region.width
        if width <= 0:
            return 24
        used = sum(col.get_render_width(self) for key, col in self.columns.items()
                   if key != "ERROR")
        return max(8, width - used - 2 * self.cell_padding)

    def on_resize(self) -> None:
        if self._now is not None:
            for info in self._infos.values():
                self.upsert(info, self._now)

    def upsert(self, info: DeviceInfo, now: datetime) -> None:
        self._infos[info.name] = info
        self._now = now
        cells = self._cells(info, now)
        if info.name not in self.rows:
            self.add_row(*cells, key=info.name)
            return
        for col, value in zip(FLEET_COLUMNS, cells, strict=True):
            self.update_cell(info.name, col, value)

    def tick(self, infos: list[DeviceInfo], now: datetime) -> None:
        """Ages move every second without a poll: update only the AGE cells."""
        for info in infos:
            if info.name in self.rows:
                self.update_cell(info.name, "AGE", self._cells(info, now)[4])
