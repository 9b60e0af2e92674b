"""AH ICV verification with mutable fields zeroed, and hypothesis fuzzing of every decoder."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ipsecctl.diag.packets import ah, inner
from ipsecctl.diag.packets.esp import EspCipher
from ipsecctl.diag.packets.keys import SecurityAssociation, detect_format
from ipsecctl.diag.packets.pcap import Frame, classify, decode_ip
from ipsecctl.diag.packets.reader import iter_packets
from ipsecctl.diag.packets.report import Analyzer
from ipsecctl.diag.packets.suites import ENCRYPTION, INTEGRITY
from ipsecctl.errors import InputFileError
from tests.diag.packets.builders import ipv4, ipv6, udp, write_capture

AH_SA = SecurityAssociation(0x100, "ah", integrity=INTEGRITY["sha1"], auth_key=b"k" * 20)


def _ah_packet(version: int, seq: int = 1) -> bytes:
    payload = udp(1000, 2000, b"hello")
    hdr = struct.pack("!BBHII", 17, 4, 0, 0x100, seq) + bytes(12)  # (4+2)*4 = 24 bytes
    if version == 4:
        router_alert = b"\x94\x04\x00\x00"  # immutable option, stays in the ICV
        pkt = ipv4("172.16.1.1", "172.16.2.2", 51, hdr + payload, options=router_alert)
    else:
        hbh = bytes([51, 0, 0x3E, 2, 0xAA, 0xBB, 0, 0])  # chg-bit option + 2 x Pad1
        pkt = ipv6("2001:db8::1", "2001:db8::2", 0, hbh + hdr + payload)
    f = classify(Frame(1, 0.0, 101, pkt, len(pkt)))
    assert f.ip is not None and f.kind == "ah"
    h = ah.parse_header(pkt, f.payload_offset, f.ip.end)
    assert not isinstance(h, str)
    icv = ah.AhVerifier(AH_SA).compute(pkt, f.ip, h)
    return pkt[: h.icv_offset] + icv + pkt[h.icv_offset + 12 :]


def _verify(pkt: bytes) -> str:
    f = classify(Frame(1, 0.0, 101, pkt, len(pkt)))
    assert f.ip is not None
    h = ah.parse_header(pkt, f.payload_offset, f.ip.end)
    assert not isinstance(h, str)
    return ah.AhVerifier(AH_SA).verify(pkt, f.ip, h).icv


def test_ah_ipv4_mutable_fields_do_not_matter() -> None:
    pkt = _ah_packet(4)
    assert _verify(pkt) == "ok"
    mutated = bytearray(pkt)
    mutated[1] = 0xB8  # DSCP
    mutated[8] = 3  # TTL
    mutated[10:12] = b"\xde\xad"  # checksum
    assert _verify(bytes(mutated)) == "ok"
    for pos in (len(pkt) - 1, 12, 22):  # payload, source address, immutable option
        bad = bytearray(pkt)
        bad[pos] ^= 1
        assert _verify(bytes(bad)) == "bad"


def test_ah_ipv6_chg_option_and_hop_limit() -> None:
    pkt = _ah_packet(6)
    assert _verify(pkt) == "ok"
    mutated = bytearray(pkt)
    mutated[7] = 1  # hop limit
    mutated[1] = 0xFF  # traffic class / flow label
    mutated[44:46] = b"\x11\x22"  # data of the chg option
    assert _verify(bytes(mutated)) == "ok"
    bad = bytearray(pkt)
    bad[-1] ^= 1
    assert _verify(bytes(bad)) == "bad"


def test_ah_through_the_analyzer(tmp_path: Path) -> None:
    cap = write_capture(tmp_path / "ah.pcap", 101, [_ah_packet(4, s) for s in (1, 2, 2)])
    an = Analyzer([AH_SA])
    for f in iter_packets(cap):
        an.feed(f)
    res = an.result()
    assert [p["icv"] for p in res.packets] == ["ok"] * 3
    assert [p["replay"] for p in res.packets] == ["accepted", "accepted", "replay"]
    assert res.packets[0]["inner"]["text"] == "udp 1000 > 2000"


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CIPHERS = [
    EspCipher(SecurityAssociation(1, encryption=ENCRYPTION[e], enc_key=bytes(n),
                                  integrity=INTEGRITY[i], auth_key=bytes(k)))
    for e, n, i, k in [("aes128", 16, "sha1", 20), ("aes256gcm8", 36, "null", 0),
                       ("3des", 24, "null", 0), ("chacha20poly1305", 36, "null", 0),
                       ("aes128gmac", 20, "null", 0), ("aes128ctr", 20, "md5", 16)]
]  # fmt: skip


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([0, 1, 101, 113, 276, 108, 147]))
def test_fuzz_link_ip_classify(data: bytes, linktype: int) -> None:
    f = classify(Frame(1, 0.0, linktype, data, len(data)))
    if f.ip is not None:
        assert 0 <= f.ip.payload_offset <= max(f.ip.end, len(data)) + 40
    an = Analyzer([])
    an.feed(f)
    decode_ip(data, 0)


@FUZZ
@given(st.binary(max_size=200), st.integers(0, 255))
def test_fuzz_esp_ah_inner(data: bytes, nh: int) -> None:
    for c in CIPHERS:
        r = c.open(data, 0, len(data))
        assert r.icv in ("ok", "bad", "unverified")
        assert not r.decrypted or r.plaintext is not None
    ah.parse_header(data, 0, len(data))
    out = inner.summarize(data, nh)
    assert "mode" in out


@FUZZ
@given(st.binary(min_size=0, max_size=400))
def test_fuzz_capture_files(tmp_path_factory: object, data: bytes) -> None:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pcap") as fh:
        for head in (b"", b"\xd4\xc3\xb2\xa1", b"\x0a\x0d\x0d\x0a"):
            fh.seek(0)
            fh.truncate()
            fh.write(head + data)
            fh.flush()
            try:
                for _ in iter_packets(fh.name):
                    pass
            except InputFileError:
                pass


@FUZZ
@given(st.text(max_size=300))
def test_fuzz_key_detection(text: str) -> None:
    detect_format(text)
