"""Dashboard behaviour over replayed real device outputs (no network)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets._footer import FooterKey

from ipsecctl.ops.audit_trail import read_audit
from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.screens import ConfirmScreen, ExportScreen, HelpScreen

from .helpers import all_polled, confirm, wait_for


async def test_fleet_loads_every_device_and_tunnel(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.pause()
        assert app.fleet.row_count == 4
        assert len(app.model.rows) == 7
        assert app.table.border_title == "tunnels [7/7]"
        assert app.infos["edge-1"].tunnels == (2, 3)
        # the cursor starts on the first row and the detail pane shows it, SPIs as 0x%08X
        assert app.detail.tunnel_id == app.table.cursor_key
        row = app.table.cursor_row
        assert row is not None
        assert row.cells["spi_in"].startswith("0x") and len(row.cells["spi_in"]) == 10


async def test_filter_regex_invert_escape_and_border_title(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.press("slash", *"hub")
        assert {app.model.rows[k].device for k in app.model.view} == {"hub-1"}
        assert "</hub>" in str(app.table.border_title)
        await pilot.press("enter")  # leaves the box, keeps the filter
        assert app.focused is app.table and len(app.model.view) == 2
        await pilot.press("slash", "home", "!", "enter")
        assert len(app.model.view) == 5 and "hub-1" not in {
            app.model.rows[k].device for k in app.model.view
        }
        await pilot.press("slash", "end", "(")  # bad regex: previous filter kept, error shown
        assert "bad regex, kept previous" in str(app.table.border_title)
        box = app.query_one("#filter")
        assert "bad filter regex" in str(box.border_title) and box.has_class("-error")
        assert len(app.model.view) == 5 and app.model.filter.text == "!hub"
        await pilot.press("enter")  # Enter on a bad regex: a toast says so, filter kept
        assert any(
            "bad filter regex" in str(n.message)
            and "kept the previous filter </!hub>" in str(n.message)
            for n in app._notifications
        )
        assert len(app.model.view) == 5 and "bad regex" not in str(app.table.border_title)
        await pilot.press("escape")
        assert len(app.model.view) == 7 and app.model.filter.text == ""


async def test_sort_keys_and_header_click_keep_cursor_on_same_tunnel(
    replay_ctx: DashboardContext,
) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.press("down", "down")
        key = app.table.cursor_key
        await pilot.press("P")
        assert app.model.sort_key == "peer"
        peers = [app.model.rows[k].tunnel.peer for k in app.model.view]
        assert peers[0] == "1.1.1.1" and peers[-1] == "71.71.71.71"
        assert app.table.cursor_key == key  # the cursor follows the tunnel, not the line
        await pilot.press("S")
        assert app.model.sort_key == "state"
        # click the STATE... no: the DEVICE header (content x=3, y=0 -> widget offset +1 border)
        await pilot.click("#tunnels", offset=(4, 1))
        assert app.model.sort_key == "device"
        await pilot.click("#tunnels", offset=(4, 1))
        assert app.model.sort_reverse is True
        assert app.model.rows[app.model.view[0]].device == "hub-1"


async def test_marking_and_clear_confirm_decline_then_run(
    replay_ctx: DashboardContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a guard long enough that the type-ahead `n` below lands inside it on a loaded machine
    monkeypatch.setattr(ConfirmScreen, "GUARD_S", 3.0)
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.press("space", "down", "down", "space")
        assert len(app.model.marks) == 2 and "marked 2" in str(app.table.border_title)
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        # both marked rows are edge-1 tunnels: to 1.1.1.1 and 2.2.2.1, exact commands shown
        assert screen.commands == [
            "edge-1# clear crypto session remote 1.1.1.1",
            "edge-1# clear crypto session remote 2.2.2.1",
        ]
        assert "2 peer(s) on 1 device(s)" in screen.summary
        await pilot.press("n")  # type-ahead: ignored, the screen stays
        assert isinstance(app.screen, ConfirmScreen) and app.screen.ignored == ["n"]
        await confirm(pilot, "n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("clear declined" in line for line in app.events_pane.lines_text)
        await pilot.press("c")
        await confirm(pilot)
        # the replay has no saved output for a clear command: the action must fail loudly
        await wait_for(
            pilot,
            lambda: sum("failed" in x for x in app.events_pane.lines_text) >= 2,
            what="both actions to report",
        )
    records = read_audit(tmp_path / "audit.jsonl")
    outcomes = [(r["action"], r["peer"], r["outcome"]) for r in records]
    assert ("clear", "1.1.1.1", "declined") in outcomes
    assert ("clear", "2.2.2.1", "failed") in outcomes
    assert all(r["commands"] for r in records)


async def test_read_only_disables_keys_and_refuses_palette_actions(
    replay_ctx: DashboardContext, tmp_path: Path
) -> None:
    replay_ctx.read_only = True
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        main = app.screen_main
        # the keys that would change a device are not offered at all ...
        assert main.check_action("clear", ()) is False and main.check_action("rekey", ()) is False
        assert main.check_action("capture", ()) is False and main.check_action("shell", ()) is False
        assert main.check_action("wide", ()) is True and main.check_action("probe", ()) is True
        await wait_for(pilot, lambda: bool(main.query(FooterKey)), what="the footer")
        shown = {k.description for k in main.query(FooterKey)}
        assert "Clear" not in shown and "Rekey" not in shown and "Capture" not in shown
        assert "Probe" in shown
        # ... and typing one says why (and the workflow audits the refusal)
        await pilot.press("space", "down", "c")  # the marked row and the cursor row
        assert not isinstance(app.screen, ConfirmScreen)
        assert any(
            "clear refused: actions are disabled, the dashboard is read-only" in x
            for x in app.events_pane.lines_text
        )
        assert any("read-only" in str(n.message) for n in app._notifications)
        await pilot.press("escape", "ctrl+p")  # the palette offers it, and refuses it too
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"re-key selected")
        palette = app.screen
        await wait_for(  # the search runs in the background: Enter picks what it found
            pilot,
            lambda: palette.query_one(CommandList).highlighted is not None,
            what="the palette's match",
        )
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any("rekey refused" in x for x in app.events_pane.lines_text),
            what="palette refusal",
        )
        assert not isinstance(app.screen, ConfirmScreen)
    records = read_audit(tmp_path / "audit.jsonl")
    assert [(r["action"], r["outcome"]) for r in records] == [
        ("clear", "refused"),
        ("rekey", "refused"),
    ]
    # the records say what would have been sent to which device and peer
    for r in records:
        assert r["device"] == "edge-1" and r["peer"] == "1.1.1.1"
        assert r["commands"][0] == "clear crypto session remote 1.1.1.1"


async def test_wide_faults_help_and_export(
    replay_ctx: DashboardContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        await pilot.press("w")
        assert app.table.wide and any(c.key == "spi_in" for c in app.table._columns)
        await pilot.press("f")  # idle, not expected up: not a fault; all others are up
        assert app.model.view == [] and "faults" in str(app.table.border_title)
        await pilot.press("f", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        ids = {r[2] for r in app.screen.rows}
        assert {"filter", "clear", "rekey", "sort.peer", "export", "quit"} <= ids
        await pilot.press("escape", "slash", *"edge-1", "enter", "ctrl+s")
        assert isinstance(app.screen, ExportScreen)
        assert app.screen.default_path == "ipsecctl-tunnels-20260101T120000.csv"
        await pilot.press("enter")
        await pilot.pause()
        with (tmp_path / "ipsecctl-tunnels-20260101T120000.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == 3 and rows[0]["device"] == "edge-1"
        # like the CLI's CSV: SPIs as integers, uptime in seconds, booleans spelled for scripts
        tunnels = {t.id: t for t in app.infos["edge-1"].state.tunnels}  # type: ignore[union-attr]
        for r in rows:
            t = tunnels[r["id"]]
            assert r["spi_in"] == " ".join(str(s) for s in t.spis("in"))
            assert r["uptime_s"] == ("" if t.uptime_s is None else str(t.uptime_s))
            assert r["expected_up"] in ("", "true", "false")
        assert any(r["spi_in"].isdigit() for r in rows)
        assert any("as CSV" in x for x in app.events_pane.lines_text)
        app._export_to(str(tmp_path / "view.txt"))  # not .json: CSV, and the event says so
        assert (tmp_path / "view.txt").read_text().startswith("device,peer,vrf,")
        assert any(
            "view.txt as CSV (the name does not end in .json)" in x
            for x in app.events_pane.lines_text
        )
        app.export(tmp_path / "view.json")
    doc = json.loads((tmp_path / "view.json").read_text())
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "tunnels"
    assert {t["device"] for t in doc["tunnels"]} == {"edge-1"}
    # the CLI's document: the devices the tunnels come from, with their errors inline
    assert [d["device"] for d in doc["devices"]] == ["edge-1"]
    assert (tmp_path / "view.json").stat().st_mode & 0o777 == 0o600


async def test_narrow_terminal_stacks_panes_and_ansi_theme(replay_ctx: DashboardContext) -> None:
    replay_ctx.theme = "ansi"
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        assert app.theme == "ansi-dark"
        assert app.screen.has_class("-narrow")
        # the bottom pane is the diagnosis of the tunnel under the cursor; the detail is on
        # the tunnel screen (Enter), the events on e
        assert app.diagnosis.region.height >= 5 and app.detail.region.height == 0
        assert app.events_pane.region.height == 0
        await pilot.press("d")  # focuses the why pane, which scrolls
        assert app.focused is app.diagnosis
        assert app.diagnosis.subject.startswith("edge-1")
        await pilot.press("e")
        assert app.events_pane.region.height >= 5 and app.diagnosis.region.height == 0


async def test_a_poll_cut_short_keeps_rows_stale_and_reports_no_tunnel_gone(
    replay_ctx: DashboardContext,
) -> None:
    """edge-1 answered its IKE tables, then the session timed out before ``show crypto ipsec
    sa``: the collector calls it reachable with an error and no tunnels. Its three rows stay,
    marked stale, no 'up -> gone' event is written, and a complete poll brings them back."""
    from ipsecctl.models import CommandError

    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        full = app.ops.current("edge-1")
        assert full is not None and len(full.tunnels) == 3
        keys = {t.id for t in full.tunnels}
        cut = CommandError(
            command="show crypto ipsec sa", kind="timeout", message="edge-1: timed out"
        )
        app.apply_state(full.model_copy(update={"tunnels": [], "errors": [cut]}))
        await pilot.pause()
        assert keys <= set(app.model.rows) and keys <= set(app.model.view)
        assert all(app.model.rows[k].cells["state"].startswith("stale ") for k in keys)
        assert app.infos["edge-1"].tunnels == (2, 3)
        events = app.events_pane.lines_text
        assert any("edge-1: timed out" in line for line in events)
        assert not any("gone" in line for line in events)
        app.apply_state(full)
        await pilot.pause()
        assert all(app.model.rows[k].stale_since is None for k in keys)
        assert not any(app.model.rows[k].cells["state"].startswith("stale") for k in keys)


async def test_a_poll_landing_while_a_screen_opens_waits_for_its_mount(
    replay_ctx: DashboardContext,
) -> None:
    """A poll result that arrives between pushing a tunnel, device or IKE screen and its
    widgets being composed (a busy machine, a key pressed as the poll lands) is drawn by the
    screen's own mount, not into widgets that do not exist yet (the app used to die there)."""
    from ipsecctl.tui.screens.device import DeviceScreen
    from ipsecctl.tui.screens.ike import IkeScreen
    from ipsecctl.tui.screens.tunnel import TunnelScreen

    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, all_polled(app), what="first poll")
        state = app.ops.current("edge-1")
        assert state is not None
        key = state.tunnels[0].id
        assert key is not None
        for open_screen, kind in (
            (lambda: app.open_tunnel(key), TunnelScreen),
            (lambda: app.open_device("edge-1"), DeviceScreen),
            (app.open_ike, IkeScreen),
        ):
            open_screen()
            app.apply_state(state)  # before the new screen had a chance to compose
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, kind) and screen.is_mounted
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is not screen
            if isinstance(screen, TunnelScreen):
                # the history store answers (from its thread) after the screen was closed
                screen.show_history("late", "history store")
                await pilot.pause()
        assert app.return_code is None and app._exception is None
