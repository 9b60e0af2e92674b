"""Every finding's next steps, rendered for every platform, are commands that platform accepts.

The reference is each platform's command grammar (ipsecctl/platforms/grammar/<p>.yaml, written
from the vendors' command references); steps that run ipsecctl itself are parsed by ipsecctl's
own command-line parser. A strongSwan device is never told to type a Cisco command, nor the
reverse, and a step whose value the finding does not have is left out rather than printed
with a hole in it.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import typer.main

from ipsecctl.assemble import assemble
from ipsecctl.cli.app import app
from ipsecctl.diag import steps as S
from ipsecctl.diag.health import evaluate
from ipsecctl.diag.health.codes import finding_codes, step_keys
from ipsecctl.platforms import get_platform, names
from tests.diag import grammar as G

PLATFORMS = ["cisco_asa", "cisco_ios", "cisco_iosxe", "libreswan", "strongswan"]
FAMILY = {
    "cisco_ios": "cisco",
    "cisco_iosxe": "cisco",
    "cisco_asa": "cisco",
    "strongswan": "linux",
    "libreswan": "linux",
}
# The IKE daemon's own front end: the one part of a Linux gateway's commands that differs.
DAEMON_TOOL = {"strongswan": "swanctl", "libreswan": "ipsec"}

# Realistic values for every placeholder, as a poll of each platform would give them.
BASE: dict[str, Any] = {
    "device": "edge-1",
    "peer": "10.20.0.2",
    "local": "10.20.0.1",
    "peer_af": "ipv4",
    "vrf": "CUST_A",
    "fvrf": "INET",
    "conn_id": 1001,
    "ike_id": 7,
    "child_id": 12,
    "conn": "site-b",
    "child": "net-b",
    "crypto_map": "VPNMAP",
    "ts_local": "10.1.0.1",
    "ts_remote": "10.2.0.1",
    "ts_af": "ipv4",
    "peer_device": "edge-2",
}
INTERFACE = {"cisco_asa": "outside", "strongswan": "eth0", "libreswan": "eth0"}
V6 = {
    "peer": "2001:db8:20::2",
    "local": "2001:db8:20::1",
    "peer_af": "ipv6",
    "ts_local": "2001:db8:1::1",
    "ts_remote": "2001:db8:2::1",
    "ts_af": "ipv6",
}


def contexts(platform: str) -> list[dict[str, Any]]:
    base = {**BASE, "interface": INTERFACE.get(platform, "GigabitEthernet0/0/0")}
    return [{**base, **extra, "ike_version": v} for v in (1, 2) for extra in ({}, V6)]


_ROOT = typer.main.get_command(app)


def ipsecctl_parses(line: str) -> bool:
    """Whether ipsecctl's own parser accepts the line (options, arguments, subcommands)."""
    args = shlex.split(line)
    if args[:1] != ["ipsecctl"]:
        return False
    cmd: Any = _ROOT
    name, rest, parent = "ipsecctl", args[1:], None
    try:
        while True:
            ctx = cmd.make_context(name, list(rest), parent=parent, resilient_parsing=False)
            if not hasattr(cmd, "commands"):
                return True
            remaining = [*getattr(ctx, "_protected_args", []), *ctx.args]
            if not remaining:
                return False
            name, cmd, rest = cmd.resolve_command(ctx, remaining)
            parent = ctx
    except Exception:
        return False


def accepted(step: S.Step) -> bool:
    if step.mode == "ipsecctl":
        return ipsecctl_parses(step.command)
    return G.load(step.platform).accepts(step.command, step.mode)


def all_keys() -> list[str]:
    return sorted({k for code in finding_codes() for k in step_keys(code)})


