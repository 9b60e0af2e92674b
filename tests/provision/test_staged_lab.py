"""Staged hub-and-spoke pushes on a lab driven by its configuration: one hub, ten spokes.

The lab decides from the configurations it is given whether each tunnel comes up (it reads
what was typed, independently of ipsecctl's own parser), so these tests check the product's
verification and rollback against what the devices actually do: the lab's links and running
configurations are the expected values, never the push's own report alone.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipsecctl.lab import Lab

HUB_NETS = "10.240.0.0/16"


@pytest.fixture(scope="module")
def hs_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    # 11 IOS/IOS-XE devices: r01 is the hub, r02..r11 the spokes (5 play broken planned
    # tunnels of their own; the provisioned tunnels must come up regardless)
    with Lab(tmp_path_factory.mktemp("hs-lab"), devices=11, seed=3, time_scale=4.0, asa=0) as lab:
        yield lab


def write_topology(
    lab: Lab, folder: Path, name: str, seq: int, octet: int, wrong_address: str | None = None
) -> Path:
    """A hub-and-spoke spec for the lab, spokes from a CSV; ``wrong_address``: the fifth
    spoke's row gives an outside address its device does not have (a typo in the data)."""
    hub, *spokes = lab.plan.routers
    rows = [
        ["name", "device", "platform", "outside_interface", "outside_address", "inside_networks"]
    ]
    for i, r in enumerate(spokes):
        addr = wrong_address if wrong_address and i == 4 else r.address
        rows.append(
            [f"{name}-{r.name}", r.name, r.platform, r.wan_if, addr, f"10.{octet}.{i}.0/24"]
        )
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "spokes.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    spec = {
        "name": name,
        "topology": "hub_spoke",
        "ike_version": 2,
        "psk": "generate",
        "key_store": "keys",
        "map_seq_start": seq,
        "map_seq_step": 1,
        "spoke_map_seq": seq,
        "hubs": [
            {
                "name": f"{name}-hub",
                "device": hub.name,
                "platform": hub.platform,
                "outside_interface": hub.wan_if,
                "outside_address": hub.address,
                "inside_networks": [f"10.{octet + 1}.0.0/16"],
            }
        ],
        "spokes_csv": "spokes.csv",
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def provisioned_links(lab: Lab, seq: int) -> dict[str, Any]:
    """Spoke name -> the lab's link between the hub's entry ``seq`` and that spoke."""
    hub = lab.plan.routers[0].name
    out = {}
    for lk in lab.fleet.links:
        a, b = lk.intents.get("a"), lk.intents.get("b")
        for mine, other in ((a, b), (b, a)):
            if (
                mine is not None
                and mine.router == hub
                and mine.seq is not None
                and seq <= mine.seq < seq + 20
                and other is not None
            ):
                out[other.router] = lk
    return out


