"""``diag capture`` on lab routers over real SSH: the SPIs against ``ipsecctl show --json``
of the same tunnel, the scenarios as they look on the wire, cleanup, refusal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ipsecctl.lab import Lab
from ipsecctl.lab.capture_cli import points
from ipsecctl.lab.cli_session import session_for
from tests.helpers import CliRun

Cli = Callable[..., CliRun]


def inv(lab: Lab) -> list[str]:
    return ["-i", str(lab.inventory_path)]


def peer_of(lab: Lab, behaviour: str, platform: str | None = None) -> tuple[str, str]:
    """A device playing ``behaviour`` and the peer address of that link (lab setup only)."""
    for r in lab.routers:
        if platform is not None and r.platform != platform:
            continue
        for link, side in lab.fleet.ends_of(r.name):
            if link.behaviour == behaviour and (behaviour != "healthy" or link.sas):
                return r.name, link.spec.b_addr if side == "a" else link.spec.a_addr
    raise AssertionError(f"no {behaviour} link on {platform or 'any platform'}")


def shown_spis(cli: Cli, lab: Lab, device: str, peer: str) -> dict[str, set[int]]:
    run = cli(*inv(lab), "show", device, "--json")
    assert run.code in (0, 3), run
    (dev,) = run.json["devices"]
    out: dict[str, set[int]] = {"in": set(), "out": set()}
    for t in dev["tunnels"]:
        if t["peer"] == peer:
            for sa in t["sas"]:
                if sa["protocol"] == "esp":
                    out[sa["direction"]].add(sa["spi"])
    return out


def capture(cli: Cli, lab: Lab, device: str, peer: str, *extra: str) -> tuple[CliRun, Any]:
    run = cli(*inv(lab), "diag", "capture", device, "--peer", peer, "--yes", "--json", *extra)
    return run, run.json


def captured_and_shown(
    cli: Cli, lab: Lab, device: str, peer: str, *extra: str
) -> tuple[CliRun, Any, dict[str, set[int]]]:
    """The capture, and the SPIs the device shows for the tunnel just before and just after
    it: the lab's SAs rekey on their own timetable, and one may fall due during a capture."""
    before = shown_spis(cli, lab, device, peer)
    run, doc = capture(cli, lab, device, peer, *extra)
    return run, doc, either(before, shown_spis(cli, lab, device, peer))


def either(before: dict[str, set[int]], after: dict[str, set[int]]) -> dict[str, set[int]]:
    """The SPIs shown at either moment, per direction."""
    return {d: before[d] | after[d] for d in ("in", "out")}


def device_points(lab: Lab, device: str) -> str:
    """What the device itself lists as capture points (its own show command)."""
    cli = session_for(lab.fleet, device, "unused")
    cli.priv = 15
    platform = lab.fleet.routers[device].spec.platform
    command = {"cisco_iosxe": "show monitor capture", "cisco_asa": "show capture",
               "cisco_ios": "show monitor capture buffer all parameters"}[platform]  # fmt: skip
    return cli.run(command)


def test_healthy_iosxe_capture_matches_the_tunnel(cli: Cli, lab: Lab) -> None:
    device, peer = peer_of(lab, "healthy", "cisco_iosxe")
    run, doc, shown = captured_and_shown(cli, lab, device, peer, "--seconds", "3")
    assert run.code == 0, run
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "capture" and doc["ok"] is True
    assert doc["device"] == device and doc["peer"] == peer and doc["packets"] > 0
    seen = {d: {e["spi"] for e in doc["esp"] if e["direction"] == d} for d in ("in", "out")}
    # both directions, and exactly the SPIs the device shows for this tunnel
    assert seen["in"] and seen["out"]
    assert seen["in"] <= shown["in"] and seen["out"] <= shown["out"], (seen, shown)
    for e in doc["esp"]:
        assert e["known"] == "current" and e["gaps"] == 0 and e["duplicates"] == 0
        assert e["last_seq"] - e["first_seq"] + 1 == e["packets"]
    assert doc["findings"] == []
    # every command sent, the capture point removed at the end, none left on the device
    assert any(c.startswith("monitor capture ICTL") and c.endswith(" start")
               for c in doc["commands"])  # fmt: skip
    assert doc["commands"][-1].startswith("no monitor capture ICTL")
    assert "Status Information for Capture" not in device_points(lab, device)


def test_healthy_asa_capture_matches_the_tunnel(cli: Cli, lab: Lab) -> None:
    device, peer = peer_of(lab, "healthy", "cisco_asa")
    run, doc, shown = captured_and_shown(cli, lab, device, peer, "--seconds", "2")
    assert run.code == 0, run
    seen = {d: {e["spi"] for e in doc["esp"] if e["direction"] == d} for d in ("in", "out")}
    assert seen["in"] and seen["out"]
    assert seen["in"] <= shown["in"] and seen["out"] <= shown["out"], (seen, shown)
    assert doc["commands"][0].startswith("capture ICTL") and "match ip host" in doc["commands"][0]
    assert doc["commands"][-1].startswith("no capture ICTL")
    assert device_points(lab, device).strip() == ""
    # the ASA's dump carries times: a rate per SPI
    assert all(e["rate_pps"] for e in doc["esp"])


