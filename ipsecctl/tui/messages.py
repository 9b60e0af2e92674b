"""Messages worker threads post to the dashboard (thread-safe: the UI thread handles them).

A poll, an action step or a diagnostic run finishes on a worker thread; it never touches a
widget, it posts one of these and the app routes it to whatever screen shows that device.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message

from ipsecctl.actions import Result
from ipsecctl.models import DeviceState


class DevicePolled(Message):
    """A poll of ``device`` ended (``scheduled``: from the poll schedule, not an action)."""

    def __init__(self, device: str, state: DeviceState, *, scheduled: bool = True) -> None:
        super().__init__()
        self.device = device
        self.state = state
        self.scheduled = scheduled


class ActionEvent(Message):
    """A step or the outcome of a clear / re-key, for the events pane (and a toast)."""

    def __init__(self, text: str, level: str = "action", result: Result | None = None) -> None:
        super().__init__()
        self.text = text
        self.level = level
        self.result = result


class ToolFinished(Message):
    """A probe, a capture or a decoded capture file finished for the tunnel ``key``."""

    def __init__(self, key: str, run: Any) -> None:
        super().__init__()
        self.key = key
        self.run = run
