"""The tolerant reader and the value contract on real samples: unknown lines are warnings,
values outside the model cost one record, nothing is invented, bad numbers are reported.

Each case edits a real sample the way a device of another image (or a damaged capture) does,
and the expected values are read from the sample text."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.assemble import assemble
from parsers import ParseError, parse
from tests.parsers.conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
STRONGSWAN = Path(__file__).parent / "data" / "strongswan"
IPSEC = (FIXTURES / "iosxe/show_crypto_ipsec_sa/genieparser-1.txt").read_text()
ISAKMP_DETAIL = (FIXTURES / "iosxe/show_crypto_isakmp_sa_detail/genieparser-1.txt").read_text()


def test_unknown_lines_are_warnings_and_the_device_keeps_its_sas() -> None:
    lines = IPSEC.splitlines()
    lines[3] = "    Protected vrf (ivrf): Global"  # the ASA 9.x spelling of the vrf line
    lines.insert(10, "    hardware offload: enabled, flow count 3")  # unknown
    text = "\n".join(lines)
    state = assemble("r1", "cisco_iosxe", {"show crypto ipsec sa": text})
    assert state.reachable
    assert [t.peer for t in state.tunnels] == ["1.1.1.1", "1.1.1.1", "2.2.2.1"]
    assert state.tunnels[0].vrf is None and state.tunnels[0].extra["ivrf_raw"] == "Global"
    (warning,) = state.errors
    assert warning.kind == "parse_warning" and warning.command == "show crypto ipsec sa"
    assert "line 11" in warning.message and "hardware offload" in warning.message


def test_only_unrecognisable_output_is_rejected() -> None:
    with pytest.raises(ParseError):
        parse("cisco_iosxe", "show crypto ipsec sa", "Cisco IOS XE Software, Version 17.3\n")
    device_error = "          ^\n% Invalid input detected at '^' marker.\n"
    with pytest.raises(ParseError, match="device error"):
        parse("cisco_iosxe", "show crypto ipsec sa", device_error)


def test_ike_aes_without_key_size_is_not_guessed() -> None:
    """The IOS ISAKMP detail table prints ``aes`` whatever the key size."""
    result = parse("cisco_iosxe", "show crypto isakmp sa detail", ISAKMP_DETAIL)
    rows = [r for r in result["ike_sas"] if r["extra"].get("encr_raw") == "aes"]
    assert rows, "the sample has 'aes' rows"
    for row in rows:
        assert row["encryption"] is None and row["extra"]["encryption_raw"] == "aes"


def test_pfs_is_a_bool_and_dh_group_a_number() -> None:
    text = IPSEC.replace("PFS (Y/N): N, DH group: none", "PFS (Y/N): Y, DH group: group14", 1)
    first = parse("cisco_iosxe", "show crypto ipsec sa", text)["tunnels"][0]
    assert (first["pfs"], first["dh_group"]) == (True, 14)
    last = parse("cisco_iosxe", "show crypto ipsec sa", IPSEC)["tunnels"][-1]
    assert (last["pfs"], last["dh_group"]) == (False, None)


def test_capitalised_section_and_unknown_protocol_cost_only_their_sas() -> None:
    text = IPSEC.replace("inbound esp sas:", "inbound ESP sas:", 1)
    text = text.replace("outbound ah sas:", "outbound xyz sas:\n      spi: 0x1(1)", 1)
    result = parse("cisco_iosxe", "show crypto ipsec sa", text)
    first = result["tunnels"][0]
    # the sample's first ident: inbound 0x658F7C11, outbound 0x397C36EE (read from the text)
    assert {(sa["direction"], sa["spi"]) for sa in first["sas"]} == {
        ("in", 0x658F7C11),
        ("out", 0x397C36EE),
    }
    assert any("unknown protocol" in w.reason for w in result.warnings)


def test_spi_over_32_bits_and_huge_numbers_are_malformed() -> None:
    text = IPSEC.replace("spi: 0x658F7C11(1703902225)", "spi: 0x1AF2C1743", 1)
    text = text.replace("#pkts encaps: 4,", "#pkts encaps: " + "9" * 4000 + ",", 1)
    result = parse("cisco_iosxe", "show crypto ipsec sa", text)
    reasons = " ".join(w.reason for w in result.warnings)
    assert "32 bits" in reasons and "out of range" in reasons
    spis = {sa["spi"] for t in result["tunnels"] for sa in t["sas"]}
    assert 0x1AF2C1743 not in spis and 0x397C36EE in spis
    state = assemble("r1", "cisco_iosxe", {"show crypto ipsec sa": text})
    assert state.reachable and all(e.kind == "parse_warning" for e in state.errors)


def test_a_value_outside_the_model_costs_one_record() -> None:
    text = (STRONGSWAN / "documented-multi.txt").read_text()
    ikev = next(line for line in text.splitlines() if ", IKEv1," in line)
    state = assemble(
        "gw",
        "strongswan",
        {"swanctl --list-sas": text.replace(ikev, ikev.replace("IKEv1", "IKEv3"))},
    )
    good = assemble("gw", "strongswan", {"swanctl --list-sas": text})
    assert len(state.ike_sas) == len(good.ike_sas) - 1
    assert len(state.tunnels) == len(good.tunnels)
    (err,) = state.errors
    assert err.kind == "parse_warning" and "version" in err.message and state.reachable


def test_raw_missing_keys_are_null_not_the_string_none() -> None:
    text = (STRONGSWAN / "lab-initiator.raw.txt").read_text()
    import re

    text = re.sub(r" responder-spi=\S+", "", text)
    text = re.sub(r" remote-host=\S+", "", text)
    result = parse("strongswan", "swanctl --list-sas --raw", text)
    ike = result["ike_sas"][0]
    assert ike["remote"] is None and ike["spi_r"] is None
    assert all(t["peer"] is None for t in result["tunnels"])
    assert "None" not in json.dumps(result.records)


def test_swanctl_lost_ike_header_never_moves_a_child() -> None:
    text = (STRONGSWAN / "documented-multi.txt").read_text()
    lines = text.splitlines()
    heads = [i for i, line in enumerate(lines) if ", IKEv" in line and not line.startswith(" ")]
    del lines[heads[1]]
    result = parse("strongswan", "swanctl --list-sas", "\n".join(lines))
    assert any("without its header" in w.reason for w in result.warnings)
    first_peer = result["ike_sas"][0]["remote"]
    before = parse("strongswan", "swanctl --list-sas", text)
    assert sum(t["peer"] == first_peer for t in result["tunnels"]) == sum(
        t["peer"] == first_peer for t in before["tunnels"]
    )


# ---------------------------------------------------------------- the command a user runs


def _cli(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "ipsecctl", "parse", *args],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def _json(out: str) -> Any:
    return json.loads(out)


def test_cli_warnings_exit_0_and_are_in_json(tmp_path: Path) -> None:
    lines = IPSEC.splitlines()
    lines.insert(8, "   some line from a newer image: 12")
    path = tmp_path / "out.txt"
    path.write_text("\n".join(lines))
    code, out, err = _cli(str(path), "-p", "cisco_iosxe", "-c", "show crypto ipsec sa", "--json")
    assert code == 0, err
    doc = _json(out)
    assert doc["warnings"] == [
        {"line": 9, "text": "some line from a newer image: 12", "reason": "unrecognised line"}
    ]
    assert len(doc["tunnels"]) == 3
    code, out, err = _cli(str(path), "-p", "cisco_iosxe", "-c", "show crypto ipsec sa")
    assert code == 0 and "1.1.1.1" in out and "line 9" in err


def test_cli_explain_lists_lines_and_records(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    path.write_text(IPSEC.replace("PERMIT, flags", "NEW-LINE here\n PERMIT, flags", 1))
    code, out, _err = _cli(str(path), "-p", "cisco_iosxe", "-c", "show crypto ipsec sa", "-v")
    assert code == 0
    assert "?  NEW-LINE here" in out and "<- unrecognised line" in out
    assert "current_peer 1.1.1.1 port 500   -> tunnels #1 (peer 1.1.1.1)" in out


def test_cli_bad_device_output_exits_1_never_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    path.write_bytes(bytes(range(256)) * 40)
    code, _out, err = _cli(str(path), "-p", "cisco_ios", "-c", "show crypto ipsec sa")
    assert code == 1 and "Traceback" not in err and "cannot parse" in err
    huge = tmp_path / "huge.txt"
    huge.write_text(IPSEC.replace("#pkts encaps: 4,", "#pkts encaps: " + "1" * 4000 + ",", 1))
    code, out, err = _cli(str(huge), "-p", "cisco_iosxe", "-c", "show crypto ipsec sa", "--json")
    assert code == 0 and "Traceback" not in err
    assert any("out of range" in w["reason"] for w in _json(out)["warnings"])


def test_cli_non_utf8_bytes_are_replaced_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    data = IPSEC.encode().replace(b"PERMIT, flags", b"PERMIT \xe9\xff, flags", 1)
    path.write_bytes(data)
    code, out, err = _cli(str(path), "-p", "cisco_iosxe", "-c", "show crypto ipsec sa", "--json")
    assert code == 0, err
    reasons = [w["reason"] for w in _json(out)["warnings"]]
    assert any("2 byte(s) that are not UTF-8" in r for r in reasons)
