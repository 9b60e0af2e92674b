"""Layouts older or newer images print, on real samples extended the way those images print
them: IOS 12.4's ``slot`` column, the three-line IPv6 ISAKMP row, the ASA 9.x IKEv2 detail
lines (message ids, DPD, NAT-T, a child SA's AH/CPI/cipher/mode), the ASA detail counters
that end in a comma, and the messages devices print instead of SAs.

Expected values are read from the lines each case adds (or from the sample text)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers import parse

REAL = Path(__file__).resolve().parent.parent / "fixtures" / "real"
ISAKMP = (REAL / "ios/show_crypto_isakmp_sa/amarinjs-sitio-ike-states.txt").read_text()
ASA_V2 = (REAL / "asa/show_crypto_ikev2_sa_detail/gcp-ha-vpn-asa5506h.txt").read_text()

IPV6_ROWS = """
IPv6 Crypto ISAKMP SA

 dst: 2001:DB8:0:1::1
 src: 2001:DB8:0:2::1
 state: QM_IDLE         conn-id:   1005 status: ACTIVE

 dst: 2001:DB8:0:1::1
 src: 2001:DB8:0:3::1
 state: MM_NO_STATE     conn-id:   1006 slot: 0 status: ACTIVE (deleted)
"""


def test_ipv6_isakmp_rows_span_three_lines() -> None:
    result = parse("cisco_ios", "show crypto isakmp sa", ISAKMP + IPV6_ROWS)
    assert not result.warnings
    v6 = [r for r in result["ike_sas"] if r["extra"]["family"] == "IPv6"]
    assert [(r["dst"], r["src"], r["state"], r["conn_id"], r["status"]) for r in v6] == [
        ("2001:DB8:0:1::1", "2001:DB8:0:2::1", "QM_IDLE", 1005, "up"),
        ("2001:DB8:0:1::1", "2001:DB8:0:3::1", "MM_NO_STATE", 1006, "negotiating"),
    ]
    assert v6[1]["extra"]["slot"] == 0 and v6[1]["extra"]["cisco_status"] == "ACTIVE (deleted)"
    assert len(result["ike_sas"]) == 4  # the sample's two IPv4 rows are kept


def test_ios_124_slot_column_is_not_part_of_the_status() -> None:
    text = ISAKMP.replace("conn-id status", "conn-id slot status").replace(
        "1033 ACTIVE", "1033    0 ACTIVE"
    )
    result = parse("cisco_ios", "show crypto isakmp sa", text)
    assert not result.warnings
    first = result["ike_sas"][0]
    assert (first["conn_id"], first["extra"]["slot"], first["extra"]["cisco_status"]) == (
        1033,
        0,
        "ACTIVE",
    )


ASA_V2_DETAIL = """\
      Status Description: Negotiation done
      Local spi: 80B2AFC2B9B12D24       Remote spi: 4CD8E3D86B9C1B6F
      Local id: 209.119.81.225
      Remote id: 35.220.72.68
      Local req mess id: 2              Remote req mess id: 0
      Local next mess id: 2             Remote next mess id: 0
      Local req queued: 2               Remote req queued: 0
      Local window: 1                   Remote window: 1
      DPD configured for 10 seconds, retry 2
      NAT-T is not detected
Child sa: local selector  0.0.0.0/0 - 255.255.255.255/65535
          remote selector 0.0.0.0/0 - 255.255.255.255/65535
          ESP spi in/out: 0x9f4fd24/0x4f9d0b42
          AH spi in/out: 0x0/0x0
          CPI in/out: 0x0/0x0
          Encr: AES-GCM, keysize: 256, esp_hmac: N/A
          ah_hmac: None, comp: IPCOMP_NONE, mode tunnel