def test_every_platform_has_a_grammar_and_a_step_table() -> None:
    assert sorted(G.platforms()) == PLATFORMS
    assert S.platforms() == PLATFORMS


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_finding_renders_grammatical_steps(platform: str) -> None:
    """All codes in one test per platform (so ``-k`` filters on words such as "ike" keep it)."""
    problems: list[str] = []
    for code in sorted(finding_codes()):
        for ctx in contexts(platform):
            steps = S.render(platform, step_keys(code), ctx)
            if not [s for s in steps if s.mode != "ipsecctl"]:
                problems.append(f"{code}: no steps")
            for s in steps:
                if not accepted(s) or any(c in s.command for c in "{}["):
                    problems.append(f"{code}: {s.mode}: {s.command}")
    assert len(finding_codes()) >= 30
    assert not problems, "\n".join(dict.fromkeys(problems))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_far_end_steps_are_grammatical(platform: str) -> None:
    """`<key>@peer` steps run on the far end, rendered from its side with its own names."""
    table = S.table(platform)
    peer_keys = [k for k in table if k.endswith("@peer")]
    assert peer_keys
    for key in peer_keys:
        for ctx in contexts(platform):
            steps = S.render(platform, [key], ctx, device="edge-2")
            assert steps, (platform, key)
            for s in steps:
                assert s.device == "edge-2" and "(on edge-2" in s.text()
                assert accepted(s), f"{platform} {key}: {s.command}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_no_platform_gets_another_familys_commands(platform: str) -> None:
    family = FAMILY[platform]
    others = [p for p in PLATFORMS if FAMILY[p] != family]
    for key in all_keys():
        for ctx in contexts(platform):
            for s in S.render(platform, [key], ctx):
                if s.mode == "ipsecctl":
                    continue
                wrong = [p for p in others if G.load(p).accepts(s.command, s.mode)]
                assert not wrong, f"{platform} {key}: {s.command!r} is a {wrong} command"
                tool = s.command.split()[0]
                for other, other_tool in DAEMON_TOOL.items():
                    if other != platform:
                        assert tool != other_tool, f"{platform} {key}: {s.command!r}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_step_tables_name_only_known_keys(platform: str) -> None:
    """A typo in a table key would silently give no steps: every key must be one a rule uses."""
    known = set(all_keys())
    for key in S.table(platform):
        assert key.removesuffix("@peer") in known, f"{platform}: unknown key {key}"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_missing_values_drop_steps_not_leave_holes(platform: str) -> None:
    """With only the peer known, no command carries a placeholder or an empty argument."""
    for key in all_keys():
        bare = S.render(platform, [key], {"peer": "10.20.0.2", "device": "edge-1"})
        for s in bare:
            assert "{" not in s.command and "  " not in s.command, s
            assert accepted(s), f"{platform} {key}: {s.command}"


def test_optional_fragment_and_placeholder_rules() -> None:
    t = "clear crypto sa peer[ vrf {fvrf}] {peer}"
    assert S.fill(t, {"peer": "10.0.0.2", "fvrf": "INET"}) == (
        "clear crypto sa peer vrf INET 10.0.0.2"
    )
    assert S.fill(t, {"peer": "10.0.0.2"}) == "clear crypto sa peer 10.0.0.2"
    assert S.fill(t, {"fvrf": "INET"}) is None  # no peer: no command at all
    assert S.fill("ping {peer}", {"peer": ""}) is None


def test_unknown_platform_gets_no_steps() -> None:
    assert S.render("juniper_srx", ["ONE_WAY_TRAFFIC"], BASE) == []


# ----------------------------------------------------------------------------- real outputs
STRONGSWAN = Path(__file__).parent.parent / "fixtures" / "strongswan"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _strongswan(at: datetime = T0) -> Any:
    text = (STRONGSWAN / "lab-initiator.raw.txt").read_text()
    d = assemble("gw-a", "strongswan", {"swanctl --list-sas --raw": text}, polled_at=at)
    assert not d.errors, d.errors
    return d


