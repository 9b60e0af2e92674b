"""Bad input: garbage, other commands' output, device errors, truncation, echo and prompt."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipsecctl.models import Tunnel
from parsers import ParseError, iter_parse, parse
from tests.parsers.conftest import FIXTURES

IPSEC = (FIXTURES / "ios/show_crypto_ipsec_sa_detail/ntc-templates-2.txt").read_text()
ISAKMP = (FIXTURES / "iosxe/show_crypto_isakmp_sa/genieparser-3.txt").read_text()
COMMANDS = [
    "show crypto ipsec sa",
    "show crypto isakmp sa",
    "show crypto ikev2 sa",
    "show crypto session",
    "show crypto map",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_invalid_input_names_command_and_line(command: str) -> None:
    text = f"router#{command}\n          ^\n% Invalid input detected at '^' marker.\n"
    with pytest.raises(ParseError) as err:
        parse("cisco_ios", command, text)
    assert err.value.command == command
    assert err.value.lineno == 3 and err.value.reason == "device error"
    assert command in str(err.value)


@pytest.mark.parametrize("command", COMMANDS)
def test_empty_output_is_empty(command: str) -> None:
    result = parse("cisco_iosxe", command, f"\r\nhub1#{command}\r\n\r\nhub1#\r\n")
    assert all(v == [] for v in result.values())


def test_other_commands_output_is_rejected() -> None:
    with pytest.raises(ParseError) as err:
        parse("cisco_iosxe", "show crypto ipsec sa", ISAKMP)
    assert err.value.line == "IPv4 Crypto ISAKMP SA"
    with pytest.raises(ParseError):
        parse("cisco_iosxe", "show crypto isakmp sa", IPSEC)


def test_echo_prompt_crlf_trailing_spaces_tolerated() -> None:
    wrapped = (
        "hub#show crypto ipsec sa\r\n" + IPSEC.rstrip("\n").replace("\n", "   \r\n") + "\r\nhub#"
    )
    assert parse("cisco_ios", "show crypto ipsec sa", wrapped) == parse(
        "cisco_ios", "show crypto ipsec sa", IPSEC
    )


def test_truncated_output_keeps_complete_blocks_and_says_where_it_stopped() -> None:
    cut = IPSEC[: IPSEC.index("#pkts decaps") + 5] + "\n"
    result = parse("cisco_ios", "show crypto ipsec sa", cut)
    (warning,) = result.warnings
    assert warning.line == "#pkts" and warning.lineno == cut.count("\n")
    assert len(result["tunnels"]) == 1


def test_unknown_command_and_platform() -> None:
    with pytest.raises(ValueError, match="no parser for command"):
        parse("cisco_ios", "show version", "")
    with pytest.raises(ValueError, match="platform"):
        parse("junos", "show crypto ipsec sa", "")


def test_command_variants_accepted() -> None:
    for cmd in (
        "show  crypto ipsec sa peer 10.1.1.1",
        "show crypto ipsec sa interface Tunnel1 detail",
        "show crypto ikev2 sa detailed",
        "show crypto isakmp sa detail",
    ):
        parse("cisco_ios", cmd, "")


def test_iter_parse_streams_same_records() -> None:
    streamed = list(iter_parse("cisco_ios", "show crypto ipsec sa", iter(IPSEC.splitlines())))
    assert streamed == parse("cisco_ios", "show crypto ipsec sa", IPSEC)["tunnels"]
    assert [len(t["sas"]) for t in streamed] == [2, 4]


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=400), st.sampled_from(COMMANDS))
def test_garbage_raises_only_parse_error(text: str, command: str) -> None:
    try:
        result = parse("cisco_ios", command, text)
    except ParseError:
        return
    # Accepted garbage must at least be whitespace/prompt-only or produce valid records.
    for record in result.get("tunnels", []):
        Tunnel.model_validate(record)


_BLOCK = """interface: {iface}
    Crypto map tag: {tag}, local addr 10.0.0.1

   protected vrf: (none)
   local  ident (addr/mask/prot/port): (10.{a}.0.0/255.255.0.0/0/0)
   remote ident (addr/mask/prot/port): (172.16.{b}.0/255.255.255.0/6/{port})
   current_peer {peer} port {pport}
     PERMIT, flags={{origin_is_acl,}}
    #pkts encaps: {enc}, #pkts encrypt: {enc}, #pkts digest: {enc}
    #pkts decaps: {dec}, #pkts decrypt: {dec}, #pkts verify: {dec}
    #pkts compressed: 0, #pkts decompressed: 0
    #pkts not compressed: 0, #pkts compr. failed: 0
    #pkts not decompressed: 0, #pkts decompress failed: 0
    #send errors {serr}, #recv errors {rerr}

     local crypto endpt.: 10.0.0.1, remote crypto endpt.: {peer}
     plaintext mtu 1438, path mtu 1500, ip mtu 1500, ip mtu idb Gi1
     current outbound spi: 0x{spi_out:X}({spi_out})
     PFS (Y/N): Y, DH group: group{dh}

     inbound esp sas:
      spi: 0x{spi_in:X}({spi_in})
        transform: esp-256-aes esp-sha256-hmac ,
        in use settings ={{Tunnel, }}
        conn id: 7, flow_id: SW:7, sibling_flags 80000046, crypto map: {tag}
        sa timing: remaining key lifetime (k/sec): ({kb}/{sec})
        IV size: 16 bytes
        replay detection support: Y
        Status: ACTIVE

     outbound esp sas:
      spi: 0x{spi_out:X}({spi_out})
        transform: esp-256-aes esp-sha256-hmac ,
        in use settings ={{Tunnel, }}
        conn id: 8, flow_id: SW:8, sibling_flags 80000046, crypto map: {tag}
        sa timing: remaining key lifetime (k/sec): ({kb}/{sec})
        IV size: 16 bytes
        replay detection support: Y
        Status: ACTIVE
