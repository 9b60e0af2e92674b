"""libreswan ``ipsec status`` and ``ipsec trafficstatus`` read into the ipsecctl records.

Expected values are read from the sample texts (tests/fixtures/libreswan, sources there).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from parsers import ParseError, parse

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "libreswan"


def test_real_4_10_status_with_an_ike_sa_only() -> None:
    recs = parse("libreswan", "ipsec status", (FIX / "ipsec_status-4.10-ike-only.txt").read_text())
    [sa] = recs["ike_sas"]
    # 000 #1: "lab":4500 STATE_V2_ESTABLISHED_IKE_SA (established IKE SA); ...
    # 000 "lab": 10.238.12.0/24===10.238.0.2[@b.lab]...10.238.0.1[@a.lab]===10.238.11.0/24
    # 000 "lab":   IKEv2 algorithm newest: AES_CBC_256-HMAC_SHA2_256-MODP2048
    assert (sa["version"], sa["conn_id"], sa["state"], sa["status"]) == (
        2,
        1,
        "STATE_V2_ESTABLISHED_IKE_SA",
        "up",
    )
    assert (sa["local"], sa["remote"], sa["local_port"], sa["nat_t"]) == (
        "10.238.0.2",
        "10.238.0.1",
        4500,
        True,
    )
    assert (sa["encryption"], sa["prf"], sa["dh_group"]) == ("aes256", "prfsha256", 14)
    assert recs["tunnels"] == []


def test_status_with_a_child_sa() -> None:
    text = (FIX / "ipsec_status-westnet-eastnet.txt").read_text()
    recs = parse("libreswan", "ipsec whack --status", text)
    [ike] = recs["ike_sas"]
    assert (ike["conn_id"], ike["local"], ike["remote"]) == (1, "192.1.2.45", "192.1.2.23")
    [t] = recs["tunnels"]
    assert (t["local_addr"], t["peer"], t["local_ts"]["prefix"], t["remote_ts"]["prefix"]) == (
        "192.1.2.45",
        "192.1.2.23",
        "192.0.1.0/24",
        "192.0.2.0/24",
    )
    assert t["extra"]["unique_id"] == 3 and t["extra"]["ike_id"] == 1
    assert t["counters"] == {"bytes_in": 84, "bytes_out": 84}
    # the test suite masks SPIs ("ESPSPIi"): not guessed, null
    assert [(s["direction"], s["spi"]) for s in t["sas"]] == [("in", None), ("out", None)]
    assert {s["encryption"] for s in t["sas"]} == {"aes256"}
    assert {s["integrity"] for s in t["sas"]} == {"sha512"}


def test_status_spis_in_and_out() -> None:
    """esp.SPI@ADDR names an SA by its destination: the one at the peer's address is ours
    outbound (line from the libreswan status format above, with real hex SPIs)."""
    text = (
        (FIX / "ipsec_status-westnet-eastnet.txt")
        .read_text()
        .replace(
            "esp.ESPSPIi@192.1.2.23 esp.ESPSPIi@192.1.2.45",
            "esp.9d4cfa02@192.1.2.23 esp.950d136b@192.1.2.45",
        )
    )
    [t] = parse("libreswan", "ipsec status", text)["tunnels"]
    assert {s["direction"]: s["spi"] for s in t["sas"]} == {"out": 0x9D4CFA02, "in": 0x950D136B}


def test_trafficstatus() -> None:
    text = (FIX / "ipsec_trafficstatus-westnet-eastnet.txt").read_text()
    [t] = parse("libreswan", "ipsec trafficstatus", text)["tunnels"]
    assert t["extra"]["unique_id"] == 3 and t["extra"]["name"] == "westnet-eastnet"
    assert t["counters"] == {"bytes_in": 84, "bytes_out": 84}
    assert t["extra"]["remote_id"] == "@east"
    # 5.x prints the same line without the "006 " code
    bare = parse("libreswan", "ipsec whack --trafficstatus", text[4:])["tunnels"]
    assert bare[0]["counters"] == t["counters"]


@pytest.mark.parametrize("command", ["ipsec status", "ipsec trafficstatus"])
def test_garbage_is_a_parse_error_naming_the_line(command: str) -> None:
    with pytest.raises(ParseError) as err:
        parse("libreswan", command, "% Invalid input detected at '^' marker.\n")
    assert "line 1" in str(err.value)


def test_wrong_platform_is_refused() -> None:
    with pytest.raises(ValueError):
        parse("cisco_ios", "ipsec status", "")
