"""The capture analysis engine on a real strongSwan capture and on packets built here.

Expected values come from how the capture was made (tests/fixtures/charon/SOURCES.md: five
pings through the tunnel), from tshark's reading of the same capture, and from RFC 4303
(anti-replay window, ESN) and RFC 7296 (notify types) for the built packets.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.diag.capture.analysis import analyse_capture
from ipsecctl.diag.ike.charon_keys import bind_from_list_sas, parse_charon_log
from ipsecctl.diag.packets.esp import EspCipher
from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.pcap import Frame, classify
from ipsecctl.diag.packets.reader import open_capture
from ipsecctl.diag.packets.suites import ENCRYPTION, INTEGRITY
from ipsecctl.models import IpsecSa
from tests.diag.packets.builders import frame, icmp_echo, ipv4, udp

FIX = Path(__file__).resolve().parents[2] / "fixtures"
CHARON = FIX / "charon"
LOCAL, PEER = "172.16.1.1", "172.16.2.2"


def _list_sas(text: str) -> tuple[list[IpsecSa], str]:
    """The device's SAs the way the device side hands them over (from swanctl's output)."""
    spi_in, spi_out = re.search(r"spi-in=([0-9a-f]{8}) spi-out=([0-9a-f]{8})", text).groups()  # type: ignore[union-attr]
    local = re.search(r"local-host=(\S+)", text).group(1)  # type: ignore[union-attr]
    return [
        IpsecSa(direction="in", spi=int(spi_in, 16), transform="aes128-sha1"),
        IpsecSa(direction="out", spi=int(spi_out, 16), transform="aes128-sha1"),
    ], local


def _tshark_esp(capture: Path) -> list[tuple[int, int]]:
    out = subprocess.run(
        [
            "tshark",
            "-n",
            "-r",
            str(capture),
            "-Y",
            "esp",
            "-T",
            "fields",
            "-e",
            "esp.spi",
            "-e",
            "esp.sequence",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [(int(a, 16), int(b)) for a, b in (ln.split("\t") for ln in out.splitlines())]


def test_real_strongswan_capture_with_charon_keys() -> None:
    cap = CHARON / "cbc.pcapng"
    list_sas = (CHARON / "cbc-list-sas-a.txt").read_text()
    sas, local = _list_sas(list_sas)
    keys = parse_charon_log((CHARON / "cbc-a.log").read_text())
    assert bind_from_list_sas(keys, list_sas) == 1
    rep = analyse_capture(open_capture(cap), device="gw-a", peer="10.220.0.2", sas=sas,
                          local_addr=local, keys=keys.esp, ike_keys=keys.ike_table(),
                          commands=["dumpcap -i wan"], pcap=str(cap))  # fmt: skip
    doc = rep.to_dict()
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "capture"
    by_dir = {e["direction"]: e for e in doc["esp"]}
    assert set(by_dir) == {"in", "out"}
    for direction, sa in zip(("in", "out"), sas, strict=True):
        e = by_dir[direction]
        # five pings: five requests out, five replies in, sequence numbers 1..5
        assert (e["spi"], e["known"], e["packets"]) == (sa.spi, "current", 5)
        assert (e["first_seq"], e["last_seq"], e["gaps"], e["duplicates"]) == (1, 5, 0, 0)
        assert e["outside_window"] == 0 and e["decrypted"] == e["icv_ok"] == 5
        assert e["icv_bad"] == 0 and e["udp_encap"] is True and e["rate_pps"] > 0
    exchanges = [m["exchange"] for m in doc["ike"]]
    assert exchanges[:4] == ["IKE_SA_INIT", "IKE_SA_INIT", "IKE_AUTH", "IKE_AUTH"]
    assert doc["ike"][0]["initiator"] is True and doc["ike"][1]["response"] is True
    # the proposal charon was configured with (cbc-a.log: IKE:AES_CBC_128/HMAC_SHA2_256_128/
    # PRF_HMAC_SHA2_256/ECP_256), in clear in IKE_SA_INIT
    assert doc["ike"][0]["proposals"] == ["aes128-sha256-prfsha256-ecp256"]
    assert all(m["icv"] == "ok" for m in doc["ike"][2:])
    assert "AUTH" in doc["ike"][3]["encrypted_payloads"]
    assert doc["findings"] == [] and doc["packets"] == len(list(open_capture(cap)))
    json.dumps(doc)  # the document is JSON as it is
    if shutil.which("tshark"):
        seen = _tshark_esp(cap)
        assert sorted({s for s, _ in seen}) == sorted(sa.spi for sa in sas)
        for sa in sas:
            assert [q for s, q in seen if s == sa.spi] == [1, 2, 3, 4, 5]


# -- built packets -------------------------------------------------------------------------
def _sa(spi: int, src: str, dst: str, esn: bool = False) -> SecurityAssociation:
    return SecurityAssociation(spi, "esp", src, dst, ENCRYPTION["aes128gcm16"], bytes(range(20)),
                               INTEGRITY["null"], b"", esn)  # fmt: skip


def _esp(sa: SecurityAssociation, seqs: list[int], t0: float = 1_700_000_000.0,
         step: float = 0.1) -> list[Frame]:  # fmt: skip
    c = EspCipher(sa)
    out = []
    for i, s in enumerate(seqs):
        inner = ipv4("10.1.0.1", "10.2.0.1", 1, icmp_echo(seq=s & 0xFFFF))
        assert sa.src and sa.dst
        data = frame(1, ipv4(sa.src, sa.dst, 50, c.seal(s, inner, 4)))
        out.append(classify(Frame(i + 1, t0 + i * step, 1, data, len(data))))
    return out


def _run(frames: list[Frame], **kw: Any) -> dict[str, Any]:
    kw.setdefault("device", "r1")
    kw.setdefault("peer", PEER)
    kw.setdefault("local_addr", LOCAL)
    return analyse_capture(frames, **kw).to_dict()


def _codes(doc: dict[str, Any]) -> list[str]:
    return [f["code"] for f in doc["findings"]]


def test_one_way_traffic_on_the_wire() -> None:
    out = _sa(0x1001, LOCAL, PEER)
    doc = _run(
        _esp(out, list(range(1, 11))),
        sas=[IpsecSa(direction="out", spi=0x1001), IpsecSa(direction="in", spi=0x2002)],
    )
    (e,) = doc["esp"]
    assert (e["direction"], e["known"], e["packets"]) == ("out", "current", 10)
    assert e["rate_pps"] == pytest.approx(10.0)  # 10 packets, 0.1 s apart
    assert _codes(doc) == ["ONE_WAY_TRAFFIC"]
    assert doc["duration_s"] == pytest.approx(0.9)


def test_inbound_esp_for_an_spi_the_device_no_longer_has() -> None:
    old = _sa(0xDEAD, PEER, LOCAL)
    new_out = _sa(0x1001, LOCAL, PEER)
    frames = _esp(old, [1, 2, 3]) + _esp(new_out, [1, 2, 3]) + _esp(_sa(0xBEEF, PEER, LOCAL), [1])
    doc = _run(frames, sas=[IpsecSa(direction="out", spi=0x1001),
                            IpsecSa(direction="in", spi=0x2002)],
               previous_spis={0xDEAD})  # fmt: skip
    known = {e["spi"]: (e["direction"], e["known"]) for e in doc["esp"]}
    assert known == {0xDEAD: ("in", "previous"), 0x1001: ("out", "current"),
                     0xBEEF: ("in", "unknown")}  # fmt: skip
    invalid = [f for f in doc["findings"] if f["code"] == "INVALID_SPI"]
    assert [f["extra"]["spi"] for f in invalid] == [0xDEAD, 0xBEEF]
    assert "deleted" in invalid[0]["summary"]


def test_sequence_gaps_duplicates_and_the_rfc4303_window() -> None:
    # 1..100 without 5 and 6, then 95 again (100 - 95 < 64: inside the window, a replay) and
    # 5 late (100 - 5 >= 64: a 64-packet receiver drops it as too old, RFC 4303 3.4.3);
    # 6 never comes: one missing number.
    seqs = [s for s in range(1, 101) if s not in (5, 6)] + [95, 5]
    sa = _sa(0x2002, PEER, LOCAL)
    doc = _run(_esp(sa, seqs), sas=[IpsecSa(direction="in", spi=0x2002)])
    (e,) = doc["esp"]
    assert (e["first_seq"], e["last_seq"]) == (1, 100)
    assert (e["gaps"], e["gap_ranges"], e["duplicates"]) == (1, [[6, 6]], 1)
    assert (e["outside_window"], e["replays"], e["window"]) == (1, 1, 64)
    assert set(_codes(doc)) == {"REPLAY_FAILURES", "ESP_SEQUENCE_GAPS", "ONE_WAY_TRAFFIC_INBOUND"}
    # the device's own window (128) accepts the late packet
    doc = _run(_esp(sa, seqs), sas=[IpsecSa(direction="in", spi=0x2002, replay_window=128)])
    (e,) = doc["esp"]
    assert (e["outside_window"], e["replays"], e["window"], e["duplicates"]) == (0, 1, 128, 1)


def test_esn_sequence_numbers_cross_the_32_bit_boundary() -> None:
    # RFC 4303 A2: low halves 0xFFFFFFFE, 0xFFFFFFFF, 0, 1 are 2^32-2 .. 2^32+1 on an ESN SA
    sa = _sa(0x3003, PEER, LOCAL, esn=True)
    start = (1 << 32) - 2
    frames = _esp(sa, [start, start + 1, start + 2, start + 3])
    doc = _run(frames, sas=[IpsecSa(direction="in", spi=0x3003, esn=True)], keys=[sa])
    (e,) = doc["esp"]
    assert e["last_seq"] == (1 << 32) + 1 and e["gaps"] == 0
    assert e["decrypted"] == 4 and e["icv_ok"] == 4  # the ESN high half is in the ICV


def test_wrong_keys_are_counted_not_trusted() -> None:
    sa = _sa(0x2002, PEER, LOCAL)
    wrong = SecurityAssociation(0x2002, "esp", PEER, LOCAL, ENCRYPTION["aes128gcm16"],
                                bytes(20), INTEGRITY["null"], b"")  # fmt: skip
    doc = _run(_esp(sa, [1, 2, 3]), keys=[wrong])
    (e,) = doc["esp"]
    assert (e["icv_bad"], e["icv_ok"], e["decrypted"]) == (3, 0, 0)
    assert "VERIFY_FAILURES" in _codes(doc)
    assert e["first_seq"] is None  # a receiver never lets a bad ICV into its window


def _ike_frame(n: int, src: str, dst: str, msg: bytes, t: float) -> Frame:
    data = frame(1, ipv4(src, dst, 17, udp(500, 500, msg)))
    return classify(Frame(n, t, 1, data, len(data)))


def test_ike_init_retransmitted_without_answer() -> None:
    req = (FIX / "ike" / "ike-scan" / "pkt-ikev2.dat").read_bytes()  # an IKE_SA_INIT request
    frames = [_ike_frame(i, LOCAL, PEER, req, 1_700_000_000.0 + 2**i) for i in range(1, 4)]
    doc = _run(frames)
    assert [m["retransmission"] for m in doc["ike"]] == [False, True, True]
    assert doc["ike"][0]["exchange"] == "IKE_SA_INIT" and doc["ike"][0]["message_id"] == 0
    assert _codes(doc) == ["IKE_NO_RESPONSE"]
    assert "2 retransmissions" in doc["findings"][0]["evidence"][1]


def test_ike_invalid_ke_and_no_proposal_chosen_notifies() -> None:
    # RFC 7296 3.10: INVALID_KE_PAYLOAD is notify 17 with the wanted group as 2 bytes of data
    req = (FIX / "ike" / "ike-scan" / "pkt-ikev2.dat").read_bytes()
    spi_i = req[:8]
    notify = struct.pack("!BBHBBHH", 0, 0, 10, 0, 0, 17, 19)
    hdr = spi_i + bytes(8) + struct.pack("!BBBBII", 41, 0x20, 34, 0x20, 0, 28 + len(notify))
    resp = hdr + notify
    doc = _run([_ike_frame(1, LOCAL, PEER, req, 1.0), _ike_frame(2, PEER, LOCAL, resp, 2.0)])
    assert doc["ike"][1]["notify"] == ["INVALID_KE_PAYLOAD"]
    assert _codes(doc) == ["IKE_INVALID_KE"]
    assert "wants group 19" in doc["findings"][0]["summary"]
    # scapy's capture: the responder answers NO_PROPOSAL_CHOSEN
    cap = FIX / "ike" / "scapy" / "ikev2_notify_redirect.pcap"
    doc = _run(list(open_capture(cap)))
    assert any("NO_PROPOSAL_CHOSEN" in m["notify"] for m in doc["ike"])
    assert "PROPOSAL_MISMATCH_P1" in _codes(doc)


def test_printed_capture_feeds_the_same_engine(tmp_path: Path) -> None:
    """A dump printed by the device gives the same per-SPI report as the pcap."""
    from tests.diag.capture import render

    cap = CHARON / "cbc.pcapng"
    text = tmp_path / "dump.txt"
    text.write_text(render.asa([(f.time, f.data) for f in open_capture(cap)]))
    sas, local = _list_sas((CHARON / "cbc-list-sas-a.txt").read_text())
    want = _run(list(open_capture(cap)), sas=sas, local_addr=local)
    got = _run(list(open_capture(text)), sas=sas, local_addr=local)
    strip = ("rate_pps",)
    assert [{k: v for k, v in e.items() if k not in strip} for e in got["esp"]] == [
        {k: v for k, v in e.items() if k not in strip} for e in want["esp"]
    ]


def test_charon_keys_given_whole_bind_to_the_capture() -> None:
    """The responder's log (no SPIs in it) handed over as it is: ESP decrypts and the IKE
    key set binds itself to the capture's IKE SA."""
    cap = CHARON / "gcm.pcapng"
    keys = parse_charon_log((CHARON / "gcm-b.log").read_text())
    doc = analyse_capture(open_capture(cap), device="gw-b", keys=keys).to_dict()
    assert sorted(e["decrypted"] for e in doc["esp"]) == [5, 5]
    encrypted = [m for m in doc["ike"] if m["exchange"] != "IKE_SA_INIT"]
    assert encrypted and all(m["icv"] == "ok" for m in encrypted)
