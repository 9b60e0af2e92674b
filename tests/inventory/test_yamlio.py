"""Reading inventory YAML: every key and item keeps the line it was written on, whichever
parser PyYAML brings (libyaml's where it was built with it, its own otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from inventory import InventoryError
from inventory.yamlio import LineDict, LineList, display, load_yaml

TEXT = """\
# a comment, then a merge anchor
base: &base
  platform: cisco_ios
  port: 22
r1:
  <<: *base
  hostname: 10.0.0.1
  groups:
  - hubs
  - eu
r2: {hostname: 10.0.0.2, platform: cisco_asa}
"""


def _line_of(text: str, needle: str) -> int:
    """The line the needle first appears on, from the text itself."""
    return text[: text.index(needle)].count("\n") + 1


def test_keys_and_items_keep_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(TEXT)
    data = load_yaml(path)
    assert isinstance(data, LineDict)
    assert data["r1"] == {
        "platform": "cisco_ios",
        "port": 22,
        "hostname": "10.0.0.1",
        "groups": ["hubs", "eu"],
    }
    assert data["r2"] == {"hostname": "10.0.0.2", "platform": "cisco_asa"}
    for key in ("base", "r1", "r2"):
        assert data.line_of(key) == _line_of(TEXT, f"{key}:")
    r1 = data["r1"]
    assert r1.line_of("hostname") == _line_of(TEXT, "hostname: 10.0.0.1")
    groups = r1["groups"]
    assert isinstance(groups, LineList)
    assert [groups.line_of(i) for i in range(2)] == [
        _line_of(TEXT, "- hubs"),
        _line_of(TEXT, "- eu"),
    ]


def test_the_same_data_as_pyyaml_safe_loading(tmp_path: Path) -> None:
    """Same values as PyYAML's own safe loader (merge keys resolved, numbers typed)."""
    path = tmp_path / "hosts.yaml"
    path.write_text(TEXT)
    assert load_yaml(path) == yaml.safe_load(TEXT)


@pytest.mark.parametrize("before", ["", "é", "日本"])
def test_a_control_character_is_found_on_its_line(tmp_path: Path, before: str) -> None:
    """Characters, not bytes, decide the line (libyaml counts bytes of UTF-8)."""
    path = tmp_path / "hosts.yaml"
    path.write_text(f"r0: {{platform: ios, site: {before}x}}\nr1: {{platform: ios}}\n\x07\n")
    with pytest.raises(InventoryError) as err:
        load_yaml(path)
    assert str(err.value).endswith(":3: character U+0007 is not allowed in YAML; remove it")
    assert err.value.line == 3


def test_display_follows_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked again after a change of directory, the answer is relative to the new one."""
    path = tmp_path / "inv" / "hosts.yaml"
    path.parent.mkdir()
    path.write_text("r1: {}\n")
    monkeypatch.chdir(tmp_path)
    assert display(path) == "inv/hosts.yaml"
    monkeypatch.chdir(path.parent)
    assert display(path) == "hosts.yaml"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert display(path) == str(path)
