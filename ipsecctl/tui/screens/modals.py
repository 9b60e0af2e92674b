"""Modal screens: confirm an action, help, export path, unknown host key, file picker."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

MODAL_CSS = """
ModalScreen { align: center middle; }
ModalScreen > Vertical {
    width: 90%; max-width: 110; height: auto; max-height: 90%;
    border: thick $primary; background: $surface; padding: 0 1;
}
ModalScreen .buttons { height: auto; align-horizontal: right; margin-top: 1; }
ModalScreen Button { margin-left: 2; }
ModalScreen #commands { height: auto; max-height: 14; border: round $panel; }
"""


class _YesNoScreen(ModalScreen[bool]):
    """A question with a #yes and a #no button, guarded against type-ahead.

    An operator who typed ``re-key`` into what they thought was the palette re-keyed a live
    tunnel: ``r`` opened this screen and ``y`` confirmed it. So: "No" has the focus (a stray
    Enter never runs a device command or trusts a host key), "Yes" is disabled and every key
    is ignored for :attr:`GUARD_S` after the screen opens, and only ``y`` or Enter/click on
    "Yes" confirms after that.
    """

    DEFAULT_CSS = MODAL_CSS
    GUARD_S = 0.4

    def __init__(self) -> None:
        super().__init__()
        self.opened_at = time.monotonic()
        self.ignored: list[str] = []  # keys dropped by the guard (tests, and a hint on screen)

    @property
    def guarded(self) -> bool:
        return time.monotonic() - self.opened_at < self.GUARD_S

    def on_mount(self) -> None:
        self.opened_at = time.monotonic()
        self.query_one("#no", Button).focus()
        self.query_one("#yes", Button).disabled = True
        self.set_timer(self.GUARD_S, self._arm)

    def _arm(self) -> None:
        self.query_one("#yes", Button).disabled = False

    def on_key(self, event: events.Key) -> None:
        if self.guarded:
            # type-ahead, not meant for this screen: stopped here, it never reaches the
            # bindings (checked once the key bubbles up to the app)
            self.ignored.append(event.key)
            event.prevent_default()
            event.stop()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if self.guarded:
            return
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        if not self.guarded:
            self.dismiss(value)


class ConfirmScreen(_YesNoScreen):
    """Shows the exact device commands and what they touch; y confirms, Esc/n cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, title: str, summary: str, commands: list[str], *, verb: str = "Run") -> None:
        super().__init__()
        self.title_text = title
        self.summary = summary
        self.commands = commands
        self.verb = verb

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Static(self.summary, id="summary")
            with VerticalScroll(id="commands"):
                yield Static("\n".join(self.commands), markup=False)
            what = "these commands" if self.verb == "Run" else "this"
            yield Static(
                Text.assemble(
                    (f"{self.verb} {what}? ", "bold"),
                    ("[y/N]", "bold"),
                    (f"  y {self.verb.lower()}s; n, Esc or Enter cancels", "dim"),
                ),
                id="hint",
            )
            with Horizontal(classes="buttons"):
                yield Button("Cancel (n)", id="no")
                yield Button(f"{self.verb} (y)", id="yes", variant="error")


class HostKeyScreen(_YesNoScreen):
    """An unknown host key: show the fingerprint and let the operator decide."""

    BINDINGS = [
        Binding("y", "answer(True)", "Trust", id="hostkey.yes"),
        Binding("n,escape", "answer(False)", "Reject", id="hostkey.no"),
    ]

    def __init__(self, device: str, hostname: str, key_type: str, fingerprint: str) -> None:
        super().__init__()
        self.device, self.hostname = device, hostname
        self.key_type, self.fingerprint = key_type, fingerprint

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Unknown host key for {self.device}", style="bold"))
            yield Static(
                f"{self.hostname} offers a {self.key_type} key with fingerprint\n\n"
                f"  {self.fingerprint}\n\n"
                "Check it with the device's owner before trusting it. Trusting records it "
                "in ipsecctl's known_hosts.",
                markup=False,
            )
            yield Static(
                Text.assemble(
                    ("Trust this key? ", "bold"),
                    ("[y/N]", "bold"),
                    ("  y trusts; n, Esc or Enter rejects", "dim"),
                )
            )
            with Horizontal(classes="buttons"):
                yield Button("Reject (n)", id="no")
                yield Button("Trust (y)", id="yes", variant="warning")


