"""The dashboard's view-model: rows, filtering, sorting, marks and rates, with no Textual in it.

The widgets only draw what this model holds, so everything an operator relies on (rows keyed
by tunnel identity, the cursor surviving a refresh, rates that survive a counter reset, the
filter grammar) is decided here and unit-tested without a terminal. One model holds every
tunnel of the fleet; the visible list is recomputed lazily, only when data, filter, sort or
toggles changed, which is what keeps a 10,000-row table fluid.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ipsecctl.models import DeviceState, Tunnel
from ipsecctl.ops.export import TUNNEL_HEADER
from ipsecctl.ops.formatting import fmt_count, fmt_duration, fmt_rate, fmt_spi, rate
from ipsecctl.transitions import is_complete


@dataclass(frozen=True)
class Column:
    """A table column. Its width follows the widest cell seen (``TunnelModel.widths``) between
    ``len(short)`` and ``max_width``, so 'r01' does not cost 14 columns; ``title`` is shown
    when it fits that width, else ``short``. ``priority`` decides which columns a narrow
    terminal keeps (lower = kept longer)."""

    key: str
    title: str
    short: str
    max_width: int
    priority: int
    wide_only: bool = False
    numeric: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("device", "DEVICE", "DEV", 16, 0),
    Column("peer", "PEER", "PEER", 39, 1),
    Column("sel", "LOCAL→REMOTE", "SELECTORS", 40, 10),
    Column("ike", "IKE", "IKE", 12, 3),
    Column("state", "STATE", "STATE", 12, 2),
    Column("uptime", "UPTIME", "UP", 7, 4, numeric=True),
    Column("pkts_in", "PKTS IN", "PK IN", 12, 8, numeric=True),
    Column("pkts_out", "PKTS OUT", "PK OUT", 12, 9, numeric=True),
    Column("rate_in", "IN/s", "IN/s", 7, 6, numeric=True),
    Column("rate_out", "OUT/s", "OUT/s", 7, 7, numeric=True),
    Column("errors", "ERRS", "ERR", 8, 5, numeric=True),
    Column("spi_in", "SPI IN", "SPI IN", 10, 11, wide_only=True),
    Column("spi_out", "SPI OUT", "SPI OUT", 10, 12, wide_only=True),
    Column("transform", "TRANSFORM", "TRANSFORM", 24, 13, wide_only=True),
    Column("life_s", "LIFE s", "LIFE s", 8, 14, wide_only=True, numeric=True),
    Column("life_kb", "LIFE kB", "LIFE kB", 10, 15, wide_only=True, numeric=True),
)
WIDTH_KEYS = tuple(c.key for c in COLUMNS)


def columns(wide: bool) -> list[Column]:
    return [c for c in COLUMNS if wide or not c.wide_only]


def column_width(col: Column, widths: dict[str, int]) -> int:
    return max(len(col.short), min(widths.get(col.key, 0), col.max_width))


def column_title(col: Column, width: int) -> str:
    return col.title if len(col.title) <= width else col.short


def fit_columns(cols: list[Column], widths: dict[str, int], available: int) -> list[Column]:
    """Drop the lowest-priority columns until the rest fit ``available`` cells (1-cell gaps);
    DEVICE, PEER, STATE and IKE stay whatever the width, the table scrolls beyond that."""
    kept = list(cols)

    def total(cs: list[Column]) -> int:
        return sum(column_width(c, widths) + 1 for c in cs)

    while total(kept) > available:
        droppable = [c for c in kept if c.priority > 3]
        if not droppable:
            break
        kept.remove(max(droppable, key=lambda c: c.priority))
    return kept


@dataclass(slots=True)
class Row:
    """One tunnel as the table shows it; ``cells`` are the rendered texts (also the filter's
    haystack), so filtering never formats anything."""

    key: str
    tunnel: Tunnel
    rate_in: float | None = None
    rate_out: float | None = None
    cells: dict[str, str] = field(default_factory=dict)
    haystack: str = ""
    version: int = 0
    seq: int = 0  # position in the device's own output: the default order within a device
    # set while the device is unreachable: the row is the last known data, not the truth
    stale_since: datetime | None = None
    stale_text: str = ""
    # why the operations layer calls this tunnel a fault (ops.faults); empty = no fault
    reasons: tuple[str, ...] = ()

    @property
    def device(self) -> str:
        return self.tunnel.device

    @property
    def one_way(self) -> bool:
        """Sending but receiving nothing between the last two polls: the classic half-dead
        tunnel (peer drops our packets, ACL not mirrored, return path broken)."""
        return bool(self.rate_out) and self.rate_in == 0

    @property
    def fault(self) -> bool:
        """A fault by the one definition (:mod:`ipsecctl.ops.faults`), or last-known data
        of a device that stopped answering (which the operator must see too)."""
        return bool(self.reasons) or self.stale_since is not None

    def sort_value(self, key: str) -> tuple[int, object]:
        """(0, value) sorts before (1, None): unknown values go last whichever the column."""
        t = self.tunnel
        value: object
        if key == "uptime":
            value = t.uptime_s
        elif key == "pkts_in":
            value = t.pkts_in
        elif key == "pkts_out":
            value = t.pkts_out
        elif key == "rate_in":
            value = self.rate_in
        elif key == "rate_out":
            value = self.rate_out
        elif key == "errors":
            value = t.error_count
        elif key == "peer":
            value = _addr_key(t.peer)
        elif key == "life_s":
            value = min(
                (sa.remaining_s for sa in t.sas if sa.remaining_s is not None), default=None
            )
        elif key == "life_kb":
            value = min(
                (sa.remaining_kb for sa in t.sas if sa.remaining_kb is not None), default=None
            )
        else:
            value = self.cells.get(key, "")
        return (1, "") if value is None else (0, value)


def _addr_key(addr: str | None) -> object:
    if addr is None:
        return None
    parts = addr.split(".")
    if len(parts) == 4 and all(p.isdigit() for p in parts):
        return "%03d.%03d.%03d.%03d" % tuple(int(p) for p in parts)  # noqa: UP031
    return addr


def _first_spi(t: Tunnel, direction: str) -> str:
    spis = t.spis(direction)
    return fmt_spi(spis[0]) if spis else "-"


def render_cells(row: Row) -> None:
    t = row.tunnel
    sas = t.sas
    life_s = min((sa.remaining_s for sa in sas if sa.remaining_s is not None), default=None)
    life_kb = min((sa.remaining_kb for sa in sas if sa.remaining_kb is not None), default=None)
    transform = next((sa.transform for sa in sas if sa.transform), None)
    local = str(t.local_ts) if t.local_ts else "-"
    remote = str(t.remote_ts) if t.remote_ts else "-"
    row.cells = {
        "device": t.device,
        "peer": (f"{t.peer} vrf {t.vrf}" if t.vrf else t.peer) or "-",
        "local": local,
        "remote": remote,
        "sel": f"{local}→{remote}",
        "ike": t.ike_state or "-",
        "state": row.stale_text or t.state,
        "uptime": fmt_duration(t.uptime_s),
        "pkts_in": fmt_count(t.pkts_in),
        "pkts_out": fmt_count(t.pkts_out),
        "rate_in": fmt_rate(row.rate_in),
        "rate_out": fmt_rate(row.rate_out),
        "errors": str(t.error_count),
        "spi_in": _first_spi(t, "in"),
        "spi_out": _first_spi(t, "out"),
        "transform": transform or "-",
        "life_s": fmt_count(life_s),
        "life_kb": fmt_count(life_kb),
    }
    row.haystack = (
        " ".join(row.cells.values()) + " " + (t.vrf or "") + (" one-way" if row.one_way else "")
    )


class FilterError(ValueError):
    """The filter text is not a valid regular expression (shown in the border title)."""


@dataclass(frozen=True)
class Filter:
    """k9s grammar: a regex, case-insensitive; a leading ``!`` keeps rows that do NOT match."""

    text: str = ""
    pattern: re.Pattern[str] | None = None
    invert: bool = False

    @classmethod
    def parse(cls, text: str) -> Filter:
        raw = text.strip()
        invert = raw.startswith("!")
        body = raw[1:].strip() if invert else raw
        if not body:
            return cls(text=raw, pattern=None, invert=invert)
        try:
            pattern = re.compile(body, re.IGNORECASE)
        except re.error as exc:
            raise FilterError(f"bad filter regex {body!r}: {exc}") from None
        return cls(text=raw, pattern=pattern, invert=invert)

    def matches(self, haystack: str) -> bool:
        if self.pattern is None:
            return True
        return (self.pattern.search(haystack) is not None) != self.invert


@dataclass(frozen=True)
class Change:
    """A tunnel that changed state between two polls (an event in the events pane)."""

    device: str
    peer: str | None
    key: str
    old: str | None
    new: str | None


@dataclass
class ApplyResult:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    #: rows a partial poll (a command failed part way) did not see: kept, for the caller to
    #: mark stale, since the poll cannot tell a tunnel that went from one it never asked about
    unseen: list[str] = field(default_factory=list)
    widened: bool = False  # a column grew: the table's layout changes

    @property
    def reshaped(self) -> bool:
        """Rows came or went, or a column grew: more than the changed rows' lines to draw."""
        return bool(self.added or self.removed or self.widened)


