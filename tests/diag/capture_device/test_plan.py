"""Capture plans (pure): the exact commands per platform, bounds, leftovers, usage errors."""

from __future__ import annotations

import pytest

from ipsecctl import errors
from ipsecctl.models import DeviceState, IkeSa, IpsecSa, Tunnel
from ipsecctl.ops.capture import capture_tag, plan_capture


def _state(platform: str, *, interface: str | None = "GigabitEthernet1", vrf: str | None = None,
           extra: dict[str, object] | None = None) -> DeviceState:  # fmt: skip
    t = Tunnel(device="r1", platform=platform, peer="10.0.0.2", local_addr="10.0.0.1",
               interface=interface, vrf=vrf, extra=extra or {},
               sas=[IpsecSa(direction="in", spi=0x11111111),
                    IpsecSa(direction="out", spi=0x22222222)])  # fmt: skip
    ike = IkeSa(device="r1", version=2, local="10.0.0.1", remote="10.0.0.2", conn_id=7)
    return DeviceState(device="r1", platform=platform, tunnels=[t], ike_sas=[ike])


def test_iosxe_plan_is_the_epc_sequence_with_cleanup_last() -> None:
    plan = plan_capture(_state("cisco_iosxe"), None, "10.0.0.2", seconds=12, packets=500)
    name = f"ICTL{capture_tag('r1', '10.0.0.2', None)}"
    assert plan.name == name
    assert plan.all_commands == [
        f"monitor capture {name} interface GigabitEthernet1 both",
        f"monitor capture {name} match ipv4 host 10.0.0.1 host 10.0.0.2 bidirectional",
        f"monitor capture {name} buffer size 1",
        f"monitor capture {name} limit duration 12",
        f"monitor capture {name} limit packets 500",
        f"monitor capture {name} start",
        f"show monitor capture {name}",
        f"monitor capture {name} stop",
        f"show monitor capture {name} buffer dump",
        f"no monitor capture {name}",
    ]
    assert (plan.tunnel_count, plan.sa_count, plan.action) == (1, 2, "capture")
    assert "at most 12s / 500 packets" in plan.describe()


def test_asa_plan_and_a_leftover_named_and_removed_first() -> None:
    plan = plan_capture(_state("cisco_asa", interface="outside"), None, "10.0.0.2",
                        leftovers=["ICTLold001"])  # fmt: skip
    assert plan.all_commands[0] == "no capture ICTLold001"
    assert plan.setup == [f"capture {plan.name} interface outside buffer 1600000 packet-length "
                          "1522 match ip host 10.0.0.1 host 10.0.0.2"]  # fmt: skip
    assert plan.all_commands[-1] == f"no capture {plan.name}"
    assert "REMOVES capture point(s) left by an earlier run: ICTLold001" in plan.describe()


def test_strongswan_keys_plan_rekeys_during_the_stream_and_switches_logging_back() -> None:
    state = _state("strongswan", interface=None, extra={"unique_id": 3})
    plan = plan_capture(state, None, "10.0.0.2", seconds=8, packets=50, keys_from_device=True)
    (stream,) = plan.fetch
    assert "swanctl --rekey --ike-id 7" in stream and "swanctl --rekey --child-id 3" in stream
    assert "timeout --preserve-status -s INT -k 5 8 tcpdump" in stream and "-c 50" in stream
    assert "host 10.0.0.2 and (udp port 500 or udp port 4500 or ip proto 50)" in stream
    assert plan.keys_on[0].endswith("swanctl --reload-settings")
    assert "ike = 4" in plan.keys_on[0] and "chd = 4" in plan.keys_on[0]
    assert plan.keys_off and "rm -f /etc/strongswan.d/zz-" in plan.keys_off[0]
    assert plan.all_commands[-1] == plan.keys_off[-1]
    # the cleanup's own command line never matches its pattern (pgrep would kill itself)
    assert plan.name not in plan.cleanup[0]


def test_cisco_keys_say_headers_only() -> None:
    plan = plan_capture(_state("cisco_iosxe"), None, "10.0.0.2", keys_from_device=True)
    assert plan.keys_on == plan.keys_fetch == []
    assert any("does not reveal" in n for n in plan.notes)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"peer": "not-an-ip"}, "not an IP address"),
    ({"peer": "10.9.9.9"}, "no tunnel or IKE SA to peer 10.9.9.9"),
    ({"seconds": 0}, "--seconds 0"),
    ({"packets": 100_001}, "--packets 100001"),
    ({"vrf": "CUST"}, "in vrf CUST"),
    ({"interface": "Gi1; reload"}, "not an interface name"),
])  # fmt: skip
def test_bad_requests_are_usage_errors(kwargs: dict[str, object], words: str) -> None:
    args: dict[str, object] = {"peer": "10.0.0.2", **kwargs}
    peer = str(args.pop("peer"))
    with pytest.raises(errors.UsageError) as exc:
        plan_capture(_state("cisco_iosxe"), None, peer, **args)  # type: ignore[arg-type]
    assert words in str(exc.value)


def test_vti_needs_the_interface_the_esp_leaves_on() -> None:
    state = _state("cisco_iosxe", interface="Tunnel1")
    with pytest.raises(errors.UsageError) as exc:
        plan_capture(state, None, "10.0.0.2")
    assert "Tunnel1 is a tunnel interface" in str(exc.value)
    plan = plan_capture(state, None, "10.0.0.2", interface="GigabitEthernet1")
    assert plan.setup[0].endswith("interface GigabitEthernet1 both")


def test_unreachable_device_is_an_operational_error() -> None:
    from ipsecctl.models import CommandError

    state = DeviceState(device="r1", platform="cisco_iosxe", reachable=False,
                        errors=[CommandError(kind="connect", message="r1: refused")])  # fmt: skip
    with pytest.raises(errors.ConnectError):
        plan_capture(state, None, "10.0.0.2")
