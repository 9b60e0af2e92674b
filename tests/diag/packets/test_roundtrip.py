"""Round trips: captures built here (ipsecctl's sealer over `cryptography`) in several link
types, both IP versions, tunnel and transport mode, native and UDP-encapsulated ESP, decrypted
by the real CLI; wrong keys give ICV bad and exit 3; --write-decrypted writes what went in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ipsecctl.diag.packets.esp import EspCipher
from ipsecctl.diag.packets.keys import load_keys
from ipsecctl.diag.packets.pcap import LINKTYPE_RAW
from ipsecctl.diag.packets.reader import iter_packets
from tests.diag.packets.builders import frame, icmp_echo, ipv4, ipv6, tcp_syn, udp, write_capture
from tests.diag.packets.test_corpus import run_cli

SUITES = [  # (encryption, integrity, linktype, ip version, udp-encap, capture format)
    ("aes128gcm16", "null", 1, 4, False, "pcap"),
    ("aes256gcm8", "null", 101, 6, False, "pcapng"),
    ("aes192gcm12", "null", 113, 4, True, "pcap"),
    ("aes128", "sha1", 276, 6, True, "pcapng"),
    ("aes256", "sha512", 0, 4, False, "pcap"),
    ("3des", "md5", 1, 6, True, "pcap"),
    ("des", "sha256", 101, 4, False, "pcapng"),
    ("aes128ctr", "sha384", 113, 6, False, "pcap"),
    ("aes256ctr", "sha256_96", 1, 4, True, "pcap"),
    ("chacha20poly1305", "null", 276, 4, False, "pcap"),
    ("aes256gmac", "null", 0, 6, False, "pcap"),
    ("null", "sha256", 1, 4, False, "pcap"),
]
KEYLEN = {"aes128": 16, "aes192": 24, "aes256": 32, "3des": 24, "des": 8, "null": 0,
          "chacha20poly1305": 36, "md5": 16, "sha1": 20, "sha256": 32, "sha256_96": 32,
          "sha384": 48, "sha512": 64}  # fmt: skip


def _keylen(name: str) -> int:
    if name in KEYLEN:
        return KEYLEN[name]
    base = name[:6]
    return KEYLEN[base] + 4


ADDR = {4: ("10.1.0.1", "10.2.0.1", "172.16.1.1", "172.16.2.2"),
        6: ("2001:db8:1::1", "2001:db8:2::1", "2001:db8:a::1", "2001:db8:b::2")}  # fmt: skip


def _keyfile(
    tmp: Path, enc: str, integ: str, spi: int, dst: str, esn: bool = False, seed: int = 1
) -> Path:
    rnd = bytes((seed * 7 + i * 13) & 0xFF for i in range(200))
    ek = rnd[: _keylen(enc)].hex()
    ak = rnd[100 : 100 + _keylen(integ)].hex() if integ != "null" else ""
    path = tmp / f"keys-{seed}.yaml"
    path.write_text(
        f"sas:\n  - spi: 0x{spi:08x}\n    dst: {dst}\n    encryption: {enc}\n"
        f"    enc_key: '{ek}'\n    integrity: {integ}\n    auth_key: '{ak}'\n"
        f"    esn: {str(esn).lower()}\n"
    )
    return path


def _outer(version: int, src: str, dst: str, esp: bytes, encap: bool) -> bytes:
    proto, payload = (17, udp(4500, 4500, esp)) if encap else (50, esp)
    return ipv4(src, dst, proto, payload) if version == 4 else ipv6(src, dst, proto, payload)


def _tunnel_inner(version: int, i: int) -> tuple[bytes, int]:
    a = ADDR[version]
    if version == 4:
        return ipv4(a[0], a[1], 1, icmp_echo(seq=i)), 4
    return ipv6(a[0], a[1], 6, tcp_syn(40000 + i, 443)), 41


@pytest.mark.parametrize("enc,integ,linktype,version,encap,fmt", SUITES)
def test_cli_decrypts_built_capture(
    tmp_path: Path, enc: str, integ: str, linktype: int, version: int, encap: bool, fmt: str
) -> None:
    spi = 0xC0FFEE00 + linktype
    a = ADDR[version]
    keys = _keyfile(tmp_path, enc, integ, spi, a[3])
    (sa,) = load_keys(keys)
    cipher = EspCipher(sa)
    frames, inners = [], []
    for i in range(1, 6):
        inner, nh = _tunnel_inner(version, i)
        inners.append(inner)
        esp = cipher.seal(i, inner, nh)
        frames.append(frame(linktype, _outer(version, a[2], a[3], esp, encap), vlan=True))
    cap = write_capture(tmp_path / f"c.{fmt}", linktype, frames, fmt)
    out = tmp_path / "dec.pcap"
    code, stdout, stderr = run_cli(
        str(cap), "--keys", str(keys), "--json", "--write-decrypted", str(out)
    )
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert len(doc["packets"]) == 5
    want_icv = "unverified" if enc == "null" and integ == "null" else "ok"
    for i, p in enumerate(doc["packets"], 1):
        assert p["spi"] == spi and p["seq"] == i and p["udp_encap"] is encap
        assert p["icv"] == want_icv and p["decrypted"] and p["pad_ok"]
        assert p["inner"]["mode"] == "tunnel" and p["inner"]["src"] == a[0]
        if version == 4:
            assert p["inner"]["protocol"] == "icmp" and p["inner"]["icmp_type"] == 8
        else:
            assert p["inner"]["protocol"] == "tcp" and p["inner"]["dport"] == 443
    assert doc["summary"]["icv_ok"] == (5 if want_icv == "ok" else 0)
    for secret in (sa.enc_key, sa.auth_key):
        assert not secret or secret.hex() not in stdout
        assert not secret or secret.hex() not in repr(sa)
    written = list(iter_packets(out))
    assert [f.data for f in written] == inners
    assert all(f.linktype == LINKTYPE_RAW for f in written)

    wrong = _keyfile(tmp_path, enc, integ, spi, a[3], seed=2)
    code, stdout, _ = run_cli(str(cap), "--keys", str(wrong), "--json")
    assert code == 3
    s = json.loads(stdout)["summary"]
    assert s["decrypted"] == 0
    assert s["icv_bad"] == 5


def test_transport_mode_rebuilds_ip_header(tmp_path: Path) -> None:
    keys = _keyfile(tmp_path, "aes128gcm16", "null", 0x1001, "172.16.2.2")
    (sa,) = load_keys(keys)
    seg = udp(5353, 53, b"query")
    esp = EspCipher(sa).seal(1, seg, 17)
    cap = write_capture(
        tmp_path / "t.pcap", 1, [frame(1, ipv4("172.16.1.1", "172.16.2.2", 50, esp))]
    )
    out = tmp_path / "o.pcap"
    code, stdout, _ = run_cli(
        str(cap), "--keys", str(keys), "--json", "--write-decrypted", str(out)
    )
    assert code == 0
    (p,) = json.loads(stdout)["packets"]
    assert p["inner"] == {
        "mode": "transport",
        "length": len(seg),
        "proto": 17,
        "protocol": "udp",
        "sport": 5353,
        "dport": 53,
        "text": "udp 5353 > 53",
    }
    (f,) = list(iter_packets(out))
    assert f.ip is not None and f.ip.proto == 17 and f.data[f.ip.payload_offset :] == seg
    assert f.sport == 5353


def test_esn_wrap_decrypts_with_estimated_high_bits(tmp_path: Path) -> None:
    keys = _keyfile(tmp_path, "aes128", "sha256", 0x2002, "172.16.2.2", esn=True)
    (sa,) = load_keys(keys)
    c = EspCipher(sa)
    seqs = [0xFFFFFFFD, 0xFFFFFFFE, 0xFFFFFFFF, 0x1_00000000, 0x1_00000001, 0xFFFFFFFC]
    frames = [
        frame(101, ipv4("172.16.1.1", "172.16.2.2", 50, c.seal(s, b"x" * 20, 59))) for s in seqs
    ]
    cap = write_capture(tmp_path / "e.pcap", 101, frames)
    code, stdout, stderr = run_cli(str(cap), "--keys", str(keys), "--json")
    assert code == 0, stderr
    pk = json.loads(stdout)["packets"]
    assert [p["icv"] for p in pk] == ["ok"] * 6
    assert [p["seq_hi"] for p in pk] == [0, 0, 0, 1, 1, 0]
    assert [p["replay"] for p in pk] == ["accepted"] * 6
    # Without ESN knowledge the HMAC does not cover the high half: every ICV fails.
    plain = tmp_path / "plain.yaml"
    plain.write_text(keys.read_text().replace("esn: true", "esn: false"))
    code, stdout, _ = run_cli(str(cap), "--keys", str(plain), "--json")
    assert code == 3
    # --esn turns estimation on for SAs whose key file does not say so.
    code, _, _ = run_cli(str(cap), "--keys", str(plain), "--json", "--esn")
    assert code == 0


def test_replays_exit_3_and_human_output(tmp_path: Path) -> None:
    keys = _keyfile(tmp_path, "aes128gcm16", "null", 0x3003, "172.16.2.2")
    (sa,) = load_keys(keys)
    c = EspCipher(sa)
    order = [1, 2, 3, 3, 10, 5, 200, 100, 120]
    frames = [
        frame(1, ipv4("172.16.1.1", "172.16.2.2", 50, c.seal(s, b"p" * 10, 59))) for s in order
    ]
    cap = write_capture(tmp_path / "r.pcap", 1, frames)
    code, stdout, _ = run_cli(str(cap), "--keys", str(keys), "--json")
    assert code == 3
    doc = json.loads(stdout)
    assert [p["replay"] for p in doc["packets"]] == [
        "accepted",
        "accepted",
        "accepted",
        "replay",
        "accepted",
        "accepted",
        "accepted",
        "too_old",
        "too_old",
    ]
    (sa_stats,) = doc["summary"]["sas"]
    assert sa_stats["replays"] == 1 and sa_stats["too_old"] == 2
    assert sa_stats["max_reorder_depth"] == 100 and sa_stats["min_window"] == 101
    assert sa_stats["gaps"][0] == [4, 4]
    code, stdout, _ = run_cli(str(cap), "--keys", str(keys), "--replay-window", "128")
    assert code == 3  # the duplicate stays a replay
    assert "0x00003003" in stdout and "replay" in stdout and "101 (window 128)" in stdout


def test_bad_inputs_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("sas:\n  - spi: 0x1\n    encryption: aes256\n    enc_key: '00ff'\n")
    cap = write_capture(tmp_path / "x.pcap", 1, [])
    code, stdout, stderr = run_cli(str(cap), "--keys", str(bad))
    assert code == 2 and stdout == ""
    assert f"{bad}:2" in stderr and "aes256 needs a 32-byte key" in stderr
    assert "Traceback" not in stderr
    code, _, stderr = run_cli(str(tmp_path / "missing.pcap"))
    assert code == 2 and "cannot read capture" in stderr
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(os.urandom(64))
    code, _, stderr = run_cli(str(junk))
    assert code == 2 and "not a pcap" in stderr
