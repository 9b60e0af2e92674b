"""Snapshots of the main screens: replayed outputs and a frozen clock make them deterministic.

Update only after checking the report: ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest

from ipsecctl.tui.app import DashboardContext, IpsecApp

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


def test_confirm_clear(snap_compare: Any, replay_ctx: DashboardContext) -> None:
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=(120, 36), run_before=_settle,
                        press=["space", "down", "down", "space", "c"])


def test_read_only_footer_and_help(snap_compare: Any, replay_ctx: DashboardContext) -> None:
    replay_ctx.read_only = True
    assert snap_compare(IpsecApp(replay_ctx), terminal_size=(120, 40), run_before=_settle,
                        press=["question_mark"])
