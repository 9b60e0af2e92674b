"""The inventory's one error type.

``inventory`` imports nothing from ``ipsecctl`` (it must stay usable on its own), so it raises
its own :class:`InventoryError`; the CLI maps it to ``ipsecctl.errors.InventoryError`` (exit 2).
"""

from __future__ import annotations

from pathlib import Path


class InventoryError(ValueError):
    """Bad or unreadable inventory. ``str()`` is ``file:line: owner: field: problem``.

    The location attributes let a caller (an editor integration, the TUI) point at the spot
    without parsing the message.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.field = field

    def __str__(self) -> str:
        return self.message
