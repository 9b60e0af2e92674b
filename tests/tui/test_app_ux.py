"""Keyboard and layout guarantees an operator relies on: palette keys, type-ahead
guard on confirmations, columns that fit, read-only feedback, keymaps, themes."""

from __future__ import annotations

import pytest
from textual.command import CommandPalette
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from ipsecctl.errors import UsageError
from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.screens import ConfirmScreen, HelpScreen, _YesNoScreen
from ipsecctl.tui.screens.command import CommandLine
from ipsecctl.tui.themes import theme_names, validate_theme

from .helpers import all_polled, confirm, wait_for


async def test_ctrl_p_opens_the_palette_colon_the_command_line_both_text_in_the_filter(
    replay_ctx: DashboardContext,
) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press("escape", "colon")
        assert isinstance(app.screen, CommandLine)
        await pilot.press("escape", "slash", *"fd6c:", "/")  # IPv6 and a prefix: text
        assert not isinstance(app.screen, (CommandPalette, CommandLine))
        assert app.model.filter.text == "fd6c:/"


async def test_type_ahead_cannot_confirm_a_rekey(
    replay_ctx: DashboardContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """QA typed 're-key' into what they took for the palette: 'r' opened the confirmation
    and 'y' re-keyed a live tunnel. Keys within the guard time are dropped."""
    # the real guard is 0.4 s; Pilot on a loaded 2-core machine can take longer than that
    # for six key presses, so widen it here: the mechanism is what is tested
    monkeypatch.setattr(_YesNoScreen, "GUARD_S", 3.0)
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.press(*"re-key")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert "y" in screen.ignored  # dropped, the screen is still up
        assert screen.focused is screen.query_one("#no", Button)
        assert "[y/N]" in str(screen.query_one("#hint").content)
        await pilot.pause(screen.GUARD_S + 0.1)
        assert not screen.query_one("#yes", Button).disabled
        await pilot.press("enter")  # on the focused Cancel: declined
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("rekey declined" in x for x in app.events_pane.lines_text)
        # after the guard, y is an explicit answer
        await pilot.press("r")
        await confirm(pilot, "y")
        await wait_for(
            pilot,
            lambda: any("rekey edge-1" in x and "failed" in x for x in app.events_pane.lines_text),
            what="the confirmed (replayed, so failing) rekey",
        )


async def test_all_columns_fit_at_160_and_state_at_80x24(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        table = app.table
        keys = [c.key for c in table._columns]
        assert keys == [
            "device",
            "peer",
            "sel",
            "ike",
            "state",
            "uptime",
            "pkts_in",
            "pkts_out",
            "rate_in",
            "rate_out",
            "errors",
        ]
        assert table.total_width <= table.scrollable_content_region.width  # no h-scroll
        assert table._widths[0] == len("DEVICE")  # 'edge-1': sized to content, not 14
        await pilot.press("w")
        assert "wide" in str(table.border_title) and "spi_in" in [c.key for c in table._columns]
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("w")
        keys = [c.key for c in table._columns]
        assert keys[:4] == ["device", "peer", "ike", "state"] or set(keys[:4]) == {
            "device",
            "peer",
            "ike",
            "state",
        }
        assert table.total_width <= table.scrollable_content_region.width
        assert "cols: w" in str(table.border_title)
        # panes: the tunnels get the most room; the footer shows Help and Quit on screen
        assert table.scrollable_content_region.height - 1 >= 7
        assert app.fleet.region.height >= 4
        shown = {
            k.description
            for k in app.screen.query(FooterKey)
            if k.region.right <= 80 and k.region.width > 0
        }
        assert {"Help", "Quit", "Filter", "Cmd"} <= shown


async def test_read_only_keys_say_why(replay_ctx: DashboardContext) -> None:
    replay_ctx.read_only = True
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.press("r")
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(
            "rekey refused: actions are disabled" in str(n.message) for n in app._notifications
        )


async def test_keymap_from_settings_remaps_and_reports_unknown_ids(
    replay_ctx: DashboardContext,
) -> None:
    replay_ctx.keymap = {"rekey": "R", "nosuch": "x"}
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        assert any("keymap: unknown binding id(s) nosuch" in x for x in app.events_pane.lines_text)
        await pilot.press("r")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        await confirm(pilot, "n")
        await pilot.press("question_mark")
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        assert ("R", "Rekey", "rekey") in help_screen.rows
        assert ("?", "Help", "help") in help_screen.rows
        assert "ipsecctl info" in str(help_screen.query("Static").last().content)


def test_validate_theme() -> None:
    assert validate_theme(None) is None
    assert validate_theme("ansi") == "ansi" and validate_theme("nord") == "nord"
    with pytest.raises(UsageError) as err:
        validate_theme("nosuchtheme")
    assert "unknown theme 'nosuchtheme'" in str(err.value)
    assert "ansi" in str(err.value) and "textual-dark" in str(err.value)
    assert err.value.exit_code == 2 and "ansi" in theme_names()
