"""The cursor is where the operator put it, or on the first visible row -- never on a tunnel
nobody chose, which an action key would then act on.

After any filter, sort or refresh the cursor stays on its tunnel; when that tunnel leaves the
view it goes to the first visible row (not to whatever now sits on its old line). g/G,
PageUp/PageDown move it; Space marks the row of the focused pane (a device in the fleet pane);
an action's confirmation names the device, peer and VRF of the row under the cursor.
"""

from __future__ import annotations

from typing import Any

import pytest

from ipsecctl.models import DeviceState
from ipsecctl.tui.app import DashboardContext, IpsecApp
from ipsecctl.tui.screens.modals import ConfirmScreen
from ipsecctl.tui.state import TunnelModel

from .helpers import all_polled, wait_for


async def _ready(pilot: Any) -> IpsecApp:
    app: IpsecApp = pilot.app
    await wait_for(pilot, all_polled(app), what="first poll")
    await pilot.pause()
    return app


def _peer(app: IpsecApp, key: str | None) -> str:
    assert key is not None
    row = app.model.rows[key]
    return f"{row.device} {row.tunnel.peer}"


async def test_filter_keeps_the_cursor_or_puts_it_on_the_first_row(
    replay_ctx: DashboardContext,
) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        app = await _ready(pilot)
        await pilot.press("down", "down", "down")  # edge-2 -> 71.71.71.71
        chosen = app.table.cursor_key
        assert _peer(app, chosen) == "edge-2 71.71.71.71"
        await pilot.press("slash", *"71", "enter")  # still visible: stays on it
        assert app.table.cursor_key == chosen
        await pilot.press("slash", "ctrl+u", *"hub", "enter")  # filtered out
        # the first visible row, not the row now on the old line (the 4th)
        assert app.table.cursor_key == app.model.view[0]
        assert app.table._cursor_index == 0
        first = app.table.cursor_key
        await pilot.press("escape")  # filter cleared: the cursor stays where it is
        assert app.table.cursor_key == first
        assert app.model.rows[first].device == "hub-1"


async def test_sort_and_refresh_keep_the_cursor_on_its_tunnel(
    replay_ctx: DashboardContext,
) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        app = await _ready(pilot)
        await pilot.press("G")  # the last row
        chosen = app.table.cursor_key
        assert app.table._cursor_index == len(app.model.view) - 1
        for key in ("P", "S", "U", "D", "D"):
            await pilot.press(key)
            assert app.table.cursor_key == chosen
        # a refresh in which other tunnels come and go (one of edge-1's goes away)
        state = app.ops.current("edge-1")
        assert state is not None
        gone = state.tunnels[0]
        app.apply_state(state.model_copy(update={"tunnels": state.tunnels[1:]}))
        await pilot.pause()
        assert gone.id not in app.model.rows and app.table.cursor_key == chosen
        # the cursor's own tunnel goes away: first visible row, and the detail follows it
        own = next(s for s in app.ops.states() if s.device == app.model.rows[chosen].device)
        app.apply_state(
            own.model_copy(update={"tunnels": [t for t in own.tunnels if t.id != chosen]})
        )
        await pilot.pause()
        assert app.table.cursor_key == app.model.view[0]
        assert app.detail.tunnel_id == app.model.view[0]


async def test_g_G_page_keys(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        app = await _ready(pilot)
        last = len(app.model.view) - 1
        await pilot.press("G")
        assert app.table._cursor_index == last
        await pilot.press("g")
        assert app.table._cursor_index == 0
        await pilot.press("pagedown")
        assert app.table._cursor_index == last  # fewer rows than a page
        await pilot.press("pageup")
        assert app.table._cursor_index == 0
        await pilot.press("end", "home")
        assert app.table._cursor_index == 0


async def test_fleet_pane_keys_move_and_mark_devices(replay_ctx: DashboardContext) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=(120, 36)) as pilot:
        app = await _ready(pilot)
        await pilot.press("shift+tab")
        assert app.focused is app.fleet and app.fleet.cursor_device == "edge-1"
        await pilot.press("j", "j")
        assert app.fleet.cursor_device == "edge-3"
        await pilot.press("k")
        assert app.fleet.cursor_device == "edge-2"
        await pilot.press("G")
        assert app.fleet.cursor_device == "hub-1"
        await pilot.press("space")  # marks the device, not a tunnel
        assert app.fleet.selected == {"hub-1"} and not app.model.marks
        assert {app.model.rows[k].device for k in app.model.view} == {"hub-1"}
        await pilot.press("g", "space")
        assert app.fleet.selected == {"hub-1", "edge-1"}
        await pilot.press("tab", "space")  # in the tunnels pane Space marks the tunnel
        assert len(app.model.marks) == 1
        # the detail and why panes follow the fleet's cursor while it has the focus
        await pilot.press("shift+tab", "j")
        assert app.detail.device_name == app.fleet.cursor_device == "edge-2"
        assert app.diagnosis.subject == "edge-2"


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_action_after_filter_names_the_cursor_tunnel(
    replay_ctx: DashboardContext, size: tuple[int, int]
) -> None:
    app = IpsecApp(replay_ctx)
    async with app.run_test(size=size) as pilot:
        app = await _ready(pilot)
        await pilot.press("slash", *"hub", "enter", "down")
        row = app.table.cursor_row
        assert row is not None and row.device == "hub-1"
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        where = f"device hub-1, peer {row.tunnel.peer}, vrf (global table)"
        assert where in screen.summary
        assert screen.commands == [f"hub-1# clear crypto session remote {row.tunnel.peer}"]


def test_model_views_built_incrementally_equal_views_built_from_scratch() -> None:
    """Per-device view segments and cached filter verdicts give the same view as a model
    rebuilt from the same polls, through filters, faults-only, sorts and refreshes."""
    from ipsecctl.settings import Settings
    from ipsecctl.tui.context import make_context

    from .conftest import REPLAY, replay_hosts

    ctx = make_context(replay_hosts(), Settings(), replay_dir=REPLAY, host_key_policy="reject")
    try:
        states = ctx.fleet.poll()
    finally:
        ctx.fleet.close()
    live = TunnelModel()
    for st in states:
        live.apply(st)

    def fresh(polls: list[DeviceState]) -> TunnelModel:
        m = TunnelModel()
        for st in polls:
            m.apply(st)
        m.set_filter(live.filter.text)
        m.set_faults_only(live.faults_only)
        m.set_faults({k: r.reasons for k, r in live.rows.items()})
        if live.sort_key:
            m.set_sort(live.sort_key, live.sort_reverse)
        return m

    polls = list(states)
    for text in ("", "1\\.1", "!hub", "edge"):
        live.set_filter(text)
        assert live.view == fresh(polls).view
    live.set_faults({next(iter(live.rows)): ("ONE_WAY_TRAFFIC",)})
    live.set_faults_only(True)
    assert live.view == fresh(polls).view
    live.set_faults_only(False)
    live.set_sort("peer")
    # a refresh of one device that drops a tunnel, filtered and sorted
    edge1 = polls[0]
    polls[0] = edge1.model_copy(update={"tunnels": edge1.tunnels[1:]})
    live.apply(polls[0])
    assert live.view == fresh(polls).view
    live.set_sort(None)
    live.set_filter("edge")
    polls[0] = edge1
    live.apply(edge1)
    assert live.view == fresh(polls).view
