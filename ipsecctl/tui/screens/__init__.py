"""The dashboard's screens: main (fleet and tunnels), tunnel, device, IKE SAs, and the
modals (confirmations, host keys, export, help, file picker, the ``:`` command line)."""

from ipsecctl.tui.screens.modals import (
    ConfirmScreen,
    ExportScreen,
    FilePickScreen,
    HelpScreen,
    HostKeyScreen,
    _YesNoScreen,
)

__all__ = [
    "ConfirmScreen",
    "ExportScreen",
    "FilePickScreen",
    "HelpScreen",
    "HostKeyScreen",
    "_YesNoScreen",
]
