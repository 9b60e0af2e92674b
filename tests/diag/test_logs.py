"""diag logs: lines it must recognise, noise it must ignore, the JSON contract and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipsecctl.cli.diag import app
from ipsecctl.diag.logs import analyse, signatures

LOGS = Path(__file__).parent.parent / "fixtures" / "logs"

# (file, 1-based line, code, peer)
EXPECTED = [
    ("ios_syslog.log", 1, "CRYPTO-4-RECVD_PKT_INV_SPI", "10.10.0.1"),
    ("ios_syslog.log", 3, "CRYPTO-4-RECVD_PKT_INV_SPI", "10.30.0.1"),  # wrapped line
    ("ios_syslog.log", 5, "CRYPTO-4-PKT_REPLAY_ERR", None),
    ("ios_syslog.log", 6, "CRYPTO-6-IKMP_MODE_FAILURE", "10.40.0.2"),
    ("ios_syslog.log", 7, "CRYPTO-4-IKMP_BAD_MESSAGE", "10.40.0.2"),
    ("ios_syslog.log", 8, "CRYPTO-4-IKMP_NO_SA", "10.50.0.2"),
    ("ios_syslog.log", 9, "CRYPTO-4-RECVD_PKT_NOT_IPSEC", "172.16.2.10"),
    ("ios_syslog.log", 10, "CRYPTO-4-RECVD_PKT_MAC_ERR", None),
    ("ios_syslog.log", 11, "CRYPTO-5-SESSION_STATUS_DOWN", "10.40.0.2"),
    ("ios_syslog.log", 12, "CRYPTO-5-SESSION_STATUS_UP", "10.60.0.2"),
    ("ios_syslog.log", 14, "CRYPTO-6-IKMP_NOT_ENCRYPTED", "10.50.0.2"),
    ("ios_syslog.log", 15, "CRYPTO-3-IKMP_QUERY_KEY", None),
    ("ios_syslog.log", 16, "CRYPTO-6-IKMP_NO_ID_CERT_ADDR_MATCH", "10.70.0.2"),
    ("ios_syslog.log", 17, "CRYPTO-4-IKE_QUICKMODE_BAD_CERT", None),
    ("ios_syslog.log", 18, "CRYPTO-4-IKMP_HASH_SIZE_EXCEEDED", "10.70.0.2"),
    ("ios_syslog.log", 19, "CRYPTO-6-EZVPN_CONNECTION_DOWN", None),
    ("ios_syslog.log", 20, "CRYPTO-4-IPSECPOLICY_DOWN", None),
    ("ios_syslog.log", 21, "IPSEC-3-REPLAY_ERROR", "10.90.0.2"),
    ("ios_debug_isakmp.log", 3, "ISAKMP_AGGRESSIVE_FALLBACK", None),
    ("ios_debug_isakmp.log", 6, "ISAKMP_ATTR_MISMATCH", None),
    ("ios_debug_isakmp.log", 7, "ISAKMP_ATTS_NOT_ACCEPTABLE", None),
    ("ios_debug_isakmp.log", 10, "ISAKMP_P1_NOT_ACCEPTABLE", None),
    ("ios_debug_isakmp.log", 11, "ISAKMP_P1_NOT_ACCEPTABLE", "10.40.0.2"),
    ("ios_debug_isakmp.log", 12, "ISAKMP_NO_PSK", "10.41.0.2"),
    ("ios_debug_isakmp.log", 13, "ISAKMP_NO_PSK", "10.42.0.2"),
    ("ios_debug_isakmp.log", 14, "ISAKMP_NO_PSK", "10.43.0.2"),
    ("ios_debug_isakmp.log", 15, "ISAKMP_RETRANSMIT_MM_KEY_EXCH", "10.44.0.2"),  # via conn 1001
    ("ios_debug_isakmp.log", 16, "ISAKMP_RETRANSMIT_MM_NO_STATE", None),
    ("ios_debug_isakmp.log", 18, "ISAKMP_PEER_NOT_RESPONDING", "10.44.0.2"),
    ("ios_debug_isakmp.log", 19, "ISAKMP_RESERVED_NOT_ZERO", None),
    ("ios_debug_isakmp.log", 21, "IPSEC_SA_REQUEST", "10.45.0.2"),
    ("ios_debug_isakmp.log", 22, "IPSEC_VALIDATE_PROPOSAL", None),
    ("ios_debug_isakmp.log", 23, "IPSEC_TRANSFORM_NOT_SUPPORTED", None),
    ("ios_debug_isakmp.log", 25, "IPSEC_PROXY_NOT_SUPPORTED", None),
    ("ios_debug_isakmp.log", 26, "IPSEC_PROXY_NOT_SUPPORTED", None),
    ("ios_debug_isakmp.log", 27, "IPSEC_PEER_NOT_FOUND", "10.46.0.2"),
    ("ios_debug_isakmp.log", 28, "IPSEC_INVALID_LOCAL_ADDRESS", None),
    ("ios_debug_isakmp.log", 29, "ISAKMP_QM_DONE", None),
    ("ios_debug_ikev2.log", 2, "IKEV2_NO_PROPOSAL_CHOSEN", "10.50.0.2"),
    ("ios_debug_ikev2.log", 4, "IKEV2_AUTHENTICATION_FAILED", "10.51.0.2"),
    ("ios_debug_ikev2.log", 5, "IKEV2_TS_UNACCEPTABLE", "10.52.0.2"),
    ("ios_debug_ikev2.log", 7, "IKEV2_NO_MATCHING_PROFILE", "10.53.0.2"),
    ("ios_debug_ikev2.log", 8, "IKEV2-3-NEG_ABORT", None),
    ("asa.log", 1, "ASA_QM_FSM_ERROR", "198.51.100.7"),
    ("asa.log", 2, "ASA_CORRELATOR_REMOVE_FAILED", "198.51.100.7"),
    ("asa.log", 3, "ASA_INVALID_COOKIE", "198.51.100.8"),
    ("asa.log", 4, "IPSEC_TRANSFORM_NOT_SUPPORTED", "198.51.100.9"),
    ("asa.log", 5, "IPSEC_PROXY_NOT_SUPPORTED", "198.51.100.10"),
    ("asa.log", 6, "ASA-4-713903", "198.51.100.11"),
    ("asa.log", 7, "ASA-3-713048", "198.51.100.12"),
    ("asa.log", 8, "ASA-4-402101", "198.51.100.13"),
    ("asa.log", 9, "ASA-4-750003", "198.51.100.14"),
    ("asa.log", 10, "ASA-5-750006", "198.51.100.15"),  # IKEv2 SA UP: its own code
    ("asa.log", 11, "ASA-751XXX", "198.51.100.16"),
    ("asa.log", 12, "ASA_PHASE1_MISMATCH", None),
]


def _events(name: str) -> dict[int, object]:
    return {e.line: e for e in analyse((LOGS / name).read_text()).events}


def test_at_least_30_signatures_with_sources() -> None:
    sigs = signatures()
    assert len(sigs) >= 30
    assert all(s.source and s.tag in ("V", "T", "K") for s in sigs)
    assert len({s.code for s in sigs}) == len(sigs)


@pytest.mark.parametrize(("name", "line", "code", "peer"), EXPECTED)
def test_line_recognised(name: str, line: int, code: str, peer: str | None) -> None:
    ev = _events(name)[line]
    assert ev.code == code  # type: ignore[attr-defined]
    assert ev.peer == peer  # type: ignore[attr-defined]
    assert ev.time  # type: ignore[attr-defined]


def test_noise_is_ignored() -> None:
    assert analyse((LOGS / "noise.log").read_text()).events == []
    syslog = _events("ios_syslog.log")
    assert 2 not in syslog and 13 not in syslog and 22 not in syslog  # LINEPROTO, SYS, LINK
    assert 4 not in syslog  # the wrapped continuation is part of line 3
    assert 13 not in _events("asa.log")  # %ASA-6-302013 connection build


def test_unrecognised_ipsec_line_kept_with_null_code() -> None:
    ev = _events("asa.log")[14]
    assert ev.code is None and ev.peer == "198.51.100.17"  # type: ignore[attr-defined]


def test_timeline_per_peer_in_line_order() -> None:
    report = analyse((LOGS / "ios_syslog.log").read_text())
    peers = report.peers()
    codes = [e["code"] for e in peers["10.40.0.2"]]
    assert codes == [
        "CRYPTO-6-IKMP_MODE_FAILURE",
        "CRYPTO-4-IKMP_BAD_MESSAGE",
        "CRYPTO-5-SESSION_STATUS_DOWN",
    ]
    assert [e["line"] for e in peers["10.40.0.2"]] == [6, 7, 11]


def test_cli_json_contract_and_exit_3() -> None:
    res = CliRunner().invoke(app, ["logs", str(LOGS / "ios_syslog.log"), "--json"])
    assert res.exit_code == 3, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "diag logs"
    first = doc["events"][0]
    assert {"line", "time", "peer", "code", "summary", "fix", "text"} <= set(first)
    assert first["line"] == 1 and first["text"].startswith("000412:")
    assert "10.40.0.2" in doc["peers"]


def test_cli_info_only_exits_0_and_stdin() -> None:
    text = (
        "*Mar  1 00:07:30.000: %CRYPTO-5-SESSION_STATUS: Crypto tunnel is UP  .  "
        "Peer 10.6.0.2:500\n"
    )
    res = CliRunner().invoke(app, ["logs", "-"], input=text)
    assert res.exit_code == 0, res.output
    assert "10.6.0.2" in res.stdout


def test_cli_human_output_names_codes() -> None:
    res = CliRunner().invoke(app, ["logs", str(LOGS / "asa.log")])
    assert res.exit_code == 3
    assert "ASA_QM_FSM_ERROR" in res.stdout


@pytest.mark.parametrize("name", ["empty.log", "does-not-exist.log"])
def test_empty_or_missing_log_is_usage_error(name: str) -> None:
    res = CliRunner().invoke(app, ["logs", str(LOGS / name)])
    assert res.exit_code == 2
    assert name in res.stderr and "Traceback" not in res.stderr


# --------------------------------------------------------------------- conn-id -> peer (G2)
def test_debug_lines_take_the_peer_their_conn_id_is_bound_to() -> None:
    ev = _events("ios_debug_connid.log")
    # ISAKMP:(1011) lines before and after "sending packet to 10.60.0.2" (line 10)
    for line in (8, 9, 11, 12, 13):
        assert ev[line].peer == "10.60.0.2", line  # type: ignore[attr-defined]
        assert "conn-id 1011" in ev[line].peer_via  # type: ignore[attr-defined]
    # the IPsec conn id of "Creating IPSec SAs" reaches the later %CRYPTO-4 lines
    assert ev[40].code == "CRYPTO-4-PKT_REPLAY_ERR"  # type: ignore[attr-defined]
    assert ev[40].peer == ev[41].peer == "10.61.0.2"  # type: ignore[attr-defined]


def test_sa_dest_is_the_peer_only_when_it_is_not_ours() -> None:
    ev = _events("ios_debug_connid.log")
    assert ev[23].peer == "10.61.0.2"  # type: ignore[attr-defined]  # outbound: sa_dest = peer
    # inbound create_sa names our own address (10.20.0.1, local= on line 27): never the peer
    assert ev[19].peer == "10.61.0.2"  # type: ignore[attr-defined]  # via conn-id 2011
    assert all(e.peer != "10.20.0.1" for e in ev.values())  # type: ignore[attr-defined]


def test_conn_id_zero_never_binds() -> None:
    ev = _events("ios_debug_connid.log")
    assert ev[1].peer is None and ev[42].peer is None  # type: ignore[attr-defined]
    assert ev[6].peer is None  # type: ignore[attr-defined]  # ISAKMP:(0) after a peer line


def test_conn_ids_do_not_leak_between_files() -> None:
    assert _events("ios_debug_isakmp.log")[16].peer is None  # type: ignore[attr-defined]


# --------------------------------------------------------------------- IKEv2 SA up/down (G1)
def test_ikev2_sa_down_peer_is_remote_address() -> None:
    ev = _events("iosxe_ikev2_flap.log")
    assert [(e.code, e.peer) for e in ev.values()][:2] == [  # type: ignore[attr-defined]
        ("IKEV2-5-SA_UP", "203.0.113.9"),
        ("IKEV2-5-SA_DOWN", "203.0.113.9"),
    ]
    assert ev[6].peer == "2001:db8:7::9"  # type: ignore[attr-defined]
    assert _events("ios_debug_ikev2.log")[9].peer is None  # type: ignore[attr-defined]


# --------------------------------------------------------------------- ASA 402119/402116 (G3)
def test_asa_anti_replay_and_policy_mismatch() -> None:
    ev = _events("asa_ipsec.log")
    assert (ev[1].code, ev[1].peer, ev[1].severity) == (  # type: ignore[attr-defined]
        "ASA-4-402119",
        "198.51.100.21",
        "error",
    )
    assert (ev[2].code, ev[2].peer) == ("ASA-4-402116", "198.51.100.22")  # type: ignore[attr-defined]
    assert "replay window-size" in ev[1].fix  # type: ignore[attr-defined]
    assert "mirror" in ev[2].fix  # type: ignore[attr-defined]
    assert 3 not in ev  # %ASA-6-302013 is noise


# --------------------------------------------------------------------- timeline carries fix (G4)
def test_timeline_entries_carry_fix() -> None:
    peers = analyse((LOGS / "asa_ipsec.log").read_text()).peers()
    entry = peers["198.51.100.21"][0]
    assert entry["fix"] and entry["summary"] and entry["code"] == "ASA-4-402119"


def test_cli_tables_show_meaning_and_fix() -> None:
    res = CliRunner().invoke(app, ["logs", str(LOGS / "ios_syslog.log")], terminal_width=250)
    assert res.exit_code == 3
    out = res.stdout
    assert "peer 10.40.0.2" in out and "no peer on the line" in out
    for title in ("peer 10.40.0.2", "no peer on the line"):
        block = out[out.index(title) :][:600]
        assert "meaning" in block and "fix" in block, block
