"""strongSwan ``swanctl --list-sas`` (text and --raw): captures from the namespace lab, a
multi-SA sample in list_sas.c's layout, and a live run against two real charons."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecctl.models import IkeSa, Tunnel
from parsers import ParseError, iter_parse, parse

DATA = Path(__file__).parent / "data" / "strongswan"
CMD = "swanctl --list-sas"


def _parse(name: str, command: str = CMD) -> dict[str, list[dict[str, Any]]]:
    result = parse("strongswan", command, (DATA / name).read_text())
    for ike in result["ike_sas"]:
        IkeSa.model_validate(ike)
    for tunnel in result["tunnels"]:
        Tunnel.model_validate(tunnel)
    return result


def test_lab_initiator_capture() -> None:
    result = _parse("lab-initiator.txt")
    (ike,) = result["ike_sas"]
    assert (ike["version"], ike["state"], ike["status"], ike["role"]) == (
        2,
        "ESTABLISHED",
        "up",
        "initiator",
    )
    assert (ike["local"], ike["local_port"], ike["remote"], ike["remote_port"]) == (
        "10.223.0.1",
        4500,
        "10.223.0.2",
        4500,
    )
    assert (ike["spi_i"], ike["spi_r"]) == ("6396c79f0401d683", "a7ecfdc92a8c0cee")
    assert (ike["encryption"], ike["integrity"], ike["prf"], ike["dh_group"]) == (
        "aes256",
        "sha256",
        "prfsha256",
        14,
    )
    assert ike["extra"]["established_s"] == 1 and ike["extra"]["rekey_s"] == 13172
    (tunnel,) = result["tunnels"]
    assert tunnel["kind"] == "child_sa" and tunnel["state"] == "up"
    assert (tunnel["local_ts"]["prefix"], tunnel["remote_ts"]["prefix"]) == (
        "10.223.11.0/24",
        "10.223.12.0/24",
    )
    assert tunnel["counters"] == {
        "bytes_in": 168,
        "pkts_decaps": 2,
        "bytes_out": 168,
        "pkts_encaps": 2,
    }
    sa_in, sa_out = tunnel["sas"]
    assert (sa_in["direction"], sa_in["spi"], sa_out["spi"]) == ("in", 0xD3145C73, 0x390EDF2F)
    for sa in (sa_in, sa_out):
        assert (sa["encryption"], sa["mode"], sa["udp_encap"], sa["remaining_s"]) == (
            "aes256gcm16",
            "tunnel",
            True,
            3959,
        )


def test_both_ends_agree() -> None:
    a = _parse("lab-initiator.txt")
    b = _parse("lab-responder.txt")
    assert b["ike_sas"][0]["role"] == "responder"
    assert (a["ike_sas"][0]["spi_i"], a["ike_sas"][0]["spi_r"]) == (
        b["ike_sas"][0]["spi_i"],
        b["ike_sas"][0]["spi_r"],
    )
    spis = {sa["direction"]: sa["spi"] for sa in a["tunnels"][0]["sas"]}
    peer = {sa["direction"]: sa["spi"] for sa in b["tunnels"][0]["sas"]}
    assert spis == {"in": peer["out"], "out": peer["in"]}


def test_raw_gives_the_same_records() -> None:
    assert _parse("lab-initiator.raw.txt", CMD + " --raw") == _parse("lab-initiator.txt")
    streamed = list(
        iter_parse(
            "strongswan", CMD + " --raw", (DATA / "lab-initiator.raw.txt").read_text().splitlines()
        )
    )
    assert streamed == _parse("lab-initiator.txt")["tunnels"]


def test_no_rekey_times_and_several_sas() -> None:
    plain = _parse("lab-no-rekey.txt")
    assert plain["tunnels"][0]["sas"][0]["remaining_s"] is None
    assert "rekey_s" not in plain["ike_sas"][0]["extra"]
    result = _parse("documented-multi.txt")
    gw, carol = result["ike_sas"]
    assert (gw["role"], gw["dh_group"], gw["remaining_s"], gw["extra"]["reauth_s"]) == (
        "responder",
        19,
        14954,
        9000,
    )
    assert (carol["version"], carol["state"], carol["status"], carol["role"]) == (
        1,
        "CONNECTING",
        "negotiating",
        "initiator",
    )
    assert carol["extra"]["tasks_active"] == ["ISAKMP_VENDOR", "ISAKMP_CERT_PRE", "MAIN_MODE"]
    net, host = result["tunnels"]
    assert (net["pfs"], net["dh_group"], net["sas"][0]["esn"], net["sas"][0]["integrity"]) == (
        True,
        14,
        True,
        "sha256",
    )
    assert net["extra"]["local_ts_all"] == ["10.1.0.0/16", "10.5.0.0/24[tcp/http]"]
    assert net["local_ts"] == {"prefix": "10.1.0.0/16", "protocol": 0, "port": 0}
    assert net["sas"][0]["extra"] == {
        "cpi": "00002a3f",
        "mark": "00000010",
        "mark_mask": "ffffffff",
        "last_use_s": 4,
    }
    assert "last_use_s" not in net["sas"][1]["extra"]
    assert (host["sas"][0]["mode"], host["sas"][0]["udp_encap"]) == ("transport", False)


@pytest.mark.parametrize(
    ("marks", "extra"),
    [
        ("(-|0x00000001)", {"if_id": "00000001"}),
        (
            "(0x00000010/0xffffffff|0x0000002a)",
            {"mark": "00000010", "mark_mask": "ffffffff", "if_id": "0000002a"},
        ),
        ("(0x00000010)", {"mark": "00000010"}),
    ],
)
def test_sa_line_marks_and_interface_id(marks: str, extra: dict[str, str]) -> None:
    """Since 5.8 swanctl prints the XFRM interface ID after the mark, ``-`` standing for no
    mark; the SA (and its counters) must not be lost for it."""
    text = (
        "vpn: #1, ESTABLISHED, IKEv2, f32cfa4a3b007894_i* 7cc2f86218f11619_r\n"
        "  local  'a' @ 192.168.1.2[4500]\n"
        "  remote 'b' @ 192.168.1.3[4500]\n"
        "  managed: #1, reqid 1, INSTALLED, TUNNEL, ESP:AES_CBC-128/HMAC_SHA2_256_128\n"
        "    installed 56s ago\n"
        f"    in  c13d6df5 {marks},  21701 bytes,    66 packets,     0s ago\n"
        f"    out c78f93a7 {marks},  11293 bytes,    95 packets\n"
        "    local  10.10.10.2/32\n"
        "    remote 0.0.0.0/0\n"
    )
    result = parse("strongswan", CMD, text)
    assert not result.warnings
    (tunnel,) = result["tunnels"]
    assert [sa["spi"] for sa in tunnel["sas"]] == [0xC13D6DF5, 0xC78F93A7]
    assert tunnel["counters"] == {
        "bytes_in": 21701,
        "pkts_decaps": 66,
        "bytes_out": 11293,
        "pkts_encaps": 95,
    }
    assert tunnel["sas"][0]["extra"] == {**extra, "last_use_s": 0}
    assert tunnel["sas"][1]["extra"] == extra


def test_selector_protocol_and_port() -> None:
    from parsers.strongswan import selector

    assert selector("10.5.0.0/24[tcp/http]") == {"prefix": "10.5.0.0/24", "protocol": 6, "port": 80}
    assert selector("fd00::/64[udp/4500]") == {"prefix": "fd00::/64", "protocol": 17, "port": 4500}
    # UDP 1701 as getservbyport() names it: "l2f" in /etc/services, "l2tp" its alias
    assert selector("1.2.3.4/32[udp/l2tp]")["port"] == 1701
    assert selector("203.0.113.9/32[udp/l2f]")["port"] == 1701
    assert selector("10.1.0.0/16") == {"prefix": "10.1.0.0/16", "protocol": 0, "port": 0}
    assert selector("10.1.0.0/16[icmp]") == {"prefix": "10.1.0.0/16", "protocol": 1, "port": 0}


def test_selector_never_widened_to_any() -> None:
    """A port range, OPAQUE or an unknown name is no single port: not read as 0 ("any")."""
    from parsers.strongswan import selector

    assert selector("10.5.0.0/24[tcp/1024-65535]") is None
    assert selector("10.5.0.0/24[udp/OPAQUE]") is None
    assert selector("10.5.0.0/24[tcp/no-such-service]") is None
    assert selector("10.5.0.0/24[no-such-proto]") is None
    assert selector("10.5.0.0/24[tcp/70000]") is None


def test_child_with_a_port_range_keeps_it_raw_and_warns() -> None:
    from parsers import parse

    text = (
        "gw: #1, ESTABLISHED, IKEv2, 1a2b3c4d5e6f7081_i* 8091a2b3c4d5e6f7_r\n"
        "  local  'moon' @ 192.0.2.1[4500]\n"
        "  remote 'sun' @ 198.51.100.2[4500]\n"
        "  AES_GCM_16-256/PRF_HMAC_SHA2_256/CURVE_25519\n"
        "  net: #2, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-256\n"
        "    installed 10s ago\n"
        "    in  c1000001,      0 bytes,     0 packets\n"
        "    out c2000002,      0 bytes,     0 packets\n"
        "    local  10.1.0.0/16[tcp/1024-65535]\n"
        "    remote 10.2.0.0/16[tcp/https]\n"
    )
    result = parse("strongswan", "swanctl --list-sas", text)
    (tunnel,) = result["tunnels"]
    assert tunnel["local_ts"] is None
    assert tunnel["extra"]["local_ts_all"] == ["10.1.0.0/16[tcp/1024-65535]"]
    assert tunnel["remote_ts"] == {"prefix": "10.2.0.0/16", "protocol": 6, "port": 443}
    assert any("10.1.0.0/16[tcp/1024-65535]" in w.line for w in result.warnings)


def test_additional_key_exchanges_with_and_without_round() -> None:
    from parsers.strongswan import algorithms

    # 6.0dr1 (strongX509/docker pq-strongswan README) printed no round number after "KE"
    dr1 = algorithms("AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE_25519/KE_KYBER_L3")
    assert dr1["additional_ke"] == ["KE_KYBER_L3"]
    assert dr1["dh"] == "curve25519"
    rfc9370 = algorithms("AES_CBC-256/MODP_3072/KE1_FRODO_AES_L3/KE2_SIKE_L3")
    assert rfc9370["additional_ke"] == ["KE1_FRODO_AES_L3", "KE2_SIKE_L3"]


@pytest.mark.parametrize("text", ["garbage\n", "Crypto map tag: x, local addr 1.1.1.1\n"])
def test_other_output_is_rejected(text: str) -> None:
    with pytest.raises(ParseError):
        parse("strongswan", CMD, text)
    with pytest.raises(ParseError):
        parse("strongswan", CMD + " --raw", text)


def test_empty_list() -> None:
    assert parse("strongswan", CMD, "") == {"ike_sas": [], "tunnels": []}
    assert parse("strongswan", CMD + " --raw", "list-sas reply {}\n") == {
        "ike_sas": [],
        "tunnels": [],
    }


# Seconds since or until an event: the two swanctl calls are a moment apart, so these may
# have ticked between them (the CI run that found this saw a one-second step).
_TIMERS = frozenset(
    {"remaining_s", "established_s", "rekey_s", "reauth_s", "last_use_s", "installed_s", "uptime_s"}
)


def _assert_same_but_timers(text: Any, raw: Any, path: str = "") -> None:
    """Equal, except that a timer may differ by the two seconds the calls can straddle."""
    if isinstance(text, dict) and isinstance(raw, dict):
        assert text.keys() == raw.keys(), path
        for key in text:
            if key in _TIMERS and isinstance(text[key], int) and isinstance(raw[key], int):
                assert abs(text[key] - raw[key]) <= 2, f"{path}.{key}: {text[key]} vs {raw[key]}"
            else:
                _assert_same_but_timers(text[key], raw[key], f"{path}.{key}")
    elif isinstance(text, list) and isinstance(raw, list):
        assert len(text) == len(raw), path
        for i, (a, b) in enumerate(zip(text, raw, strict=True)):
            _assert_same_but_timers(a, b, f"{path}[{i}]")
    else:
        assert text == raw, f"{path}: {text!r} vs {raw!r}"


def test_live_lab() -> None:
    """Two real charons in namespaces: what swanctl prints parses, both forms agree."""
    from ipsecctl.lab.strongswan import NetnsLab, strongswan_missing
    from ipsecctl.lab.strongswan import Tunnel as LabTunnel

    missing = strongswan_missing()
    if missing or os.geteuid() != 0:
        reason = f"strongSwan namespace lab unavailable: {missing or 'not root'}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    with NetnsLab(LabTunnel(esp_proposals="aes128-sha256-modp2048")) as lab:
        lab.up()
        lab.initiate()
        replies = lab.ping(2)
        text = lab.swanctl(lab._gw("a"), "--list-sas")
        raw = lab.swanctl(lab._gw("a"), "--list-sas", "--raw")
        peer = lab.swanctl(lab._gw("b"), "--list-sas")
    result = parse("strongswan", CMD, text)
    _assert_same_but_timers(result.records, parse("strongswan", CMD + " --raw", raw).records)
    (ike,) = result["ike_sas"]
    assert (ike["status"], ike["role"], ike["encryption"]) == ("up", "initiator", "aes256")
    (tunnel,) = result["tunnels"]
    # The first CHILD_SA comes with IKE_AUTH, without a DH exchange: no PFS group shown yet.
    assert tunnel["state"] == "up" and tunnel["pfs"] is None
    assert {sa["integrity"] for sa in tunnel["sas"]} == {"sha256"}
    assert tunnel["counters"]["pkts_encaps"] >= replies
    theirs = {
        sa["direction"]: sa["spi"] for sa in parse("strongswan", CMD, peer)["tunnels"][0]["sas"]
    }
    ours = {sa["direction"]: sa["spi"] for sa in tunnel["sas"]}
    assert (ours["in"], ours["out"]) == (theirs["out"], theirs["in"])


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(
            lambda k, v: f"list-sa event {{x {{{k}={v} child-sas {{c {{spi-in={v}}}}}}}}}",
            st.sampled_from(["uniqueid", "version", "state", "child-sas", "local-port"]),
            st.text(alphabet="ab1{}[] =", max_size=8),
        ),
    ),
    st.booleans(),
)
def test_garbage_raises_only_parse_error(text: str, raw: bool) -> None:
    try:
        result = parse("strongswan", CMD + (" --raw" if raw else ""), text)
    except ParseError:
        return
    for ike in result["ike_sas"]:
        IkeSa.model_validate(ike)
    for tunnel in result["tunnels"]:
        Tunnel.model_validate(tunnel)