"""


def test_asa_ikev2_detail_lines_are_understood() -> None:
    result = parse(
        "cisco_asa", "show crypto ikev2 sa detail", ASA_V2.rstrip("\n") + "\n" + ASA_V2_DETAIL
    )
    assert not result.warnings, [str(w) for w in result.warnings]
    (sa,) = result["ike_sas"]
    assert sa["nat_t"] is False and sa["role"] == "initiator"
    assert (sa["spi_i"], sa["spi_r"]) == ("80B2AFC2B9B12D24", "4CD8E3D86B9C1B6F")
    extra = sa["extra"]
    assert (extra["local_req_msg_id"], extra["remote_req_msg_id"]) == (2, 0)
    assert (extra["local_window"], extra["dpd_s"], extra["dpd_retry"]) == (1, 10, 2)
    (child,) = extra["child_sas"]
    assert (child["spi_in"], child["spi_out"]) == (0x9F4FD24, 0x4F9D0B42)
    assert (child["ah_spi_in"], child["cpi_out"], child["mode"]) == (0, 0, "tunnel")
    assert child["encryption"] == "aes256gcm16" and child["integrity"] is None


def test_asa_detail_counters_ending_in_a_comma() -> None:
    text = (REAL / "asa/show_crypto_ipsec_sa/pastebin-C9E6ryPQ-asa-lab-one-way.txt").read_text()
    text = text.replace(
        "#send errors: 0,",
        "#pkts invalid pad (rcv): 0,\n#pkts invalid ip version (rcv): 3,\n#send errors: 0,",
    )
    result = parse("cisco_asa", "show crypto ipsec sa detail", text)
    assert not result.warnings
    counters = result["tunnels"][0]["counters"]
    assert counters["pkts_invalid_ip_version_rcv"] == 3 and counters["pkts_invalid_pad_rcv"] == 0
    assert counters["pkts_decaps"] == 2640


@pytest.mark.parametrize(
    ("platform", "message"),
    [("cisco_asa", "There are no ipsec sas"), ("cisco_iosxe", "No SAs found")],
)
def test_no_sa_messages_are_empty_outputs(platform: str, message: str) -> None:
    result = parse(platform, "show crypto ipsec sa", f"\n{message}\n\n")
    assert result["tunnels"] == [] and not result.warnings


ASA_V1 = (REAL / "asa/show_crypto_isakmp_sa/pastebin-BefeBcLx-asa-ikev1-user.txt").read_text()
ASA_V2_BRIEF = (REAL / "asa/show_crypto_ikev2_sa/yinghli-azure-vpn-asa98-vti.txt").read_text()


@pytest.mark.parametrize("command", ["show crypto isakmp sa", "show crypto isakmp sa detail"])
def test_asa_isakmp_prints_its_ikev2_section_too(command: str) -> None:
    """ASA 8.4+ ``show crypto isakmp sa`` prints the IKEv1 SAs, then an ``IKEv2 SAs:``
    section laid out as ``show crypto ikev2 sa`` prints it: both kinds come out, the IKEv2
    lines read with that command's grammar (no line reported)."""
    v1_only = parse("cisco_asa", command, ASA_V1)["ike_sas"]
    result = parse("cisco_asa", command, ASA_V1 + "\n" + ASA_V2_BRIEF)
    assert not result.warnings, [str(w) for w in result.warnings]
    assert result["ike_sas"][: len(v1_only)] == v1_only
    (v2,) = result["ike_sas"][len(v1_only) :]
    assert (v2["version"], v2["conn_id"], v2["remote"], v2["remote_port"], v2["state"]) == (
        2,
        180382363,
        "139.219.100.216",
        4500,
        "READY",
    )


def test_asa_isakmp_with_no_ikev2_sas() -> None:
    result = parse("cisco_asa", "show crypto isakmp sa", ASA_V1 + "\nThere are no IKEv2 SAs\n")
    assert not result.warnings
    assert all(r["version"] == 1 for r in result["ike_sas"])


SWAN_4500 = (
    REAL / "strongswan/swanctl_list_sas/strongx509-cyber-ikev2-cert-one-child.txt"
).read_text()


