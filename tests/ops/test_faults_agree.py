"""One definition of a fault: ``tunnels --faults``, ``diag health`` and the dashboard's ``f``
name the same tunnels of the same lab, and the broken scenarios are among them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inventory import load_inventory
from ipsecctl.lab import Lab
from ipsecctl.settings import Settings
from ipsecctl.tui.app import IpsecApp, make_context
from tests.helpers import run_cli
from tests.tui.helpers import all_polled, wait_for

Key = tuple[str, str | None, str | None]
BROKEN = (
    "ike_no_response",
    "psk_mismatch",
    "p2_mismatch",
    "one_way",
    "replay_spi_errors",
    "flapping",
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("lab"), devices=12, seed=1, time_scale=1.0) as running:
        yield running


def _cli(lab: Lab, home: Path, *args: str) -> Any:
    run = run_cli("-i", str(lab.inventory_path), *args, home=home, timeout=180)
    assert run.code in (0, 3), run
    return run.json


def _broken_routers(lab: Lab) -> set[str]:
    return {r.name for r in lab.plan.routers if r.scenario in BROKEN}


def test_cli_health_and_dashboard_agree(lab: Lab, tmp_path: Path) -> None:
    home = tmp_path / "home"
    doc = _cli(lab, home, "tunnels", "--faults", "--json")
    cli: set[Key] = {(t["device"], t["peer"], t["vrf"]) for t in doc["tunnels"]}

    health = _cli(lab, home, "diag", "health", "--interval", "3", "--json")
    every = _cli(lab, home, "tunnels", "--json")["tunnels"]
    tunnels = {(t["device"], t["peer"], t["vrf"]) for t in every}
    named: set[Key] = set()
    for f in health["findings"]:
        if f["severity"] == "info":
            continue
        ids = f["extra"].get("tunnels") or []
        named |= {(t["device"], t["peer"], t["vrf"]) for t in every if t["id"] in ids}
        if not ids:
            vrf = f["extra"].get("vrf")
            named |= {
                k
                for k in tunnels
                if k[0] == f["device"] and k[1] == f["peer"] and (vrf is None or k[2] == vrf)
            }

    settings = Settings(
        audit_log=tmp_path / "audit.jsonl",
        actions_dir=tmp_path / "actions",
        history=tmp_path / "dash-history.sqlite3",
    )
    hosts = list(load_inventory(lab.inventory_path).hosts.values())
    ctx = make_context(hosts, settings, host_key_policy="reject", refresh=2)
    dashboard: set[Key] = set()

    async def walk() -> None:
        app = IpsecApp(ctx)
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(pilot, all_polled(app), timeout=60, what="first poll")
            await wait_for(
                pilot,
                lambda: min(i.polls for i in app.infos.values()) >= 2,
                timeout=60,
                what="second poll",
            )
            app.run_diagnosis(wait=True)
            await pilot.press("f")
            for row in app.model.visible_rows():
                dashboard.add((row.device, row.tunnel.peer, row.tunnel.vrf))

    import asyncio

    try:
        asyncio.run(walk())
    finally:
        ctx.fleet.close()

    assert cli, "the lab has broken scenarios: faults expected"
    assert {k[0] for k in cli} >= _broken_routers(lab)
    assert cli == named, cli ^ named
    assert cli == dashboard, cli ^ dashboard
