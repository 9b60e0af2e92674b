"""The dashboard's screens over replayed real device outputs: drill in with Enter, back with
Esc, breadcrumbs, the tunnel and device screens, zoom, the ``:`` command line, the palette,
pause and refresh, decoding a capture file.

Expected values come from the device text in tests/fixtures/replay (edge-1's ``show crypto
ipsec sa``: peer 1.1.1.1, inbound SPI 0x658F7C11, outbound 0x397C36EE, transform
``esp-256-aes esp-sha256-hmac``, lifetimes 4607999 kB / 83191 s) and from tcpdump's own
decode of its test capture (tests/fixtures/pcap/esp1.out: 8 ESP packets, SPI 0x12345678,
sequence numbers 1 to 8).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Input, TabbedContent
from textual.widgets._footer import FooterKey

from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.screens.command import CommandLine
from ipsecctl.tui.screens.device import DeviceScreen
from ipsecctl.tui.screens.ike import IkeScreen
from ipsecctl.tui.screens.main import MainScreen
from ipsecctl.tui.screens.modals import FilePickScreen
from ipsecctl.tui.screens.tunnel import TunnelScreen

from .helpers import all_polled, wait_for

PCAP = Path(__file__).resolve().parents[1] / "fixtures" / "pcap"
SIZES = [(80, 24), (120, 36)]


def plain(renderable: Any, width: int = 200) -> str:
    console = Console(width=width, record=True, file=io.StringIO(), color_system=None)
    console.print(renderable)
    return console.export_text()


def screen_text(app: IpsecApp, selector: str) -> str:
    widget = app.screen.query_one(selector)
    return plain(widget.content, widget.scrollable_content_region.width or 200)


async def _ready(pilot: Any) -> None:
    app = pilot.app
    await wait_for(pilot, all_polled(app), what="first poll")
    app.run_diagnosis(wait=True)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
async def test_enter_drills_into_the_tunnel_and_esc_comes_back(
    replay_ctx: DashboardContext, size: tuple[int, int]
) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot)
        key = app.table.cursor_key
        assert key is not None and app.model.rows[key].tunnel.peer == "1.1.1.1"
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, TunnelScreen) and screen.key == key
        assert screen.crumbs.text.startswith("ipsecctl > fleet > edge-1 > 1.1.1.1")
        summary = screen_text(app, "#summary")
        lines = summary.splitlines()
        # both directions labelled, each SPI whole on its own line, the transform whole
        inbound = next(ln for ln in lines if "0x658F7C11" in ln)
        outbound = next(ln for ln in lines if "0x397C36EE" in ln)
        assert inbound.split()[0] == "in" and outbound.split()[0] == "out"
        assert "esp-256-aes esp-sha256-hmac" in inbound
        assert "83191 s" in inbound and "4607999 kB" in inbound
        assert "20.20.20.0/24" in summary and "10.10.10.0/24" in summary
        # the raw lines it was built from: this tunnel's block only (chosen by its SPIs)
        await pilot.press("3")
        assert app.screen.query_one(TabbedContent).active == "raw"
        raw = screen_text(app, "#tunnel-raw")
        assert "current_peer 1.1.1.1 port 500" in raw
        assert "spi: 0x658F7C11(1703902225)" in raw
        assert "(40.40.40.0/255.255.255.0/0/0)" not in raw  # the other tunnel to 1.1.1.1
        await pilot.press("1")
        why = app.screen.query_one("#tunnel-why")
        assert why.subject == "edge-1 → 1.1.1.1" and why.status == "ready"
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen) and app.table.cursor_key == key


@pytest.mark.parametrize("size", SIZES)
async def test_fleet_enter_opens_the_device_screen_and_its_tunnels(
    replay_ctx: DashboardContext, size: tuple[int, int]
) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=size) as pilot:
        await _ready(pilot)
        app.fleet.focus()
        await pilot.press("j", "enter")
        screen = app.screen
        assert isinstance(screen, DeviceScreen) and screen.device == "edge-2"
        assert screen.crumbs.text.startswith("ipsecctl > fleet > edge-2")
        table = screen.query_one("#device-tunnels")
        assert table.row_count == 1 and "71.71.71.71" in str(table.get_row_at(0)[0])
        assert "edge-2 (cisco_iosxe)  reachable" in screen_text(app, "#device-summary")
        await pilot.press("2")  # the replayed log is empty: said so, not a blank pane
        assert "no log in the last poll" in screen_text(app, "#device-logs")
        await pilot.press("1", "enter")
        assert isinstance(app.screen, TunnelScreen)
        assert app.screen.crumbs.text.startswith("ipsecctl > fleet > edge-2 > 71.71.71.71")
        await pilot.press("escape")
        assert isinstance(app.screen, DeviceScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen) and app.fleet.cursor_device == "edge-2"


async def test_zoom_any_pane_and_escape(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await _ready(pilot)
        await pilot.press("z")
        assert app.screen.maximized is app.table
        assert app.table.region.height >= 30  # the full window but the two fixed lines
        await pilot.press("escape")
        assert app.screen.maximized is None
        await pilot.press("d", "z")  # the why pane
        assert app.screen.maximized is app.diagnosis
        await pilot.press("escape", "enter", "z")  # on the tunnel screen too
        assert isinstance(app.screen, TunnelScreen)
        assert app.screen.maximized is app.screen.query_one("#tunnel-why")


async def test_command_line_completes_and_routes(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await _ready(pilot)
        await pilot.press("colon", "l", "o")
        line = app.screen
        assert isinstance(line, CommandLine)
        assert ":logs" in str(line.query_one("#cmd-hint").content)
        await pilot.press("tab")
        assert line.query_one("#cmd", Input).value == "logs "
        await pilot.press(*"edge-1", "enter")
        assert isinstance(app.screen, DeviceScreen) and app.screen.device == "edge-1"
        assert app.screen.query_one(TabbedContent).active == "logs"
        await pilot.press("colon", *"ike", "enter")
        assert isinstance(app.screen, IkeScreen)
        # edge-1 2, edge-2 2, edge-3 none, hub-1 4 (their isakmp sa detail outputs)
        assert app.screen.query_one("#ike-table").row_count == 8
        await pilot.press("colon", *"faults", "enter")
        assert isinstance(app.screen, MainScreen) and app.model.faults_only
        await pilot.press("colon", *"tunnels hub", "enter")
        assert not app.model.faults_only and app.model.filter.text == "hub"
        await pilot.press("colon", *"nosuch", "enter")
        assert any("unknown command :nosuch" in str(n.message) for n in app._notifications)
        await pilot.press("colon", *"tunnel 71.71.71.71", "enter")
        assert isinstance(app.screen, TunnelScreen)
        assert app.screen.crumbs.text.startswith("ipsecctl > fleet > edge-2 > 71.71.71.71")


async def test_palette_offers_the_packet_diagnostics(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await _ready(pilot)
        for query, wanted in (
            ("probe", "IKE probe"),
            ("capture", "capture ESP/IKE"),
            ("esp", "decode ESP/IKE capture file"),
        ):
            await pilot.press("ctrl+p", *query)
            palette = app.screen
            assert isinstance(palette, CommandPalette)
            await wait_for(
                pilot,
                lambda w=wanted, p=palette: any(
                    w in str(o.prompt) for o in p.query_one("CommandList")._options
                ),
                timeout=5,
                what=f"a palette hit for {query!r}",
            )
            await pilot.press("escape")


async def test_pause_and_refresh_now(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await _ready(pilot)
        assert "every 3600s" in app.screen_main.crumbs.status
        assert "last poll 12:00:00" in app.screen_main.crumbs.status
        await pilot.press("p")
        assert app.poller.paused and "PAUSED" in app.screen_main.crumbs.status
        polls = sum(i.polls for i in app.infos.values())
        await pilot.press("ctrl+r")  # polls once even while paused
        await wait_for(
            pilot, lambda: sum(i.polls for i in app.infos.values()) >= polls + 4, what="the refresh"
        )
        assert any("refresh now: polling 4 device(s)" in x for x in app.events_pane.lines_text)
        await pilot.press("p")
        assert not app.poller.paused


async def test_read_only_hides_device_actions_on_the_tunnel_screen(
    replay_ctx: DashboardContext,
) -> None:
    replay_ctx.read_only = True
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await _ready(pilot)
        await pilot.press("enter")
        screen = app.screen
        await wait_for(pilot, lambda: bool(screen.query(FooterKey)), what="the footer")
        shown = {k.description for k in screen.query(FooterKey)}
        assert {"Back", "Probe", "Decode"} <= shown
        assert not {"Clear", "Rekey", "Capture", "Shell"} & shown
        await pilot.press("x")
        assert any("capture refused" in str(n.message) for n in app._notifications)


async def test_decode_a_capture_file_from_the_tunnel_screen(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        await _ready(pilot)
        await pilot.press("enter", "o")
        picker = app.screen
        assert isinstance(picker, FilePickScreen)
        picker.query_one("#capture", Input).value = str(PCAP / "02-sunrise-sunset-esp.pcap")
        picker.query_one("#keys", Input).value = str(PCAP / "esp1-secrets.txt")
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, TunnelScreen)
        await wait_for(
            pilot,
            lambda: any(r.status != "running" for r in app.tools.runs_for(screen.key)),
            what="the decode",
        )
        run = app.tools.runs_for(screen.key)[-1]
        assert run.status == "done", run.error
        esp = run.outcome["esp"]
        assert [(e["spi"], e["packets"], e["first_seq"], e["last_seq"]) for e in esp] == [
            (0x12345678, 8, 1, 8)
        ]
        assert esp[0]["decrypted"] == 8
        assert screen.query_one(TabbedContent).active == "tests"
        text = screen_text(app, "#tunnel-tests")
        assert "0x12345678" in text and "8 packet(s)" in text