"""

_u32 = st.integers(min_value=256, max_value=2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries(
            {
                "iface": st.sampled_from(["Gi1", "Tunnel5", "GigabitEthernet0/0/1"]),
                "tag": st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,12}", fullmatch=True),
                "a": st.integers(0, 255),
                "b": st.integers(0, 255),
                "port": st.integers(0, 65535),
                "peer": st.ip_addresses(v=4).map(str),
                "pport": st.sampled_from([500, 4500]),
                "enc": st.integers(0, 2**40),
                "dec": st.integers(0, 2**40),
                "serr": st.integers(0, 10**6),
                "rerr": st.integers(0, 10**6),
                "spi_in": _u32,
                "spi_out": _u32,
                "dh": st.sampled_from([14, 19, 20]),
                "kb": st.integers(0, 4608000),
                "sec": st.integers(0, 86400),
            }
        ),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
def test_generated_blocks_round_trip(blocks: list[dict[str, object]], strip: bool) -> None:
    text = "".join(_BLOCK.format(**b) for b in blocks)
    if strip:
        text = "\n".join(line.strip() for line in text.splitlines())
    tunnels = parse("cisco_iosxe", "show crypto ipsec sa", text)["tunnels"]
    assert len(tunnels) == len(blocks)
    for t, b in zip(tunnels, blocks, strict=True):
        model = Tunnel.model_validate(t)
        assert model.peer == b["peer"] and model.peer_port == b["pport"]
        assert model.remote_ts is not None and model.remote_ts.port == b["port"]
        assert model.counters["pkts_encaps"] == b["enc"]
        assert model.counters["recv_errors"] == b["rerr"]
        assert model.spis("in") == [b["spi_in"]] and model.spis("out") == [b["spi_out"]]
        assert model.dh_group == b["dh"] and model.pfs is not None
        assert model.sas[0].remaining_kb == b["kb"] and model.sas[0].remaining_s == b["sec"]
        assert model.sas[0].encryption == "aes256" and model.sas[0].integrity == "sha256"
