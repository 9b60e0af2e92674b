"""Shared fixtures of the diagnostics tests that poll a lab."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private state directory (audit log, history) for a module's CLI and collector runs."""
    path = tmp_path_factory.mktemp("state")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IPSECCTL_STATE_DIR", str(path))
        yield path
