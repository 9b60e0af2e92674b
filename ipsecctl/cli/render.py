"""Output for people (rich tables) and for scripts (JSON, CSV): data on stdout only.

Tables are for people and may change; JSON and CSV are the contract (README, schema test),
built by :mod:`ipsecctl.ops.export` for every front end. Tables never split an address or an
SPI over two lines: when the terminal is too narrow, whole columns are left out (the least
important first, said under the table) and long free text is cut with an ellipsis.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from ipsecctl.ops import export

if TYPE_CHECKING:
    from rich.console import Console

# rich is imported by the functions that draw: JSON and CSV output never load it

FORMATS = ("table", "json", "csv")

_STATE_STYLE = {"up": "green", "down": "red", "negotiating": "yellow", "idle": "dim"}


def stdout_console(width: int | None = None) -> Console:
    """The one console for data on stdout (no emoji codes: ``fd6c:ab::4`` is an address).

    Piped tables keep whole rows (people page them with less); scripts use json/csv.
    """
    if width is None and not sys.stdout.isatty():
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() and int(columns) > 0 else 220
    from rich.console import Console

    return Console(soft_wrap=False, width=width, emoji=False, highlight=False)


def emit_json(kind_or_doc: str | dict[str, Any], **payload: Any) -> None:
    from ipsecctl.models import envelope

    doc = kind_or_doc if isinstance(kind_or_doc, dict) else envelope(kind_or_doc, **payload)
    write_bytes(export.to_json_bytes(doc))


def write_bytes(data: bytes) -> None:
    """UTF-8 bytes to stdout as they are (no re-encoding of a 30 MB document)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data.decode())
        return
    sys.stdout.flush()
    buffer.write(data)
    buffer.flush()


def emit_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    sys.stdout.write(export.csv_text(header, rows))


class Col(NamedTuple):
    """A table column. ``keep`` columns are never left out; ``atom`` cells (addresses, SPIs,
    counters) are never wrapped or cut; ``priority``: lower is left out later."""

    name: str
    priority: int = 5
    keep: bool = False
    atom: bool = True
    justify: str = "left"


def _width() -> int:
    if sys.stdout.isatty():
        return shutil.get_terminal_size((120, 24)).columns
    return 220


def _cell_len(value: str) -> int:
    from rich.text import Text

    # emoji=False: ":ab:" in an IPv6 address is not an emoji code (the tables print none)
    return max(
        (Text.from_markup(line, emoji=False).cell_len for line in value.split("\n")), default=0
    )


def fit(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Indexes of the columns that fit ``width`` (rich's borders and padding included)."""
    widths = [max([len(c.name), *(_cell_len(r[i]) for r in rows)]) for i, c in enumerate(cols)]
    kept = list(range(len(cols)))

    def total(idx: list[int]) -> int:
        # a column costs its width plus 3 (one space each side and a border)
        return sum(min(widths[i], 40 if not cols[i].atom else widths[i]) + 3 for i in idx) + 1

    while total(kept) > width:
        droppable = [i for i in kept if not cols[i].keep]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda i: (cols[i].priority, i)))
    return kept


def emit_table(
    title: str,
    cols: Sequence[Col | str],
    rows: Iterable[Sequence[Any]],
    *,
    console: Console | None = None,
) -> list[str]:
    """Print a table fitted to the terminal; returns the names of columns left out."""
    from rich.table import Table

    spec = [c if isinstance(c, Col) else Col(c) for c in cols]
    text_rows = [["" if v is None else str(v) for v in row] for row in rows]
    console = console or stdout_console()
    kept = fit(spec, text_rows, console.width if console.width else _width())
    table = Table(title=title, header_style="bold", expand=False)
    for i in kept:
        c = spec[i]
        table.add_column(
            c.name,
            no_wrap=c.atom,
            overflow="ellipsis" if not c.atom else "fold",
            justify=c.justify,  # type: ignore[arg-type]
        )
    for row in text_rows:
        table.add_row(*(row[i] for i in kept))
    console.print(table)
    dropped = [spec[i].name for i in range(len(spec)) if i not in kept]
    if dropped:
        console.print(
            f"[dim]columns left out to fit {console.width} columns: "
            f"{', '.join(dropped)} (wider terminal, -o csv or --json for all)[/]"
        )
    return dropped


def styled_state(state: str | None) -> str:
    if not state:
        return ""
    style = _STATE_STYLE.get(state)
    return f"[{style}]{state}[/]" if style else state


def esc(value: Any) -> str:
    """Device text shown inside rich markup (``ipsecctl[legacy]`` is advice, not markup)."""
    from rich.markup import escape

    return "" if value is None else escape(str(value))


def emit(
    fmt: str,
    payload: Callable[[], dict[str, Any]],
    csv: Callable[[], tuple[Sequence[str], Iterable[Sequence[Any]]]],
    table: Callable[[], None],
) -> None:
    """One view in the chosen format; each form is a callable so only the chosen one is
    built (10,000 tunnels)."""
    if fmt == "json":
        emit_json(payload())
    elif fmt == "csv":
        emit_csv(*csv())
    else:
        table()
