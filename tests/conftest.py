"""Fixtures for the tests at the top of the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecctl.data_files import CACHE_ENV


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cache folder the console script would name (``IPSECCTL_CACHE_DIR``), new and
    empty: what the data and inventory caches write goes under it."""
    root = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(root))
    return root
