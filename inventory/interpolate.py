"""``${VAR}`` / ``${VAR:-default}`` substitution in inventory strings.

Secrets belong in the environment (or a secret manager that exports them), not in a YAML file
that gets committed; interpolation lets the inventory say where a secret comes from. A variable
that is missing is an error naming the file, line and field: a silently empty password would
only surface later as a confusing authentication failure.

Forms: ``${VAR}`` (must be set), ``${VAR:-default}`` (default when unset or empty),
``${VAR-default}`` (default when unset), ``$${`` for a literal ``${``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from inventory.errors import InventoryError
from inventory.lines import LineDict, LineList

_PATTERN = re.compile(
    r"\$\$\{|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}"
)


def interpolate_str(text: str, env: Mapping[str, str], where: str, field: str) -> str:
    """Substitute variables in one string; ``where`` is ``file:line`` for the error message."""
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name = match.group("name")
        op = match.group("op")
        value = env.get(name)
        if op == ":-" and not value:
            return match.group("default")
        if op == "-" and value is None:
            return match.group("default")
        if value is None:
            raise InventoryError(
                f"{where}: {field}: environment variable {name} is not set "
                f"(export it, or write ${{{name}:-default}})",
                field=field,
            )
        return value

    return _PATTERN.sub(replace, text)


def interpolate(value: Any, env: Mapping[str, str], source: str, line: int, field: str) -> Any:
    """Walk mappings and lists, substituting in every string and keeping line information."""
    if isinstance(value, str):
        return interpolate_str(value, env, f"{source}:{line}", field)
    if isinstance(value, dict):
        out = LineDict()
        out.line = getattr(value, "line", line)
        for key, item in value.items():
            key_line = value.line_of(key) if isinstance(value, LineDict) else line
            out[key] = interpolate(item, env, source, key_line, f"{field}.{key}")
            out.lines[key] = key_line
        return out
    if isinstance(value, list):
        seq = LineList()
        seq.line = getattr(value, "line", line)
        for index, item in enumerate(value):
            item_line = value.line_of(index) if isinstance(value, LineList) else line
            seq.append(interpolate(item, env, source, item_line, f"{field}[{index}]"))
            seq.lines.append(item_line)
        return seq
    return value
