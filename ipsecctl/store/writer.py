"""What one poll of one device writes, and how stored rows become models again.

A poll writes three things: its summary (the ``polls`` table: enough for "was it reachable,
how many tunnels were up" over time; a run of polls with the same summary from the same
collector is one row whose end time and count grow, so a steady fleet adds rows only when
something changes), the events computed against what the store
knew of the device before (the ``events`` table), and the device's latest full state, replaced
in place (the ``devices`` table), so that the next poll, after a restart or from another
collector, is compared with it. Full states are stored compressed and without ``raw``.

:func:`compute` is pure (used for a preview while the database is away); :func:`write` does
the SQL; both backends and the v1 -> v2 migration share them.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ipsecctl.models import DeviceState
from ipsecctl.store.db import Db, epoch, from_epoch
from ipsecctl.transitions import Event, Ongoing, diff, next_baseline, settle

log = logging.getLogger(__name__)

_LEVEL = 1  # zlib: most of the gain (JSON of many alike tunnels) at a fraction of the time


@dataclass
class Known:
    """What the store holds about one device: its last poll, the baseline tunnels are compared
    with (None: that poll itself) and the conditions still running (see ``settle``)."""

    polled_at: float
    state: DeviceState | None
    baseline: DeviceState | None = None
    ongoing: Ongoing = field(default_factory=dict)
    run_start: float | None = None  # the ``polls`` row (run) this device's polls extend
    collector: str | None = None


def encode_state(state: DeviceState) -> bytes:
    return zlib.compress(state.model_dump_json(exclude={"raw"}).encode(), _LEVEL)


def decode_state(blob: bytes | memoryview | None, where: str) -> DeviceState | None:
    """A stored state, or None (logged) when it no longer fits the model: history is a help,
    and a device whose stored state cannot be read simply starts a new history."""
    if blob is None:
        return None
    try:
        return DeviceState.model_validate_json(zlib.decompress(bytes(blob)))
    except (zlib.error, ValidationError, ValueError) as exc:
        log.warning("%s: a stored device state is unreadable (%s); starting afresh", where, exc)
        return None


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


def _unjson(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def load_known(db: Db, device: str, where: str) -> Known | None:
    rows = db.execute(
        "SELECT polled_at, state, baseline, conditions, run_start, collector FROM devices "
        "WHERE device = ?",
        (device,),
    )
    if not rows:
        return None
    polled_at, state, baseline, conditions, run_start, collector = rows[0]
    return Known(
        polled_at=float(polled_at),
        state=decode_state(state, where),
        baseline=decode_state(baseline, where),
        ongoing=_unjson(conditions) or {},
        run_start=None if run_start is None else float(run_start),
        collector=collector,
    )


def stored_polled_at(db: Db, devices: list[str]) -> dict[str, float]:
    """When each of ``devices`` was last stored (absent: never)."""
    if not devices:
        return {}
    marks = ", ".join("?" for _ in devices)
    rows = db.execute(f"SELECT device, polled_at FROM devices WHERE device IN ({marks})", devices)
    return {d: float(at) for d, at in rows}


def continued(known: Known | None, cur: DeviceState) -> Known | None:
    """``known``, unless ``cur`` does not continue the stored poll
    (:meth:`DeviceState.continues`): then that name's history starts afresh, its tunnels
    added. A poll older than the stored one keeps what is known (:func:`compute` leaves it
    out, as any late poll)."""
    if known is None or known.state is None or epoch(cur.polled_at) <= known.polled_at:
        return known
    if cur.continues(known.state):
        return known
    log.info(
        "%s: polled at %s, the stored history at %s: starting a new history",
        cur.device,
        cur.endpoint,
        known.state.endpoint,
    )
    return None


def compute(cur: DeviceState, known: Known | None) -> tuple[list[Event], Known | None]:
    """The events of ``cur`` against what was known, and what is known after it.

    A poll older than the stored one (a late flush while another collector already polled
    the device) gives no events and changes nothing: its summary row is all it adds. The
    stored poll itself again (a write retried after its commit was lost) adds nothing either.
    """
    at = epoch(cur.polled_at)
    if known is not None and at <= known.polled_at:
        return [], None
    prev = known.state if known is not None else None
    base = known.baseline if known is not None and known.baseline is not None else prev
    events = diff(prev, cur, baseline=base)
    events, ongoing = settle(events, known.ongoing if known is not None else {}, cur)
    slim = cur.model_copy(update={"raw": None}) if cur.raw is not None else cur
    return events, Known(at, slim, next_baseline(base, cur), ongoing)


EVENT_COLUMNS = "time, device, tunnel, peer, vrf, event, from_state, to_state, detail, collector"
INSERT_EVENT = f"INSERT INTO events ({EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
INSERT_POLL = (
    "INSERT INTO polls (device, polled_at, last_at, n_polls, collector, reachable, tunnels_up, "
    "tunnels_total, ike_up, ike_total, errors) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
EXTEND_POLL = (
    "UPDATE polls SET last_at = ?, n_polls = n_polls + 1 WHERE device = ? AND polled_at = ?"
)
UPSERT_DEVICE = (
    "INSERT INTO devices (device, platform, polled_at, reachable, collector, state, baseline, "
    "conditions, run_start) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (device) DO UPDATE SET platform = excluded.platform, "
    "polled_at = excluded.polled_at, reachable = excluded.reachable, "
    "collector = excluded.collector, state = excluded.state, baseline = excluded.baseline, "
    "conditions = excluded.conditions, run_start = excluded.run_start "
    "WHERE devices.polled_at <= excluded.polled_at"
)


def event_row(ev: Event, collector: str | None) -> tuple[Any, ...]:
    return (
        epoch(ev.time),
        ev.device,
        ev.tunnel,
        ev.peer,
        ev.vrf,
        ev.event,
        _json(ev.from_),
        _json(ev.to),
        _json(ev.detail) if ev.detail else None,
        collector,
    )


def row_event(row: tuple[Any, ...]) -> Event:
    """A row of ``SELECT {EVENT_COLUMNS}`` back into an :class:`Event`."""
    time, device, tunnel, peer, vrf, kind, frm, to, detail, _collector = row
    return Event(
        time=from_epoch(time),
        device=device,
        tunnel=tunnel,
        peer=peer,
        vrf=vrf,
        event=kind,
        from_=_unjson(frm),
        to=_unjson(to),
        detail=_unjson(detail) or {},
    )


def summary(state: DeviceState) -> tuple[int, ...]:
    """What a ``polls`` row says of a poll: reachable, tunnels and IKE SAs up/total, errors."""
    errors = sum(1 for e in state.errors if e.kind != "parse_warning")
    return (
        int(state.reachable),
        state.tunnels_up,
        len(state.tunnels),
        state.ike_up,
        len(state.ike_sas),
        errors,
    )


def device_row(cur: DeviceState, after: Known, collector: str | None) -> tuple[Any, ...]:
    return (
        cur.device,
        cur.platform,
        after.polled_at,
        int(cur.reachable),
        collector,
        encode_state(cur),
        encode_state(after.baseline) if after.baseline is not None else None,
        _json(after.ongoing) if after.ongoing else None,
        after.run_start,
    )


@dataclass
class Batch:
    """The rows of one poll of several devices, written with one statement per table."""

    polls: list[tuple[Any, ...]] = field(default_factory=list)
    extend: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    devices: list[tuple[Any, ...]] = field(default_factory=list)

    def add(
        self,
        cur: DeviceState,
        events: list[Event],
        known: Known | None,
        after: Known | None,
        collector: str | None,
    ) -> None:
        """One computed poll. ``after`` None: a poll older than the stored one (another
        collector's, flushed late: its summary is a run of its own) or the stored one again
        (a retried write: nothing to add)."""
        at = epoch(cur.polled_at)
        row = summary(cur)
        if after is None:
            if known is None or at < known.polled_at:
                self.polls.append((cur.device, at, at, collector, *row))
            return
        if (
            known is not None
            and known.run_start is not None
            and known.state is not None
            and known.collector == collector
            and summary(known.state) == row
        ):
            self.extend.append((at, cur.device, known.run_start))
            after.run_start = known.run_start
        else:
            self.polls.append((cur.device, at, at, collector, *row))
            after.run_start = at
        after.collector = collector
        self.events += [event_row(ev, collector) for ev in events]
        self.devices.append(device_row(cur, after, collector))

    def write(self, db: Db) -> None:
        if self.polls:
            db.executemany(INSERT_POLL, self.polls)
        if self.extend:
            db.executemany(EXTEND_POLL, self.extend)
        if self.events:
            db.executemany(INSERT_EVENT, self.events)
        if self.devices:
            db.executemany(UPSERT_DEVICE, self.devices)


def write(
    db: Db,
    cur: DeviceState,
    events: list[Event],
    known: Known | None,
    after: Known | None,
    collector: str | None,
) -> None:
    """The rows of one computed poll of one device."""
    batch = Batch()
    batch.add(cur, events, known, after, collector)
    batch.write(db)
