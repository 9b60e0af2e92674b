from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from inventory import Inventory
from inventory import load_inventory as _load_inventory
from inventory.loader import YamlReader, read_yaml
from ipsecctl.data_files import CACHE_ENV
from ipsecctl.inventory_files import read_inventory_yaml
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


_reader: list[YamlReader] = [read_yaml]


def _through_the_cache(path: Path) -> object:
    """The first read writes the file's shape to the cache, the second is rebuilt from it."""
    read_inventory_yaml(path)
    return read_inventory_yaml(path)


@pytest.fixture(autouse=True, params=["yaml", "cached"])
def yaml_reader(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[YamlReader]:
    """Every test that loads through :func:`load_inventory` runs twice: files read with
    PyYAML, and files read as ipsecctl reads them, from the cache of their shape."""
    if request.param == "cached":
        monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
        _reader[0] = _through_the_cache
    else:
        _reader[0] = read_yaml
    yield _reader[0]
    _reader[0] = read_yaml


def load_inventory(*args: object, **kwargs: object) -> Inventory:
    """The loader as ipsecctl calls it: with the platform registry of its platform files,
    and the file reader of the test's parameter."""
    kwargs.setdefault("platforms", spellings())
    kwargs.setdefault("yaml_reader", _reader[0])
    return _load_inventory(*args, **kwargs)  # type: ignore[arg-type]
