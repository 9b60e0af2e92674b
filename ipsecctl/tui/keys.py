"""The dashboard's keys: which binding ids a keymap may name, remapping them from the config
file, and the rows of the help screen (the keys of the screen shown first, then the main
screen's and the app's, then the ``:`` commands)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from textual.binding import Binding

from ipsecctl.tui import command_mode
from ipsecctl.tui.screens.base import DEVICE_ACTIONS, DashScreen

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp


def binding_ids(app_class: type) -> set[str]:
    """Every binding id a keymap may name (the app's, the screens' and the modals')."""
    from ipsecctl.tui.screens import device, ike, main, modals, tunnel
    from ipsecctl.tui.screens.command import CommandLine
    from ipsecctl.tui.widgets.diagnosis import DiagnosisPane
    from ipsecctl.tui.widgets.fleet import FleetPane
    from ipsecctl.tui.widgets.table import TunnelTable

    owners: list[Any] = [
        app_class,
        main.MainScreen,
        tunnel.TunnelScreen,
        device.DeviceScreen,
        ike.IkeScreen,
        TunnelTable,
        FleetPane,
        DiagnosisPane,
        modals.ConfirmScreen,
        modals.HostKeyScreen,
        modals.ExportScreen,
        modals.HelpScreen,
        modals.FilePickScreen,
        CommandLine,
    ]
    return {b.id for owner in owners for b in owner.BINDINGS if isinstance(b, Binding) and b.id}


def apply_keymap(app: IpsecApp, keymap: dict[str, str]) -> None:
    """``settings.keymap`` (binding id -> keys, e.g. ``{rekey: R, quit: "q,ctrl+q"}``); an
    unknown id is reported, not fatal: the other remaps still apply."""
    known = binding_ids(type(app))
    unknown = sorted(set(keymap) - known)
    if unknown:
        app.event(
            f"keymap: unknown binding id(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(known))}",
            "warn",
        )
    app.set_keymap({k: v for k, v in keymap.items() if k in known})


def help_rows(app: IpsecApp) -> list[tuple[str, str, str]]:
    """(keys as shown, what it does, keymap id); device actions say when read-only turns
    them off."""
    from ipsecctl.tui.screens.main import MainScreen
    from ipsecctl.tui.widgets.fleet import FleetPane
    from ipsecctl.tui.widgets.table import TunnelTable

    rows = []
    seen: set[str] = set()
    owners: list[Any] = [type(app.screen)] if isinstance(app.screen, DashScreen) else []
    owners += [MainScreen, type(app), TunnelTable, FleetPane]
    for owner in owners:
        for binding in owner.BINDINGS:
            if not isinstance(binding, Binding) or (binding.id or binding.key) in seen:
                continue
            seen.add(binding.id or binding.key)
            keys = app._keymap.get(binding.id or "") or binding.key
            shown = ", ".join(
                app.get_key_display(dataclasses.replace(binding, key=k)) for k in keys.split(",")
            )
            what = binding.description
            if app.read_only and binding.action in DEVICE_ACTIONS:
                what += " (off: read-only)"
            rows.append((shown, what, binding.id or ""))
    rows.append(("click header", "Sort by that column (again: reverse)", ""))
    rows.append(("tab", "Move between panes", ""))
    rows += [(name, text, "") for name, text in command_mode.usage()]
    return rows
