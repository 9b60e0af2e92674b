"""The ``:`` command line: an input docked at the bottom of whatever screen is showing, with
the completion of :mod:`ipsecctl.tui.command_mode` (Tab or → accepts the suggestion, the line
below lists what else matches; Enter runs, Esc leaves)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from ipsecctl.tui import command_mode
from ipsecctl.tui.widgets.body import PaneBody


class CommandSuggester(Suggester):
    def __init__(self, candidates: Callable[[str], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.candidates = candidates

    async def get_suggestion(self, value: str) -> str | None:
        found = self.candidates(value)
        return found[0] if found else None


class CommandLine(ModalScreen[str | None]):
    DEFAULT_CSS = """
    CommandLine { align: left bottom; background: $background 0%; }
    CommandLine > Vertical { height: auto; width: 100%; background: $panel; }
    CommandLine #cmd { border: none; height: 1; padding: 0 1; background: $panel; }
    CommandLine #cmd-hint { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="cmd.cancel"),
        Binding("tab", "accept", "Complete", id="cmd.complete", priority=True),
    ]

    def __init__(self, devices: Sequence[str], tunnels: Sequence[str]) -> None:
        super().__init__()
        self.devices = list(devices)
        self.tunnels = list(tunnels)

    def candidates(self, value: str) -> list[str]:
        return command_mode.complete(value, self.devices, self.tunnels)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield PaneBody("", id="cmd-hint")
            yield Input(
                placeholder=":tunnels :faults :devices :ike :logs DEV :probe :capture …",
                id="cmd",
                suggester=CommandSuggester(self.candidates),
            )

    def on_mount(self) -> None:
        self.query_one("#cmd", Input).focus()
        self._hint("")

    def _hint(self, value: str) -> None:
        found = self.candidates(value)
        hint = self.query_one("#cmd-hint", Static)
        if not value:
            names = " ".join(f":{c.name}" for c in command_mode.COMMANDS)
            hint.update(Text(names, no_wrap=True, overflow="ellipsis"))
            return
        if not found:
            try:
                command_mode.parse(value)
                hint.update(Text("Enter runs it", style="green"))
            except command_mode.CommandError as exc:
                hint.update(Text(str(exc), style="red"))
            return
        hint.update(
            Text(
                "  ".join(":" + f for f in found[:8]) + ("  …" if len(found) > 8 else ""),
                no_wrap=True,
                overflow="ellipsis",
            )
        )

    def on_input_changed(self, event: Input.Changed) -> None:
        self._hint(event.value)

    def action_accept(self) -> None:
        box = self.query_one("#cmd", Input)
        found = self.candidates(box.value)
        if found:
            spec_arg = ""
            with contextlib.suppress(command_mode.CommandError):
                spec_arg = command_mode.resolve(found[0].split(" ", 1)[0]).arg
            box.value = found[0] + (" " if " " not in found[0] and spec_arg else "")
            box.cursor_position = len(box.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
