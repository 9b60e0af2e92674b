"""The history store's API, and its one implementation over any SQL backend.

Every poll and every action goes through :meth:`Store.record_poll` / :meth:`record_action`.
A poll is compared with what the store last knew of each device (not with what this process
saw last), so history, flaps and uptimes survive restarts and work when several collectors
share one database. The store keeps, per device, the latest full state (replaced in place),
plus one summary row per poll and the events; never device output (``raw``) and never secrets.

Writes never fail because the database is away: they wait in a bounded :class:`RetryBuffer`
and go out in order when it is back (each call tries again once the backoff delay has passed;
:meth:`flush` tries now). Meanwhile :meth:`record_poll` still returns the events it computes
from what this process knew, so a watcher keeps seeing changes. Reads do fail, with an error
that says which database and why.

All methods are thread-safe: one lock per store serialises them (SQLite serialises writers
anyway; PostgreSQL writers of other processes proceed in parallel, each device locked for the
length of its transaction).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar

from ipsecctl.errors import IpsecctlError
from ipsecctl.models import DeviceState
from ipsecctl.redact import redact
from ipsecctl.store.buffer import Pending, RetryBuffer
from ipsecctl.store.db import Db, epoch, from_epoch
from ipsecctl.store.writer import (
    EVENT_COLUMNS,
    Batch,
    Known,
    compute,
    continued,
    decode_state,
    encode_state,
    load_known,
    row_event,
    stored_polled_at,
)
from ipsecctl.transitions import Event, flap_count, up_since

log = logging.getLogger(__name__)

T = TypeVar("T")
PRUNE_EVERY_S = 3600.0
TUNNEL_LIFE = ("tunnel_up", "tunnel_down", "tunnel_added", "tunnel_removed")


class FlapCounts(NamedTuple):
    """A tunnel's (device, peer, vrf) downs and comebacks in a window, and the latest of each
    (a rebuild between two polls is one of each at the same time)."""

    downs: int
    ups: int
    last_down: datetime | None
    last_up: datetime | None


class Store(Protocol):
    """What the operations layer, the CLI and the dashboard use; both backends provide it.

    ``vrf`` filters: None matches any VRF, ``""`` the global table only, else that VRF.
    Times are timezone-aware UTC datetimes.
    """

    location: str

    def record_poll(
        self, states: Sequence[DeviceState], *, collector: str = ...
    ) -> list[Event]: ...

    def record_action(self, record: dict[str, Any]) -> None: ...

    def flush(self) -> bool: ...

    def events(
        self,
        devices: Sequence[str] | None = None,
        *,
        peer: str | None = None,
        vrf: str | None = None,
        tunnel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Event]: ...

    def timeline(
        self,
        tunnel: str | None = None,
        *,
        device: str | None = None,
        peer: str | None = None,
        vrf: str | None = None,
        since: datetime | None = None,
    ) -> list[Event]: ...

    def flaps(
        self, device: str, peer: str, vrf: str | None = None, since: datetime | None = None
    ) -> int: ...

    def flap_history(
        self, devices: Sequence[str] | None = None, since: datetime | None = None
    ) -> dict[tuple[str, str | None, str | None], FlapCounts]: ...

    def last_down(self, device: str, peer: str, vrf: str | None = None) -> datetime | None: ...

    def uptime_since(self, device: str, peer: str, vrf: str | None = None) -> datetime | None: ...

    def rekeys(
        self, device: str, peer: str, vrf: str | None = None, since: datetime | None = None
    ) -> list[Event]: ...

    def latest(self, devices: Sequence[str] | None = None) -> list[DeviceState]: ...

    def polls(self, device: str, since: datetime | None = None) -> list[dict[str, Any]]: ...

    def actions(self, limit: int | None = None) -> list[dict[str, Any]]: ...

    def prune(self, retention: timedelta) -> dict[str, int]: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """A database the store can open transactions on."""

    dialect: str
    location: str

    def transaction(self) -> AbstractContextManager[Db]:
        """A write transaction (committed on success, rolled back on error); connects first
        when the connection was lost."""
        ...

    def is_transient(self, exc: BaseException) -> bool:
        """True for "the database is away or busy, try later"; False for bugs."""
        ...

    def unavailable(self, exc: BaseException) -> IpsecctlError:
        """The error a read raises when the database cannot answer."""
        ...

    def close(self) -> None: ...


def _placeholders(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _vrf_clause(vrf: str | None, where: list[str], params: list[Any]) -> None:
    if vrf is None:
        return
    if vrf == "":
        where.append("vrf IS NULL")
    else:
        where.append("vrf = ?")
        params.append(vrf)


class SqlStore:
    """:class:`Store` over a :class:`Backend` (SQLite or PostgreSQL)."""

    def __init__(
        self,
        backend: Backend,
        *,
        retention: timedelta | None = None,
        buffer: RetryBuffer | None = None,
    ) -> None:
        self._backend = backend
        self.location = backend.location
        self.retention = retention
        self.buffer = buffer if buffer is not None else RetryBuffer()
        self._lock = threading.RLock()
        self._known: dict[str, Known] = {}
        self._last_prune: float | None = None  # first poll prunes, then every hour

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    def close(self) -> None:
        """Try once more to write what is buffered, then close (what still cannot be written
        is reported in the log: the process is going away with it)."""
        with self._lock:
            if len(self.buffer):
                self._flush()
            if len(self.buffer):
                log.warning(
                    "%s: %d buffered write(s) lost: the database is still unavailable",
                    self.location,
                    len(self.buffer),
                )
            self._backend.close()

    # -- writing ----------------------------------------------------------------------------
    def record_poll(
        self, states: Sequence[DeviceState], *, collector: str = "local"
    ) -> list[Event]:
        """Store one poll (several devices, one transaction) and return its events."""
        states = list(states)
        with self._lock:
            if len(self.buffer) and self.buffer.due():
                self._flush()
            if not len(self.buffer):
                try:
                    events = self._write_poll(states, collector)
                except Exception as exc:
                    if not self._backend.is_transient(exc):
                        raise
                    self._went_away(exc)
                else:
                    self._maybe_prune()
                    return events
            events = self._preview(states)
            self.buffer.push(Pending("poll", tuple(encode_state(s) for s in states), collector))
            return events

    def record_action(self, record: dict[str, Any]) -> None:
        """Store an action's record, redacted like the audit log."""
        clean: dict[str, Any] = redact(dict(record))
        clean.setdefault("time", datetime.now(UTC).isoformat().replace("+00:00", "Z"))
        with self._lock:
            if len(self.buffer) and self.buffer.due():
                self._flush()
            if not len(self.buffer):
                try:
                    self._write_action(clean)
                    return
                except Exception as exc:
                    if not self._backend.is_transient(exc):
                        raise
                    self._went_away(exc)
            payload = zlib.compress(json.dumps(clean, default=str).encode())
            self.buffer.push(Pending("action", (payload,)))

    def flush(self) -> bool:
        """Write what is buffered now; True when nothing is left waiting."""
        with self._lock:
            return self._flush()

    @property
    def pending(self) -> int:
        return len(self.buffer)

    def _went_away(self, exc: BaseException) -> None:
        delay = self.buffer.failed()
        log.warning(
            "%s: history database unavailable (%s); buffering writes, next try in %.0f s",
            self.location,
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
            delay,
        )

    def _flush(self) -> bool:
        while (item := self.buffer.peek()) is not None:
            try:
                if item.kind == "poll":
                    states = [
                        s for s in (decode_state(p, self.location) for p in item.payload) if s
                    ]
                    self._write_poll(states, item.collector)
                else:
                    self._write_action(json.loads(zlib.decompress(item.payload[0])))
            except Exception as exc:
                if not self._backend.is_transient(exc):
                    raise
                self._went_away(exc)
                return False
            self.buffer.pop()
        if self.buffer.failures:
            log.warning("%s: history database back; buffered writes stored", self.location)
        self.buffer.succeeded()
        return True

    def _write_poll(self, states: list[DeviceState], collector: str | None) -> list[Event]:
        by_device: dict[str, list[Event]] = {}
        learned: dict[str, Known] = {}
        names = sorted({s.device for s in states})
        batch = Batch()
        with self._backend.transaction() as db:
            db.lock_devices(names)
            stored = stored_polled_at(db, names)
            for cur in sorted(states, key=lambda s: s.device):
                at = stored.get(cur.device)
                known = learned.get(cur.device) or self._known.get(cur.device)
                if at is None:
                    known = learned.get(cur.device)
                elif known is None or known.polled_at != at:
                    known = load_known(db, cur.device, self.location)
                known = continued(known, cur)
                events, after = compute(cur, known)
                batch.add(cur, events, known, after, collector)
                if after is not None:
                    learned[cur.device] = after
                    stored[cur.device] = after.polled_at
                by_device.setdefault(cur.device, []).extend(events)
            batch.write(db)
        self._known.update(learned)
        return [ev for s in states for ev in by_device.pop(s.device, [])]

    def _preview(self, states: list[DeviceState]) -> list[Event]:
        """Events from what this process knew (the database is away); the write that follows
        later recomputes them against the stored state."""
        out: list[Event] = []
        for cur in states:
            events, after = compute(cur, continued(self._known.get(cur.device), cur))
            if after is not None:
                self._known[cur.device] = after
            out += events
        return out

    def _write_action(self, clean: dict[str, Any]) -> None:
        try:
            when = datetime.fromisoformat(str(clean["time"]).replace("Z", "+00:00"))
            stamp = epoch(when)
        except ValueError:
            stamp = time.time()
        with self._backend.transaction() as db:
            db.execute(
                "INSERT INTO actions (time, device, action, body, peer, vrf) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    stamp,
                    clean.get("device"),
                    clean.get("action"),
                    json.dumps(clean, default=str),
                    clean.get("peer"),
                    clean.get("vrf"),
                ),
            )

    def _maybe_prune(self) -> None:
        if self.retention is None:
            return
        if self._last_prune is not None and time.monotonic() - self._last_prune < PRUNE_EVERY_S:
            return
        self._last_prune = time.monotonic()
        try:
            self.prune(self.retention)
        except Exception as exc:
            if not self._backend.is_transient(exc):
                raise
            log.warning("%s: pruning history failed (%s); trying again later", self.location, exc)

    def prune(self, retention: timedelta) -> dict[str, int]:
        """Forget events, poll summaries and actions older than ``retention``, and devices not
        polled for that long; returns how many rows went, per table."""
        cutoff = time.time() - retention.total_seconds()
        counts: dict[str, int] = {}
        with self._lock, self._backend.transaction() as db:
            for table, column in (
                ("events", "time"),
                ("polls", "last_at"),
                ("actions", "time"),
                ("devices", "polled_at"),
            ):
                counts[table] = db.changes(f"DELETE FROM {table} WHERE {column} < ?", (cutoff,))
            self._known = {d: k for d, k in self._known.items() if k.polled_at >= cutoff}
        return counts

    # -- reading ----------------------------------------------------------------------------
    def _read(self, fn: Callable[[Db], T]) -> T:
        with self._lock:
            try:
                with self._backend.transaction() as db:
                    return fn(db)
            except Exception as exc:
                if self._backend.is_transient(exc):
                    raise self._backend.unavailable(exc) from None
                raise

    def events(
        self,
        devices: Sequence[str] | None = None,
        *,
        peer: str | None = None,
        vrf: str | None = None,
        tunnel: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        kinds: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> list[Event]:
        """Events (and actions, as ``action`` events) oldest first; ``limit`` keeps the most
        recent ones."""
        where: list[str] = []
        params: list[Any] = []
        if devices:
            where.append(f"device IN ({_placeholders(devices)})")
            params += list(devices)
        if peer is not None:
            where.append("peer = ?")
            params.append(peer)
        _vrf_clause(vrf, where, params)
        if since is not None:
            where.append("time >= ?")
            params.append(epoch(since))
        if until is not None:
            where.append("time < ?")
            params.append(epoch(until))
        common = list(where)
        common_params = list(params)
        tail = ""
        if limit is not None:
            tail = " LIMIT ?"
        want_actions = tunnel is None and (kinds is None or "action" in kinds)
        state_kinds = None if kinds is None else [k for k in kinds if k != "action"]
        if tunnel is not None:
            where.append("tunnel = ?")
            params.append(tunnel)
        if state_kinds is not None:
            where.append(f"event IN ({_placeholders(state_kinds)})" if state_kinds else "1 = 0")
            params += state_kinds

        def query(db: Db) -> list[Event]:
            clause = f" WHERE {' AND '.join(where)}" if where else ""
            sql = f"SELECT {EVENT_COLUMNS} FROM events{clause} ORDER BY time DESC, id DESC{tail}"
            rows = db.execute(sql, [*params, *([limit] if limit is not None else [])])
            found = [row_event(r) for r in reversed(rows)]
            if want_actions:
                clause = f" WHERE {' AND '.join(common)}" if common else ""
                sql = (
                    f"SELECT time, device, peer, vrf, body FROM actions{clause} "
                    f"ORDER BY time DESC, id DESC{tail}"
                )
                arows = db.execute(sql, [*common_params, *([limit] if limit is not None else [])])
                found += [_action_event(r) for r in reversed(arows)]
                found.sort(key=lambda e: e.time)
                if limit is not None:
                    found = found[-limit:] if limit > 0 else []
            return found

        return self._read(query)

    def timeline(
        self,
        tunnel: str | None = None,
        *,
        device: str | None = None,
        peer: str | None = None,
        vrf: str | None = None,
        since: datetime | None = None,
    ) -> list[Event]:
        """One tunnel's events (by id), or those of a device's tunnels to a peer."""
        return self.events(
            [device] if device else None, peer=peer, vrf=vrf, tunnel=tunnel, since=since
        )

    def flaps(
        self, device: str, peer: str, vrf: str | None = None, since: datetime | None = None
    ) -> int:
        """How often the device's tunnels to ``peer`` went down (seen, or inferred between
        two polls) since ``since``."""
        found = self.events([device], peer=peer, vrf=vrf, since=since, kinds=["tunnel_down"])
        return flap_count(found)

    def flap_history(
        self, devices: Sequence[str] | None = None, since: datetime | None = None
    ) -> dict[tuple[str, str | None, str | None], FlapCounts]:
        """Per (device, peer, vrf) that went down since ``since``: its downs, its comebacks
        and when the latest of each was, in one query (what the health rules quote)."""
        where = ["event IN ('tunnel_down', 'tunnel_up')"]
        params: list[Any] = []
        if devices:
            where.append(f"device IN ({_placeholders(devices)})")
            params += list(devices)
        if since is not None:
            where.append("time >= ?")
            params.append(epoch(since))
        sql = (
            "SELECT device, peer, vrf, event, COUNT(DISTINCT time), MAX(time) FROM events WHERE "
            + " AND ".join(where)
            + " GROUP BY device, peer, vrf, event"
        )
        rows = self._read(lambda db: db.execute(sql, params))
        seen: dict[tuple[str, str | None, str | None], dict[str, tuple[int, datetime]]] = {}
        for d, p, v, event, n, last in rows:
            seen.setdefault((d, p, v), {})[event] = (int(n), from_epoch(last))
        out: dict[tuple[str, str | None, str | None], FlapCounts] = {}
        for key, by_event in seen.items():
            down, up = by_event.get("tunnel_down"), by_event.get("tunnel_up")
            if down is None:
                continue  # came up without going down in the window: no flap to count
            out[key] = FlapCounts(down[0], up[0] if up else 0, down[1], up[1] if up else None)
        return out

    def last_down(self, device: str, peer: str, vrf: str | None = None) -> datetime | None:
        found = self.events([device], peer=peer, vrf=vrf, kinds=["tunnel_down"], limit=1)
        return found[-1].time if found else None

    def uptime_since(self, device: str, peer: str, vrf: str | None = None) -> datetime | None:
        """Since when every tunnel of the device to ``peer`` has been up without a break, as
        the history shows it (across restarts of ipsecctl); None when one is not up."""
        per_tunnel: dict[str | None, list[Event]] = {}
        for ev in self.events([device], peer=peer, vrf=vrf, kinds=list(TUNNEL_LIFE)):
            per_tunnel.setdefault(ev.tunnel, []).append(ev)
        starts = [up_since(evs) for evs in per_tunnel.values()]
        if not starts or any(s is None for s in starts):
            return None
        return max(s for s in starts if s is not None)

    def rekeys(
        self, device: str, peer: str, vrf: str | None = None, since: datetime | None = None
    ) -> list[Event]:
        return self.events([device], peer=peer, vrf=vrf, since=since, kinds=["rekey"])

    def latest(self, devices: Sequence[str] | None = None) -> list[DeviceState]:
        """Each device's last stored poll (its ``polled_at`` tells its age), by name."""

        def query(db: Db) -> list[tuple[Any, ...]]:
            sql = "SELECT device, state FROM devices"
            if devices:
                sql += f" WHERE device IN ({_placeholders(devices)})"
            return db.execute(sql + " ORDER BY device", list(devices or []))

        out = []
        for _device, blob in self._read(query):
            state = decode_state(blob, self.location)
            if state is not None:
                out.append(state)
        return out

    def devices(self) -> list[str]:
        return [d for (d,) in self._read(lambda db: db.execute(_DEVICES))]

    def polls(self, device: str, since: datetime | None = None) -> list[dict[str, Any]]:
        """One device's poll summaries, oldest first: one entry per run of polls that said
        the same (``since`` / ``until``: its first and last poll, ``polls``: how many)."""
        sql = (
            "SELECT polled_at, last_at, n_polls, collector, reachable, tunnels_up, "
            "tunnels_total, ike_up, ike_total, errors FROM polls WHERE device = ?"
        )
        params: list[Any] = [device]
        if since is not None:
            sql += " AND last_at >= ?"
            params.append(epoch(since))
        rows = self._read(lambda db: db.execute(sql + " ORDER BY polled_at", params))
        keys = ("tunnels_up", "tunnels_total", "ike_up", "ike_total", "errors")
        return [
            {
                "device": device,
                "since": from_epoch(r[0]),
                "until": from_epoch(r[1]),
                "polls": int(r[2]),
                "collector": r[3],
                "reachable": bool(r[4]),
                **dict(zip(keys, r[5:10], strict=True)),
            }
            for r in rows
        ]

    def actions(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Recorded actions oldest first; ``limit`` keeps the most recent ones."""
        sql = "SELECT body FROM actions ORDER BY time DESC, id DESC"
        params: list[Any] = []
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        rows = self._read(lambda db: db.execute(sql, params))
        return [json.loads(body) for (body,) in reversed(rows)]


_DEVICES = "SELECT device FROM devices ORDER BY device"


def _action_event(row: tuple[Any, ...]) -> Event:
    stamp, device, peer, vrf, body = row
    record = json.loads(body)
    ok = record.get("ok")
    outcome = "dry_run" if record.get("dry_run") else ("ok" if ok else "failed")
    if ok is None and not record.get("dry_run"):
        outcome = record.get("status") or record.get("stage")
    skip = {"time", "device", "peer", "vrf"}
    return Event(
        time=from_epoch(stamp),
        device=device or "",
        peer=peer,
        vrf=vrf,
        tunnel=record.get("tunnel"),
        event="action",
        from_=None,
        to=outcome,
        detail={k: v for k, v in record.items() if k not in skip},
    )
