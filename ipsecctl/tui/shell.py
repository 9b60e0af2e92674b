"""``s``: an interactive SSH shell on a device, from the dashboard (k9s's shell key).

The shell connects in a background thread through the fleet's session pool (the same jump
hosts, host-key policy and known_hosts as the polls; an unknown key can still be asked in a
modal), then the app suspends and hands the terminal to
:func:`ipsecctl.transport.interactive.relay` until the device closes the session or the
operator types Ctrl-]. Read-only mode offers no shell.
"""

from __future__ import annotations

import sys
from functools import partial
from typing import TYPE_CHECKING, Any

from ipsecctl import errors
from ipsecctl.tui.threads import background

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp


def start_shell(app: IpsecApp, device: str | None = None) -> None:
    """An interactive SSH shell on the device (the cursor's, the focused fleet row's or
    the one named); the dashboard suspends and comes back when it ends."""
    if app.read_only:
        app.refuse("shell")
        return
    if device is None:
        fleet = app.fleet
        if fleet.has_focus and fleet.cursor_device is not None:
            device = fleet.cursor_device
        elif (row := app.table.cursor_row) is not None:
            device = row.device
    if device is None or device not in app.hosts:
        app.notify("select a device or a tunnel first", severity="warning")
        return
    app.event(f"{device}: opening an SSH shell")
    background(_open, app, device, app.size.width, app.size.height, name="ipsecctl-shell")


def _open(app: IpsecApp, device: str, width: int, height: int) -> None:
    """Connect in a thread (a host-key question can still be asked in a modal), then
    hand the terminal over on the UI thread."""
    pool = getattr(app.ops.collector, "pool", None)
    opener = getattr(pool, "open_shell", None)
    if opener is None:
        app._from_thread(partial(_failed, app), device, "no shell on this fleet")
        return
    try:
        shell = opener(app.hosts[device], width=width, height=height)
    except errors.IpsecctlError as exc:
        app._from_thread(partial(_failed, app), device, str(exc))
        return
    if not app._from_thread(partial(_run, app), device, shell):
        shell.close()


def _failed(app: IpsecApp, device: str, message: str) -> None:
    app.event(f"{device}: no shell: {message}", "error")
    app.notify(message, severity="error", title=f"{device}: shell")


def _run(app: IpsecApp, device: str, shell: Any) -> None:
    """On the UI thread: hand the terminal to the shell until it ends."""
    from textual.app import SuspendNotSupported

    from ipsecctl.transport.interactive import relay

    try:
        with app.suspend():
            out = sys.__stdout__
            if out is not None:
                out.write(
                    f"\x1b[H\x1b[2J[ipsecctl] SSH shell on {device}: `exit` or Ctrl-] "
                    "returns to the dashboard\r\n"
                )
                out.flush()
            reason = relay(shell)
    except SuspendNotSupported:
        shell.close()
        _failed(app, device, "this terminal cannot suspend the dashboard")
        return
    app.event(f"{device}: shell closed ({reason})", "info")
    app.notify(f"{device}: shell closed ({reason})", timeout=4)
    app.refresh()
