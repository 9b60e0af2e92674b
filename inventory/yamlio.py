"""YAML loading that remembers where every key came from.

Inventory errors must name the file and the line (``hosts.yaml:12: host 'r1': port: ...``);
PyYAML drops node marks once it builds Python objects, so this loader builds dict/list
subclasses that keep the line of each key and item.
"""

from __future__ import annotations

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
    """The path as an operator typed it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class _LineLoader(yaml.SafeLoader):
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
    try:
        loader = _LineLoader(text)  # checks every character up front
    except yaml.reader.ReaderError as exc:
        at = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise InventoryError(
            f"{shown}:{at}: character U+{char:04X} is not allowed in YAML; remove it",
            path=path,
            line=at,
        ) from None
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
