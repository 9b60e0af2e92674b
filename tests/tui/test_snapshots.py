"""Snapshots of the main screens: replayed outputs and a frozen clock make them deterministic.

Update only after checking the report: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.screens import ConfirmScreen

from .helpers import all_polled, wait_for


@pytest.fixture(autouse=True)
def _no_animation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")
    # the help screen names the config file: the same path on every machine
    monkeypatch.setenv("IPSECCTL_CONFIG", "/etc/ipsecctl/config.yaml")


async def _settle(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, all_polled(app), what="first poll")
    app.run_diagnosis(wait=True)
    await pilot.pause()


def test_main_screen(snap_compare: Any, replay_ctx: DashboardContext) -> None:
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=(160, 45), run_before=_settle)


def test_wide_view_sorted_by_peer(snap_compare: Any, replay_ctx: DashboardContext) -> None:
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=(160, 45), run_before=_settle,
                        press=["w", "P", "down"])


def test_narrow_80x24(snap_compare: Any, replay_ctx: DashboardContext) -> None:
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=(80, 24), run_before=_settle)


async def _confirm_armed(pilot: Any) -> None:
    """Open the clear confirmation and wait out its type-ahead guard, so the screen is
    captured in one state (Run enabled) however slow the machine is."""
    await _settle(pilot)
    for key in ("space", "down", "down", "space", "c"):
        await pilot.press(key)
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="confirmation")
    await wait_for(pilot, lambda: not app.screen.guarded
                   and not app.screen.query_one("#yes").disabled, what="guard to expire")
    await pilot.pause(0.1)


def test_confirm_clear(snap_compare: Any, replay_ctx: DashboardContext) -> None:
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=(120, 36),
                        run_before=_confirm_armed)


def test_read_only_footer_and_help(snap_compare: Any, replay_ctx: DashboardContext) -> None:
    replay_ctx.read_only = True
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=(120, 40), run_before=_settle,
                        press=["question_mark"])
