"""Inventory data that remembers where it was written, without the YAML reader.

Inventory errors must name the file and the line (``hosts.yaml:12: host 'r1': port: ...``),
so mappings and sequences read from a file keep the line of each key and item
(:class:`LineDict`, :class:`LineList`). They live apart from :mod:`inventory.yamlio` so that
everything after reading (interpolation, the schema, the loader) and an inventory rebuilt from
its cached shape (:func:`from_shape`) never import PyYAML.

A *shape* is a YAML document described without its values: the structure, every line, and
for each string or number where its text sits in the file (character offsets). Rebuilt from
the very text it was taken from, it gives the same data the YAML reader gave; it holds no
value of the file (a password is only a pair of offsets), so an application can keep it in
a cache (:func:`inventory.yamlio.load_yaml_shaped` makes it). Forms (JSON): ``["m", line,
[[key, key_line, value], ...]]``, ``["l", line, [[item, item_line], ...]]``, ``["s"|"i"|"f",
start, end]`` (the text as a string, an integer, a float), ``["b", true|false]``, ``["n"]``.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any


class LineDict(dict[Any, Any]):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[Any, int] = {}

    def line_of(self, key: Any) -> int:
        return self.lines.get(key, self.line)


class LineList(list[Any]):
    """A sequence that knows its own line and the line of each item (1-based)."""

    line: int = 0

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.lines[index] if 0 <= index < len(self.lines) else self.line


def display(path: Path) -> str:
    """The path as an operator typed it: relative to the working directory when below it.

    Every host names where its values were written (``hosts.yaml:12``), so one inventory
    asks this of the same few files thousands of times: the answer is kept per file and
    working directory (resolving a path costs a system call per component).
    """
    try:
        cwd = os.getcwd()
    except OSError:
        return str(path)
    return _display(str(path), cwd)


@functools.lru_cache(maxsize=256)
def _display(path: str, cwd: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path(cwd).resolve()))
    except (ValueError, OSError):
        return path


def from_shape(shape: list[Any], text: str) -> Any:
    """The data described by ``shape``, its strings and numbers taken from ``text`` (the
    file the shape was made from). Raises ``ValueError`` (or ``IndexError``, ``TypeError``)
    for a shape that does not fit the text."""
    tag = shape[0]
    if tag == "s":
        return text[shape[1] : shape[2]]
    if tag == "m":
        mapping = LineDict()
        mapping.line = shape[1]
        for key_shape, key_line, value_shape in shape[2]:
            key = from_shape(key_shape, text)
            mapping[key] = from_shape(value_shape, text)
            mapping.lines[key] = key_line
        return mapping
    if tag == "l":
        items = LineList()
        items.line = shape[1]
        for item_shape, item_line in shape[2]:
            items.append(from_shape(item_shape, text))
            items.lines.append(item_line)
        return items
    if tag == "i":
        return int(text[shape[1] : shape[2]])
    if tag == "f":
        return float(text[shape[1] : shape[2]])
    if tag == "b":
        return bool(shape[1])
    if tag == "n":
        return None
    raise ValueError(f"not a shape: {tag!r}")
