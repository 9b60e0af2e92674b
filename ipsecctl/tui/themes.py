"""Which ``--theme`` names the dashboard accepts, checked before the app starts.

Textual raises ``InvalidThemeError`` only once the app is running, as a traceback with exit
code 0; the CLI calls :func:`validate_theme` first so a typo is a one-line usage error.
"""

from __future__ import annotations

from textual.theme import BUILTIN_THEMES

from ipsecctl.errors import UsageError

ANSI = "ansi"  # ours: keeps the terminal's own colours (Textual's ansi-dark with ANSI colour)


def theme_names() -> list[str]:
    return [ANSI, *sorted(BUILTIN_THEMES)]


def validate_theme(name: str | None) -> str | None:
    """``name`` unchanged if the dashboard knows it (None = the default theme); otherwise
    :class:`UsageError` listing the valid names."""
    if name is None or name in BUILTIN_THEMES or name == ANSI:
        return name
    raise UsageError(
        f"unknown theme {name!r} for --theme", hint=f"choose one of: {', '.join(theme_names())}"
    )
