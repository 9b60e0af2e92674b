"""An inventory file's shape (structure, lines, where each value sits) rebuilds exactly what
PyYAML reads from the same text, holds none of its values, and is refused for any value the
text does not spell out as it is."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.lines import LineDict, LineList, from_shape
from inventory.yamlio import load_yaml, load_yaml_shaped

EXAMPLES = Path(__file__).resolve().parents[2] / "inventory" / "examples"

MERGES = """\
base: &base
  platform: cisco_ios
  port: 22
  tags: [hub, "eu"]
r1:
  <<: *base
  hostname: 10.0.0.1
  port: 2222
  password: 'Jd7JQT61Mz66LVJF'
r2: {hostname: 10.0.0.2, platform: cisco_asa, enabled: true, weight: 1.5, note: null}
"""


@pytest.fixture(autouse=True)
def yaml_reader() -> None:
    """These tests read the files themselves (no loader to run twice)."""


def _line_of(text: str, needle: str) -> int:
    """The line the needle first appears on, from the text itself."""
    return text[: text.index(needle)].count("\n") + 1


def _plain(data: Any) -> Any:
    """LineDict/LineList as plain dicts and lists: what PyYAML's own safe loader gives."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def same_tree(a: Any, b: Any) -> bool:
    """Same data, same types and same lines throughout (``==`` alone says ``1 == True``
    and ignores where things were written)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, LineDict):
        return (
            a.line == b.line
            and list(a) == list(b)
            and a.lines == b.lines
            and all(same_tree(a[k], b[k]) for k in a)
        )
    if isinstance(a, LineList):
        return (
            a.line == b.line
            and a.lines == b.lines
            and len(a) == len(b)
            and all(same_tree(x, y) for x, y in zip(a, b, strict=True))
        )
    return bool(a == b)


def _tags(shape: Any) -> set[str]:
    """Every string a shape holds (it should hold only its tags)."""
    if isinstance(shape, str):
        return {shape}
    if isinstance(shape, list):
        return set().union(*(_tags(x) for x in shape)) if shape else set()
    return set()


def _shaped(tmp_path: Path, text: str) -> tuple[Any, list[Any] | None]:
    path = tmp_path / "hosts.yaml"
    path.write_text(text)
    return load_yaml_shaped(path, text)


@pytest.mark.parametrize(
    "path", sorted(EXAMPLES.rglob("*.yaml")), ids=lambda p: str(p.relative_to(EXAMPLES))
)
def test_every_example_inventory_file_is_rebuilt_exactly(path: Path) -> None:
    text = path.read_text()
    data, shape = load_yaml_shaped(path, text)
    assert shape is not None
    assert same_tree(from_shape(shape, text), data)
    assert _plain(from_shape(shape, text)) == yaml.safe_load(text)


def test_merges_anchors_quotes_and_flow_mappings(tmp_path: Path) -> None:
    data, shape = _shaped(tmp_path, MERGES)
    assert shape is not None
    rebuilt = from_shape(shape, MERGES)
    assert same_tree(rebuilt, data)
    assert _plain(rebuilt) == yaml.safe_load(MERGES)
    assert same_tree(rebuilt, load_yaml(tmp_path / "hosts.yaml"))
    assert rebuilt.line_of("r2") == _line_of(MERGES, "r2:")
    assert rebuilt["r1"].line_of("port") == _line_of(MERGES, "port: 2222")
    assert rebuilt["base"]["tags"].line_of(1) == _line_of(MERGES, "tags:")


def test_a_shape_holds_no_value_of_the_file(tmp_path: Path) -> None:
    _, shape = _shaped(tmp_path, MERGES)
    assert _tags(shape) <= {"m", "l", "s", "i", "f", "b", "n"}
    dumped = json.dumps(shape)
    for value in ("Jd7JQT61Mz66LVJF", "10.0.0.1", "cisco_ios", "2222", "1.5", "hostname"):
        assert value not in dumped


@pytest.mark.parametrize(
    "text",
    [
        'r1: {note: "tab\\there"}\n',  # an escape: the text is not the value
        "r1:\n  note: >\n    folded\n    lines\n",  # a folded block
        "r1:\n  note: |\n    literal\n",  # a literal block
        "r1:\n  note: plain\n    continued\n",  # a plain scalar over two lines
        "r1: {port: 0x1F}\n",  # hexadecimal: int() reads the text otherwise
        "r1: {port: 012}\n",  # YAML 1.1 octal
        "r1: {added: 2026-12-07}\n",  # a date: not JSON
        "r1: {weight: .inf}\n",
        "r1: {note: 'it''s'}\n",  # a doubled quote
        "r1: {tags: !!set {hub: null, eu: null}}\n",  # a mapping built into a set
        "r1: {steps: !!omap [{a: 1}, {b: 2}]}\n",  # a sequence built into pairs
    ],
)
def test_values_the_text_does_not_spell_out_give_no_shape(tmp_path: Path, text: str) -> None:
    data, shape = _shaped(tmp_path, text)
    assert shape is None
    assert _plain(data) == yaml.safe_load(text)


def test_an_empty_file_is_none(tmp_path: Path) -> None:
    assert _shaped(tmp_path, "# nothing yet\n") == (None, ["n"])


def test_a_shape_that_does_not_fit_its_text_is_refused() -> None:
    with pytest.raises(ValueError):
        from_shape(["i", 0, 4], "port: 22\n")
    with pytest.raises(ValueError):
        from_shape(["x"], "")


_WORDS = st.text(alphabet=string.ascii_letters + string.digits + "-_./:@", min_size=1, max_size=12)
_SCALARS = st.one_of(
    _WORDS,
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_WORDS, inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=st.dictionaries(_WORDS, _DOCS, min_size=1, max_size=4), flow=st.booleans())
def test_any_plain_document_rebuilds_to_what_pyyaml_reads(
    tmp_path: Path, doc: dict[str, Any], flow: bool
) -> None:
    text = yaml.safe_dump(doc, default_flow_style=flow, sort_keys=False, width=4096)
    data, shape = _shaped(tmp_path, text)
    assert _plain(data) == yaml.safe_load(text)
    if shape is not None:  # refused shapes are read as YAML: correct either way
        rebuilt = from_shape(shape, text)
        assert same_tree(rebuilt, data)
        assert isinstance(rebuilt, LineDict)
        for value in rebuilt.values():
            assert not isinstance(value, LineList) or len(value.lines) == len(value)