class TunnelModel:
    """Every tunnel of the fleet keyed by ``Tunnel.id``; the visible list is derived."""

    def __init__(self) -> None:
        self.rows: dict[str, Row] = {}
        self.by_device: dict[str, set[str]] = {}
        self.polled_at: dict[str, datetime] = {}
        self.marks: set[str] = set()
        self.filter = Filter()
        self.sort_key: str | None = None
        self.sort_reverse = False
        self.faults_only = False
        self.devices: set[str] | None = None  # fleet-pane selection; None = all
        self._view: list[str] | None = None
        self._index: dict[str, int] | None = None
        # the view is built from per-device segments (visible keys in the device's order) and
        # cached filter verdicts, so one device's poll recomputes that device only
        self._segments: dict[str, list[str]] = {}
        self._matches: dict[str, bool] = {}
        # widest cell seen per column (grow-only: columns do not jitter as counters move)
        self.widths: dict[str, int] = {}
        self.stale_devices: set[str] = set()

    # -- data -------------------------------------------------------------------------------
    def apply(self, state: DeviceState) -> ApplyResult:
        """Merge one device's poll in place. An unreachable poll keeps the last known rows
        (stale data beats an empty table) and changes nothing; a partial one updates the rows
        it saw and removes none (``unseen``), as ``watch`` reports no removal from it."""
        result = ApplyResult()
        if not state.reachable:
            return result
        was_stale = state.device in self.stale_devices
        self.stale_devices.discard(state.device)
        widths = self.widths
        previous_at = self.polled_at.get(state.device)
        dt = (state.polled_at - previous_at).total_seconds() if previous_at else 0.0
        self.polled_at[state.device] = state.polled_at
        old_keys = self.by_device.get(state.device, set())
        new_keys: set[str] = set()
        for seq, tunnel in enumerate(state.tunnels):
            key = tunnel.id or tunnel.with_identity().id
            new_keys.add(key)
            row = self.rows.get(key)
            if row is None:
                row = Row(key=key, tunnel=tunnel, seq=seq)
                self.rows[key] = row
                result.added.append(key)
                if tunnel.state != "idle":
                    result.changes.append(
                        Change(tunnel.device, tunnel.peer, key, None, tunnel.state)
                    )
            else:
                old = row.tunnel
                if old.state != tunnel.state:
                    result.changes.append(
                        Change(tunnel.device, tunnel.peer, key, old.state, tunnel.state)
                    )
                row.rate_in = rate(old.pkts_in, tunnel.pkts_in, dt)
                row.rate_out = rate(old.pkts_out, tunnel.pkts_out, dt)
                row.tunnel = tunnel
                row.version += 1
                row.seq = seq
                result.updated.append(key)
            row.stale_since, row.stale_text = None, ""
            render_cells(row)
            self._matches.pop(key, None)
            cells = row.cells
            for k in WIDTH_KEYS:
                n = len(cells[k])
                if n > widths.get(k, 0):
                    widths[k] = n
                    result.widened = True
        if is_complete(state):
            for key in old_keys - new_keys:
                row = self.rows.pop(key)
                self.marks.discard(key)
                self._matches.pop(key, None)
                result.removed.append(key)
                result.changes.append(
                    Change(row.tunnel.device, row.tunnel.peer, key, row.tunnel.state, None)
                )
        else:
            result.unseen = sorted(old_keys - new_keys)
            new_keys |= old_keys
        self.by_device[state.device] = new_keys
        if result.added or result.removed or was_stale or self._view_depends_on_values():
            self.invalidate([state.device])
        return result

    def mark_stale(
        self, device: str, since: datetime, now: datetime, keys: Iterable[str] | None = None
    ) -> None:
        """The device stopped answering (or a partial poll missed ``keys``, default: all its
        rows): the rows keep the last known data but say so, with the age of that data
        (``since`` = its last good poll, on the caller's clock), instead of showing a last
        'up' as if it were current."""
        mine = self.by_device.get(device, set())
        keys = mine if keys is None else mine.intersection(keys)
        if not keys:
            return
        self.stale_devices.add(device)
        for key in keys:
            row = self.rows[key]
            if row.stale_since is None:
                row.stale_since = since
        self.tick_stale(now, {device})
        self.invalidate([device])

    def tick_stale(self, now: datetime, devices: set[str] | None = None) -> bool:
        """Move the age in the STATE cell of stale rows; True if anything changed."""
        changed = False
        for device in devices if devices is not None else self.stale_devices:
            for key in self.by_device.get(device, ()):
                row = self.rows[key]
                if row.stale_since is None:
                    continue
                text = f"stale {fmt_duration((now - row.stale_since).total_seconds())}"
                if text != row.stale_text:
                    row.stale_text = text
                    render_cells(row)
                    self._matches.pop(key, None)
                    changed = True
        return changed

    def _view_depends_on_values(self) -> bool:
        """Values changed: the view order/membership can change only if sorted or filtered."""
        return bool(self.sort_key or self.filter.pattern is not None or self.faults_only)

    def invalidate(self, devices: Iterable[str] | None = None) -> None:
        """The view must be recomputed: for ``devices`` only (their rows changed), or all."""
        self._view = None
        self._index = None
        if devices is None:
            self._segments.clear()
        else:
            for device in devices:
                self._segments.pop(device, None)

    # -- view -------------------------------------------------------------------------------
    def set_filter(self, text: str) -> None:
        """Raises :class:`FilterError` and keeps the previous filter on a bad regex."""
        self.filter = Filter.parse(text)
        self._matches.clear()
        self.invalidate()

    def set_sort(self, key: str | None, reverse: bool | None = None) -> None:
        """Same column again flips the direction (k9s); a new column sorts ascending."""
        if reverse is None:
            reverse = (not self.sort_reverse) if key == self.sort_key else False
        self.sort_key = key
        self.sort_reverse = reverse
        self.invalidate()

    def set_faults_only(self, value: bool) -> None:
        self.faults_only = value
        self.invalidate()

    def set_faults(self, faults: Mapping[str, tuple[str, ...]]) -> bool:
        """Take the operations layer's faults (tunnel id -> reasons); True when any row's
        verdict changed (the view then needs recomputing if it shows faults only)."""
        changed: set[str] = set()
        for key, row in self.rows.items():
            reasons = tuple(faults.get(key, ()))
            if reasons != row.reasons:
                row.reasons = reasons
                changed.add(row.device)
        if changed and self.faults_only:
            self.invalidate(changed)
        return bool(changed)

    def set_devices(self, devices: Iterable[str] | None) -> None:
        self.devices = set(devices) if devices is not None else None
        self._view = None
        self._index = None

    def _shown(self, key: str, row: Row) -> bool:
        if self.faults_only and not row.fault:
            return False
        if self.filter.pattern is None:
            return True
        hit = self._matches.get(key)
        if hit is None:
            hit = self._matches[key] = self.filter.matches(row.haystack)
        return hit

    def _segment(self, device: str) -> list[str]:
        found = self._segments.get(device)
        if found is None:
            rows = self.rows
            keys = sorted(self.by_device.get(device, ()), key=lambda k: rows[k].seq)
            found = self._segments[device] = [k for k in keys if self._shown(k, rows[k])]
        return found

    @property
    def view(self) -> list[str]:
        if self._view is None:
            # default order is stable whatever order the devices answered in: by device,
            # then the device's own order
            chosen = self.devices
            view: list[str] = []
            for device in sorted(self.by_device):
                if chosen is None or device in chosen:
                    view.extend(self._segment(device))
            if self.sort_key:
                sk, rows = self.sort_key, self.rows
                view.sort(key=lambda k: rows[k].sort_value(sk), reverse=self.sort_reverse)
            self._view = view
            self._index = None
        return self._view

    def index_of(self, key: str | None) -> int | None:
        if key is None:
            return None
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.view)}
        return self._index.get(key)

    def visible_rows(self) -> list[Row]:
        return [self.rows[k] for k in self.view]

    # -- marks ------------------------------------------------------------------------------
    def toggle_mark(self, key: str) -> bool:
        if key in self.marks:
            self.marks.discard(key)
            return False
        if key in self.rows:
            self.marks.add(key)
            return True
        return False

    def clear_marks(self) -> None:
        self.marks.clear()

    def targets(self, cursor_key: str | None) -> list[Row]:
        """What an action applies to: the marked rows, else the row under the cursor."""
        if self.marks:
            marked = [self.rows[k] for k in self.marks if k in self.rows]
            return sorted(marked, key=lambda r: (r.tunnel.device, r.seq))
        return [self.rows[cursor_key]] if cursor_key in self.rows else []

    # -- fleet ------------------------------------------------------------------------------
    def device_counts(self, device: str) -> tuple[int, int]:
        keys = self.by_device.get(device, set())
        up = sum(1 for k in keys if self.rows[k].tunnel.state == "up")
        return up, len(keys)

    def title(self, *, wide: bool = False, hidden: int = 0, filter_error: str = "") -> str:
        """Border title: counts, sort, toggles and the active filter (k9s style)."""
        shown, total = len(self.view), len(self.rows)
        parts = [f"tunnels [{shown}/{total}]"]
        if self.filter.text:
            parts.append(f"</{self.filter.text}>")
        if filter_error:
            parts.append(f"bad regex, kept previous: {filter_error}")
        if wide:
            parts.append("wide")
        elif hidden:
            parts.append(f"+{hidden} cols: w")
        if self.faults_only:
            parts.append("faults")
        if self.marks:
            parts.append(f"marked {len(self.marks)}")
        if self.sort_key:
            parts.append(f"sort {self.sort_key}{'↓' if self.sort_reverse else '↑'}")
        return " ".join(parts)


