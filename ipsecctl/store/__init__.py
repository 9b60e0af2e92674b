"""History of polls, transitions and actions: SQLite by default, PostgreSQL for many collectors.

::

    from ipsecctl.store import open_store

    with open_store(settings_location) as store:        # a path, sqlite:///path, postgresql://
        events = store.record_poll(states, collector="eu-west")
        store.flaps("hub-1", "10.0.0.2", since=yesterday)

:func:`open_store` picks the backend from the location; both implement :class:`Store`
(:mod:`ipsecctl.store.base`). The schema and its migrations are shared
(:mod:`ipsecctl.store.schema`).
"""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ipsecctl.errors import UsageError

if TYPE_CHECKING:
    from ipsecctl.store.base import SqlStore, Store
    from ipsecctl.store.buffer import RetryBuffer
    from ipsecctl.store.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "RetryBuffer",
    "SqlStore",
    "Store",
    "check_location",
    "default_location",
    "is_postgres",
    "open_configured",
    "open_store",
    "sqlite_path",
    "store_exists",
]

#: the store's classes load when one is asked for: where history goes is settled (and a
#: malformed ``--store`` refused) by a command that opens the store only later, if at all
_LAZY = {
    "SqlStore": "ipsecctl.store.base",
    "Store": "ipsecctl.store.base",
    "RetryBuffer": "ipsecctl.store.buffer",
    "SCHEMA_VERSION": "ipsecctl.store.schema",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ipsecctl.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


_PG_SCHEMES = ("postgresql://", "postgres://")
#: why a postgresql:// store cannot be opened here (checked up front and when opening)
PSYCOPG_MISSING = "a postgresql:// history store needs psycopg 3: pip install 'psycopg[binary]'"


def is_postgres(location: str | Path) -> bool:
    return str(location).startswith(_PG_SCHEMES)


def sqlite_path(location: str | Path) -> Path:
    """The file of a SQLite location (a path, or ``sqlite:///path``)."""
    text = str(location)
    if text.startswith("sqlite://"):
        rest = text[len("sqlite://") :]
        if not rest.startswith("/"):
            raise UsageError(f"--store {text!r}: write sqlite:///absolute/path or just the path")
        return Path("/" + rest.lstrip("/"))  # sqlite:////abs/path too (SQLAlchemy's form)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise UsageError(
            f"--store {text!r}: unknown scheme {scheme!r}; use a file path, sqlite:///PATH "
            "or postgresql://USER@HOST/DB"
        )
    return Path(text).expanduser()


def default_location(settings: Any) -> str:
    """Where history goes: the ``store`` setting, else the ``history`` file."""
    store = getattr(settings, "store", None)
    return str(store) if store else str(settings.history)


def check_location(location: str | Path) -> None:
    """Raise :class:`UsageError` for a location no store can be opened at, whatever the
    store's state: a malformed SQLite location, or PostgreSQL without its driver."""
    if not is_postgres(location):
        sqlite_path(location)
    elif importlib.util.find_spec("psycopg") is None:
        raise UsageError(PSYCOPG_MISSING)


def store_exists(location: str | Path) -> bool:
    """False only for a SQLite file not created yet (nothing was ever recorded there)."""
    return is_postgres(location) or sqlite_path(location).exists()


def open_store(
    location: str | Path,
    *,
    retention_days: float | None = None,
    buffer: RetryBuffer | None = None,
    application_name: str = "ipsecctl",
) -> SqlStore:
    """Open (creating and migrating as needed) the history store at ``location``."""
    retention = timedelta(days=retention_days) if retention_days else None
    if is_postgres(location):
        from ipsecctl.store.postgres import PostgresStore

        return PostgresStore(
            str(location), retention=retention, buffer=buffer, application_name=application_name
        )
    from ipsecctl.store.sqlite import SqliteStore

    return SqliteStore(sqlite_path(location), retention=retention, buffer=buffer)


def open_configured(settings: Any, location: str | Path | None = None, **kwargs: Any) -> SqlStore:
    """The store the settings name (``--store`` overrides with ``location``), pruned to the
    configured retention (``history_retention_days``) as polls are recorded."""
    return open_store(
        location or default_location(settings),
        retention_days=getattr(settings, "history_retention_days", None),
        **kwargs,
    )
