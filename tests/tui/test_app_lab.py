"""The dashboard against lab routers over real SSH: re-key shows new SPIs, clear verifies."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot

from inventory import load_inventory
from ipsecctl.errors import IpsecctlError
from ipsecctl.lab.manage import LabHandle, start_lab
from ipsecctl.ops.audit_trail import read_audit
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
    settings = Settings(audit_log=tmp_path / "audit.jsonl", actions_dir=tmp_path / "actions")
    ctx = make_context(hosts, settings,
                       host_key_policy="reject", refresh=2)
    ctx.action_wait_s = 20
    app = IpsecApp(ctx)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, all_polled(app), timeout=30, what="first poll over SSH")
            yield app, pilot
    finally:
        app.ctx.fleet.close()


async def _cursor_to_up_row(pilot: Pilot[int], app: IpsecApp, nth: int) -> None:
    """Move with the arrow keys to the nth tunnel that is up."""
    ups = [i for i, k in enumerate(app.model.view) if app.model.rows[k].tunnel.state == "up"]
    await pilot.press("home", *["down"] * ups[nth])


def _plain(renderable: object) -> str:
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return " ".join(console.export_text().split())


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
        # old and new SPIs labelled by direction
        spi = "0x[0-9A-F]{8}"
        assert re.search(rf"in {spi} -> {spi}; out {spi} -> {spi}", line), line
        # progress, one event per step, in order
        tag = f"rekey {row.device} -> {row.tunnel.peer}"
        steps = [f"{tag}: sending clear crypto session remote",
                 f"{tag}: bring-up traffic sent (ping", f"{tag}: waiting for new SAs both ways",
                 f"{tag} ok: in 0x"]
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


async def test_changed_host_key_and_unreachable_device_are_readable(
    lab: LabHandle, tmp_path: Path
) -> None:
    """r01's known_hosts entry holds r02's key (a changed key); then the whole lab stops
    answering: the error is readable in full, and the rows say they are stale."""
    hosts = {h.name: h for h in load_inventory(lab.inventory_path).hosts.values()}
    lines = (lab.dir / "known_hosts").read_text().splitlines()
    r01, r02 = hosts["r01"], hosts["r02"]
    own = next(ln for ln in lines if ln.startswith(f"[{r01.hostname}]:"))
    other_key = next(ln for ln in lines if ln.startswith(f"[{r02.hostname}]:")).split(" ", 1)[1]
    changed = tmp_path / "known_hosts"
    changed.write_text(own.split(" ", 1)[0] + " " + other_key + "\n")
    hosts["r01"] = dataclasses.replace(r01, known_hosts=(changed,))
    settings = Settings(audit_log=tmp_path / "audit.jsonl", actions_dir=tmp_path / "actions",
                        known_hosts=tmp_path / "own_kh",
                        connect_timeout=3, command_timeout=2, device_timeout=4)
    ctx = make_context(list(hosts.values()), settings, host_key_policy="reject", refresh=1)
    app = IpsecApp(ctx)
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, all_polled(app), timeout=30, what="first poll over SSH")
            info = app.infos["r01"]
            assert info.reachable is False and info.error.startswith("HOST KEY CHANGED for r01")
            # the fleet shows the start with an ellipsis ...
            cell = str(app.fleet.get_cell("r01", "ERROR"))
            assert cell.startswith("HOST KEY") and cell.endswith("…")
            # ... the toast, the events pane (wrapped, once, no 'r01: r01:') and the detail
            # pane of the selected device show all of it, known_hosts line included
            assert any("remove that line" in str(n.message) for n in app._notifications)
            ev = [x for x in app.events_pane.lines_text if "HOST KEY CHANGED" in x]
            assert len(ev) == 1 and "r01: HOST KEY CHANGED for r01" in ev[0]
            assert f"{changed}:1" in ev[0] and "r01: r01:" not in ev[0]
            assert app.events_pane.wrap
            await pilot.press("shift+tab")
            assert app.focused is app.fleet and app.detail.device_name == "r01"
            shown = _plain(app.detail.content)
            assert f"{changed}:1" in shown and "remove that line" in shown
            await pilot.press("tab")  # back to the tunnels

            # now every router stops answering: rows keep their data but say "stale <age>"
            row = next(r for r in app.model.rows.values() if r.device == "r02")
            os.kill(lab.pid, signal.SIGSTOP)
            try:
                await wait_for(pilot, lambda: row.stale_since is not None, timeout=30,
                               what="r02's rows to go stale")
                await wait_for(pilot, lambda: row.cells["state"].startswith("stale "),
                               timeout=5, what="stale text")
                assert row.fault  # faults-only keeps them
                app.action_faults()
                assert row.key in app.model.view
                app.action_faults()
                assert not any(line.split(" ", 1)[1].startswith("r02: r02:")
                               for line in app.events_pane.lines_text)
            finally:
                os.kill(lab.pid, signal.SIGCONT)
            await wait_for(pilot, lambda: row.stale_since is None, timeout=40,
                           what="r02 to answer again")
            assert not row.cells["state"].startswith("stale")
    finally:
        ctx.fleet.close()