def audit(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "state" / "audit.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines()]


def test_hub_and_ten_spokes_all_come_up(prov: Any, hs_lab: Lab, tmp_path: Path) -> None:
    spec = write_topology(hs_lab, tmp_path / "net", "hsok", 900, 200)
    run = prov(
        "-i",
        str(hs_lab.inventory_path),
        "provision",
        "push",
        str(spec),
        "--yes",
        "--canary",
        "2",
        "--wait",
        "20",
        "--json",
        timeout=600,
    )
    assert run.code == 0, run
    doc = run.json
    assert doc["ok"] is True and doc["stopped_at"] is None
    assert [d["device"] for d in doc["devices"]] == [r.name for r in hs_lab.plan.routers]
    assert [d["stage"] for d in doc["devices"]] == ["canary"] * 3 + ["rollout"] * 8
    # the lab itself: ten new links from the hub, each negotiated healthy with SAs up
    links = provisioned_links(hs_lab, 900)
    assert sorted(links) == [r.name for r in hs_lab.plan.routers[1:]]
    assert all(lk.behaviour == "healthy" and lk.sas for lk in links.values()), {
        k: (lk.behaviour, lk.reason) for k, lk in links.items()
    }
    hub_report = doc["devices"][0]
    assert len(hub_report["tunnels"]) == 10
    assert {t["state"] for t in hub_report["tunnels"]} == {"up"}
    # generated keys: per pair, 0600 in a 0700 folder, and never in any output or record
    store = tmp_path / "net" / "keys" / "hsok"
    assert oct(store.stat().st_mode & 0o777) == "0o700"
    keys = sorted(store.iterdir())
    assert len(keys) == 10 and {oct(k.stat().st_mode & 0o777) for k in keys} == {"0o600"}
    secrets = [k.read_text().strip() for k in keys]
    assert len(set(secrets)) == 10
    text = run.out + run.err + (tmp_path / "state" / "audit.jsonl").read_text()
    assert not [s for s in secrets if s in text]
    hub_cfg = hs_lab.fleet.running_config(hs_lab.plan.routers[0].name)
    assert sum(s in hub_cfg for s in secrets) == 10  # the real keys reached the hub
    # every device: audited start, each line before it was sent, then ok
    outcomes = [r["outcome"] for r in audit(tmp_path) if r["action"] == "provision push"]
    assert outcomes.count("ok") == 11 and "failed" not in outcomes
    # a second push finds nothing to change
    again = prov(
        "-i",
        str(hs_lab.inventory_path),
        "provision",
        "push",
        str(spec),
        "--yes",
        "--json",
        timeout=300,
    )
    assert again.code == 0, again
    assert again.json["devices"] == [] and len(again.json["unchanged"]) == 11


def test_broken_spoke_stops_the_rollout_and_is_rolled_back(
    prov: Any, hs_lab: Lab, tmp_path: Path
) -> None:
    routers = hs_lab.plan.routers
    broken = routers[5]  # the fifth spoke; its CSV row names an address it does not have
    spec = write_topology(hs_lab, tmp_path / "net", "hsbad", 950, 220, wrong_address="127.0.251.77")
    before = hs_lab.fleet.running_config(broken.name)
    up_before = {lk.spec.id for lk in hs_lab.fleet.links if lk.sas}
    # the render check cannot see it (the spec is consistent in itself)
    rendered = prov("provision", "render", str(spec), "--json")
    assert rendered.code == 0, rendered
    dry = prov(
        "-i", str(hs_lab.inventory_path), "provision", "push", str(spec), "--dry-run", "--json"
    )
    assert dry.code == 0, dry
    assert "on failure, these rollback commands will be sent" in dry.err
    assert "predicted: hsbad-hub <-> hsbad-r06 fails at peer" in dry.err
    run = prov(
        "-i",
        str(hs_lab.inventory_path),
        "provision",
        "push",
        str(spec),
        "--yes",
        "--wait",
        "8",
        "--json",
        timeout=600,
    )
    assert run.code == 1, run
    doc = run.json
    assert doc["stopped_at"] == broken.name
    assert [d["device"] for d in doc["devices"]] == [r.name for r in routers[:6]]
    assert [d["ok"] for d in doc["devices"]] == [True] * 5 + [False]
    failed = doc["devices"][-1]
    assert "not up within 8s" in failed["error"] and "hsbad-hub" in failed["error"]
    # why: diag pair on the live configurations, the same step it predicted before the push
    assert failed["diagnosis"] and failed["diagnosis"][0]["first_failure"] == "peer"
    assert failed["predicted"][0]["first_failure"] == "peer"
    assert failed["rollback"]["ok"] is True
    # the lab: the broken spoke holds exactly the configuration it had before
    assert hs_lab.fleet.running_config(broken.name) == before
    # spokes 1-4 came up, spokes after the broken one were never touched, and nothing that
    # was up before went down
    links = provisioned_links(hs_lab, 950)
    assert sorted(links) == [r.name for r in routers[1:5]]
    assert all(lk.behaviour == "healthy" and lk.sas for lk in links.values())
    assert "hsbad" not in hs_lab.fleet.running_config(routers[6].name)
    assert up_before <= {lk.spec.id for lk in hs_lab.fleet.links if lk.sas}
    records = audit(tmp_path)
    rollback = [r for r in records if r["action"] == "provision rollback"]
    assert [r["outcome"] for r in rollback if r["outcome"] not in ("sending",)] == ["started", "ok"]
    assert any(
        "no crypto map VPNMAP 950 ipsec-isakmp" in c for r in rollback for c in r["commands"]
    )


@pytest.fixture(scope="module")
def mixed_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("mixed-lab"), devices=12, seed=1, time_scale=4.0) as lab:
        yield lab


