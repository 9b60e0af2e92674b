"""The one-shot commands end to end: real console script, real SSH, lab routers."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipsecctl.lab import Lab


def inv(lab: Lab) -> list[str]:
    return ["-i", str(lab.inventory_path)]


def router(lab: Lab, scenario: str) -> Any:
    return next(r for r in lab.routers if r.scenario == scenario)


def healthy_pair(lab: Lab) -> tuple[str, str]:
    """A healthy router and the address of a lab peer it has an up tunnel to."""
    by_addr = {r.address: r for r in lab.routers}
    for r in lab.routers:
        if r.scenario != "healthy":
            continue
        for peer in r.expected_up:
            other = by_addr.get(peer)
            if other is not None and other.scenario == "healthy":
                return r.name, peer
    raise AssertionError("the lab has no healthy pair")


def test_status_json_lists_every_router(cli: Any, lab: Lab) -> None:
    run = cli(*inv(lab), "status", "--json")
    doc = run.json
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "status"
    names = [d["device"] for d in doc["devices"]]
    assert names == [r.name for r in lab.routers]
    for d in doc["devices"]:
        assert d["reachable"] is True and d["errors"] == []
        assert d["tunnels_total"] > 0 and d["ike_total"] >= d["ike_up"]
    # broken scenarios have tunnels expected up that are not: "found a problem"
    assert run.code == 3, run.err


def test_healthy_router_exits_zero_and_global_option_after_subcommand(cli: Any, lab: Lab) -> None:
    name, _ = healthy_pair(lab)
    run = cli("status", name, "-o", "json", "-i", str(lab.inventory_path))
    assert run.code == 0, run.err
    (dev,) = run.json["devices"]
    assert dev["device"] == name and dev["tunnels_up"] >= 1


def test_views_say_when_they_left_device_logs_unread(cli: Any, lab: Lab) -> None:
    """The lab routers keep a log (flaps, PSK and replay errors are in it): a view that did
    not read it says so under its verdict; ``tunnels --faults``, which reads it, does not."""
    name, _ = healthy_pair(lab)
    for view in ("status", "tunnels", "ike", "show"):
        run = cli(*inv(lab), view, name)
        (last,) = [line for line in run.err.splitlines() if line.startswith("exit ")]
        assert last.startswith(f"exit {run.code}: ") and last.endswith(
            "(device logs not read: `tunnels --faults` reads them too)"
        ), (view, run.err)
    faults = cli(*inv(lab), "tunnels", name, "--faults")
    (last,) = [line for line in faults.err.splitlines() if line.startswith("exit ")]
    assert last.startswith(f"exit {faults.code}: ") and "logs not read" not in last, faults.err


def test_tunnels_json_matches_the_lab_state(cli: Any, lab: Lab) -> None:
    name, peer = healthy_pair(lab)
    run = cli(*inv(lab), "tunnels", name, "--json")
    assert run.code == 0, run.err
    tunnels = run.json["tunnels"]
    t = next(t for t in tunnels if t["peer"] == peer)
    assert t["state"] == "up" and t["ike_state"] == "QM_IDLE" and t["expected_up"] is True
    spis_in = [sa["spi"] for sa in t["sas"] if sa["direction"] == "in"]
    spis_out = [sa["spi"] for sa in t["sas"] if sa["direction"] == "out"]
    assert spis_in and spis_out and all(isinstance(s, int) for s in spis_in + spis_out)
    # the other end: its inbound SPI is our outbound one, selectors mirrored
    other = next(r.name for r in lab.routers if r.address == peer)
    far = cli(*inv(lab), "tunnels", other, "--json").json["tunnels"]
    mine = next(r.address for r in lab.routers if r.name == name)
    back = next(x for x in far if x["peer"] == mine and x["remote_ts"] == t["local_ts"])
    assert back["local_ts"] == t["remote_ts"]
    assert set(spis_out) & {sa["spi"] for sa in back["sas"] if sa["direction"] == "in"}


def test_tunnels_csv_and_table(cli: Any, lab: Lab) -> None:
    name, peer = healthy_pair(lab)
    csv_run = cli(*inv(lab), "tunnels", name, "-o", "csv")
    header, *rows = csv_run.out.strip().splitlines()
    assert header.startswith("device,peer,vrf,local_ts,remote_ts,ike_state,state")
    assert any(row.startswith(f"{name},{peer},") for row in rows)
    table = cli(*inv(lab), "tunnels", name)
    assert peer in table.out and "QM_IDLE" in table.out


def test_scenarios_are_visible(cli: Any, lab: Lab) -> None:
    mm = router(lab, "ike_no_response")
    psk = router(lab, "psk_mismatch")
    p2 = router(lab, "p2_mismatch")
    doc = cli(*inv(lab), "ike", mm.name, psk.name, "--json").json
    states = {(sa["device"], sa["state"]) for sa in doc["ike_sas"]}
    assert (mm.name, "MM_NO_STATE") in states and (psk.name, "MM_KEY_EXCH") in states
    stuck = [sa for sa in doc["ike_sas"] if sa["state"] in ("MM_NO_STATE", "MM_KEY_EXCH")]
    assert all(sa["status"] == "negotiating" for sa in stuck)
    tunnels = cli(*inv(lab), "tunnels", p2.name, "--json").json["tunnels"]
    broken = [t for t in tunnels if t["ike_state"] == "QM_IDLE" and not t["sas"]]
    assert broken and all(t["state"] == "down" for t in broken)


def test_show_one_tunnel(cli: Any, lab: Lab) -> None:
    name, peer = healthy_pair(lab)
    run = cli(*inv(lab), "show", name, "--peer", peer, "--json")
    assert run.code == 0, run.err
    (dev,) = run.json["devices"]
    assert {t["peer"] for t in dev["tunnels"]} == {peer}
    human = cli(*inv(lab), "show", name, "--peer", peer)
    assert "0x" in human.out and peer in human.out


def test_rekey_replaces_spis_on_both_ends(cli: Any, lab: Lab, state_dir: Path) -> None:
    name, peer = healthy_pair(lab)
    run = cli(*inv(lab), "rekey", name, "--peer", peer, "--yes", "--json")
    assert run.code == 0, run.err
    doc = run.json
    assert doc["kind"] == "rekey" and doc["ok"] is True
    assert doc["commands"][0] == f"clear crypto session remote {peer}"
    assert any(c.startswith("ping ") for c in doc["commands"])
    assert doc["old_spis"] and doc["new_spis"]
    assert not set(doc["old_spis"]) & set(doc["new_spis"])
    # the far end carries the new SPIs too (mirrored)
    other = next(r.name for r in lab.routers if r.address == peer)
    far = cli(*inv(lab), "tunnels", other, "--json").json["tunnels"]
    far_spis = {sa["spi"] for t in far for sa in t["sas"]}
    assert set(doc["new_spis"]) <= far_spis
    audit = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["action"] == "rekey" and audit[-1]["outcome"] == "ok"
    assert (state_dir / "audit.jsonl").stat().st_mode & 0o777 == 0o600
    text = (state_dir / "audit.jsonl").read_text()
    assert lab.creds.password not in text and lab.creds.enable_secret not in text


def test_clear_ipsec_removes_the_sas(cli: Any, lab: Lab) -> None:
    name, peer = healthy_pair(lab)
    before = cli(*inv(lab), "tunnels", name, "--json").json["tunnels"]
    old = {sa["spi"] for t in before if t["peer"] == peer for sa in t["sas"]}
    run = cli(*inv(lab), "clear", name, "--peer", peer, "--ipsec", "--yes", "--json")
    assert run.code == 0, run.err
    doc = run.json
    assert doc["ok"] is True and doc["commands"] == [f"clear crypto sa peer {peer}"]
    assert set(doc["old_spis"]) == old
    after = cli(*inv(lab), "tunnels", name, "--json").json["tunnels"]
    assert not old & {sa["spi"] for t in after for sa in t["sas"]}


def test_dry_run_sends_nothing(cli: Any, lab: Lab) -> None:
    name, peer = healthy_pair(lab)

    def spis() -> set[int]:
        tunnels = cli(*inv(lab), "tunnels", name, "--json").json["tunnels"]
        return {sa["spi"] for t in tunnels if t["peer"] == peer for sa in t["sas"]}

    # the clear test before this one leaves the pair without SAs until the lab brings them
    # back (20-40 lab seconds, about 2 s here): a dry run must be seen leaving SAs alone
    end = time.monotonic() + 30
    while not (before := spis()) and time.monotonic() < end:
        time.sleep(0.25)
    assert before, f"{name} -> {peer}: no SAs came back after the earlier clear"
    run = cli(*inv(lab), "clear", name, "--peer", peer, "--dry-run", "--json")
    assert run.code == 0, run.err
    assert run.json["dry_run"] is True and run.json["ok"] is True  # planned, nothing sent
    assert f"{name}# clear crypto session remote {peer}" in run.err
    # a clear would have removed every old SPI at once
    assert before & spis()


def test_refusals_exit_4_and_are_audited(cli: Any, lab: Lab, state_dir: Path) -> None:
    name, peer = healthy_pair(lab)
    no_tty = cli(*inv(lab), "clear", name, "--peer", peer)
    assert no_tty.code == 4 and "--yes" in no_tty.err
    read_only = cli(*inv(lab), "--read-only", "clear", name, "--peer", peer, "--yes")
    assert read_only.code == 4 and "read-only" in read_only.err
    env_ro = cli(
        *inv(lab), "rekey", name, "--peer", peer, "--yes", env={"IPSECCTL_READ_ONLY": "yes"}
    )
    assert env_ro.code == 4
    outcomes = [
        json.loads(x)["outcome"] for x in (state_dir / "audit.jsonl").read_text().splitlines()
    ]
    assert outcomes == ["refused", "refused", "refused"]


def test_usage_errors_exit_2(cli: Any, lab: Lab, tmp_path: Path) -> None:
    name, _ = healthy_pair(lab)
    assert cli(*inv(lab), "clear", name, "--peer", "not-an-ip", "--yes").code == 2
    assert cli(*inv(lab), "clear", name, "--peer", "10.99.99.99", "--yes").code == 2
    assert cli(*inv(lab), "status", "no-such-router").code == 2
    assert cli(*inv(lab), "tunnels", "-o", "xml").code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("hosts:\n  r1:\n    hostname: 127.0.0.1\n    port: seventy\n")
    run = cli("-i", str(bad), "status")
    assert run.code == 2 and "bad.yaml:4" in run.err and "port" in run.err
    assert "Traceback" not in run.err


def _inventory_with(lab: Lab, tmp_path: Path, extra_hosts: dict[str, Any]) -> Path:
    """A copy of the lab inventory plus some hosts (single-file form)."""
    src = Path(lab.inventory_path)
    doc = {
        "hosts": yaml.safe_load((src / "hosts.yaml").read_text()),
        "groups": yaml.safe_load((src / "groups.yaml").read_text()) or {},
        "defaults": yaml.safe_load((src / "defaults.yaml").read_text()) or {},
    }
    doc["hosts"].update(extra_hosts)
    known = doc["defaults"].get("data", {}).get("known_hosts")
    if isinstance(known, str) and not Path(known).is_absolute():
        doc["defaults"]["data"]["known_hosts"] = str(src / known)
    out = tmp_path / "fleet.yaml"
    out.write_text(yaml.safe_dump(doc))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_device_does_not_hide_the_others(cli: Any, lab: Lab, tmp_path: Path) -> None:
    name, _ = healthy_pair(lab)
    path = _inventory_with(
        lab,
        tmp_path,
        {
            "dead": {
                "hostname": "127.0.0.1",
                "port": _free_port(),
                "platform": "cisco_ios",
                "groups": ["lab"],
            },
        },
    )
    run = cli("-i", str(path), "status", name, "dead", "--json")
    assert run.code == 1
    devices = {d["device"]: d for d in run.json["devices"]}
    assert devices[name]["reachable"] is True and devices[name]["tunnels_up"] >= 1
    assert devices["dead"]["reachable"] is False
    assert devices["dead"]["errors"][0]["kind"] == "unreachable"


def test_unknown_host_key_is_rejected_then_accepted_new(cli: Any, lab: Lab, tmp_path: Path) -> None:
    name, _ = healthy_pair(lab)
    r = next(x for x in lab.routers if x.name == name)
    path = _inventory_with(lab, tmp_path, {})
    doc = yaml.safe_load(path.read_text())
    doc["defaults"].setdefault("data", {})["known_hosts"] = []
    doc["hosts"] = {"fresh": {**doc["hosts"][name], "hostname": r.address, "port": r.port}}
    path.write_text(yaml.safe_dump(doc))
    rejected = cli("-i", str(path), "status", "--json")
    assert rejected.code == 1
    err = rejected.json["devices"][0]["errors"][0]
    assert err["kind"] == "host_key" and "SHA256:" in err["message"]
    accepted = cli("-i", str(path), "--host-key-policy", "accept-new", "status", "--json")
    assert accepted.json["devices"][0]["reachable"] is True, accepted.out
    again = cli("-i", str(path), "status", "--json")  # recorded: reject now passes
    assert again.json["devices"][0]["reachable"] is True


def test_changed_host_key_always_fails(cli: Any, lab: Lab, tmp_path: Path) -> None:
    name, _ = healthy_pair(lab)
    r = next(x for x in lab.routers if x.name == name)
    other = next(x for x in lab.routers if x.name != name)
    lines = Path(lab.known_hosts).read_text().splitlines()
    their_key = next(ln for ln in lines if ln.startswith(f"[{other.address}]:{other.port} "))
    forged = tmp_path / "known_hosts"
    forged.write_text(f"[{r.address}]:{r.port} " + their_key.split(" ", 1)[1] + "\n")
    path = _inventory_with(lab, tmp_path, {})
    doc = yaml.safe_load(path.read_text())
    doc["defaults"].setdefault("data", {})["known_hosts"] = [str(forged)]
    doc["hosts"] = {name: doc["hosts"][name]}
    path.write_text(yaml.safe_dump(doc))
    for policy in ("reject", "accept-new"):
        run = cli("-i", str(path), "--host-key-policy", policy, "status", "--json")
        assert run.code == 1
        err = run.json["devices"][0]["errors"][0]
        assert err["kind"] == "host_key" and "changed" in err["message"].lower()


def test_wrong_password_is_an_auth_error(cli: Any, lab: Lab, tmp_path: Path) -> None:
    name, _ = healthy_pair(lab)
    path = _inventory_with(lab, tmp_path, {})
    run = cli(
        "-i", str(path), "status", name, "--json", env={"IPSECCTL_PASSWORD": "wrong-password"}
    )
    assert run.code == 1
    err = run.json["devices"][0]["errors"][0]
    assert err["kind"] == "auth" and "wrong-password" not in run.out + run.err


def test_save_raw_then_replay_offline(cli: Any, lab: Lab, tmp_path: Path) -> None:
    name, _ = healthy_pair(lab)
    raw = tmp_path / "raw"
    live = cli(*inv(lab), "--save-raw", str(raw), "show", name, "--json")
    assert live.code == 0, live.err
    assert (raw / name / "meta.json").exists()
    assert (raw / name / "show_crypto_ipsec_sa.txt").read_text().strip()
    offline = cli("--replay", str(raw), "show", name, "--json")
    assert offline.code == 0, offline.err
    strip = lambda d: [(t["id"], t["sas"]) for t in d["devices"][0]["tunnels"]]  # noqa: E731
    assert strip(offline.json) == strip(live.json)
    # where each poll came from: the inventory's host and port, nothing for saved outputs
    r = next(r for r in lab.routers if r.name == name)
    assert live.json["devices"][0]["endpoint"] == f"{r.address}:{r.port}"
    assert offline.json["devices"][0]["endpoint"] is None


def test_parse_offline_and_garbage(cli: Any, tmp_path: Path) -> None:
    sample = Path(__file__).parents[1] / "fixtures" / "cisco" / "iosxe"
    text = next(sample.glob("show_crypto_ipsec_sa/*.txt"))
    run = cli("parse", str(text), "-p", "cisco_iosxe", "-c", "show crypto ipsec sa", "--json")
    assert run.code == 0, run.err
    assert run.json["kind"] == "parse" and run.json["tunnels"]
    assert all(isinstance(sa["spi"], int) for t in run.json["tunnels"] for sa in t["sas"])
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("this is not\nrouter output at all\n")
    bad = cli("parse", str(garbage), "-p", "cisco_ios", "-c", "show crypto ipsec sa")
    assert bad.code == 1 and "this is not" in bad.err and "Traceback" not in bad.err
    missing = cli(
        "parse", str(tmp_path / "nope.txt"), "-p", "cisco_ios", "-c", "show crypto ipsec sa"
    )
    assert missing.code == 2


def test_info_and_inventory_commands(cli: Any, lab: Lab) -> None:
    info = cli(*inv(lab), "info", "--json")
    assert info.code == 0
    data = info.json["info"]
    assert data["inventory"] == str(lab.inventory_path) and data["read_only"] is False
    listing = cli(*inv(lab), "inventory", "list", "--json")
    hosts = listing.json["hosts"]
    assert len(hosts) == len(lab.routers)
    assert lab.creds.password not in listing.out
    check = cli(*inv(lab), "inventory", "check")
    assert check.code == 0


@pytest.mark.parametrize("args", [["--help"], ["status", "--help"], ["rekey", "--help"]])
def test_help_documents_exit_codes(cli: Any, args: list[str]) -> None:
    run = cli(*args)
    assert run.code == 0
    if args == ["--help"]:
        assert "Exit codes" in run.out


def test_rekey_ipv6_vti_peer(cli: Any, lab: Lab) -> None:
    """An IKEv2 VTI to an IPv6 peer: no bring-up ping (any/any), new SPIs all the same."""
    doc = cli(*inv(lab), "tunnels", "--json").json
    v6 = next(t for t in doc["tunnels"] if ":" in (t["peer"] or "") and t["state"] == "up")
    run = cli(*inv(lab), "rekey", v6["device"], "--peer", v6["peer"], "--yes", "--json")
    assert run.code == 0, run.err + run.out
    result = run.json
    assert result["ok"] is True and result["new_spis"]
    assert not set(result["old_spis"]) & set(result["new_spis"])
    assert not any(c.startswith("ping") for c in result["commands"])


def test_unknown_option_is_a_usage_error_without_traceback(cli: Any) -> None:
    run = cli("status", "--bogus")
    assert run.code == 2 and "--bogus" in run.err and "Traceback" not in run.err


def test_audit_config_file_is_not_taken_for_the_settings_file(cli: Any, tmp_path: Path) -> None:
    """`audit --config FILE` is a device configuration; the global --config stays in front."""
    cfg = tmp_path / "r1.cfg"
    cfg.write_text(
        "crypto isakmp policy 10\n encr 3des\n hash md5\n authentication pre-share\n group 2\n"
        "crypto isakmp key s3cr3t-psk address 0.0.0.0 0.0.0.0\n"
    )
    run = cli("audit", "--config", str(cfg), "--json")
    assert run.code == 3, run.err
    codes = {f["code"] for f in run.json["findings"]}
    assert codes and "s3cr3t-psk" not in run.out + run.err


def test_parse_rejects_unsupported_commands_and_keeps_sessions(cli: Any) -> None:
    sample = Path(__file__).parents[1] / "fixtures" / "cisco" / "iosxe"
    text = next(sample.glob("show_crypto_session_detail/*.txt"))
    unsupported = cli("parse", str(text), "-p", "cisco_ios", "-c", "show version")
    assert unsupported.code == 2 and "no parser" in unsupported.err
    run = cli("parse", str(text), "-p", "cisco_iosxe", "-c", "show crypto session detail", "--json")
    assert run.code == 0, run.err
    assert run.json["sessions"] and run.json["sessions"][0]["peer"]


def test_bad_action_input_exits_2_with_a_json_document(cli: Any, lab: Lab) -> None:
    name, peer = healthy_pair(lab)
    run = cli(
        *inv(lab), "rekey", name, "--peer", peer, "--source", "10.1.0.1 bogus", "--yes", "--json"
    )
    assert run.code == 2
    assert run.json["ok"] is False and run.json["error"]["exit_code"] == 2
    unknown = cli(*inv(lab), "show", name, "--peer", "10.99.99.99")
    assert unknown.code == 2 and "known peers" in unknown.err
    refused = cli(*inv(lab), "--read-only", "clear", name, "--peer", peer, "--yes", "--json")
    assert refused.code == 4 and refused.json["error"]["kind"] == "RefusedError"


def test_cli_username_overrides_the_inventory(cli: Any, lab: Lab) -> None:
    name, _ = healthy_pair(lab)
    run = cli(*inv(lab), "-u", "nobody", "status", name, "--json")
    assert run.code == 1 and run.json["devices"][0]["errors"][0]["kind"] == "auth"


def test_csv_speaks_like_json(cli: Any, lab: Lab) -> None:
    name, _ = healthy_pair(lab)
    run = cli(*inv(lab), "tunnels", name, "-o", "csv")
    header, first, *_ = run.out.strip().splitlines()
    row = dict(zip(header.split(","), first.split(","), strict=True))
    assert row["expected_up"] in ("true", "false")
    assert all(part.isdigit() for part in row["spi_in"].split())