def test_one_way_tunnel_shows_one_direction(cli: Cli, lab: Lab) -> None:
    device, peer = peer_of(lab, "one_way")
    run, doc, shown = captured_and_shown(cli, lab, device, peer, "--seconds", "3")
    assert run.code == 3, run  # the command worked and found a problem
    assert {e["direction"] for e in doc["esp"]} == {"out"}
    assert {e["spi"] for e in doc["esp"]} <= shown["out"]
    codes = {f["code"]: f["severity"] for f in doc["findings"]}
    assert "ONE_WAY_TRAFFIC" in codes
    # diag health says the same with the same code and severity
    health = cli(*inv(lab), "diag", "health", device, "--json").json
    health_codes = {f["code"]: f["severity"] for f in health["findings"] if f["peer"] == peer}
    assert health_codes.get("ONE_WAY_TRAFFIC") == codes["ONE_WAY_TRAFFIC"], health_codes


def test_replay_scenario_duplicates_late_packets_and_unknown_spi(cli: Cli, lab: Lab) -> None:
    device, peer = peer_of(lab, "replay_spi_errors")
    # 80 s of the device's (simulated) time: the capture stops itself when it is over. The
    # lab replays one inbound packet in 33 once an SA has carried 72 (2.5 packets/s on this
    # link), and its SAs re-key on their own timetable: 80 s hold a replayed packet of the SA
    # before or of the SA after a re-key wherever in the capture it falls (40 s did not)
    run, doc, shown = captured_and_shown(cli, lab, device, peer, "--seconds", "80")
    assert run.code == 3, run
    inbound = [e for e in doc["esp"] if e["direction"] == "in"]
    current = [e for e in inbound if e["known"] == "current"]
    unknown = [e for e in inbound if e["known"] == "unknown"]
    own = [e for e in inbound if e["known"] == "current" or e["replaced_during_capture"]]
    assert current and {e["spi"] for e in current} <= shown["in"]
    seen = [
        {k: e[k] for k in ("spi", "known", "packets", "first_seq", "duplicates", "outside_window")}
        for e in own
    ]
    assert sum(e["duplicates"] + e["outside_window"] for e in own) >= 1, seen
    assert unknown and not {e["spi"] for e in unknown} & (shown["in"] | shown["out"])
    codes = {f["code"]: f["severity"] for f in doc["findings"]}
    assert {"REPLAY_FAILURES", "INVALID_SPI"} <= set(codes)
    health = cli(*inv(lab), "diag", "health", device, "--json").json
    for f in health["findings"]:
        if f["peer"] == peer and f["code"] in codes:
            assert f["severity"] == codes[f["code"]], (f["code"], f["severity"])


def test_ike_no_response_shows_retransmissions_without_answer(cli: Cli, lab: Lab) -> None:
    device, peer = peer_of(lab, "ike_no_response")
    run, doc = capture(cli, lab, device, peer, "--seconds", "40")
    assert run.code == 3, run
    assert doc["esp"] == [] and len(doc["ike"]) >= 2
    assert all(m["src"] != peer for m in doc["ike"])  # nothing ever comes back
    assert any(m["retransmission"] for m in doc["ike"])
    assert {m["exchange"] for m in doc["ike"]} <= {"MAIN_MODE", "IKE_SA_INIT"}
    assert "IKE_NO_RESPONSE" in {f["code"] for f in doc["findings"]}


def test_read_only_refuses_and_touches_nothing(cli: Cli, lab: Lab) -> None:
    device, peer = peer_of(lab, "healthy", "cisco_iosxe")
    run = cli(*inv(lab), "--read-only", "diag", "capture", device, "--peer", peer, "--yes",
              "--json")  # fmt: skip
    assert run.code == 4, run
    assert "read-only" in run.err
    assert run.json["ok"] is False and run.json["commands"] == []
    assert "Status Information for Capture" not in device_points(lab, device)


def test_dry_run_prints_every_command_and_sends_nothing(cli: Cli, lab: Lab) -> None:
    device, peer = peer_of(lab, "healthy", "cisco_iosxe")
    run = cli(*inv(lab), "diag", "capture", device, "--peer", peer, "--dry-run")
    assert run.code == 0, run
    for word in ("interface", "match ipv4 host", "limit duration", "start", "stop",
                 "buffer dump", "no monitor capture"):  # fmt: skip
        assert word in run.err, word
    assert points(lab.fleet, device) == {}


def test_unknown_peer_and_missing_feature_are_named(cli: Cli, lab: Lab, tmp_path: Any) -> None:
    device, _peer = peer_of(lab, "healthy", "cisco_iosxe")
    run = cli(*inv(lab), "diag", "capture", device, "--peer", "127.0.9.9", "--yes")
    assert run.code == 2 and "no tunnel or IKE SA to peer 127.0.9.9" in run.err, run
    # an IOS-XE router driven with classic IOS commands: the refused command is named
    import shutil

    import yaml

    wrong = tmp_path / "inventory"
    shutil.copytree(lab.inventory_path, wrong)
    hosts = yaml.safe_load((wrong / "hosts.yaml").read_text())
    hosts[device].update(platform="cisco_ios", groups=["lab"])
    (wrong / "hosts.yaml").write_text(yaml.safe_dump(hosts))
    _dev, peer = peer_of(lab, "healthy", "cisco_iosxe")
    run = cli("-i", str(wrong), "diag", "capture", device, "--peer", peer, "--yes")
    assert run.code == 1, run
    assert "monitor capture buffer" in run.err and "privilege" in run.err
    assert points(lab.fleet, device) == {}