def mixed_spec(
    lab: Lab,
    folder: Path,
    name: str,
    seq: int,
    octet: int,
    broken_last: bool = False,
    asa_index: int = 0,
) -> Path:
    """Hub r01 (IOS) with an ASA spoke and an IOS-XE spoke (the ASA keeps its own map)."""
    hub = lab.plan.router("r01")
    asa = [r for r in lab.plan.routers if r.platform == "cisco_asa" and r.scenario == "healthy"][
        asa_index
    ]
    xe = next(
        r
        for r in lab.plan.routers
        if r.platform == "cisco_iosxe" and r.scenario == "healthy" and r.name != hub.name
    )
    spokes = []
    for i, r in enumerate((asa, xe)):
        spokes.append(
            {
                "name": f"{name}-{r.name}",
                "device": r.name,
                "platform": r.platform,
                "outside_interface": r.wan_if,
                "outside_address": "127.0.251.78" if broken_last and i == 1 else r.address,
                "inside_networks": [f"10.{octet}.{i}.0/24"],
                "crypto_map": "outside_map" if r.platform == "cisco_asa" else "VPNMAP",
            }
        )
    spec = {
        "name": name,
        "topology": "hub_spoke",
        "psk": "generate",
        "key_store": "keys",
        "map_seq_start": seq,
        "map_seq_step": 1,
        "spoke_map_seq": seq,
        "esp": {"encryption": "aes256", "integrity": "sha256"},
        "hubs": [
            {
                "name": f"{name}-hub",
                "device": hub.name,
                "platform": hub.platform,
                "outside_interface": hub.wan_if,
                "outside_address": hub.address,
                "inside_networks": [f"10.{octet + 1}.0.0/16"],
            }
        ],
        "spokes": spokes,
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_asa_spoke_pushed_and_everything_rolled_back(
    prov: Any, mixed_lab: Lab, tmp_path: Path
) -> None:
    lab = mixed_lab
    ok = mixed_spec(lab, tmp_path / "a", "mx", 960, 230)
    run = prov(
        "-i",
        str(lab.inventory_path),
        "provision",
        "push",
        str(ok),
        "--yes",
        "--wait",
        "20",
        "--json",
        timeout=300,
    )
    assert run.code == 0, run
    asa_name = run.json["devices"][1]["device"]
    assert lab.plan.router(asa_name).platform == "cisco_asa"
    asa_cfg = lab.fleet.running_config(asa_name)
    assert "crypto map outside_map 960 set peer 127.0.1.1" in asa_cfg
    links = [
        lk
        for lk in lab.fleet.links
        if lk.intents.get("a") is not None
        and lk.intents.get("b") is not None
        and {lk.intents["a"].router, lk.intents["b"].router} == {"r01", asa_name}
        and 960 in (lk.intents["a"].seq, lk.intents["b"].seq)
    ]
    assert links and links[0].behaviour == "healthy" and links[0].sas
    # the same ASA and hub in a second network would need a second key in the ASA's one
    # tunnel group for the hub: refused before anything is sent
    twice = mixed_spec(lab, tmp_path / "c", "mxc", 980, 234)
    run = prov(
        "-i",
        str(lab.inventory_path),
        "provision",
        "push",
        str(twice),
        "--yes",
        "--json",
        timeout=300,
    )
    assert run.code == 2, run
    assert (
        f"{asa_name}: 'tunnel-group 127.0.1.1 ipsec-attributes' already holds another "
        "key" in run.err
    )
    assert "mxc" not in lab.fleet.running_config(asa_name)
    # a second network (another ASA) whose last spoke is wrong: every device it touched is
    # rolled back to exactly what it had
    bad = mixed_spec(lab, tmp_path / "b", "mxb", 970, 232, broken_last=True, asa_index=1)
    asa2 = lab.plan.router(yaml.safe_load(bad.read_text())["spokes"][0]["device"]).name
    names = ["r01", asa2, run_names(bad)[-1]]
    before = {n: lab.fleet.running_config(n) for n in names}
    run = prov(
        "-i",
        str(lab.inventory_path),
        "provision",
        "push",
        str(bad),
        "--yes",
        "--wait",
        "6",
        "--rollback",
        "all",
        "--json",
        timeout=300,
    )
    assert run.code == 1, run
    assert run.json["stopped_at"] == names[2]
    assert len(run.json["rollbacks"]) == 3 and all(r["ok"] for r in run.json["rollbacks"])
    assert {n: lab.fleet.running_config(n) for n in names} == before
    assert any(
        "clear configure tunnel-group" in c for r in run.json["rollbacks"] for c in r["commands"]
    )


def run_names(spec: Path) -> list[str]:
    data = yaml.safe_load(spec.read_text())
    return [data["hubs"][0]["device"]] + [s["device"] for s in data["spokes"]]
