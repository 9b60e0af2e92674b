from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from inventory import Inventory
from inventory import load_inventory as _load_inventory
from ipsecctl.platforms import spellings

EXAMPLES = Path(__file__).resolve().parents[2] / "inventory" / "examples"


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML files into tmp_path; returns the directory."""

    def _write(**files: str) -> Path:
        for name, text in files.items():
            (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip("\n"))
        return tmp_path

    return _write


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own IPSECCTL_* variables must not change what the tests see."""
    for var in (
        "IPSECCTL_USERNAME",
        "IPSECCTL_PASSWORD",
        "IPSECCTL_ENABLE_SECRET",
        "IPSECCTL_INVENTORY",
    ):
        monkeypatch.delenv(var, raising=False)


def load_inventory(*args: object, **kwargs: object) -> Inventory:
    """The loader as ipsecctl calls it: with the platform registry of its platform files."""
    kwargs.setdefault("platforms", spellings())
    return _load_inventory(*args, **kwargs)  # type: ignore[arg-type]
