"""A virtual tunnels table: a Line API ScrollView that draws only the visible rows of the model.

The built-in DataTable keeps its own copy of every row and must be cleared and refilled to
filter, which costs about a second at 10,000 rows and resets the cursor (see
benchmarks/tui_results.md). This widget reads the :class:`TunnelModel` directly: filtering,
sorting and refreshing only change which keys are visible, the cursor is a tunnel id (so it
never jumps on refresh), and a repaint formats at most one screenful of rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ipsecctl.tui.state import (
    Column,
    Row,
    TunnelModel,
    column_title,
    column_width,
    columns,
    fit_columns,
)

STATE_CLASSES = {
    "up": "tunnel-table--up",
    "down": "tunnel-table--down",
    "negotiating": "tunnel-table--negotiating",
    "idle": "tunnel-table--idle",
}


class TunnelTable(ScrollView, can_focus=True):
    """Header on line 0 (pinned), one tunnel per line below it."""

    COMPONENT_CLASSES = {
        "tunnel-table--header",
        "tunnel-table--cursor",
        "tunnel-table--marked",
        "tunnel-table--up",
        "tunnel-table--down",
        "tunnel-table--negotiating",
        "tunnel-table--idle",
        "tunnel-table--fault",
        "tunnel-table--stale",
    }

    DEFAULT_CSS = """
    TunnelTable { background: $surface; }
    TunnelTable > .tunnel-table--header { text-style: bold; background: $panel; }
    TunnelTable > .tunnel-table--cursor { background: $accent 40%; text-style: bold; }
    TunnelTable:focus > .tunnel-table--cursor { background: $accent; }
    TunnelTable > .tunnel-table--marked { color: $warning; text-style: bold; }
    TunnelTable > .tunnel-table--up { color: $success; }
    TunnelTable > .tunnel-table--down { color: $error; text-style: bold; }
    TunnelTable > .tunnel-table--negotiating { color: $warning; }
    TunnelTable > .tunnel-table--idle { color: $text-muted; }
    TunnelTable > .tunnel-table--fault { color: $error; }
    TunnelTable > .tunnel-table--stale { color: $text-disabled; text-style: italic; }
    """

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="table.k"),
        Binding("j", "cursor(1)", "Down", show=False, id="table.j"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.pageup"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.pagedown"),
        Binding("home,g", "jump(0)", "Top", show=False, id="table.home"),
        Binding("end,G", "jump(-1)", "Bottom", show=False, id="table.end"),
    ]

    class CursorMoved(Message):
        def __init__(self, key: str | None) -> None:
            super().__init__()
            self.key = key

    class HeaderClicked(Message):
        def __init__(self, column: str) -> None:
            super().__init__()
            self.column = column

    def __init__(
        self, model: TunnelModel, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.model = model
        self.wide = False
        self.cursor_key: str | None = None
        self._cursor_index = 0
        self._columns: list[Column] = columns(False)
        self._widths: list[int] = [len(c.short) for c in self._columns]
        self.hidden_columns = 0  # columns left out to fit the width (normal view only)
        # until the operator moves the cursor it stays on the top line (first load fills the
        # table in whatever order devices answer); after that it follows its tunnel
        self.user_moved = False

    # -- data -> geometry -------------------------------------------------------------------
    @property
    def total_width(self) -> int:
        return 2 + sum(w + 1 for w in self._widths)

    def set_wide(self, wide: bool) -> None:
        self.wide = wide
        self.refresh_view()

    def _available_width(self) -> int:
        """Cells for the columns: the content width less the marker and, when the rows will
        not fit the height, the vertical scrollbar (predicted, so the layout does not flip)."""
        region = self.content_region
        width = region.width - 2
        if len(self.model.view) + 1 > region.height:
            width -= self.styles.scrollbar_size_vertical
        return width

    def layout_columns(self) -> None:
        """Columns sized to their content; the normal view drops low-priority columns to fit
        without horizontal scrolling (DEVICE, PEER, STATE, IKE always stay). The wide view
        keeps all and scrolls."""
        widths = self.model.widths
        cols = columns(self.wide)
        if not self.wide and self.content_region.width > 0:
            kept = fit_columns(cols, widths, self._available_width())
            self.hidden_columns = len(cols) - len(kept)
            cols = kept
        else:
            self.hidden_columns = 0
        self._columns = cols
        self._widths = [column_width(c, widths) for c in cols]

    def refresh_view(self) -> None:
        """Model changed (rows, filter, sort): keep the cursor on the same tunnel if it is
        still visible, else put it on the first visible row -- never on whatever tunnel now
        happens to sit on the old line, which an action key would then act on. The scroll
        offset stays unless the cursor left the screen."""
        view = self.model.view
        self.layout_columns()
        idx = self.model.index_of(self.cursor_key) if self.user_moved else 0
        if idx is None:
            idx = 0
        self._set_cursor(idx, notify=True)
        self.virtual_size = Size(self.total_width, len(view) + 1)
        self.refresh()

    def refresh_keys(self, keys: Iterable[str]) -> int:
        """Only these rows' data changed (the view's order and size did not): redraw the lines
        of those that are on screen, nothing else. A poll of one device among fifty redraws a
        few lines, not the whole table -- which also keeps the garbage collector's work (and
        its pauses) down at 10,000 rows. Returns the lines redrawn."""
        top = int(self.scroll_offset.y)
        body = max(1, self.scrollable_content_region.height - 1)
        on_screen = set(self.model.view[top : top + body])
        lines = 0
        for key in keys:
            if key in on_screen:
                index = self.model.index_of(key)
                if index is not None:
                    self.refresh_line(index + 1)  # line 0 is the header
                    lines += 1
        return lines

    @property
    def cursor_row(self) -> Row | None:
        return self.model.rows.get(self.cursor_key) if self.cursor_key else None

    def _set_cursor(self, index: int, *, notify: bool = True, force: bool = False) -> None:
        view = self.model.view
        if not view:
            changed = self.cursor_key is not None
            self.cursor_key = None
            self._cursor_index = 0
            if notify and (changed or force):
                self.post_message(self.CursorMoved(None))
            return
        index = max(0, min(index, len(view) - 1))
        key = view[index]
        changed = key != self.cursor_key
        self._cursor_index = index
        self.cursor_key = key
        self._scroll_cursor_visible()
        if notify and (changed or force):
            self.post_message(self.CursorMoved(key))

    def _scroll_cursor_visible(self) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self._cursor_index < top:
            self.scroll_to(y=self._cursor_index, animate=False, immediate=True)
        elif self._cursor_index >= top + body:
            self.scroll_to(y=self._cursor_index - body + 1, animate=False, immediate=True)

    def move_to_key(self, key: str) -> bool:
        idx = self.model.index_of(key)
        if idx is None:
            return False
        self.user_moved = True
        self._set_cursor(idx)
        self.refresh()
        return True

    # -- actions ----------------------------------------------------------------------------
    def action_cursor(self, delta: int) -> None:
        self.user_moved = True
        self._set_cursor(self._cursor_index + delta)
        self.refresh()

    def action_page(self, direction: int) -> None:
        body = max(1, self.scrollable_content_region.height - 1)
        self.user_moved = True
        self._set_cursor(self._cursor_index + direction * body)
        self.refresh()

    def action_jump(self, where: int) -> None:
        self.user_moved = True
        self._set_cursor(0 if where == 0 else len(self.model.view) - 1)
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:  # on the border or a scrollbar
            return
        if offset.y == 0:
            x = offset.x + int(self.scroll_offset.x) - 2
            for col, width in zip(self._columns, self._widths, strict=True):
                if 0 <= x < width + 1:
                    self.post_message(self.HeaderClicked(col.key))
                    return
                x -= width + 1
            return
        self.user_moved = True
        self._set_cursor(int(self.scroll_offset.y) + offset.y - 1)
        self.refresh()

    # -- rendering --------------------------------------------------------------------------
    def _cells_line(self, texts: list[str]) -> str:
        out = []
        for col, width, text in zip(self._columns, self._widths, texts, strict=True):
            if len(text) > width:
                text = text[: width - 1] + "…"
            out.append(text.rjust(width) if col.numeric else text.ljust(width))
        return " ".join(out)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("tunnel-table--header")
            titles = []
            for c, w in zip(self._columns, self._widths, strict=True):
                mark = ""
                if c.key == self.model.sort_key:
                    mark = "↓" if self.model.sort_reverse else "↑"
                title = column_title(c, w - len(mark))
                titles.append((title if len(title) + len(mark) <= w else c.short) + mark)
            text = "  " + self._cells_line(titles)
            strip = Strip([Segment(text.ljust(self.total_width), style)])
            return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, style)
        view = self.model.view
        index = int(scroll_y) + y - 1
        if index >= len(view):
            return Strip.blank(width, base)
        row = self.model.rows[view[index]]
        return (
            self._row_strip(row, index, base)
            .crop(scroll_x, scroll_x + width)
            .extend_cell_length(width, base)
        )

    def _row_strip(self, row: Row, index: int, base: Style) -> Strip:
        marked = row.key in self.model.marks
        state_style = self.get_component_rich_style(
            "tunnel-table--stale"
            if row.stale_since is not None
            else STATE_CLASSES.get(row.tunnel.state, "tunnel-table--idle")
        )
        line_style = base
        if index == self._cursor_index and row.key == self.cursor_key:
            line_style = base + self.get_component_rich_style("tunnel-table--cursor")
        segments: list[Segment] = []
        marker = "● " if marked else "  "
        marker_style = (
            line_style + self.get_component_rich_style("tunnel-table--marked")
            if marked
            else line_style
        )
        segments.append(Segment(marker, marker_style))
        cells = row.cells
        fault_style = self.get_component_rich_style("tunnel-table--fault")
        for n, (col, width) in enumerate(zip(self._columns, self._widths, strict=True)):
            text = cells.get(col.key, "")
            if len(text) > width:
                text = text[: width - 1] + "…"
            text = text.rjust(width) if col.numeric else text.ljust(width)
            style = line_style
            if col.key == "state":
                style = line_style + state_style
            elif (col.key == "errors" and row.tunnel.error_count) or (
                col.key == "rate_in" and row.one_way
            ):
                style = line_style + fault_style
            if n:
                segments.append(Segment(" ", line_style))
            segments.append(Segment(text, style))
        return Strip(segments)

    def on_resize(self) -> None:
        hidden = self.hidden_columns
        self.layout_columns()
        if hidden != self.hidden_columns:
            # the title says how many columns are left out: keep it true after a resize
            retitle = getattr(self.app, "_update_title", None)
            if retitle is not None:
                retitle()
        self.virtual_size = Size(self.total_width, len(self.model.view) + 1)
        self._scroll_cursor_visible()
