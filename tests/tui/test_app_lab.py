"""The dashboard against lab routers over real SSH: re-key shows new SPIs, clear verifies."""

from __future__ import annotations

import dataclasses
import io
import os
import re
import signal
import time
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
from ipsecctl.tui.screens.device import DeviceScreen
from ipsecctl.tui.screens.tunnel import TunnelScreen
from tests.helpers import need, run_cli

from .helpers import all_polled, confirm, wait_for


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabHandle]:
    try:
        # the default fleet of 12: r04 flapping, r05 one way, ASAs, ... (`lab status`)
        handle = start_lab(tmp_path_factory.mktemp("lab"), devices=12, time_scale=20)
    except IpsecctlError as exc:
        need(False, f"lab not available: {exc}")
        raise
    yield handle
    handle.stop()


@asynccontextmanager
async def _dashboard(
    lab: LabHandle,
    tmp_path: Path,
    size: tuple[int, int] = (160, 45),
) -> AsyncIterator[tuple[IpsecApp, Pilot[int]]]:
    """The dashboard over the lab's inventory, once every device has been polled over SSH."""
    hosts = list(load_inventory(lab.inventory_path).hosts.values())
    settings = Settings(audit_log=tmp_path / "audit.jsonl", actions_dir=tmp_path / "actions")
    ctx = make_context(hosts, settings, host_key_policy="reject", refresh=2)
    ctx.action_wait_s = 20
    app = IpsecApp(ctx)
    try:
        async with app.run_test(size=size) as pilot:
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
    return any(
        f"{kind} " in x and (" ok: " in x or "NOT verified" in x or " failed" in x)
        for x in app.events_pane.lines_text
    )


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
        steps = [
            f"{tag}: sending clear crypto session remote",
            f"{tag}: bring-up traffic sent (ping",
            f"{tag}: waiting for new SAs both ways",
            f"{tag} ok: in 0x",
        ]
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
        assert any(
            f"clear {row.device} -> {row.tunnel.peer} ok" in x for x in app.events_pane.lines_text
        )
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
    settings = Settings(
        audit_log=tmp_path / "audit.jsonl",
        actions_dir=tmp_path / "actions",
        known_hosts=tmp_path / "own_kh",
        connect_timeout=3,
        command_timeout=2,
        device_timeout=4,
    )
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
                await wait_for(
                    pilot,
                    lambda: row.stale_since is not None,
                    timeout=30,
                    what="r02's rows to go stale",
                    seen=lambda: _poll_state(app, "r02"),
                )
                await wait_for(
                    pilot,
                    lambda: row.cells["state"].startswith("stale "),
                    timeout=5,
                    what="stale text",
                )
                assert row.fault  # faults-only keeps them
                app.action_faults()
                assert row.key in app.model.view
                app.action_faults()
                assert not any(
                    line.split(" ", 1)[1].startswith("r02: r02:")
                    for line in app.events_pane.lines_text
                )
            finally:
                os.kill(lab.pid, signal.SIGCONT)
            await wait_for(
                pilot, lambda: row.stale_since is None, timeout=40, what="r02 to answer again"
            )
            assert not row.cells["state"].startswith("stale")
    finally:
        ctx.fleet.close()


def _poll_state(app: IpsecApp, device: str) -> str:
    """A device's poll bookkeeping and the last events, for a wait that ran out."""
    i = app.infos[device]
    due = i.next_due - time.monotonic()
    return (
        f"{device} in_flight={i.in_flight} polls={i.polls} failures={i.failures} "
        f"reachable={i.reachable} due_in={due:.1f}s polled_at={i.polled_at} "
        f"last_ok={i.last_ok} error={i.error!r}; events: {app.events_pane.lines_text[-6:]}"
    )


def _screen_text(app: IpsecApp, selector: str) -> str:
    widget = app.screen.query_one(selector)
    console = Console(
        width=widget.scrollable_content_region.width or 200,
        record=True,
        file=io.StringIO(),
        color_system=None,
    )
    console.print(widget.content)
    return console.export_text()


