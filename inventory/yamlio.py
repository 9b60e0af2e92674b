"""YAML loading that remembers where every key came from.

Inventory errors must name the file and the line (``hosts.yaml:12: host 'r1': port: ...``);
PyYAML drops node marks once it builds Python objects, so this loader builds dict/list
subclasses that keep the line of each key and item.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

from inventory.errors import InventoryError

_MERGE_TAG = "tag:yaml.org,2002:merge"


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


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser where PyYAML was built with it (the usual wheels are): a 2,000-host
    inventory took 1.3 s to read with the pure-Python one, most of it scanning characters."""

    source = "<yaml>"


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    own = sum(1 for key, _ in node.value if key.tag != _MERGE_TAG)
    loader.flatten_mapping(node)
    merged = len(node.value) - own  # `<<:` merge keys come first and may be overridden
    result = LineDict()
    result.line = node.start_mark.line + 1
    seen: set[Any] = set()
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            raise InventoryError(
                f"{loader.source}:{line}: a mapping key must be a plain value",
                path=loader.source,
                line=line,
            ) from None
        if index >= merged:
            if key in seen:
                raise InventoryError(
                    f"{loader.source}:{line}: duplicate key {key!r} (first at line "
                    f"{result.lines[key]})",
                    path=loader.source,
                    line=line,
                    field=str(key),
                )
            seen.add(key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.lines[key] = line
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList()
    result.line = node.start_mark.line + 1
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.lines.append(item.start_mark.line + 1)
    return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    _construct_sequence,
)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file into LineDict/LineList/scalars; every failure is an InventoryError."""
    shown = display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{shown}: file not found", path=path) from None
    except IsADirectoryError:
        raise InventoryError(f"{shown}: is a directory, expected a YAML file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InventoryError(f"{shown}: cannot read: {reason}", path=path) from None
    # every character checked up front, as PyYAML's own reader does (libyaml finds them
    # only as it parses, and counts bytes, not characters)
    bad = yaml.reader.Reader.NON_PRINTABLE.search(text)
    if bad is not None:
        at = text.count("\n", 0, bad.start()) + 1
        raise InventoryError(
            f"{shown}:{at}: character U+{ord(bad.group()[0]):04X} is not allowed in YAML; "
            "remove it",
            path=path,
            line=at,
        )
    loader = _LineLoader(text)
    loader.source = shown
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        where = f"{shown}:{line}" if line else shown
        lines = text.splitlines()
        if line and line <= len(lines) and "${" in lines[line - 1]:
            problem += ' (inside [...] or {...}, quote values that use ${VAR}: "${VAR}")'
        message = f"{where}: YAML syntax error: {problem}"
        raise InventoryError(message, path=path, line=line) from None
    except yaml.YAMLError as exc:
        # e.g. a ReaderError (a control character): its text spans lines; keep one line
        raise InventoryError(
            f"{shown}: YAML error: {' '.join(str(exc).split())}", path=path
        ) from None
    finally:
        loader.dispose()
