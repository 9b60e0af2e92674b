"""The platform files: each one is valid against the schema, and what the loader builds from
it (which checks only the shape, see ``ipsecctl.platforms._load_all``) is what full
validation gives."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml
from pydantic import ValidationError

from ipsecctl import platforms
from ipsecctl.models import trusted
from ipsecctl.platforms import Platform

FILES = sorted(
    e for e in resources.files("ipsecctl.platforms").iterdir() if e.name.endswith(".yaml")
)


def _data(entry: object) -> dict[str, object]:
    data = yaml.safe_load(entry.read_text())  # type: ignore[attr-defined]
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("entry", FILES, ids=lambda e: e.name)
def test_file_is_valid_and_loads_as_validated(entry: object) -> None:
    validated = Platform.model_validate(_data(entry))
    loaded = platforms.get_platform(validated.name)
    assert loaded == validated
    assert loaded.model_dump() == validated.model_dump()
    # nested records are models too, not the file's dicts
    assert type(loaded.enable) is type(validated.enable)
    assert type(loaded.capture) is type(validated.capture)


def test_every_file_is_loaded() -> None:
    assert set(platforms.names()) == {e.name.removesuffix(".yaml") for e in FILES}


def test_a_file_that_does_not_fit_still_fails_validation() -> None:
    data = _data(FILES[0])
    with pytest.raises(ValidationError):
        trusted(Platform, {**data, "promtp": "#"})  # a typo in a key
    capture = next(_data(e)["capture"] for e in FILES if _data(e).get("capture"))
    assert isinstance(capture, dict)
    with pytest.raises(ValidationError):
        trusted(Platform, {**data, "capture": {**capture, "mode": "sideways"}})
