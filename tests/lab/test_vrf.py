"""Front-door VRF tunnels with overlapping peer addresses, over real SSH via the real CLI.

The lab gives one healthy IOS-XE router two tunnels to the same outside address in VRFs
CUST-A and CUST-B; ``--vrf`` must reach exactly one of them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab import Lab
from ipsecctl.lab.topology import VRF_NAMES, VRF_PEER, vrf_router

PEER = VRF_PEER


@pytest.fixture(scope="module")
def vlab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("vrf-lab"), devices=12, seed=1, time_scale=20.0) as lab:
        yield lab


@pytest.fixture(scope="module")
def device(vlab: Lab) -> str:
    spec = vrf_router(vlab.fleet.plan.routers)
    assert spec is not None
    return spec.name


def run(lab: Lab, tmp: Path, *args: str) -> tuple[int, Any, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("IPSECCTL_INVENTORY", "IPSECCTL_CONFIG", "IPSECCTL_READ_ONLY")
    }
    env.update(
        IPSECCTL_STATE_DIR=str(tmp / "state"),
        IPSECCTL_DATA_DIR=str(tmp / "data"),
        NO_COLOR="1",
        COLUMNS="200",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "ipsecctl", "-i", str(lab.inventory_path), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=tmp,
    )
    doc = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
    return proc.returncode, doc, proc.stderr


def vrf_tunnels(lab: Lab, tmp: Path, device: str) -> dict[str, Any]:
    code, doc, err = run(lab, tmp, "tunnels", device, "--json")
    assert code in (0, 3), err  # 3 while a just-cleared tunnel is still down
    return {t["vrf"]: t for t in doc["tunnels"] if t["peer"] == PEER}


def spis(tunnel: dict[str, Any]) -> set[int]:
    return {sa["spi"] for sa in tunnel["sas"]}


def test_both_vrf_tunnels_are_listed_up(vlab: Lab, device: str, tmp_path: Path) -> None:
    assert vlab.router(device).expected_up.count(PEER) == 1  # one address, two VRFs
    code, _doc, err = run(vlab, tmp_path, "tunnels", device, "--json")
    assert code == 0, err  # everything on this router is up as expected
    tunnels = vrf_tunnels(vlab, tmp_path, device)
    assert set(tunnels) == set(VRF_NAMES)
    for t in tunnels.values():
        assert t["state"] == "up" and t["expected_up"] is True
        assert {sa["direction"] for sa in t["sas"]} == {"in", "out"}
    assert tunnels["CUST-A"]["id"] != tunnels["CUST-B"]["id"]
    assert not spis(tunnels["CUST-A"]) & spis(tunnels["CUST-B"])


def test_rekey_in_one_vrf_leaves_the_other(vlab: Lab, device: str, tmp_path: Path) -> None:
    before = vrf_tunnels(vlab, tmp_path, device)
    code, doc, err = run(
        vlab, tmp_path, "rekey", device, "--peer", PEER, "--vrf", "CUST-A", "--yes", "--json"
    )
    assert code == 0, err
    assert doc["ok"] is True
    assert doc["commands"][0] == f"clear crypto session remote {PEER} fvrf CUST-A"
    assert any(c.startswith("ping vrf CUST-A ") for c in doc["commands"])
    assert set(doc["old_spis"]) == spis(before["CUST-A"])
    after = vrf_tunnels(vlab, tmp_path, device)
    assert set(doc["new_spis"]) <= spis(after["CUST-A"])
    assert not spis(after["CUST-A"]) & spis(before["CUST-A"])
    assert spis(after["CUST-B"]) == spis(before["CUST-B"])
    assert after["CUST-B"]["state"] == "up"


def test_clear_ipsec_in_one_vrf(vlab: Lab, device: str, tmp_path: Path) -> None:
    before = vrf_tunnels(vlab, tmp_path, device)
    code, doc, err = run(
        vlab,
        tmp_path,
        "clear",
        device,
        "--peer",
        PEER,
        "--vrf",
        "CUST-B",
        "--ipsec",
        "--yes",
        "--json",
    )
    assert code == 0, err
    assert doc["ok"] is True and doc["commands"] == [f"clear crypto sa peer vrf CUST-B {PEER}"]
    assert set(doc["old_spis"]) == spis(before["CUST-B"])
    after = vrf_tunnels(vlab, tmp_path, device)
    assert not spis(after.get("CUST-B", {"sas": []})) & spis(before["CUST-B"])
    assert spis(after["CUST-A"]) == spis(before["CUST-A"])


def both_up(lab: Lab, tmp: Path, device: str, within: float = 60.0) -> dict[str, Any]:
    """Both VRF tunnels up with SAs both ways (an earlier test may have cleared one, and the
    lab negotiates it anew in its own time)."""
    end = time.monotonic() + within
    while True:
        tunnels = vrf_tunnels(lab, tmp, device)
        ready = set(tunnels) == set(VRF_NAMES) and all(
            t["state"] == "up" and {sa["direction"] for sa in t["sas"]} == {"in", "out"}
            for t in tunnels.values()
        )
        if ready or time.monotonic() > end:
            return tunnels
        time.sleep(0.5)


def test_unknown_vrf_is_refused_and_no_vrf_plans_both(
    vlab: Lab, device: str, tmp_path: Path
) -> None:
    code, _doc, err = run(
        vlab, tmp_path, "clear", device, "--peer", PEER, "--vrf", "NOPE", "--yes", "--json"
    )
    assert code == 2, err
    before = both_up(vlab, tmp_path, device)
    code, doc, err = run(vlab, tmp_path, "clear", device, "--peer", PEER, "--dry-run", "--json")
    assert code == 0, err
    after = vrf_tunnels(vlab, tmp_path, device)
    # the plan names the SAs of both VRFs' tunnels as the device had them (a rekey of the
    # lab's may fall between the plan and either poll: the two polls bracket it)
    planned = set(doc["old_spis"])
    seen = {name: spis(before[name]) | spis(after.get(name, {"sas": []})) for name in VRF_NAMES}
    for name in VRF_NAMES:
        assert planned & seen[name], (name, planned, seen)
    assert planned <= set().union(*seen.values()), (planned, seen)
    assert doc.get("dry_run") is True
    # the summary shown before confirming counts both VRFs' tunnels
    assert "2 tunnel(s)" in err + json.dumps(doc), (err, doc)


def test_clear_without_vrf_sends_one_command_per_vrf(
    vlab: Lab, device: str, tmp_path: Path
) -> None:
    """IOS treats one address in two VRFs as two peers: a plain clear reaches neither."""
    before = vrf_tunnels(vlab, tmp_path, device)
    code, doc, err = run(
        vlab, tmp_path, "clear", device, "--peer", PEER, "--ipsec", "--yes", "--json"
    )
    assert code == 0, err
    assert sorted(doc["commands"]) == sorted(
        f"clear crypto sa peer vrf {v} {PEER}" for v in ("CUST-A", "CUST-B")
    )
    after = vrf_tunnels(vlab, tmp_path, device)
    for name in ("CUST-A", "CUST-B"):
        assert not spis(before[name]) & spis(after.get(name, {"sas": []}))
