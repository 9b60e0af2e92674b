"""Fixtures of the store tests: a real PostgreSQL server started by the tests themselves
(see :mod:`tests.store.pgserver`). Without the binaries the tests skip, and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import need
from tests.store.pgserver import PgServer, pg_bin, start_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    need(pg_bin() is not None, "PostgreSQL server binaries (initdb, pg_ctl) not installed")
    need(shutil.which("runuser") is not None or os.geteuid() != 0, "runuser missing")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        need(False, "psycopg (3) not installed")
    # not under pytest's tmp_path: its folders are 0700 root, out of the server user's reach
    root = Path(tempfile.mkdtemp(prefix="ipsecctl-pg-"))
    server = None
    try:
        server = start_server(root)
        yield server
    finally:
        if server is not None:
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """A fresh, empty database on the test server."""
    return pg_server.new_database()
