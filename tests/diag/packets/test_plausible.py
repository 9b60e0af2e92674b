"""A right authentication key with a wrong encryption key: every ICV verifies, the plaintext is
noise. It must be reported as a suspected wrong key (exit 3), never counted or written as a
decrypted packet."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipsecctl.diag.packets.esp import EspCipher
from ipsecctl.diag.packets.keys import load_keys
from ipsecctl.diag.packets.plausible import inner_ip_problem, payload_problem
from ipsecctl.diag.packets.reader import iter_packets
from tests.diag.packets.builders import frame, icmp_echo, ipv4, ipv6, tcp_syn, udp, write_capture
from tests.diag.packets.test_corpus import run_cli

AUTH_KEY = bytes(range(100, 120)).hex()
RIGHT_ENC = bytes(range(16)).hex()
WRONG_ENC = bytes(range(1, 17)).hex()  # one byte off everywhere: a plausible typo


def _keys(tmp: Path, name: str, enc_key: str, enc: str = "aes128") -> Path:
    path = tmp / name
    path.write_text(
        f"sas:\n  - spi: 0x00001234\n    dst: 172.16.2.2\n    encryption: {enc}\n"
        f"    enc_key: '{enc_key}'\n    integrity: sha1\n    auth_key: '{AUTH_KEY}'\n"
    )
    return path


def _capture(tmp: Path, keys: Path, n: int = 12) -> Path:
    """Tunnel-mode IPv4 and IPv6 and transport-mode UDP packets sealed with the right keys."""
    (sa,) = load_keys(keys)
    c = EspCipher(sa)
    frames = []
    for i in range(1, n + 1):
        if i % 3 == 0:
            inner, nh = udp(5353, 53, b"transport %d" % i), 17
        elif i % 3 == 1:
            inner, nh = ipv4("10.1.0.5", "10.2.0.7", 1, icmp_echo(seq=i)), 4
        else:
            inner, nh = ipv6("2001:db8:1::5", "2001:db8:2::7", 6, tcp_syn(40000 + i, 443)), 41
        esp = c.seal(i, inner, nh)
        frames.append(frame(1, ipv4("172.16.1.1", "172.16.2.2", 50, esp)))
    return write_capture(tmp / "cap.pcap", 1, frames)


@pytest.mark.parametrize("streamed", [True, False])
def test_wrong_encryption_key_right_auth_key(tmp_path: Path, streamed: bool) -> None:
    right = _keys(tmp_path, "right.yaml", RIGHT_ENC)
    wrong = _keys(tmp_path, "wrong.yaml", WRONG_ENC)
    cap = _capture(tmp_path, right)
    code, stdout, _ = run_cli(str(cap), "--keys", str(right), "--json")
    assert code == 0 and json.loads(stdout)["summary"]["decrypted"] == 12

    out = tmp_path / "dec.pcap"
    extra = [] if streamed else ["--write-decrypted", str(out)]
    code, stdout, stderr = run_cli(str(cap), "--keys", str(wrong), "--json", *extra)
    assert code == 3, stderr
    doc = json.loads(stdout)
    s = doc["summary"]
    assert s["icv_ok"] == 12 and s["icv_bad"] == 0
    assert s["decrypted"] == 0 and s["wrong_key_suspected"] == 12 and s["malformed"] == 0
    for p in doc["packets"]:
        assert p["icv"] == "ok" and p["wrong_key_suspected"] and not p["decrypted"]
        assert p["inner"] is None
        assert "wrong encryption key" in p["error"]
    if not streamed:
        assert "wrote 0 decrypted packets" in stderr
        assert list(iter_packets(out)) == []


def test_wrong_key_human_output_says_so(tmp_path: Path) -> None:
    right = _keys(tmp_path, "right.yaml", RIGHT_ENC)
    cap = _capture(tmp_path, right, n=3)
    code, stdout, _ = run_cli(str(cap), "--keys", str(_keys(tmp_path, "w.yaml", WRONG_ENC)))
    assert code == 3
    assert "wrong key?" in stdout and "wrong_key_suspected=3" in stdout and "decrypted=0" in stdout


def test_wrong_ctr_key_right_auth_key(tmp_path: Path) -> None:
    """AES-CTR has no block alignment: only the trailer and the inner header can tell."""
    right = _keys(tmp_path, "r.yaml", RIGHT_ENC + "01020304", "aes128ctr")
    cap = _capture(tmp_path, right)
    wrong = _keys(tmp_path, "w.yaml", WRONG_ENC + "01020304", "aes128ctr")
    code, stdout, _ = run_cli(str(cap), "--keys", str(wrong), "--json")
    assert code == 3
    s = json.loads(stdout)["summary"]
    assert s["decrypted"] == 0 and s["wrong_key_suspected"] == 12


def test_long_tfc_padding_is_still_a_decode(tmp_path: Path) -> None:
    """RFC 4303 2.4 allows up to 255 padding bytes: monotonic padding beyond a block is fine."""
    keys = _keys(tmp_path, "k.yaml", RIGHT_ENC)
    (sa,) = load_keys(keys)
    inner = ipv4("10.1.0.5", "10.2.0.7", 17, udp(1, 2, b"x"))
    pkt = EspCipher(sa).seal(1, inner, 4, pad_extra=3)
    res = EspCipher(sa).open(pkt, 0, len(pkt))
    assert res.decrypted and res.pad_len is not None and res.pad_len > 16
    assert res.plaintext == inner


def test_inner_ip_checks() -> None:
    good4 = ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, b"abc"))
    assert inner_ip_problem(good4, 4) is None
    assert inner_ip_problem(good4 + b"\x00" * 8, 4) is None  # TFC padding after the packet
    bad_sum = good4[:10] + bytes([good4[10] ^ 0xFF]) + good4[11:]
    assert "checksum" in (inner_ip_problem(bad_sum, 4) or "")
    assert "total length" in (inner_ip_problem(good4[:-1], 4) or "")
    assert "version" in (inner_ip_problem(good4, 41) or "")
    good6 = ipv6("2001:db8::1", "2001:db8::2", 59, b"")
    assert inner_ip_problem(good6, 41) is None
    assert "payload length" in (inner_ip_problem(good6[:4] + b"\x00\x09" + good6[6:], 41) or "")
    assert payload_problem(b"", True, 59) is None  # RFC 4303 2.6 dummy packet
    assert "next header 178" in (payload_problem(b"x", True, 178) or "")
    assert "padding" in (payload_problem(b"x", False, 17) or "")