def test_one_way_strongswan_tunnel_gets_swanctl_steps() -> None:
    """The defect this data fixes: a one-way strongSwan CHILD_SA was told to run
    'show ip nat translations' and 'clear crypto sa peer'."""
    d0 = _strongswan()
    d1 = d0.model_copy(deep=True)
    d1.polled_at = T0 + timedelta(seconds=60)
    t = d1.tunnels[0]
    t.counters["pkts_encaps"] += 500  # charon's "out ... packets" grew, "in" did not
    found = evaluate([d1], [d0])
    assert [(f.code, f.peer) for f in found] == [("ONE_WAY_TRAFFIC", "10.223.0.2")]
    f = found[0]
    # values from the capture: CHILD_SA "lab" #1 of IKE_SA "lab" #1, 10.223.11.0/24 === 12.0/24
    assert f.next_steps == [
        "swanctl --list-sas --child-id 1",
        "ip -s xfrm state",
        "ip route get 10.223.12.1 from 10.223.11.1",
        "cat /proc/net/xfrm_stat",
        "swanctl --rekey --child-id 1",
    ]
    assert not any("show " in s or "clear crypto" in s for s in f.next_steps)
    assert f.extra["platform"] == "strongswan"
    assert f.extra["tunnels"] == [t.id] and t.id
    assert f.extra["vrf"] is None


def test_findings_carry_front_end_context_for_cisco_too() -> None:
    cisco = Path(__file__).parent.parent / "fixtures" / "cisco"
    text = (cisco / "iosxe/show_crypto_ipsec_sa/genieparser-1.txt").read_text()
    d0 = assemble("r1", "cisco_iosxe", {"show crypto ipsec sa": text}, polled_at=T0)
    d1 = d0.model_copy(deep=True)
    d1.polled_at = T0 + timedelta(seconds=60)
    t = next(t for t in d1.tunnels if t.sas)
    t.counters["pkts_encaps"] += 500
    (f,) = evaluate([d1], [d0])
    assert f.extra["platform"] == "cisco_iosxe" and f.extra["tunnels"] == [t.id]
    assert [s["command"] for s in f.extra["steps"]] == f.next_steps
    assert all(G.load("cisco_iosxe").accepts(c) for c in f.next_steps)


@pytest.mark.parametrize("platform", sorted(names()))
def test_platform_collect_and_action_commands_are_grammatical(platform: str) -> None:
    """The same grammar holds the commands a poll sends and the clear/rekey templates."""
    spec = get_platform(platform)
    values = {
        "peer": "10.20.0.2",
        "vrf": "CUST_A",
        "conn_id": 1001,
        "ike_id": 7,
        "child_id": 12,
        "child": "net-b",
        "remote_host": "10.2.0.1",
        "local_host": "10.1.0.1",
        "ivrf": "CUST_A",
        "ivrf_or_inside": "inside",
    }
    commands = [c for group in spec.collect.values() for c in group]
    for name in spec.actions:
        commands += spec.action(name, **values)
    bad = [c for c in commands if not G.load(platform).accepts(c)]
    assert not bad, bad


def test_strongswan_ike_sa_stuck_connecting() -> None:
    """documented-multi.txt: IKEv1 IKE_SA "carol" #4 to 192.168.0.100 is still CONNECTING
    (main mode queued and active); the other IKE_SA is ESTABLISHED with its CHILD_SA."""
    text = (STRONGSWAN / "documented-multi.txt").read_text()
    d = assemble("gw", "strongswan", {"swanctl --list-sas": text}, polled_at=T0)
    (f,) = evaluate([d])
    assert (f.code, f.severity, f.peer) == ("IKE_STUCK_CONNECTING", "error", "192.168.0.100")
    assert f.next_steps[:2] == ["swanctl --list-sas --ike-id 4", "swanctl --list-conns --ike carol"]
    assert "swanctl --terminate --ike-id 4 --force" in f.next_steps
    assert "ipsecctl diag probe 192.168.0.100 --ikev1" in f.next_steps  # IKEv1: main mode probe
    assert all(accepted(S.Step(s["command"], s["platform"], s["mode"])) for s in f.extra["steps"])
