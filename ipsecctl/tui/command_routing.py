"""The ``:`` command line's effects: which screen, filter or action each command leads to.

The grammar and completion are :mod:`ipsecctl.tui.command_mode` (no Textual); the input is
:class:`~ipsecctl.tui.screens.command.CommandLine`; this module routes a parsed command to
the app's screens and actions.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from ipsecctl.tui import command_mode
from ipsecctl.tui.screens.command import CommandLine

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp


def open_command_line(app: IpsecApp) -> None:
    tunnels = []
    for row in list(app.model.rows.values())[:5000]:
        if row.tunnel.peer:
            tunnels.append(row.tunnel.peer)
    app.push_screen(CommandLine(list(app.infos), sorted(set(tunnels))), partial(_entered, app))


def _entered(app: IpsecApp, text: str | None) -> None:
    if text:
        run_command(app, text)


def run_command(app: IpsecApp, text: str) -> bool:
    """Run one ``:`` command line; a bad one is a toast that says why."""
    try:
        cmd = command_mode.parse(text)
    except command_mode.CommandError as exc:
        app.notify(str(exc), severity="warning", title="command")
        return False
    name, arg = cmd.name, cmd.arg
    if name in ("tunnels", "faults", "devices", "events"):
        to_main(app)
    if name == "tunnels":
        if app.model.faults_only:
            app.action_faults()
        app.action_escape()
        if arg:
            app.set_filter(arg)
        app.table.focus()
    elif name == "faults":
        if not app.model.faults_only:
            app.action_faults()
        app.table.focus()
    elif name == "devices":
        app.fleet.focus()
    elif name == "events":
        app.screen_main.add_class("-show-events")
        app.events_pane.focus()
    elif name == "ike":
        app.open_ike()
    elif name in ("logs", "device"):
        if arg not in app.infos:
            app.notify(
                f"no device {arg!r}; known: {', '.join(list(app.infos)[:10])}",
                severity="warning",
                title="command",
            )
            return False
        app.open_device(arg, "logs" if name == "logs" else "tunnels")
    elif name == "tunnel":
        key = find_tunnel(app, arg)
        if key is None:
            app.notify(f"no tunnel with peer or id {arg!r}", severity="warning", title="command")
            return False
        app.open_tunnel(key)
    elif name in ("probe", "capture", "decode"):
        app.start_tool(name)
    elif name == "shell":
        app.action_shell(arg or None)
    elif name == "refresh":
        app.action_refresh_now()
    elif name == "pause":
        app.action_pause()
    elif name == "help":
        app.action_help()
    elif name == "quit":
        app.run_worker(app.action_quit(), exclusive=False)
    return True


def to_main(app: IpsecApp) -> None:
    while len(app.screen_stack) > 1:
        app.pop_screen()


def find_tunnel(app: IpsecApp, text: str) -> str | None:
    if text in app.model.rows:
        return text
    cursor = app.table.cursor_row
    matches = [r for r in app.model.rows.values() if r.tunnel.peer == text]
    if cursor is not None:  # the selected device's tunnel to that peer first
        matches.sort(key=lambda r: r.device != cursor.device)
    return matches[0].key if matches else None