def _finding(app: IpsecApp, device: str, peer: str, code: str) -> bool:
    a = app.assessment
    return a is not None and any(
        f.code == code and f.device == device and f.peer == peer for f in a.findings
    )


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
async def test_operator_walk_faults_why_probe_logs_rekey(
    lab: LabHandle, tmp_path: Path, size: tuple[int, int]
) -> None:
    """The walk an operator takes: the faults, into the one-way tunnel, why, probe it; the
    flapping router's logs explained; re-key another and read its SPIs per direction."""
    async with _dashboard(lab, tmp_path, size) as (app, pilot):
        # r05's tunnel to 127.0.250.5 carries traffic out only (the lab's one_way scenario)
        await wait_for(
            pilot,
            lambda: _finding(app, "r05", "127.0.250.5", "ONE_WAY_TRAFFIC"),
            timeout=40,
            what="the one-way finding",
        )
        await pilot.press("f")
        one_way = next(k for k in app.model.view if app.model.rows[k].tunnel.peer == "127.0.250.5")
        app.table.move_to_key(one_way)
        await pilot.pause()
        assert "ONE_WAY_TRAFFIC" in app.diagnosis.plain()  # follows the cursor
        await pilot.press("enter")
        screen = app.screen
        assert isinstance(screen, TunnelScreen)
        assert screen.crumbs.text.startswith("ipsecctl > fleet > r05 > 127.0.250.5")
        why = screen.query_one("#tunnel-why")
        text = why.plain()
        assert "ONE_WAY_TRAFFIC" in text and "likely causes:" in text
        assert "next steps (cisco_ios):" in text
        assert "r05# show crypto ipsec sa peer 127.0.250.5 detail" in text
        await pilot.press("3")
        assert "current_peer 127.0.250.5" in _screen_text(app, "#tunnel-raw")
        # the IKE probe: asks first, naming device, peer and VRF and what leaves this host
        await pilot.press("i")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen),
            timeout=20,
            what="the probe's confirmation",
        )
        confirm_screen = app.screen
        assert "for the tunnel r05 → 127.0.250.5 (global table)" in confirm_screen.summary
        assert confirm_screen.commands[0].startswith(
            "from this host to 127.0.250.5 udp/500: IKEv1 main mode message 1 offering"
        )
        await confirm(pilot)
        await wait_for(
            pilot,
            lambda: any(r.status != "running" for r in app.tools.runs_for(one_way)),
            timeout=30,
            what="the probe",
        )
        run = app.tools.runs_for(one_way)[-1]
        # nothing answers IKE on the lab's loopback addresses: said as such, not invented
        assert run.status == "done" and run.outcome.result == "no_response"
        assert "ICMP port unreachable" in run.outcome.summary
        assert "no_response".upper() in _screen_text(app, "#tunnel-tests")
        await pilot.press("escape")

        # the flapping router: its log lines explained, the flaps in the why pane
        await pilot.press("colon", *"logs r04", "enter")
        assert isinstance(app.screen, DeviceScreen)
        logs = " ".join(_screen_text(app, "#device-logs").split())
        # the last session line of r04's own log, as the device printed it, with its code
        state = app.ops.current("r04")
        assert state is not None and state.raw is not None
        device_lines = [
            ln.strip() for ln in state.raw["show logging"].splitlines() if "%IKEV2-5-SA_" in ln
        ]
        last = device_lines[-1]
        code = re.search(r"%(IKEV2-5-SA_\w+):", last)
        assert code is not None and code.group(1) in logs
        assert " ".join(last.split()) in logs
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: _finding(app, "r04", "127.0.250.4", "FLAPPING"),
            timeout=30,
            what="the flapping finding",
        )

        # re-key a healthy tunnel from its screen: the history reads in/out old -> new
        await pilot.press("f", "escape")  # all tunnels again
        up = next(
            k
            for k in app.model.view
            if app.model.rows[k].device == "r01" and app.model.rows[k].tunnel.state == "up"
        )
        old = app.model.rows[up].tunnel
        app.open_tunnel(up)
        await pilot.pause()
        await pilot.press("r")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen),
            timeout=10,
            what="the rekey confirmation",
        )
        assert f"device r01, peer {old.peer}, vrf (global table)" in app.screen.summary
        await confirm(pilot)
        await wait_for(pilot, lambda: _done(app, "rekey"), timeout=60, what="rekey result")
        assert isinstance(app.screen, TunnelScreen)
        await pilot.press("2")
        await wait_for(
            pilot,
            lambda: "rekey" in _screen_text(app, "#tunnel-history"),
            timeout=20,
            what="the rekey in the history",
        )
        history = _screen_text(app, "#tunnel-history")
        old_in, old_out = old.spis("in")[0], old.spis("out")[0]
        assert re.search(rf"in +0x{old_in:08X} → 0x[0-9A-F]{{8}}", history), history
        assert re.search(rf"out 0x{old_out:08X} → 0x[0-9A-F]{{8}}", history), history


async def test_capture_on_the_device_from_the_tunnel_screen(lab: LabHandle, tmp_path: Path) -> None:
    """x on a tunnel: the capture's exact device commands are confirmed (device, peer, VRF
    named), run through the workflow, cleaned up, and decoded into the tunnel screen."""
    # a fresh SA first: the lab's SAs rekey on their own timetable (every ~3 min at 20x), and
    # this tunnel's would otherwise fall due around this point of the module's run
    fresh = run_cli(
        "-i",
        str(lab.inventory_path),
        "rekey",
        "r05",
        "--peer",
        "127.0.250.5",
        "--yes",
        home=tmp_path / "cli",
    )
    assert fresh.code == 0, fresh
    async with _dashboard(lab, tmp_path, (120, 36)) as (app, pilot):
        key = next(
            k
            for k in app.model.view
            if app.model.rows[k].device == "r05" and app.model.rows[k].tunnel.peer == "127.0.250.5"
        )
        app.open_tunnel(key)
        await pilot.pause()
        await pilot.press("x")
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ConfirmScreen),
            timeout=30,
            what="the capture's confirmation",
        )
        screen = app.screen
        assert "device r05, peer 127.0.250.5, vrf (global table)" in screen.summary
        assert all(c.startswith("r05# ") for c in screen.commands)
        await confirm(pilot)
        await wait_for(
            pilot,
            lambda: any(r.status not in ("running",) for r in app.tools.runs_for(key)),
            timeout=90,
            what="the capture",
        )
        run = app.tools.runs_for(key)[-1]
        assert run.status == "done", (run.error, run.steps)
        doc = run.outcome
        assert doc["kind"] == "capture" and doc["device"] == "r05"
        assert doc["peer"] == "127.0.250.5" and doc["packets"] > 0
        # one way: only the device's current outbound SA is on the wire, and the capture
        # says so with the same finding code as the health rules
        out_spis = app.model.rows[key].tunnel.spis("out")
        assert [(e["spi"], e["direction"], e["known"]) for e in doc["esp"]] == [
            (out_spis[0], "out", "current")
        ]
        assert "ONE_WAY_TRAFFIC" in [f["code"] for f in doc["findings"]]
        assert "ONE_WAY_TRAFFIC" in _screen_text(app, "#tunnel-tests")
    records = read_audit(tmp_path / "audit.jsonl")
    assert any(r["action"] == "capture" and r["outcome"] == "ok" for r in records)