@pytest.mark.parametrize(
    ("mode", "nat_t"),
    [("TUNNEL", False), ("TUNNEL-in-UDP", True), (None, None)],
)
def test_swanctl_nat_t_comes_from_the_child_sa_not_the_ike_port(
    mode: str | None, nat_t: bool | None
) -> None:
    """strongSwan moves IKE to port 4500 for MOBIKE even with no NAT on the path: the sample's
    ``[4500]`` on both hosts with a plain ``TUNNEL`` CHILD_SA is no NAT-T; the same SA with
    ``TUNNEL-in-UDP`` (how swanctl prints ESP in UDP) is; with no CHILD_SA it stays unknown."""
    if mode is None:  # the IKE_SA alone, as listed before its CHILD_SA is installed
        text = "".join(SWAN_4500.splitlines(keepends=True)[:5])
    else:
        text = SWAN_4500.replace("INSTALLED, TUNNEL,", f"INSTALLED, {mode},")
    result = parse("strongswan", "swanctl --list-sas", text)
    assert not result.warnings
    (ike,) = result["ike_sas"]
    assert (ike["local_port"], ike["remote_port"], ike["nat_t"]) == (4500, 4500, nat_t)
    if mode is not None:
        assert result["tunnels"][0]["sas"][0]["udp_encap"] is nat_t


@pytest.mark.parametrize(
    ("sample", "command", "typed"),
    [
        (
            "ios/show_crypto_ipsec_sa/otus-nordwest-iol-gre-transport.txt",
            "show crypto ipsec sa interface {}",
            "tunnel 1",
        ),
        (
            "ios/show_crypto_session/otus-pekitel-iol-gre-ikev1.txt",
            "show crypto session interface {} detail",
            "Tunnel 100",
        ),
    ],
)
def test_interface_typed_as_type_and_number(sample: str, command: str, typed: str) -> None:
    """IOS takes ``interface tunnel 1`` as well as ``interface Tunnel1``, and a saved output
    heads with the command as it was typed: both spellings read the sample's block alike."""
    text = (REAL / sample).read_text()
    joined = typed.replace(" ", "")
    assert f"nterface: {joined[0].upper()}{joined[1:]}" in text
    assert parse("cisco_ios", command.format(typed), text) == parse(
        "cisco_ios", command.format(joined), text
    )


ISAKMP_DETAIL = (
    REAL / "iosxe/show_crypto_isakmp_sa_detail/muninn-1171-c9300-empty.txt"
).read_text()


def test_isakmp_detail_cap_letters_carry_nat_t() -> None:
    """The sample's empty detail table with two rows as IOS prints them under its legend
    (``N - NAT-traversal``): one behind a NAT (``Cap.`` ``DN``), one with no capability
    letters, which says nothing of NAT-T either way."""
    rows = (
        "1013  192.0.2.2       198.51.100.1           ACTIVE aes  sha384 psk  14 23:47:45 DN\n"
        "       Engine-id:Conn-id =  SW:13\n\n"
        "1001  192.0.2.2       203.0.113.1            ACTIVE aes  sha    psk  5  23:25:03\n"
        "       Engine-id:Conn-id =  SW:1\n"
    )
    text = ISAKMP_DETAIL.replace("Cap.\n\n", "Cap.\n\n" + rows + "\n", 1)
    result = parse("cisco_iosxe", "show crypto isakmp sa detail", text)
    assert not result.warnings, [str(w) for w in result.warnings]
    natted, plain = result["ike_sas"]
    assert (natted["remote"], natted["extra"]["capabilities"], natted["nat_t"]) == (
        "198.51.100.1",
        "DN",
        True,
    )
    assert (natted["integrity"], natted["dh_group"], natted["remaining_s"]) == (
        "sha384",
        14,
        23 * 3600 + 47 * 60 + 45,
    )
    assert (plain["remote"], plain["nat_t"], plain["dh_group"]) == ("203.0.113.1", None, 5)