# the CLI's `tunnels -o csv` columns first (same names, same value types: SPIs as integers,
# uptime in seconds), then what only the dashboard knows
EXPORT_HEADER = (
    *TUNNEL_HEADER,
    "rate_in",
    "rate_out",
    "one_way",
    "transform",
    "life_s",
    "life_kb",
    "stale",
)


def _rate_value(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def export_record(row: Row) -> dict[str, object]:
    """One row as scripts want it: raw values, never the table's human formatting."""
    t = row.tunnel
    sas = t.sas
    return {
        "device": t.device,
        "peer": t.peer,
        "vrf": t.vrf,
        "local_ts": row.cells.get("local"),
        "remote_ts": row.cells.get("remote"),
        "ike_state": t.ike_state,
        "state": t.state,
        "spi_in": " ".join(map(str, t.spis("in"))),
        "spi_out": " ".join(map(str, t.spis("out"))),
        "pkts_in": t.pkts_in,
        "pkts_out": t.pkts_out,
        "errors": t.error_count,
        "uptime_s": t.uptime_s,
        "expected_up": t.expected_up,
        "id": row.key,
        "rate_in": _rate_value(row.rate_in),
        "rate_out": _rate_value(row.rate_out),
        "one_way": row.one_way,
        "transform": next((sa.transform for sa in sas if sa.transform), None),
        "life_s": min((sa.remaining_s for sa in sas if sa.remaining_s is not None), default=None),
        "life_kb": min(
            (sa.remaining_kb for sa in sas if sa.remaining_kb is not None), default=None
        ),
        "stale": row.stale_since is not None,
    }
