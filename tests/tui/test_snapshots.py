"""Snapshots of every screen at 80x24 and 120x36 (and the wide table at 160x45): replayed
device outputs and a frozen clock make them deterministic.

Update only after checking the report: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.widgets import Input

from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.screens import ConfirmScreen

from .helpers import all_polled, wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 36), id="120x36")]


@pytest.fixture(autouse=True)
def _no_animation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    # the help screen names the config file: the same path on every machine
    monkeypatch.setenv("IPSECCTL_CONFIG", "/etc/ipsecctl/config.yaml")


async def _settle(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, all_polled(app), what="first poll")
    app.run_diagnosis(wait=True)
    app.update_status()
    await pilot.pause()
    await pilot.pause(0.2)  # the layout that follows the diagnosis text, settled


def _then(*keys: str) -> Callable[[Any], Awaitable[None]]:
    async def run(pilot: Any) -> None:
        await _settle(pilot)
        await pilot.press(*keys)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False
        await pilot.pause(0.2)

    return run


@pytest.mark.parametrize("size", SIZES)
def test_main(snap_compare: Any, replay_ctx: DashboardContext, size: tuple[int, int]) -> None:
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=size, run_before=_settle)


@pytest.mark.parametrize("size", SIZES)
def test_tunnel_why(snap_compare: Any, replay_ctx: DashboardContext, size: tuple[int, int]) -> None:
    assert snap_compare(
        IpsecApp(replay_ctx), terminal_size=size, run_before=_then("down", "down", "down", "enter")
    )


@pytest.mark.parametrize("size", SIZES)
def test_tunnel_raw(snap_compare: Any, replay_ctx: DashboardContext, size: tuple[int, int]) -> None:
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=size, run_before=_then("enter", "3"))


@pytest.mark.parametrize("size", SIZES)
def test_device(snap_compare: Any, replay_ctx: DashboardContext, size: tuple[int, int]) -> None:
    assert snap_compare(
        IpsecApp(replay_ctx), terminal_size=size, run_before=_then("shift+tab", "G", "enter")
    )


@pytest.mark.parametrize("size", SIZES)
def test_ike_sas(snap_compare: Any, replay_ctx: DashboardContext, size: tuple[int, int]) -> None:
    assert snap_compare(
        IpsecApp(replay_ctx), terminal_size=size, run_before=_then("colon", *"ike", "enter")
    )


@pytest.mark.parametrize("size", SIZES)
def test_command_line(
    snap_compare: Any, replay_ctx: DashboardContext, size: tuple[int, int]
) -> None:
    assert snap_compare(
        IpsecApp(replay_ctx), terminal_size=size, run_before=_then("colon", "l", "o")
    )


@pytest.mark.parametrize("size", SIZES)
def test_read_only_help(
    snap_compare: Any, replay_ctx: DashboardContext, size: tuple[int, int]
) -> None:
    replay_ctx.read_only = True
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=size, run_before=_then("question_mark"))


def test_wide_view_sorted_by_peer(snap_compare: Any, replay_ctx: DashboardContext) -> None:
    assert snap_compare(
        IpsecApp(replay_ctx), terminal_size=(160, 45), run_before=_settle, press=["w", "P", "down"]
    )


async def _confirm_armed(pilot: Any) -> None:
    """Open the clear confirmation and wait out its type-ahead guard, so the screen is
    captured in one state (Run enabled) however slow the machine is."""
    await _settle(pilot)
    for key in ("space", "down", "down", "space", "c"):
        await pilot.press(key)
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
    await wait_for(
        pilot,
        lambda: not app.screen.guarded and not app.screen.query_one("#yes").disabled,
        what="guard to expire",
    )
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", SIZES)
def test_confirm_clear(
    snap_compare: Any, replay_ctx: DashboardContext, size: tuple[int, int]
) -> None:
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=size, run_before=_confirm_armed)
