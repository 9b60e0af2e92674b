"""ASA (platform cisco_asa) corpus samples compared field by field with the expected data they
came with (ntc-templates rows, Genie dicts), on real and indentation-stripped text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ipsecctl.models import IkeSa, Tunnel
from parsers import parse
from parsers._convert import mask_to_prefix
from tests.parsers.conftest import FIXTURES, expected, strip_indent

ASA = FIXTURES / "asa"
INDENT = [pytest.param(False, id="real"), pytest.param(True, id="stripped")]


def _text(path: Path, stripped: bool) -> str:
    text = path.read_text()
    return strip_indent(text) if stripped else text


@pytest.mark.parametrize("stripped", INDENT)
def test_ipsec_sa_matches_ntc(stripped: bool) -> None:
    sample = ASA / "show_crypto_ipsec_sa/ntc-templates-1.txt"
    rows = expected(sample)
    tunnels = parse("cisco_asa", "show crypto ipsec sa", _text(sample, stripped))["tunnels"]
    assert len(tunnels) == len(rows)
    for t, row in zip(tunnels, rows, strict=True):
        Tunnel.model_validate(t)
        assert t["interface"] == row["interface"]
        assert t["crypto_map"] == row["crypto_map_tag"]
        assert t["map_seq"] == (int(row["sequence_number"]) if row["sequence_number"] else None)
        # ntc splits ASA "name-address" spellings; the record keeps what the device printed
        assert t["local_addr"].endswith(row["local_address"])
        assert t["peer"].endswith(row["current_peer"])
        assert t["local_ts"]["prefix"] == mask_to_prefix(
            row["local_identity_addr"], row["local_identity_mask"]
        )
        assert t["remote_ts"]["prefix"] == mask_to_prefix(
            row["remote_identity_addr"], row["remote_identity_mask"]
        )
        counters = t["counters"]
        assert counters["pkts_encaps"] == int(row["packets_encapsulated"])
        assert counters["pkts_decaps"] == int(row["packets_decapsulated"])
        assert counters["pkts_not_compressed"] == int(row["packets_not_compressed"])
        assert counters["pre_frag_successes"] == int(row["pre_fragment_success"])
        assert counters["pmtus_rcvd"] == int(row["pmtus_received"])
        assert counters["decapsulated_frags_needing_reassembly"] == int(
            row["decap_frags_needing_reassembly"]
        )
        assert counters["recv_errors"] == int(row["receive_errors"])
        assert t["extra"]["path_mtu"] == int(row["path_mtu"])
        assert t["extra"]["ipsec_overhead"] == int(row["ipsec_overhead"])
        assert t["extra"]["current_outbound_spi"] == int(row["current_outbound_spi"], 16)
        if row["dynamic_peer"]:
            assert t["extra"]["assigned_ip"] == row["dynamic_peer"]
        for direction, prefix in (("in", "inbound"), ("out", "outbound")):
            (sa,) = [sa for sa in t["sas"] if sa["direction"] == direction]
            assert sa["spi"] == int(row[f"{prefix}_spi_integer"])
            assert sa["transform"].split()[0] == row[f"{prefix}_encryption"]
            assert sa["conn_id"] == int(row[f"{prefix}_connection_id"])
            assert sa["remaining_s"] == int(row[f"{prefix}_remaining_lifetime"])
            kb = row[f"{prefix}_remaining_lifetime_kilobytes"]
            assert sa["remaining_kb"] == (int(kb) if kb else None)
            assert sa["extra"]["sa_crypto_map"] == row[f"{prefix}_crypto_map"]
            assert sa["udp_encap"] == ("NAT-T-Encaps" in row[f"{prefix}_settings_in_use"])
            assert sa["mode"] == "tunnel"
    nat = tunnels[1]
    assert (nat["peer_port"], nat["sas"][0]["encryption"], nat["sas"][0]["integrity"]) == (
        4500,
        "aes256",
        "md5",
    )


@pytest.mark.parametrize("stripped", INDENT)
def test_ikev1_table_matches_ntc(stripped: bool) -> None:
    sample = ASA / "show_crypto_ikev1_sa_detail/ntc-templates-1.txt"
    rows = expected(sample)
    sas = parse("cisco_asa", "show crypto ikev1 sa detail", _text(sample, stripped))["ike_sas"]
    got = [
        (s["remote"], s["state"], s["role"], s["extra"]["encr_raw"], s["lifetime_s"], s["status"])
        for s in sas
    ]
    want = [
        (
            r["peer"],
            r["state"].upper(),
            "responder" if r["dir"] == "Resp" else "initiator",
            r["encryption"],
            int(r["lifetime"]),
            "up",
        )
        for r in rows
    ]
    assert got == want
    for s in sas:
        IkeSa.model_validate(s)


@pytest.mark.parametrize("command", ["show crypto ikev1 sa detail", "show crypto isakmp sa detail"])
def test_ikev1_blocks(command: str) -> None:
    sample = ASA / "show_crypto_ikev1_sa/documented-1.txt"
    sas = parse("asa", command, sample.read_text())["ike_sas"]
    keys = (
        "remote",
        "role",
        "state",
        "status",
        "encryption",
        "integrity",
        "auth",
        "lifetime_s",
        "remaining_s",
    )
    assert [{k: s[k] for k in keys} for s in sas] == expected(sample)
    for s in sas:
        IkeSa.model_validate(s)


@pytest.mark.parametrize("stripped", INDENT)
@pytest.mark.parametrize("name", ["genieparser-1", "genieparser-2"])
def test_ikev2_matches_genie(name: str, stripped: bool) -> None:
    sample = ASA / f"show_crypto_ikev2_sa/{name}.txt"
    exp = expected(sample)
    sas = parse("cisco_asa", "show crypto ikev2 sa", _text(sample, stripped))["ike_sas"]
    want: list[tuple[Any, ...]] = []
    for sid, session in exp.get("sessions", {}).items():
        for tunnel in session["tunnels"].values():
            children = sorted(
                (
                    int(c["esp_in"], 16),
                    int(c["esp_out"], 16),
                    c["local_selector"],
                    c["remote_selector"],
                )
                for c in tunnel.get("child_sa", {}).values()
            )
            want.append(
                (
                    int(sid),
                    session["status"],
                    tunnel["tunnel_id"],
                    tunnel["local"],
                    tunnel["remote"],
                    tunnel["status"],
                    tunnel["role"].lower(),
                    tunnel["dh_group"],
                    tunnel["lifetime_secs"],
                    tunnel["activetime_secs"],
                    children,
                )
            )
    got = []
    for s in sas:
        IkeSa.model_validate(s)
        e = s["extra"]
        children = sorted(
            (c["spi_in"], c["spi_out"], c["local_selector"], c["remote_selector"])
            for c in e["child_sas"]
        )
        got.append(
            (
                e["session_id"],
                e["session_status"],
                s["conn_id"],
                f"{s['local']}/{s['local_port']}",
                f"{s['remote']}/{s['remote_port']}",
                s["state"],
                s["role"],
                s["dh_group"],
                s["lifetime_s"],
                e["active_time_s"],
                children,
            )
        )
    assert got == want
    assert all(s["status"] == "up" for s in sas)


def test_ios_output_read_as_asa_is_never_silent() -> None:
    """IOS and ASA print most lines alike: the other family's output is read tolerantly, and
    every line only the other family prints comes back as a warning with its number."""
    ios = (FIXTURES / "ios/show_crypto_ipsec_sa_detail/ntc-templates-1.txt").read_text()
    result = parse("cisco_asa", "show crypto ipsec sa", ios)
    lines = {(w.lineno, w.line) for w in result.warnings}
    # IOS spellings, as printed in the sample: no colon after "local addr", "port" after peer
    assert (2, "Crypto map tag: Tunnel1-head-0, local addr 1.2.3.4") in lines
    assert (7, "current_peer 2.2.2.2 port 4500") in lines
    asa = (ASA / "show_crypto_ipsec_sa/ntc-templates-1.txt").read_text()
    result = parse("cisco_ios", "show crypto ipsec sa", asa)
    assert result.warnings and result.warnings[0].lineno == 2


def test_ikev1_is_asa_only() -> None:
    with pytest.raises(ValueError, match="platform"):
        parse("cisco_ios", "show crypto ikev1 sa", "")
    assert parse("cisco_asa", "show crypto ikev1 sa", "There are no IKEv1 SAs\n") == {"ike_sas": []}


def test_asa_chunked_equals_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """ASA blocks cut at interface, crypto map and access-list lines parse as one text."""
    from parsers import cisco_ipsec_sa

    text = (ASA / "show_crypto_ipsec_sa/ntc-templates-1.txt").read_text()
    whole = parse("cisco_asa", "show crypto ipsec sa", text)["tunnels"]
    monkeypatch.setattr(cisco_ipsec_sa, "CHUNK_CHARS", 300)
    assert len(list(cisco_ipsec_sa.iter_chunks(text))) >= 3
    assert parse("cisco_asa", "show crypto ipsec sa", text)["tunnels"] == whole


def test_port_range_ident() -> None:
    """ASA prints a port range in an ident (Zscaler's ASA guide: ``6/0 - 65535``): the whole
    range is "any port" (0); a narrower range is no single port, so the selector is kept raw
    and reported, never widened to "any"."""
    sample = (
        FIXTURES.parent / "real/asa/show_crypto_ipsec_sa/zscaler-asa55xx-zia-esp-null-https.txt"
    )
    text = sample.read_text()
    result = parse("cisco_asa", "show crypto ipsec sa", text)
    assert not result.warnings
    assert result["tunnels"][0]["local_ts"] == {
        "prefix": "192.168.202.0/24",
        "protocol": 6,
        "port": 0,
    }
    narrowed = text.replace("/6/0 - 65535)", "/6/1024 - 65535)")
    result = parse("cisco_asa", "show crypto ipsec sa", narrowed)
    tunnel = result["tunnels"][0]
    assert tunnel["local_ts"] is None
    assert tunnel["extra"]["local_ident_raw"] == "192.168.202.0/255.255.255.0/6/1024 - 65535"
    assert [w.lineno for w in result.warnings] == [4]
    assert tunnel["remote_ts"] == {"prefix": "0.0.0.0/0", "protocol": 6, "port": 443}
