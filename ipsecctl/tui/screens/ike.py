"""``:ike``: every IKE SA of the fleet, one line each (Enter opens its device)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Footer

from ipsecctl.diag.health import ike_peer
from ipsecctl.ops.formatting import fmt_dh
from ipsecctl.tui.screens.base import DashScreen
from ipsecctl.tui.widgets.crumbs import Crumbs

COLUMNS = ("DEVICE", "VER", "PEER", "STATE", "STATUS", "ALGORITHMS", "LIFE s", "CONN")


class IkeScreen(DashScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="ike.back"),
        Binding("z", "zoom", "Zoom", id="ike.zoom"),
        Binding("j", "down", "Down", show=False, id="ike.j"),
        Binding("k", "up", "Up", show=False, id="ike.k"),
    ]

    def compose(self) -> ComposeResult:
        yield Crumbs(self.trail(), id="crumbs")
        yield DataTable(id="ike-table", cursor_type="row", classes="pane")
        yield Footer()

    def trail(self) -> list[str]:
        return ["fleet", "IKE SAs"]

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.redraw()
        table.focus()

    def redraw(self) -> None:
        table = self.query_one(DataTable)
        current = table.cursor_row
        table.clear()
        count = 0
        for state in self.dash.ops.states():
            local = {t.local_addr.lower() for t in state.tunnels if t.local_addr}
            for n, sa in enumerate(state.ike_sas):
                algs = "/".join(a for a in (sa.encryption, sa.integrity, sa.prf) if a)
                if sa.dh_group:
                    algs += ("/" if algs else "") + fmt_dh(sa.dh_group)
                table.add_row(
                    state.device,
                    str(sa.version or "?"),
                    ike_peer(sa, local) or "-",
                    sa.state or "-",
                    Text(
                        sa.status,
                        style={"up": "green", "down": "bold red"}.get(sa.status, "yellow"),
                    ),
                    algs or "-",
                    "-" if sa.remaining_s is None else str(sa.remaining_s),
                    "-" if sa.conn_id is None else str(sa.conn_id),
                    key=f"{state.device}#{n}",
                )
                count += 1
        table.border_title = f"IKE SAs [{count}]"
        if count:
            table.move_cursor(row=min(current, count - 1))

    def action_back(self) -> None:
        self.dismiss()

    def action_down(self) -> None:
        self.query_one(DataTable).action_cursor_down()

    def action_up(self) -> None:
        self.query_one(DataTable).action_cursor_up()

    def on_data_table_row_selected(self, message: DataTable.RowSelected) -> None:
        message.stop()
        key = str(message.row_key.value or "")
        if "#" in key:
            self.dash.open_device(key.split("#", 1)[0])
