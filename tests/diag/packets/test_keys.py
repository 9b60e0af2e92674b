"""Key-file formats: Wireshark esp_sa UAT, tcpdump -E, ipsecctl YAML/JSON, ip xfrm, Cisco."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecctl.diag.packets.keys import KeyTable, detect_format, load_keys
from ipsecctl.errors import InputFileError

# Rows from Wireshark's test/config/esp_sa.tmpl (shared/corpus/pcap/wireshark/MANIFEST.md).
WIRESHARK = (
    '"IPv4","192.168.0.1","192.168.0.100","0x070883c2","AES-CBC [RFC3602]",'
    '"0x5de1a4c2c72662c9fda7a7c78cd25623","HMAC-SHA-1-96 [RFC2404]",'
    '"0x51c9213c18232f8f26c70c4dee6e0e6d56e31e8a"\n'
    '"IPv4","192.168.0.100","192.168.0.1","0xc254fe64","AES-CBC [RFC3602]",'
    '"0x88e1dad7140af03b8d4f3d734d21be4b","HMAC-SHA-1-96 [RFC2404]",'
    '"0x3e00d517c1220d4b7d2950fcc02edd4b6023d278"\n'
    '"Any IP","*","*","*","AES-GCM with 8 octet ICV [RFC4106]",'
    '"0x000102030405060708090a0b0c0d0e0f10111213","NULL",""\n'
)
XFRM = """src 172.16.1.1 dst 172.16.2.2
\tproto esp spi 0xc1a2b3c4 reqid 1 mode tunnel
\treplay-window 0 flag af-unspec esn
\tauth-trunc hmac(sha256) 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 128
\tenc cbc(aes) 0x000102030405060708090a0b0c0d0e0f
\tanti-replay esn context:
src 172.16.2.2 dst 172.16.1.1
\tproto esp spi 0x0000beef reqid 1 mode tunnel
\taead rfc4106(gcm(aes)) 0x000102030405060708090a0b0c0d0e0f10111213 96
src 172.16.2.2 dst 172.16.1.1
\tproto esp spi 0x0000cafe reqid 2 mode transport
\tauth hmac(sha1) 0x000102030405060708090a0b0c0d0e0f10111213
\tenc cbc(des3_ede) 0x000102030405060708090a0b0c0d0e0f1011121314151617
"""
CISCO = """crypto ipsec transform-set TS esp-aes 256 esp-sha256-hmac
 mode tunnel
crypto map MANUAL 10 ipsec-manual
 set peer 172.16.2.2
 set transform-set TS
 set session-key inbound esp 256 cipher {K} authenticator {K}
 set session-key outbound esp 257 cipher {K} authenticator {K}
 match address 101
