"""The history schema: one ordered list of migrations that both backends apply.

A database records the migrations it has had in ``schema_version`` (a table rather than
SQLite's ``PRAGMA user_version`` alone, so PostgreSQL works the same way). On SQLite the pragma
is kept equal to the latest version too: ipsecctl releases that knew only the pragma then still
refuse a newer file instead of writing into it. A database newer than this ipsecctl is refused
with a message saying so; an older one is brought forward inside one transaction, under the
backend's write lock, so two collectors starting at once migrate it once.

Versions:

1. ``snapshots`` (every poll as JSON) and ``actions``: the first format.
2. ``devices`` (latest full state per device, replaced in place), ``polls`` (poll summaries,
   one row per run of equal summaries), ``events`` (transitions); ``actions`` gains ``peer``
   and ``vrf``. The snapshots of a version 1 file are replayed into events, summaries and
   latest states, then dropped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import ValidationError

from ipsecctl.errors import InputFileError
from ipsecctl.models import DeviceState
from ipsecctl.store.db import Db, ddl
from ipsecctl.store.writer import Known, compute, write

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]
    convert: Callable[[Db], None] | None = None


def _replay_snapshots(db: Db) -> None:
    """Version 1 kept every poll whole: replay them, device by device and oldest first, into
    the events and summaries a version 2 store would have recorded."""
    devices = [d for (d,) in db.execute("SELECT DISTINCT device FROM snapshots ORDER BY device")]
    skipped = 0
    for device in devices:
        known: Known | None = None
        rows = db.execute(
            "SELECT body FROM snapshots WHERE device = ? ORDER BY polled_at, id", (device,)
        )
        for (body,) in rows:
            try:
                state = DeviceState.model_validate_json(body)
            except ValidationError:
                skipped += 1
                continue
            events, after = compute(state, known)
            write(db, state, events, known, after, "migrated")
            known = after or known
    if skipped:
        log.warning("history migration: %d stored snapshot(s) no longer fit the model", skipped)
    for action_id, body in db.execute("SELECT id, body FROM actions"):
        try:
            record = json.loads(body)
        except ValueError:
            continue
        if isinstance(record, dict) and (record.get("peer") or record.get("vrf")):
            db.execute(
                "UPDATE actions SET peer = ?, vrf = ? WHERE id = ?",
                (record.get("peer"), record.get("vrf"), action_id),
            )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "snapshots and actions",
        (
            "CREATE TABLE IF NOT EXISTS snapshots (id {pk}, device TEXT NOT NULL, "
            "polled_at {float} NOT NULL, body TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS snapshots_device_time ON snapshots (device, polled_at)",
            "CREATE TABLE IF NOT EXISTS actions (id {pk}, time {float} NOT NULL, device TEXT, "
            "action TEXT, body TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS actions_time ON actions (time)",
        ),
    ),
    Migration(
        2,
        "latest state per device, poll summaries and events (snapshots replayed)",
        (
            "CREATE TABLE devices (device TEXT PRIMARY KEY, platform TEXT NOT NULL, "
            "polled_at {float} NOT NULL, reachable INTEGER NOT NULL, collector TEXT, "
            "state {blob} NOT NULL, baseline {blob}, conditions TEXT, run_start {float})",
            "CREATE TABLE polls (device TEXT NOT NULL, polled_at {float} NOT NULL, "
            "last_at {float} NOT NULL, n_polls INTEGER NOT NULL, "
            "collector TEXT, reachable INTEGER NOT NULL, tunnels_up INTEGER NOT NULL, "
            "tunnels_total INTEGER NOT NULL, ike_up INTEGER NOT NULL, "
            "ike_total INTEGER NOT NULL, errors INTEGER NOT NULL, "
            "PRIMARY KEY (device, polled_at)){without_rowid}",
            "CREATE INDEX polls_last ON polls (last_at)",
            "CREATE TABLE events (id {pk}, time {float} NOT NULL, device TEXT NOT NULL, "
            "tunnel TEXT, peer TEXT, vrf TEXT, event TEXT NOT NULL, from_state TEXT, "
            "to_state TEXT, detail TEXT, collector TEXT)",
            "CREATE INDEX events_time ON events (time)",
            "CREATE INDEX events_device_time ON events (device, time)",
            "CREATE INDEX events_tunnel_time ON events (tunnel, time)",
            "CREATE INDEX events_peer_time ON events (peer, time)",
            "ALTER TABLE actions ADD COLUMN peer TEXT",
            "ALTER TABLE actions ADD COLUMN vrf TEXT",
        ),
        _replay_snapshots,
    ),
)
# kept last: the snapshots are read by the conversion above before they go
_DROP_SNAPSHOTS = {2: ("DROP INDEX IF EXISTS snapshots_device_time", "DROP TABLE snapshots")}

SCHEMA_VERSION = MIGRATIONS[-1].version


def current_version(db: Db, legacy_version: int = 0) -> int:
    """The version a database is at (``legacy_version``: SQLite's pragma, for version 1 files
    made before ``schema_version`` existed)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
        f"description TEXT NOT NULL, applied_at {ddl('{float}', db.dialect)} NOT NULL)"
    )
    rows = db.execute("SELECT MAX(version) FROM schema_version")
    found = int(rows[0][0] or 0) if rows else 0
    return max(found, legacy_version)


def migrate(db: Db, where: str, *, legacy_version: int = 0, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to ``target`` (tests stop earlier to build old databases).

    Runs inside the caller's write transaction; returns the version it found.
    """
    found = current_version(db, legacy_version)
    if found > SCHEMA_VERSION:
        raise InputFileError(
            f"{where}: history schema v{found} is newer than this ipsecctl (v{SCHEMA_VERSION}); "
            "upgrade ipsecctl, or point --store elsewhere"
        )
    recorded = {int(v) for (v,) in db.execute("SELECT version FROM schema_version")}
    for m in MIGRATIONS:
        if m.version > target:
            break
        if m.version <= found:
            if m.version not in recorded:  # a version 1 file: adopt what it already has
                _record(db, m.version, m.description + " (adopted)")
            continue
        for statement in m.statements:
            db.execute(ddl(statement, db.dialect))
        if m.convert is not None:
            m.convert(db)
        for statement in _DROP_SNAPSHOTS.get(m.version, ()):
            db.execute(statement)
        _record(db, m.version, m.description)
        log.info("%s: history schema migrated to v%d", where, m.version)
    return found


def _record(db: Db, version: int, description: str) -> None:
    db.execute(
        "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
        (version, description, time.time()),
    )
