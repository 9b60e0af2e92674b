"""YAML loading that remembers where every key came from.

Inventory errors must name the file and the line (``hosts.yaml:12: host 'r1': port: ...``);
PyYAML drops node marks once it builds Python objects, so this loader builds dict/list
subclasses that keep the line of each key and item (:mod:`inventory.lines`), and can also
describe a document by its shape, which rebuilds it without PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from inventory.errors import InventoryError
from inventory.lines import LineDict, LineList, display, from_shape

__all__ = ["LineDict", "LineList", "display", "load_yaml", "load_yaml_shaped"]

_MERGE_TAG = "tag:yaml.org,2002:merge"


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
    return _load(path, None, shaped=False)[0]


def load_yaml_shaped(path: Path, text: str | None = None) -> tuple[Any, list[Any] | None]:
    """:func:`load_yaml` (``text``: the file's contents, already read), and the document's
    shape (:mod:`inventory.lines`) when one describes it exactly (else None: values only a
    YAML reader can give, such as escaped or folded strings, dates, hexadecimal numbers)."""
    return _load(path, text, shaped=True)


def _load(path: Path, text: str | None, *, shaped: bool) -> tuple[Any, list[Any] | None]:
    shown = display(path)
    if text is None:
        text = _read(path, shown)
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
        node = loader.get_single_node()
        if node is None:
            return None, (["n"] if shaped else None)
        if not shaped:
            return loader.construct_document(node), None
        # what construct_document does, keeping the value of every node for the shape
        data = loader.construct_object(node, deep=True)
        return data, _shape(node, loader.constructed_objects, text)
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


def _read(path: Path, shown: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InventoryError(f"{shown}: file not found", path=path) from None
    except IsADirectoryError:
        raise InventoryError(f"{shown}: is a directory, expected a YAML file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InventoryError(f"{shown}: cannot read: {reason}", path=path) from None


#: the Python type each shape tag stands for (an int is never a bool here: ``type() is``)
_NUMBER_TAGS: dict[type, str] = {str: "s", int: "i", float: "f"}


def _shape(node: yaml.Node, values: dict[yaml.Node, Any], text: str) -> list[Any] | None:
    """``node`` (constructed: merge keys flattened, no recursion, which the constructor
    refuses; ``values``: what each node was constructed into) as a shape, or None when a
    part of it cannot be described by offsets into ``text``.

    The shape rebuilds the data exactly because it follows the construction step by step:
    each mapping's pairs in the order :func:`_construct_mapping` assigned them (merged keys
    first, later ones winning), every line from the same marks, every container of the type
    it was built into, and every scalar only where the text, read back as the shape says,
    gives the very value and type the constructor gave."""
    if isinstance(node, yaml.MappingNode):
        if type(values.get(node)) is not LineDict:
            return None  # a tagged mapping (!!set): constructed into something else
        pairs: list[Any] = []
        for key_node, value_node in node.value:
            key = _shape(key_node, values, text)
            value = _shape(value_node, values, text)
            if key is None or value is None:
                return None
            pairs.append([key, key_node.start_mark.line + 1, value])
        return ["m", node.start_mark.line + 1, pairs]
    if isinstance(node, yaml.SequenceNode):
        if type(values.get(node)) is not LineList:
            return None  # a tagged sequence (!!omap, !!pairs): constructed otherwise
        items: list[Any] = []
        for item_node in node.value:
            item = _shape(item_node, values, text)
            if item is None:
                return None
            items.append([item, item_node.start_mark.line + 1])
        return ["l", node.start_mark.line + 1, items]
    if node not in values:
        return None
    value = values[node]
    if value is None:
        return ["n"]
    if type(value) is bool:
        return ["b", value]
    tag = _NUMBER_TAGS.get(type(value))
    if tag is None:
        return None  # a date, binary data, a set: JSON and offsets cannot say it
    start, end = node.start_mark.index, node.end_mark.index
    if getattr(node, "style", None) in ("'", '"'):
        start, end = start + 1, end - 1
    try:
        same = from_shape([tag, start, end], text) == value
    except ValueError:
        return None
    return [tag, start, end] if same else None
