"""``ipsecctl provision`` end to end: real console entry point, real SSH to lab routers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ipsecctl.lab import Lab
from tests.provision.conftest import PSK, lab_spec, write_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "inventory" / "examples" / "provision"


def inv(lab: Lab) -> list[str]:
    return ["-i", str(lab.inventory_path)]


def audit_lines(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "state" / "audit.jsonl"
    return [json.loads(ln) for ln in path.read_text().splitlines()] if path.exists() else []


def test_render_prints_both_ends_and_verdict(prov: Any, tmp_path: Path) -> None:
    run = prov("provision", "render", str(EXAMPLES / "ios-ikev2-map.yaml"))
    assert run.code == 0, run
    assert run.out.count("crypto map VPNMAP 10 ipsec-isakmp") == 2
    assert "pre-shared-key ${VPN_PSK}" in run.out
    assert "check ok (diag pair)" in run.err
    out = prov(
        "provision",
        "render",
        str(EXAMPLES / "iosxe-strongswan.yaml"),
        "--out",
        str(tmp_path / "cfg"),
        "--json",
    )
    assert out.code == 0, out
    doc = out.json
    assert doc["kind"] == "provision_render" and doc["ok"]
    assert [(c["name"], c["platform"]) for c in doc["configs"]] == [
        ("hub", "cisco_iosxe"),
        ("linux1", "strongswan"),
    ]
    assert [(p["a"], p["b"], p["verdict"]) for p in doc["pairs"]] == [("hub", "linux1", "ok")]
    assert sorted(p.name for p in (tmp_path / "cfg").iterdir()) == [
        "hub.cfg",
        "linux1.swanctl.conf",
    ]
    assert {oct(p.stat().st_mode & 0o777) for p in (tmp_path / "cfg").iterdir()} == {"0o600"}


def test_render_refuses_weak_crypto_with_exit_2(prov: Any, tmp_path: Path) -> None:
    spec = EXAMPLES / "ios-ikev1-map.yaml"
    weak = tmp_path / "weak.yaml"
    weak.write_text(spec.read_text().replace("modp2048}", "modp1024}"))
    run = prov("provision", "render", str(weak))
    assert run.code == 2, run
    assert "weak crypto refused" in run.err and "Traceback" not in run.err
    assert prov("provision", "render", str(weak), "--allow-weak").code == 0


def test_diff_against_live_running_config(prov: Any, lab: Lab, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "t.yaml", lab_spec(lab, "diff1", 900))
    run = prov(*inv(lab), "provision", "diff", str(spec), "--json")
    assert run.code == 0, run
    doc = run.json
    assert [e["changed"] for e in doc["ends"]] == [True, True]
    a = doc["ends"][0]
    assert "+crypto map VPNMAP 900 ipsec-isakmp" in a["diff"]
    # the live config already has the interface with the map applied: not a change
    assert " crypto map VPNMAP" not in a["added"]
    assert "+  pre-shared-key **********" in a["diff"]
    assert not [ln for ln in a["diff"] if ln.startswith("-") and not ln.startswith("---")]
    assert PSK not in run.out and "FLgBaJHXdYY" not in run.out  # keys masked both sides


def test_dry_run_sends_nothing(prov: Any, lab: Lab, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "t.yaml", lab_spec(lab, "dry1", 902))
    names = [r.name for r in lab.plan.routers[:2]]
    before = [list(map(list, lab.fleet.routers[n].config)) for n in names]
    run = prov(*inv(lab), "provision", "push", str(spec), "--dry-run", "--json")
    assert run.code == 0, run
    assert run.json["dry_run"] is True
    assert "configure terminal" in run.err and "crypto map VPNMAP 902 ipsec-isakmp" in run.err
    assert [lab.fleet.routers[n].config for n in names] == before
    assert {r["outcome"] for r in audit_lines(tmp_path)} == {"dry-run"}


def test_read_only_refuses_with_exit_4(prov: Any, lab: Lab, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "t.yaml", lab_spec(lab, "ro1", 903))
    run = prov(*inv(lab), "--read-only", "provision", "push", str(spec), "--yes")
    assert run.code == 4, run
    assert "read-only" in run.err
    assert all(
        "ro1" not in " ".join(b[0] for b in lab.fleet.routers[r.name].config)
        for r in lab.plan.routers[:2]
    )
    records = audit_lines(tmp_path)
    assert len(records) == 2 and {r["outcome"] for r in records} == {"refused"}
    run = prov(*inv(lab), "provision", "push", str(spec))  # no terminal, no --yes
    assert run.code == 4, run


def test_push_over_ssh_then_diff_is_clean(prov: Any, lab: Lab, tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "t.yaml", lab_spec(lab, "push1", 901))
    log = tmp_path / "debug.log"
    run = prov(
        *inv(lab),
        "--log-file",
        str(log),
        "-vv",
        "provision",
        "push",
        str(spec),
        "--yes",
        "--write-memory",
        "--wait",
        "30",
        "--json",
    )
    assert run.code == 0, run
    doc = run.json
    assert [e["pushed"] for e in doc["ends"]] == [True, True]
    # the lab negotiates from its configuration: the pushed tunnel itself comes up (found by
    # its own selectors, not the older lab tunnel to the same peer)
    assert [e["tunnel_state"] for e in doc["ends"]] == ["up", "up"]
    assert doc["tunnel_up"] is True
    a, b = lab.plan.routers[:2]
    headers = [blk[0] for blk in lab.fleet.routers[a.name].config]
    assert "crypto map VPNMAP 901 ipsec-isakmp" in headers
    assert "crypto ikev2 keyring KR-push1" in headers
    keyring = next(
        blk for blk in lab.fleet.routers[b.name].config if blk[0] == "crypto ikev2 keyring KR-push1"
    )
    assert f"  pre-shared-key {PSK}" in keyring  # the real key reached the device
    # nothing the operator or a script sees holds the key
    texts = [run.out, run.err, log.read_text(), (tmp_path / "state" / "audit.jsonl").read_text()]
    assert all(PSK not in t for t in texts)
    records = audit_lines(tmp_path)
    assert [r["outcome"] for r in records if r["outcome"] not in ("started", "sending")] == [
        "ok",
        "ok",
    ]
    # every line was recorded before it was sent, the key masked
    sent = [c for r in records if r["outcome"] == "sending" for c in r["commands"]]
    assert any("pre-shared-key" in c and PSK not in c for c in sent)
    # pushed configuration is what the diff now finds: no change left on either end
    again = prov(*inv(lab), "provision", "diff", str(spec), "--json")
    assert again.code == 0, again
    assert [e["changed"] for e in again.json["ends"]] == [False, False], again.json