""".replace("{K}", bytes(range(32)).hex())
JSON = (
    '{"sas": [{"spi": 4096, "dst": "2001:db8::2", "encryption": "chacha20poly1305",'
    ' "enc_key": "' + "ab" * 36 + '", "integrity": "none"}]}'
)


def _write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text)
    return p


def test_wireshark_uat(tmp_path: Path) -> None:
    p = _write(tmp_path, "esp_sa", WIRESHARK)
    assert detect_format(WIRESHARK) == "wireshark"
    a, b, wild = load_keys(p)
    assert (a.spi, a.src, a.dst, a.encryption and a.encryption.name, a.integrity.name) == (
        0x070883C2,
        "192.168.0.1",
        "192.168.0.100",
        "aes128",
        "sha1",
    )
    assert b.spi == 0xC254FE64 and wild.spi_wildcard and wild.encryption is not None
    assert wild.encryption.name == "aes128gcm8"
    table = KeyTable([a, b, wild])
    assert table.lookup("esp", 0x070883C2, "192.168.0.1", "192.168.0.100") is a
    assert table.lookup("esp", 0x070883C2, "10.9.9.9", "192.168.0.100") is wild
    assert "5de1a4c2" not in repr(a) and "51c9213c" not in repr(a)


def test_tcpdump_secrets_corpus_file() -> None:
    fix = Path(__file__).resolve().parents[2] / "fixtures" / "pcap" / "esp-secrets.txt"
    sas = load_keys(fix)
    assert [(s.spi, s.dst, s.encryption and s.encryption.name, s.integrity.name) for s in sas] == [
        (0x12345678, "192.1.2.45", "3des", "any96"),
        (0xABCDABCD, "192.0.1.1", "3des", "any96"),
        (0xD1234567, "192.1.2.45", "aes256", "any96"),
    ]


def test_xfrm_state(tmp_path: Path) -> None:
    sas = load_keys(_write(tmp_path, "xfrm.txt", XFRM))
    cbc, gcm, tdes = sas
    assert cbc.esn and cbc.encryption and cbc.encryption.name == "aes128"
    assert cbc.integrity.name == "sha256" and cbc.src == "172.16.1.1"
    assert gcm.encryption is not None and gcm.encryption.name == "aes128gcm12"
    assert gcm.spi == 0xBEEF and len(gcm.enc_key) == 16 + 4
    assert tdes.integrity.name == "sha1" and tdes.integrity.icv_len == 12


def test_cisco_ipsec_manual(tmp_path: Path) -> None:
    inbound, outbound = load_keys(_write(tmp_path, "router.cfg", CISCO))
    assert (inbound.spi, inbound.src, inbound.dst) == (256, "172.16.2.2", None)
    assert (outbound.spi, outbound.src, outbound.dst) == (257, None, "172.16.2.2")
    assert inbound.encryption and inbound.encryption.name == "aes256"
    assert inbound.integrity.name == "sha256"


def test_json_and_format_override(tmp_path: Path) -> None:
    (sa,) = load_keys(_write(tmp_path, "k.json", JSON))
    assert sa.spi == 4096 and sa.dst == "2001:db8::2"
    assert sa.encryption and sa.encryption.name == "chacha20poly1305"
    with pytest.raises(InputFileError, match=r"k2.json:1: "):
        load_keys(_write(tmp_path, "k2.json", JSON), "wireshark")


@pytest.mark.parametrize(
    "text,where,what",
    [
        (
            '"IPv4","1.1.1.1","2.2.2.2","0x1","AES-CBC [RFC3602]","0x00","NULL",""\n',
            ":1",
            "fits no AES size",
        ),
        ("# c\n0x1@1.1.1.1 rot13-cbc:0x00\n", ":2", "unknown encryption"),
        ("sas:\n  - spi: 0x1\n    encryption: aes128\n    enc_key: zz\n", ":2", "not hexadecimal"),
        (
            "sas:\n  - spi: 0x1\n    encryption: aes128gcm16\n    enc_key: '00'\n"
            "    integrity: sha1\n    auth_key: '00'\n",
            ":2",
            "needs a 16-byte key",
        ),
        (
            "src 1.1.1.1 dst 2.2.2.2\n\tproto esp spi 0x1 reqid 1 mode tunnel\n"
            "\tenc cbc(serpent) 0x00\n",
            ":3",
            "unsupported xfrm algorithm",
        ),
        ("sas:\n  - spi: 99999999999\n    encryption: null\n", ":2", "does not fit 32 bits"),
        ("set session-key inbound esp 256 cipher 00\n", ":1", "transform-set"),
    ],
)
def test_bad_key_files_name_file_and_line(tmp_path: Path, text: str, where: str, what: str) -> None:
    p = _write(tmp_path, "keys.txt", text)
    with pytest.raises(InputFileError) as exc:
        load_keys(p)
    msg = str(exc.value)
    assert f"{p}{where}" in msg and what in msg
    assert exc.value.exit_code == 2


def test_undetectable_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot tell the format"):
        load_keys(_write(tmp_path, "x", "hello world\n"))
    with pytest.raises(InputFileError, match="cannot read key file"):
        load_keys(tmp_path / "nope")
