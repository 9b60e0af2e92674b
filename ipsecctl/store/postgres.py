"""The history store on PostgreSQL, for several collectors writing to one database.

Same schema and migrations as SQLite (see :mod:`ipsecctl.store.schema`). Each collector has
its own connection; each poll is one transaction, in which every device is first locked with
a transaction-scoped advisory lock (taken in name order, so two collectors never deadlock):
the device's "previous state" read and its replacement happen with nobody else writing that
device in between, and the ``devices`` upsert never replaces a newer poll with an older one.
Migrations run under another advisory lock, so collectors starting together migrate once.

A lost connection is reopened on the next write (the store buffers meanwhile). ``psycopg``
(version 3) is imported only when a ``postgresql://`` store is opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from ipsecctl.errors import IpsecctlError, StoreError, UsageError
from ipsecctl.store.base import SqlStore
from ipsecctl.store.buffer import RetryBuffer
from ipsecctl.store.schema import migrate

CONNECT_TIMEOUT_S = 5
_MIGRATION_LOCK = 0x69707365  # "ipse": any constant no other application on the server uses
_DEVICE_LOCK_NS = 0x6873  # first key of the two-key advisory lock of a device ("hs")


class _PgDb:
    dialect = "postgresql"

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(self._sql(sql), tuple(params))
        return list(cur.fetchall()) if cur.description is not None else []

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(self._sql(sql), [tuple(r) for r in rows])

    def changes(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = self._conn.execute(self._sql(sql), tuple(params))
        return int(cur.rowcount)

    def lock_devices(self, devices: Sequence[str]) -> None:
        # one statement for the whole poll; WITH ORDINALITY keeps the caller's (sorted) order
        self._conn.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(d.name)) FROM unnest(%s::text[]) "
            "WITH ORDINALITY AS d(name, n) ORDER BY d.n",
            (_DEVICE_LOCK_NS, list(devices)),
        )


def display_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:
        return "postgresql://(unparsable URL)"
    user = f"{info['user']}@" if info.get("user") else ""
    host = str(info.get("host") or "localhost")
    port = f":{info['port']}" if info.get("port") else ""
    return f"postgresql://{user}{host}{port}/{info.get('dbname') or ''}"


class PostgresBackend:
    dialect = "postgresql"

    def __init__(self, url: str, *, application_name: str = "ipsecctl") -> None:
        try:
            import psycopg
        except ImportError:
            from ipsecctl.store import PSYCOPG_MISSING

            raise UsageError(PSYCOPG_MISSING) from None
        self._psycopg = psycopg
        self.url = url
        self.application_name = application_name
        self.location = display_url(url)
        self._conn: Any = None
        try:
            self._connect()
        except psycopg.Error as exc:
            raise StoreError(
                f"{self.location}: cannot open the history database ({_one(exc)})"
            ) from None

    def _connect(self) -> Any:
        psycopg = self._psycopg
        conn = psycopg.connect(
            self.url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            application_name=self.application_name,
        )
        try:
            with conn.transaction():
                db = _PgDb(conn)
                db.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))
                migrate(db, self.location)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    @contextmanager
    def transaction(self) -> Iterator[_PgDb]:
        conn = self._conn if self._conn is not None and not self._conn.closed else None
        if conn is None:
            conn = self._connect()
        try:
            with conn.transaction():
                yield _PgDb(conn)
        except (self._psycopg.OperationalError, self._psycopg.InterfaceError):
            if conn.closed or conn.broken:
                self._conn = None
                conn.close()
            raise

    def is_transient(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.OperationalError | self._psycopg.InterfaceError)

    def unavailable(self, exc: BaseException) -> IpsecctlError:
        return StoreError(f"{self.location}: history database unavailable ({_one(exc)})")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _one(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresStore(SqlStore):
    """The history store in the PostgreSQL database at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        retention: timedelta | None = None,
        buffer: RetryBuffer | None = None,
        application_name: str = "ipsecctl",
    ) -> None:
        super().__init__(
            PostgresBackend(url, application_name=application_name),
            retention=retention,
            buffer=buffer,
        )
