"""Shared waits for Pilot tests (poll until a condition holds, bounded)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot


async def wait_for(
    pilot: Pilot[Any],
    cond: Callable[[], bool],
    timeout: float = 15.0,
    what: str = "condition",
    seen: Callable[[], object] | None = None,
) -> None:
    """``seen`` says what the app held when the wait ran out (a failure on a loaded CI
    machine is read from its log, not reproduced)."""
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            held = f"; seen: {seen()}" if seen is not None else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{held}")
        await pilot.pause(0.05)


def all_polled(app: object) -> Callable[[], bool]:
    return lambda: all(i.state is not None and not i.in_flight for i in app.infos.values())  # type: ignore[attr-defined]


async def confirm(pilot: Pilot[Any], key: str = "y") -> None:
    """Answer a guarded confirmation screen as a person does: after it has been seen."""
    from ipsecctl.tui.screens import _YesNoScreen

    screen = pilot.app.screen
    await pilot.pause(getattr(screen, "GUARD_S", _YesNoScreen.GUARD_S) + 0.1)
    if isinstance(screen, _YesNoScreen):
        while screen.guarded:  # a slow, shared machine: wait for the guard, not a guess
            await pilot.pause(0.05)
    await pilot.press(key)
