"""Planning the IKE probe of a tunnel's peer from its device's configuration (pure).

The expected proposals are read off the configuration text by a person: IOS ``encr aes 256``
is aes256, ``hash sha`` (or no hash line: the IOS default) is sha1, ``group 14`` modp2048;
an ASA ``encryption aes-256`` / ``hash sha`` / ``group 5`` is aes256-sha1-modp1536.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecctl.diag.ike.probe import DEFAULT_V1, DEFAULT_V2, parse_proposal
from ipsecctl.errors import UsageError
from ipsecctl.models import DeviceState, IkeSa, Tunnel
from ipsecctl.ops.probe import ProbePlan, configured_proposals, interpret, plan_probe

CONFIGS = Path(__file__).resolve().parents[1] / "fixtures" / "configs"


def _state(platform: str, tunnel: Tunnel, ike: list[IkeSa] | None = None) -> DeviceState:
    return DeviceState(device="r1", platform=platform, tunnels=[tunnel], ike_sas=ike or [])


def _tunnel(**kw: object) -> Tunnel:
    base: dict[str, object] = {
        "device": "r1",
        "platform": "cisco_ios",
        "peer": "10.0.12.2",
        "state": "down",
        "ike_state": "MM_NO_STATE",
    }
    base.update(kw)
    return Tunnel(**base).with_identity()  # type: ignore[arg-type]


def test_ios_isakmp_policies_in_priority_order_with_ios_defaults() -> None:
    text = (CONFIGS / "ok_v1_a.cfg").read_text()
    conf = configured_proposals("cisco_ios", text)
    # policy 10: encr aes 256, hash sha256, group 14; policy 20: encr aes (128), no hash
    # line (IOS default sha), group 14
    assert conf.v1 == ["aes256-sha256-modp2048", "aes128-sha1-modp2048"]
    assert conf.basis_v1[0].startswith("isakmp policy 10")
    assert "hash" in conf.basis_v1[1]  # says it assumed the IOS default for the hash
    for text_ in conf.v1:
        parse_proposal(text_, 1)  # the prober accepts what was planned


def test_ios_ikev2_proposal_splits_aead_from_integrity_ciphers() -> None:
    conf = configured_proposals("cisco_iosxe", (CONFIGS / "ok_v2_a.cfg").read_text())
    # encryption aes-cbc-256 aes-gcm-256, integrity sha256 sha384, group 19 14
    assert conf.v2 == [
        "aes256-sha256-sha384-ecp256-modp2048",
        "aes256gcm16-prfsha256-ecp256-modp2048",
    ]
    for text_ in conf.v2:
        parse_proposal(text_, 2)


def test_asa_ikev1_policies() -> None:
    text = (CONFIGS / "asa_crypto_ikev1_ntc-templates-1.txt").read_text()
    conf = configured_proposals("cisco_asa", text)
    # policy 5: aes-256/sha/group 5; policy 10: 3des/md5/group 2; ... policy 60: aes-256/md5/5
    assert conf.v1[0] == "aes256-sha1-modp1536"
    assert conf.v1[1] == "3des-md5-modp1024"
    assert conf.v1[-1] == "aes256-md5-modp1536"
    assert len(conf.v1) == 12 and conf.basis_v1[0] == "crypto ikev1 policy 5"


def test_plan_uses_the_tunnels_ike_version_and_says_what_it_sends() -> None:
    text = (CONFIGS / "ok_v1_a.cfg").read_text()
    t = _tunnel(ike_state="MM_NO_STATE", vrf="blue")
    plan = plan_probe(_state("cisco_ios", t), t, config_text=text)
    assert plan.version == 1 and plan.source == "configuration"
    assert plan.proposals == ["aes256-sha256-modp2048", "aes128-sha1-modp2048"]
    assert plan.device == "r1" and plan.peer == "10.0.12.2" and plan.vrf == "blue"
    lines = plan.packets()
    assert lines[0] == "from this host to 10.0.12.2 udp/500: IKEv1 main mode message 1 offering"
    assert "  aes256-sha256-modp2048" in lines and "never authenticates" in lines[-1]
    v2 = _tunnel(ike_state="READY")
    assert (
        plan_probe(
            _state("cisco_iosxe", v2), v2, config_text=(CONFIGS / "ok_v2_a.cfg").read_text()
        ).version
        == 2
    )


def test_plan_without_configuration_falls_back_and_says_so() -> None:
    ike = IkeSa(
        device="r1",
        version=2,
        remote="10.0.12.2",
        state="READY",
        status="up",
        encryption="aes256",
        integrity="sha256",
        dh_group=19,
    )
    t = _tunnel(state="up", ike_state="READY")
    plan = plan_probe(_state("cisco_iosxe", t, [ike]), t)
    assert plan.source == "negotiated IKE SA" and plan.proposals == ["aes256-sha256-ecp256"]
    bare = _tunnel(ike_state=None)
    plan = plan_probe(_state("cisco_ios", bare), bare)
    assert plan.source == "prober defaults" and plan.proposals == DEFAULT_V1
    assert (
        plan_probe(_state("cisco_ios", bare), bare, config_text="hostname r1\n").proposals
        == DEFAULT_V1
    )
    assert DEFAULT_V2  # the IKEv2 defaults exist for IKEv2 tunnels


def test_plan_needs_a_peer() -> None:
    t = _tunnel(peer=None)
    with pytest.raises(UsageError):
        plan_probe(_state("cisco_ios", t), t)


def _plan(**kw: object) -> ProbePlan:
    base: dict[str, object] = {
        "device": "r1",
        "peer": "10.0.12.2",
        "vrf": None,
        "version": 2,
        "proposals": ["aes256-sha256-modp2048"],
        "source": "configuration",
        "tunnel_state": "down",
        "ike_state": "IN-NEG",
    }
    base.update(kw)
    return ProbePlan(**base)  # type: ignore[arg-type]


def test_interpret_each_answer_for_the_tunnel() -> None:
    plan = _plan()
    ok = interpret(
        plan, {"result": "accepted", "chosen": {"proposal": "aes256-sha256-prfsha256-modp2048"}}
    )
    assert ok.severity == "info" and "accepts aes256-sha256-prfsha256-modp2048" in ok.summary
    assert any("authentication" in m for m in ok.meaning)  # down although accepted
    npc = interpret(
        plan, {"result": "no_proposal_chosen", "notify": [{"name": "NO_PROPOSAL_CHOSEN"}]}
    )
    assert npc.severity == "error" and "NO_PROPOSAL_CHOSEN" in npc.summary
    assert "r1" in npc.summary
    ke = interpret(plan, {"result": "invalid_ke", "wanted_group": 19})
    assert "ecp256" in ke.summary and any("ecp256" in m for m in ke.meaning)
    silent = interpret(plan, {"result": "no_response", "error": None})
    assert silent.severity == "warning" and any("filtered" in m for m in silent.meaning)
    refused = interpret(
        plan, {"result": "no_response", "error": "ICMP port unreachable: nothing listens there"}
    )
    assert any("nothing listens on udp/500" in m for m in refused.meaning)
    assert refused.as_json()["probe"]["result"] == "no_response"
