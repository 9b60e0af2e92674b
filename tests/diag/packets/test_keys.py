"""Key-file formats: Wireshark esp_sa UAT, tcpdump -E, ipsecctl YAML/JSON, ip xfrm, Cisco."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecctl.diag.packets.keys import KeyTable, detect_format, load_keys
from ipsecctl.errors import InputFileError

# Rows from Wireshark's test/config/esp_sa.tmpl (the Wireshark source tree, GPL-2.0+).
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


def test_unquoted_hex_keys_keep_their_bytes(tmp_path: Path) -> None:
    """YAML reads `enc_key: 0x00ab..` and all-digit keys as numbers (QA G5): the key fields
    take the text back, leading zero bytes included."""
    enc = "0x0053c4" + "11" * 13  # 16 bytes, the first one zero
    auth = "00112233445566778899" * 2  # 20 bytes, all digits: a YAML decimal int
    text = (
        f"sas:\n  - spi: 0x00001234\n    dst: 10.0.0.2\n    encryption: aes128\n"
        f"    enc_key: {enc}\n    integrity: sha1\n    auth_key: {auth}\n"
        f"  - spi: 4660\n    protocol: ah\n    integrity: sha256\n    auth_key: 0x{'01' * 32}\n"
    )
    esp, ah = load_keys(_write(tmp_path, "k.yaml", text))
    assert esp.spi == 0x1234 and type(esp.spi) is int
    assert esp.enc_key == bytes.fromhex(enc[2:]) and len(esp.enc_key) == 16
    assert esp.auth_key == bytes.fromhex(auth)
    assert ah.spi == 4660 and ah.auth_key == b"\x01" * 32


def test_json_number_key_takes_the_algorithm_size(tmp_path: Path) -> None:
    from ipsecctl.diag.packets.keys import _Err, _key_field

    got = _key_field({"enc_key": 0x0102}, "enc_key", _Err(tmp_path / "k"), 1, 16)
    assert got == bytes(14) + b"\x01\x02"
    with pytest.raises(InputFileError, match="enc_key must be hexadecimal"):
        _key_field({"enc_key": True}, "enc_key", _Err(tmp_path / "k"), 1, 16)


def test_cisco_session_key_before_transform_set(tmp_path: Path) -> None:
    """IOS keeps map subcommands in its own order: `set session-key` may precede
    `set transform-set` and `set peer` inside the entry (QA G6)."""
    k = bytes(range(32)).hex()
    text = (
        "crypto ipsec transform-set TS esp-aes 256 esp-sha256-hmac\n"
        "crypto map MANUAL 10 ipsec-manual\n"
        f" set session-key inbound esp 256 cipher {k} authenticator {k}\n"
        f" set session-key outbound esp 257 cipher {k} authenticator {k}\n"
        " set peer 172.16.2.2\n set transform-set TS\n match address 101\n"
        "crypto map MANUAL 20 ipsec-manual\n set peer 172.16.3.3\n"
        f" set session-key inbound esp 300 cipher {k[:32]} authenticator {k[:40]}\n"
        "crypto ipsec transform-set TS2 esp-aes esp-sha-hmac\n"
    )
    # entry 20 names no transform set: that is still an error, on its own line
    with pytest.raises(InputFileError, match=r"k.cfg:10: .*without `set transform-set`"):
        load_keys(_write(tmp_path, "k.cfg", text))
    text = text.replace(" set peer 172.16.3.3\n", " set peer 172.16.3.3\n set transform-set TS2\n")
    inbound, outbound, third = load_keys(_write(tmp_path, "k.cfg", text))
    assert (inbound.spi, inbound.src) == (256, "172.16.2.2")
    assert (outbound.spi, outbound.dst) == (257, "172.16.2.2")
    assert inbound.encryption and inbound.encryption.name == "aes256"
    assert inbound.integrity.name == "sha256"
    assert (third.spi, third.src) == (300, "172.16.3.3")
    assert third.encryption and third.encryption.name == "aes128"
    assert third.integrity.name == "sha1"


def test_docs_keys_md_examples_load(tmp_path: Path) -> None:
    """docs/keys.md is what users copy: its ESP examples must load as written."""
    import re

    doc = (Path(__file__).resolve().parents[3] / "docs" / "keys.md").read_text()
    blocks = re.findall(r"```(yaml|json)\n(.*?)```", doc, re.S)
    esp = [(kind, text) for kind, text in blocks if "sas" in text]
    assert len(esp) == 2
    for i, (kind, text) in enumerate(esp):
        sas = load_keys(_write(tmp_path, f"example{i}.{kind}", text))
        assert sas and all(sa.spi for sa in sas)
    yaml_sas = load_keys(_write(tmp_path, "y.yaml", esp[0][1]))
    assert [sa.protocol for sa in yaml_sas] == ["esp", "esp", "esp", "ah"]
    assert yaml_sas[0].enc_key == bytes(range(16)) and yaml_sas[2].esn


_XFRM_ONE = (
    "src 172.16.1.1 dst 172.16.2.2\n\tproto esp spi 0xc1a2b3c4 reqid 1 mode tunnel\n"
    "\tauth-trunc hmac(sha256) 0x{A} 128\n\tenc cbc(aes) 0x{E}\n"
)
_A = bytes(range(32)).hex()
_E = bytes(range(16)).hex()


@pytest.mark.parametrize(
    ("auth", "enc", "line", "what"),
    [
        # the good key followed by junk: once accepted as if it were the key
        (f"{_A} 128", f"{_E} junk", 4, "enc key (cbc(aes)): unexpected text after the key"),
        (f"{_A} 128", f"{_E}zz", 4, "character 33 is not a hex digit (after 32 hex digits)"),
        (f"{_A} 128", f"{_E}0", 4, "33 hex digits (an odd number)"),
        (f"{_A} 128 x", _E, 3, "auth-trunc key (hmac(sha256)): unexpected text"),
        (f"{_A} 12x", _E, 3, "bit length after the key is not a number"),
        (f"{_A} 128", _E[2:] + " 0x00", 4, "unexpected text after the key"),
    ],
)
def test_xfrm_key_with_trailing_junk_is_refused(
    tmp_path: Path, auth: str, enc: str, line: int, what: str
) -> None:
    text = _XFRM_ONE.replace("{A} 128", auth).replace("{E}", enc)
    p = _write(tmp_path, "xfrm.txt", text)
    with pytest.raises(InputFileError) as exc:
        load_keys(p)
    msg = str(exc.value)
    assert f"{p}:{line}: SPI 0xc1a2b3c4 " in msg and what in msg, msg
    assert _E not in msg and _A not in msg  # the key bytes are never printed


def test_xfrm_good_line_still_loads(tmp_path: Path) -> None:
    text = _XFRM_ONE.replace("{A}", _A).replace("{E}", _E)
    (sa,) = load_keys(_write(tmp_path, "xfrm.txt", text))
    assert sa.enc_key == bytes(range(16)) and sa.auth_key == bytes(range(32))


def test_cisco_session_key_with_trailing_junk_is_refused(tmp_path: Path) -> None:
    lines = CISCO.splitlines()
    assert "outbound esp 257" in lines[6]
    lines[6] += " 00"  # the outbound key line, with one word too many
    p = _write(tmp_path, "r.cfg", "\n".join(lines) + "\n")
    with pytest.raises(InputFileError, match=r"r.cfg:7: SPI 257: unexpected text \(1 word"):
        load_keys(p)
