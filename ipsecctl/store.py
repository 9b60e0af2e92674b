"""History of polls and actions in SQLite, for flap counts, "last down" and replay.

One file in the state directory, WAL mode so a dashboard can write while a script reads, and
a versioned schema (``PRAGMA user_version``) so a newer ipsecctl can migrate an older file and
an older one refuses a newer file instead of corrupting it. Snapshots are stored without
``raw`` (device output can be large and is what ``--save-raw`` is for). One connection guarded
by a lock: writes are small and SQLite serialises them anyway.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ipsecctl.errors import InputFileError
from ipsecctl.models import DeviceState
from ipsecctl.redact import redact

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    id        INTEGER PRIMARY KEY,
    device    TEXT NOT NULL,
    polled_at REAL NOT NULL,
    body      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_device_time ON snapshots (device, polled_at);
CREATE TABLE IF NOT EXISTS actions (
    id     INTEGER PRIMARY KEY,
    time   REAL NOT NULL,
    device TEXT,
    action TEXT,
    body   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_time ON actions (time);
"""


def _epoch(value: datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


class Store:
    """The history database at ``path`` (created with its parent directory if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():  # peers and SPIs are nobody else's business
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            self._db = sqlite3.connect(
                self.path, timeout=10.0, check_same_thread=False, isolation_level=None
            )
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise InputFileError(
                f"{self.path}: not a usable history database ({exc}); move it aside "
                "and ipsecctl starts a new one"
            ) from None

    def _migrate(self) -> None:
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputFileError(
                f"{self.path}: history schema v{version} is newer than this ipsecctl "
                f"(v{SCHEMA_VERSION}); upgrade ipsecctl or point --history elsewhere"
            )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        if version < SCHEMA_VERSION:
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def save_snapshot(self, state: DeviceState) -> int:
        """Store one poll (without ``raw``); returns its row id."""
        body = state.model_dump_json(exclude={"raw"})
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO snapshots (device, polled_at, body) VALUES (?, ?, ?)",
                (state.device, _epoch(state.polled_at), body),
            )
        return int(cursor.lastrowid or 0)

    def snapshots(
        self, device: str, since: datetime | None = None, limit: int | None = None
    ) -> list[DeviceState]:
        """Polls of ``device`` oldest first; ``limit`` keeps the most recent ones."""
        query = "SELECT body FROM snapshots WHERE device = ?"
        params: list[Any] = [device]
        if since is not None:
            query += " AND polled_at >= ?"
            params.append(_epoch(since))
        query += " ORDER BY polled_at DESC, id DESC"
        if limit is not None:
            query += " LIMIT ?"
            params.append(max(limit, 0))
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [self._load(body) for (body,) in reversed(rows)]

    def last(self, device: str) -> DeviceState | None:
        found = self.snapshots(device, limit=1)
        return found[0] if found else None

    def devices(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT device FROM snapshots ORDER BY device")
            return [device for (device,) in rows.fetchall()]

    def prune(self, before: datetime) -> int:
        """Delete snapshots older than ``before``; returns how many went."""
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM snapshots WHERE polled_at < ?", (_epoch(before),)
            )
        return cursor.rowcount

    def record_action(self, action: dict[str, Any]) -> int:
        """Store an action result (redacted, like the audit log); returns its row id."""
        clean: dict[str, Any] = redact(dict(action))
        clean.setdefault("time", datetime.now(UTC).isoformat().replace("+00:00", "Z"))
        when = clean["time"]
        try:
            stamp = _epoch(datetime.fromisoformat(str(when).replace("Z", "+00:00")))
        except ValueError:
            stamp = datetime.now(UTC).timestamp()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO actions (time, device, action, body) VALUES (?, ?, ?, ?)",
                (
                    stamp,
                    clean.get("device"),
                    clean.get("action"),
                    json.dumps(clean, default=str),
                ),
            )
        return int(cursor.lastrowid or 0)

    def actions(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Recorded actions oldest first; ``limit`` keeps the most recent ones."""
        query = "SELECT body FROM actions ORDER BY time DESC, id DESC"
        params: list[Any] = []
        if limit is not None:
            query += " LIMIT ?"
            params.append(max(limit, 0))
        with self._lock:
            rows = self._db.execute(query, params).fetchall()
        return [json.loads(body) for (body,) in reversed(rows)]

    def _load(self, body: str) -> DeviceState:
        try:
            return DeviceState.model_validate_json(body)
        except ValidationError as exc:
            raise InputFileError(
                f"{self.path}: a stored snapshot does not match this ipsecctl's model "
                f"({exc.error_count()} errors)"
            ) from None