class ExportScreen(ModalScreen[str | None]):
    """Asks where to write the current view (.csv or .json by extension)."""

    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(self, default_path: str, count: int) -> None:
        super().__init__()
        self.default_path = default_path
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(f"Export {self.count} tunnel(s) of the current view", style="bold"))
            yield Static("File (.csv or .json); Enter writes, Esc cancels:")
            yield Input(value=self.default_path, id="path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class HelpScreen(ModalScreen[None]):
    """Every binding of the dashboard with its id (the name to use in a keymap)."""

    DEFAULT_CSS = MODAL_CSS
    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str]], config_path: str = "") -> None:
        super().__init__()
        self.rows = rows
        self.config_path = config_path or "config.yaml"

    def compose(self) -> ComposeResult:
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        table.add_column("key")
        table.add_column("action")
        table.add_column("keymap id", style="dim")
        for key, desc, bid in self.rows:
            table.add_row(key, desc, bid)
        with Vertical():
            yield Label(Text("ipsecctl dashboard keys", style="bold"))
            with VerticalScroll():
                yield Static(table)
            yield Static(
                Text(
                    "Filter: regex, leading ! inverts, Esc clears. Esc or ? closes this help.\n"
                    f"Remap keys in the config file ({self.config_path}, shown by `ipsecctl info`):"
                    "\n  keymap:\n    rekey: R\n    quit: q,ctrl+q",
                    style="dim",
                )
            )

    def action_close(self) -> None:
        self.dismiss(None)


class FilePickScreen(ModalScreen[tuple[str, str] | None]):
    """Pick a capture file and, optionally, the keys to decrypt it: type the paths or choose
    them in the tree (a file chosen there fills the capture field first, then the keys)."""

    DEFAULT_CSS = (
        MODAL_CSS
        + """
    FilePickScreen > Vertical { height: 90%; }
    FilePickScreen DirectoryTree { height: 1fr; min-height: 4; border: round $panel; }
    FilePickScreen Input { margin: 0; }
    """
    )
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]

    def __init__(self, title: str, start: str = ".") -> None:
        super().__init__()
        self.title_text = title
        self.start = start
        self.target = "capture"

    def compose(self) -> ComposeResult:
        from textual.widgets import DirectoryTree

        with Vertical():
            yield Label(Text(self.title_text, style="bold"))
            yield Input(placeholder="capture: pcap, pcapng or a printed capture", id="capture")
            yield Input(
                placeholder="keys (optional): Wireshark esp_sa, tcpdump -E, ipsecctl "
                "YAML/JSON, ip xfrm state, charon log",
                id="keys",
            )
            yield DirectoryTree(self.start, id="tree")
            yield Static(Text("Enter in a field or d decodes; Esc cancels", style="dim"))
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button("Decode (d)", id="yes", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#capture", Input).focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if isinstance(event.widget, Input) and event.widget.id in ("capture", "keys"):
            self.target = event.widget.id

    def on_directory_tree_file_selected(self, event: Any) -> None:
        box = self.query_one(f"#{self.target}", Input)
        box.value = str(event.path)
        if self.target == "capture":
            self.target = "keys"

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._done()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self._done()
        else:
            self.dismiss(None)

    def on_key(self, event: events.Key) -> None:
        if event.key == "d" and not isinstance(self.focused, Input):
            event.stop()
            self._done()

    def _done(self) -> None:
        capture = self.query_one("#capture", Input).value.strip()
        if not capture:
            self.query_one("#capture", Input).focus()
            self.notify("choose a capture file first", severity="warning")
            return
        self.dismiss((capture, self.query_one("#keys", Input).value.strip()))

    def action_cancel(self) -> None:
        self.dismiss(None)
