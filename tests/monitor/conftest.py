"""A lab of simulated routers for the monitoring commands, the lab's own truth about its
tunnels, and the real PostgreSQL server of the store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ipsecctl.lab import Lab
from tests.store.conftest import pg_server, pg_url  # noqa: F401 (fixtures, re-exported)

# an IPsec SA lives 3600 simulated seconds: one real minute, so rekeys happen during a test
SCALE = 60.0


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(
        tmp_path_factory.mktemp("monitor-lab"), devices=12, seed=1, time_scale=SCALE
    ) as running:
        yield running