def test_crypto_map_idle_time_line() -> None:
    """``set security-association idle-time 900`` prints its own line after the lifetime one
    (IOS 15.x): the genieparser sample with that line read, not reported."""
    sample = REAL.parent / "cisco/iosxe/show_crypto_map/genieparser-1.txt"
    lifetime = "\tSecurity association lifetime: 4608000 kilobytes/3600 seconds\n"
    text = sample.read_text()
    assert lifetime in text
    text = text.replace(lifetime, lifetime + "\tSecurity association idletime: 900 seconds\n")
    result = parse("cisco_iosxe", "show crypto map", text)
    assert not result.warnings, [str(w) for w in result.warnings]
    (entry,) = result["crypto_maps"]
    assert (entry["lifetime_s"], entry["extra"]["idle_time_s"]) == (3600, 900)


def test_isakmp_status_with_an_n_is_recognised() -> None:
    """A status text holding the letter ``n`` (HA ``ACTIVE standby``) is a row, not unknown."""
    row = "10.0.0.1        10.0.0.2        QM_IDLE           1001 ACTIVE standby\n"
    text = ISAKMP.rstrip("\n") + "\n" + row
    result = parse("cisco_ios", "show crypto isakmp sa", text)
    assert not [w for w in result.warnings if "standby" in w.line]
    (sa,) = [r for r in result["ike_sas"] if r["conn_id"] == 1001]
    assert (sa["dst"], sa["src"], sa["state"]) == ("10.0.0.1", "10.0.0.2", "QM_IDLE")
    assert sa["extra"]["cisco_status"] == "ACTIVE standby"


def test_counters_read_per_peer_whatever_layout_came_before() -> None:
    """A hub prints one counter layout for every peer, and the parser reads each region with
    the layout the region before it had. Regions of another layout (an ASA's, between two
    IOS outputs) and values of other lengths are each read as they are printed."""
    ios = (REAL / "ios/show_crypto_ipsec_sa/otus-nordwest-iol-gre-transport.txt").read_text()
    asa = (REAL / "asa/show_crypto_ipsec_sa/pastebin-C9E6ryPQ-asa-lab-one-way.txt").read_text()
    encaps_line = "#pkts encaps: 1312, #pkts encrypt: 1312, #pkts digest: 1312"
    decaps_line = "#pkts decaps: 20, #pkts decrypt: 20, #pkts verify: 20"
    assert encaps_line in ios and decaps_line in ios
    values = [(7, 123456789012), (0, 5), (18446744073709551615, 1)]
    hub = "".join(
        ios.replace("interface: Tunnel1", f"interface: Tunnel{n}")
        .replace(encaps_line, encaps_line.replace("1312", str(enc)))
        .replace(decaps_line, decaps_line.replace("20", str(dec)))
        for n, (enc, dec) in enumerate(values, 1)
    )
    for _ in range(2):
        result = parse("cisco_ios", "show crypto ipsec sa", hub)
        assert not result.warnings
        got = [
            (t["interface"], t["counters"]["pkts_encaps"], t["counters"]["pkts_decrypt"])
            for t in result["tunnels"]
        ]
        assert got == [(f"Tunnel{n}", enc, dec) for n, (enc, dec) in enumerate(values, 1)]
        assert result["tunnels"][0]["counters"]["send_errors"] == 0
        other = parse("cisco_asa", "show crypto ipsec sa", asa)["tunnels"][0]["counters"]
        assert other["pkts_decaps"] == 2640  # the sample's "#pkts decaps: 2640"


def test_counters_of_many_layouts_each_read_as_printed() -> None:
    """Past the 64 layouts the parser keeps, regions are still read one by one (split at
    their values, no pattern built for each): every value comes out under its own label."""
    from parsers.cisco_ipsec_sa import _counters

    for n in range(80):
        label = "ab"[n % 2] * (n // 2 + 1)  # 80 different labels: a, b, aa, bb, ...
        text = f"#pkts {label}: {n}, #send errors {n + 1}"
        got = _counters(text)
        assert got[f"pkts_{label}"] == n and got["send_errors"] == n + 1, (text, got)
        assert _counters(text) == got  # the same region again, through the remembered layout
