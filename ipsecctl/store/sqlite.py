"""The default history store: one SQLite file in the state directory.

WAL mode, so a dashboard can write while a script reads; every write is one ``BEGIN
IMMEDIATE`` transaction, which takes SQLite's write lock up front (two processes never both
read-then-write the same device), with a busy timeout so a writer waits for another instead of
failing. The file is created 0600 in a 0700 folder: peers, SPIs and actions are nobody else's
business. A file that is not a usable database is refused with a message naming it.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from ipsecctl.errors import InputFileError, IpsecctlError
from ipsecctl.store.base import SqlStore
from ipsecctl.store.buffer import RetryBuffer
from ipsecctl.store.schema import SCHEMA_VERSION, migrate

BUSY_TIMEOUT_S = 10.0
# errors that say "try later" (another writer, a full or failing disk), not "this is a bug"
_TRANSIENT = ("locked", "busy", "disk", "i/o", "unable to open", "readonly", "full")


class _SqliteDb:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, tuple(params)).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._conn.executemany(sql, rows)

    def changes(self, sql: str, params: Sequence[Any] = ()) -> int:
        return self._conn.execute(sql, tuple(params)).rowcount

    def lock_devices(self, devices: Sequence[str]) -> None:
        """BEGIN IMMEDIATE already holds the database's one write lock."""


def _private_file(path: Path) -> None:
    """Create ``path`` 0600 in a 0700 folder (or tighten a file we own that is looser)."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077 and path.stat().st_uid == os.getuid():
        path.chmod(0o600)


class SqliteBackend:
    dialect = "sqlite"

    def __init__(self, path: Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        try:
            _private_file(self.path)
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout, check_same_thread=False, isolation_level=None
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            with self.transaction() as db:
                legacy = int(db.execute("PRAGMA user_version")[0][0])
                migrate(db, self.location, legacy_version=legacy)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except OSError as exc:
            raise InputFileError(
                f"{self.path}: cannot create the history database ({exc.strerror})"
            ) from None
        except sqlite3.DatabaseError as exc:
            self.close()
            raise InputFileError(
                f"{self.path}: not a usable history database ({exc}); move it aside "
                "and ipsecctl starts a new one"
            ) from None
        except InputFileError:
            self.close()
            raise

    @contextmanager
    def transaction(self) -> Iterator[_SqliteDb]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield _SqliteDb(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def is_transient(self, exc: BaseException) -> bool:
        if not isinstance(exc, sqlite3.OperationalError):
            return False
        text = str(exc).lower()
        return any(word in text for word in _TRANSIENT)

    def unavailable(self, exc: BaseException) -> IpsecctlError:
        return InputFileError(f"{self.path}: history database unavailable ({exc})")

    def close(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()


class SqliteStore(SqlStore):
    """The history store in the SQLite file at ``path`` (created if missing)."""

    def __init__(
        self,
        path: Path | str,
        *,
        retention: timedelta | None = None,
        buffer: RetryBuffer | None = None,
        busy_timeout: float = BUSY_TIMEOUT_S,
    ) -> None:
        super().__init__(
            SqliteBackend(Path(path), busy_timeout=busy_timeout),
            retention=retention,
            buffer=buffer,
        )
        self.path = Path(path)
