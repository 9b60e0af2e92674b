"""The dashboard against lab routers over real SSH: re-key shows new SPIs, clear verifies."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.pilot import Pilot

from inventory import load_inventory
from ipsecctl.audit import read_audit
from ipsecctl.errors import IpsecctlError
from ipsecctl.lab.manage import LabHandle, start_lab
from ipsecctl.settings import Settings
from ipsecctl.tui.app import IpsecApp, make_context
from ipsecctl.tui.screens import ConfirmScreen
from tests.helpers import need

from .helpers import all_polled, confirm, wait_for


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    try:
        handle = start_lab(tmp_path_factory.mktemp("lab"), devices=3, time_scale=20)
    except IpsecctlError as exc:
        need(False, f"lab not available: {exc}")
        raise
    yield handle
    handle.stop()


@asynccontextmanager
async def _dashboard(lab: LabHandle, tmp_path: Path) -> AsyncIterator[tuple[IpsecApp, Pilot[int]]]:
    """The dashboard over the lab's inventory, once every device has been polled over SSH."""
    hosts = list(load_inventory(lab.inventory_path).hosts.values())
    ctx = make_context(hosts, Settings(audit_log=tmp_path / "audit.jsonl"),
                       host_key_policy="reject", refresh=2)
    ctx.action_wait_s = 20
    app = IpsecApp(ctx)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, all_polled(app), timeout=30, what="first poll over SSH")
            yield app, pilot
    finally:
        app.ctx.collector.close()


async def _cursor_to_up_row(pilot: Pilot[int], app: IpsecApp, nth: int) -> None:
    """Move with the arrow keys to the nth tunnel that is up."""
    ups = [i for i, k in enumerate(app.model.view) if app.model.rows[k].tunnel.state == "up"]
    await pilot.press("home", *["down"] * ups[nth])


def _done(app: IpsecApp, kind: str) -> bool:
    return any(f"{kind} " in x and (" ok: " in x or "NOT verified" in x or " failed" in x)
               for x in app.events_pane.lines_text)


async def test_rekey_shows_old_and_new_spis(lab: LabHandle, tmp_path: Path) -> None:
    async with _dashboard(lab, tmp_path) as (app, pilot):
        await _cursor_to_up_row(pilot, app, 0)
        row = app.table.cursor_row
        assert row is not None and row.tunnel.state == "up"
        old = set(row.tunnel.spis())
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmScreen)
        commands = list(app.screen.commands)
        assert any("clear crypto session remote" in c for c in commands)
        await confirm(pilot)
        await wait_for(pilot, lambda: _done(app, "rekey"), timeout=40, what="rekey result")
        events = app.events_pane.lines_text
        line = next(x for x in events if "rekey " in x and " ok: " in x)
        assert "old [" in line and "-> new [0x" in line
        # progress, one event per step, in order, with the right command count
        tag = f"rekey {row.device} -> {row.tunnel.peer}"
        steps = [f"{tag}: {len(commands)} command(s); old SPIs",
                 f"{tag}: clearing (1 command(s): clear crypto session remote",
                 f"{tag}: bring-up traffic sent (ping", f"{tag}: waiting for new SAs both ways",
                 f"{tag} ok: old ["]
        at = [next(i for i, x in enumerate(events) if step in x) for step in steps]
        assert at == sorted(at)
        # the row, keyed by tunnel identity, now carries the new SPIs
        new = set(app.model.rows[row.key].tunnel.spis())
        assert new and not (new & old)
    records = read_audit(tmp_path / "audit.jsonl")
    assert records[-1]["action"] == "rekey" and records[-1]["outcome"] == "ok"
    assert records[-1]["details"]["new_spis"]


async def test_clear_verifies_and_events_show_it(lab: LabHandle, tmp_path: Path) -> None:
    async with _dashboard(lab, tmp_path) as (app, pilot):
        await _cursor_to_up_row(pilot, app, 1)
        row = app.table.cursor_row
        assert row is not None and row.tunnel.state == "up"
        await pilot.press("c")
        await confirm(pilot)
        await wait_for(pilot, lambda: _done(app, "clear"), timeout=40, what="clear result")
        assert any(f"clear {row.device} -> {row.tunnel.peer} ok" in x
                   for x in app.events_pane.lines_text)
    assert read_audit(tmp_path / "audit.jsonl")[-1]["outcome"] == "ok"
