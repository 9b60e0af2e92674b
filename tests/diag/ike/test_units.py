"""Keys, SK decryption per algorithm, proposal syntax, groups, fuzzing, CLI exit codes."""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ipsecctl.cli.diag_ike import register
from ipsecctl.diag.ike.decode import decode_message, decode_raw
from ipsecctl.diag.ike.groups import MODP_PRIMES, public_value
from ipsecctl.diag.ike.keys import encr_spec, ikev2_keys, integ_spec, parse_keys
from ipsecctl.diag.ike.probe import build_ikev1, build_ikev2_init, parse_proposal
from ipsecctl.errors import InputFileError, UsageError

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "ike"
SPI_I, SPI_R = bytes.fromhex("0102030405060708"), bytes.fromhex("1112131415161718")


def _sk_message(encrypt: str, sk_e: bytes, sk_a: bytes, *, tamper: bool = False) -> bytes:
    """An IKE_AUTH request with IDi inside SK, sealed with `cryptography` (test vector
    built independently of the decryptor)."""
    inner = struct.pack("!BBHBBBB", 0, 0, 12, 2, 0, 0, 0) + b"west"  # IDi fqdn "west"
    spec = encr_spec(encrypt)
    block = 16 if spec.mode == "cbc" else 1
    pad = (-(len(inner) + 1)) % block
    plain = inner + b"\x00" * pad + bytes([pad])
    iv = os.urandom(spec.iv_len)
    icv_len = spec.icv_len if spec.aead else 12
    sk_len = 4 + len(iv) + len(plain) + icv_len
    hdr = SPI_I + SPI_R + struct.pack("!BBBBII", 46, 0x20, 35, 0x08, 1, 28 + sk_len)
    sk_hdr = struct.pack("!BBH", 35, 0, sk_len)
    aad = hdr + sk_hdr
    key, salt = sk_e[: spec.key_len], sk_e[spec.key_len :]
    if spec.mode == "gcm":
        ct = AESGCM(key).encrypt(salt + iv, plain, aad)
    elif spec.mode == "chacha":
        ct = ChaCha20Poly1305(key).encrypt(salt + iv, plain, aad)
    else:
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
        body = enc.update(plain) + enc.finalize()
        h = hmac.HMAC(sk_a, hashes.SHA256())
        h.update(aad + iv + body)
        ct = body + h.finalize()[:12]
    msg = bytearray(aad + iv + ct)
    if tamper:
        msg[-1] ^= 1
    return bytes(msg)


def _table(encr: str, sk_e: bytes, sk_a: bytes, integ: str = "sha256_96") -> str:
    return (
        f"ikev2:\n  - spi_i: {SPI_I.hex()}\n    spi_r: {SPI_R.hex()}\n"
        f"    sk_ei: {sk_e.hex()}\n    sk_er: {sk_e.hex()}\n    encryption: {encr}\n"
        f"    sk_ai: '{sk_a.hex()}'\n    sk_ar: '{sk_a.hex()}'\n    integrity: {integ}\n"
    )


@pytest.mark.parametrize(
    ("encr", "klen"),
    [("aes256gcm16", 36), ("aes128gcm16", 20), ("chacha20poly1305", 36), ("aes256", 32)],
)
def test_sk_decrypt_and_verify(encr: str, klen: int) -> None:
    sk_e, sk_a = os.urandom(klen), os.urandom(32)
    keys = parse_keys(_table(encr, sk_e, sk_a))
    ok = decode_message(_sk_message(encr, sk_e, sk_a), keys)
    assert ok["icv"] == "ok" and ok["decrypted"] is True, ok["errors"]
    inner = ok["payloads"][-1]["payloads"]
    assert (inner[0]["type"], inner[0]["value"]) == ("IDi", "west")
    bad = decode_message(_sk_message(encr, sk_e, sk_a, tamper=True), keys)
    assert bad["icv"] == "bad"
    assert decode_message(_sk_message(encr, sk_e, sk_a))["icv"] is None  # no keys given


def test_key_formats() -> None:
    ws = (
        "0158b8fb90b7623d,13514610cea16160,"
        + "ab" * 36
        + ","
        + "cd" * 36
        + ',"AES-GCM-256 with 16 octet ICV [RFC5282]",,,"NONE [RFC4306]"'
    )
    t = parse_keys(ws)
    k = t.lookup("0158b8fb90b7623d", "13514610cea16160")
    assert k is not None and k.encr.keyword == "aes256gcm16" and k.integ is None
    assert "ab" * 36 not in repr(k)  # secrets never in reprs
    assert encr_spec("AES-CBC-256 [RFC3602]").key_len == 32
    assert encr_spec("AES_GCM_16", keysize=128).keyword == "aes128gcm16"
    assert integ_spec("HMAC_SHA2_512_256 [RFC4868]").icv_len == 32  # type: ignore[union-attr]
    assert integ_spec("ANY 96-bits of Authentication [No Checking]").check is False  # type: ignore[union-attr]
    tcp = parse_keys((FIX / "tcpdump" / "ikev2pI2-secrets.txt").read_text())
    k2 = tcp.lookup("0001020304050607", "c02e7a3031a03188")
    assert k2 is not None and len(k2.sk_ei) == 16 and len(k2.sk_ar) == 20
    with pytest.raises(InputFileError, match=r"<keys>:1"):
        parse_keys('"zz","x"')
    with pytest.raises(ValueError, match="SK_ei has 3 bytes"):
        ikev2_keys("00" * 8, "11" * 8, "aabbcc", "aabbcc", "aes256", "", "", "sha256")


def test_bad_yaml_key_file_is_one_line_without_key_material() -> None:
    secret = "5eb63bbbe01eeed093cb22bb8f5acdc3"
    text = f"ikev2:\n  - spi_i: 0011223344556677\n    sk_ei: [{secret}\n"
    with pytest.raises(InputFileError) as err:
        parse_keys(text, "k.yaml")
    msg = str(err.value)
    assert msg.startswith("k.yaml:") and "not valid YAML" in msg
    assert "\n" not in msg and secret not in msg


def test_unquoted_hex_in_yaml_keys_is_hex_not_a_number() -> None:
    """YAML reads `sk_ei: 0x00ab..` and `spi_i: 0011..` as numbers: before the fix the SPI was
    rejected and an unquoted key silently became its decimal digits."""
    ei, er = "00" + "ab" * 15, "0x" + "00" * 2 + "cd" * 14
    ai, ar = "0x" + "00" + "11" * 19, "0x" + "22" * 20
    text = (
        f"ikev2:\n  - spi_i: 0x0001020304050607\n    spi_r: 0011223344556677\n"
        f"    sk_ei: 0x{ei}\n    sk_er: {er}\n    encryption: aes128\n"
        f"    sk_ai: {ai}\n    sk_ar: {ar}\n    integrity: sha1\n"
    )
    table = parse_keys(text, "k.yaml")
    k = table.lookup("0001020304050607", "0011223344556677")
    assert k is not None
    assert k.sk_ei == bytes.fromhex(ei) and k.sk_er == bytes.fromhex(er[2:])
    assert k.sk_ai == bytes.fromhex(ai[2:]) and k.sk_ar == bytes.fromhex(ar[2:])


def test_proposal_syntax() -> None:
    p = parse_proposal("aes256gcm16-prfsha256-ecp256")
    assert p.encr == [(20, 256)] and p.prf == [5] and p.dh == [19]
    assert parse_proposal("aes256-sha256-modp2048").prf == [5]
    for bad in (
        "aes256-sha256",
        "aes256-bogus-modp2048",
        "aes256gcm16-ecp256",
        "aes256gcm16-sha256-prfsha256-ecp256",
        "",
    ):
        with pytest.raises(UsageError):
            parse_proposal(bad)
    with pytest.raises(UsageError):
        parse_proposal("aes256gcm16-prfsha256-ecp256", version=1)


def test_probe_messages_are_valid_ike() -> None:
    msg = build_ikev2_init(
        SPI_I,
        [parse_proposal("aes256-sha256-modp2048-ecp256")],
        19,
        local=("10.0.0.1", 500),
        remote=("10.0.0.2", 500),
        cookie=b"c" * 16,
    )
    d = decode_message(msg)
    assert d["errors"] == [] and d["exchange"] == "IKE_SA_INIT" and d["initiator"]
    assert [n["name"] for n in d["notify"]] == [
        "COOKIE",
        "NAT_DETECTION_SOURCE_IP",
        "NAT_DETECTION_DESTINATION_IP",
        "IKEV2_FRAGMENTATION_SUPPORTED",
    ]
    ke = next(p for p in d["payloads"] if p["type"] == "KE")
    assert ke["group"] == 19 and ke["data_len"] == 64
    v1 = decode_message(build_ikev1(SPI_I, [parse_proposal("3des-sha1-modp1024", 1)]))
    assert v1["exchange"] == "MAIN_MODE" and v1["errors"] == []
    # byte-level comparison with ike-scan's own default probe: same SA structure
    scan = decode_raw((FIX / "ike-scan" / "pkt-single-trans.dat").read_bytes())
    assert scan["payloads"][0]["proposals"][0]["protocol"] == "IKE"


def test_modp_primes_shape() -> None:
    for group, bits in {
        1: 768,
        2: 1024,
        5: 1536,
        14: 2048,
        15: 3072,
        16: 4096,
        17: 6144,
        18: 8192,
    }.items():
        p = MODP_PRIMES[group]
        assert p.bit_length() == bits and p >> (bits - 64) == 2**64 - 1 and p % 2**64 == 2**64 - 1
    assert pow(2, MODP_PRIMES[14] - 1, MODP_PRIMES[14]) == 1
    assert len(public_value(14)) == 256 and len(public_value(31)) == 32


def test_modp_primes_from_pi() -> None:
    import mpmath

    mpmath.mp.prec = 2200
    p = (
        2**2048
        - 2**1984
        - 1
        + 2**64 * (int(mpmath.floor(mpmath.mpf(2) ** 1918 * mpmath.pi)) + 124476)
    )
    assert p == MODP_PRIMES[14]


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=400))
def test_fuzz_decoder_never_raises(data: bytes) -> None:
    m = decode_message(data)
    assert isinstance(m["errors"], list)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.binary(min_size=1, max_size=8))
def test_fuzz_mutated_real_messages(pos: int, junk: bytes) -> None:
    base = (FIX / "ike-scan" / "pkt-aggr-mode-response.dat").read_bytes()
    pos = pos % len(base)
    m = decode_message(base[:pos] + junk + base[pos + len(junk) :])
    assert isinstance(m["payloads"], list)
    m2 = decode_message(base[:pos])  # truncated
    assert pos >= 28 or m2["errors"]


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_ike_json_and_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(
        _app(), ["ike", str(FIX / "scapy" / "ikev2_notify_redirect.pcap"), "--json"]
    )
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "diag ike"
    m = doc["messages"][0]
    for key in (
        "frame",
        "time",
        "src",
        "dst",
        "version",
        "exchange",
        "spi_i",
        "spi_r",
        "message_id",
        "response",
        "initiator",
        "payloads",
        "notify",
        "decrypted",
        "icv",
    ):
        assert key in m
    assert len(m["spi_i"]) == 16 and m["time"].endswith("Z")
    assert {"spi_i", "spi_r", "version", "messages", "timeline", "verdict"} <= set(
        doc["ike_sas"][0]
    )
    ok = runner.invoke(_app(), ["ike", str(FIX / "tcpdump" / "isakmp4500.pcap")])
    assert ok.exit_code == 0 and "established" in ok.stdout
    missing = runner.invoke(_app(), ["ike", str(tmp_path / "nope.pcap")])
    assert missing.exit_code == 2
    badkeys = tmp_path / "keys.txt"
    badkeys.write_text("not,a,key\n")
    res = runner.invoke(
        _app(), ["ike", str(FIX / "tcpdump" / "ikev2pI2.pcap"), "--keys", str(badkeys)]
    )
    assert res.exit_code == 2


def test_cli_probe_bad_syntax_and_no_response() -> None:
    runner = CliRunner()
    res = runner.invoke(_app(), ["probe", "127.0.0.1", "--proposal", "aes256-nope-modp2048"])
    assert res.exit_code == 2
    # loopback with nothing on a high port: ICMP unreachable -> no_response, exit 3
    res = runner.invoke(
        _app(),
        ["probe", "127.0.0.1", "--port", "4500", "--timeout", "0.3", "--retries", "0", "--json"],
    )
    if res.exit_code != 3:  # something (charon?) listens on 127.0.0.1:4500 here
        pytest.skip("UDP/4500 on loopback is in use on this machine")
    assert json.loads(res.stdout)["result"] == "no_response"


@pytest.mark.parametrize(
    "content",
    [bytes(range(256)) * 3, b"", b"hello, this is a text file\nnot a capture\n"],
    ids=["binary", "empty", "text"],
)
def test_cli_ike_refuses_files_that_are_not_captures(tmp_path: Path, content: bytes) -> None:
    """Random bytes once became an invented IKEv1 SA and an empty or text file exit 0 (QA F3):
    now the same one-line error as `diag esp`, exit 2."""
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    res = CliRunner().invoke(_app(), ["ike", str(bad), "--json"])
    assert res.exit_code == 2, res.stdout
    assert res.stdout == ""
    err = res.stderr.strip()
    assert "\n" not in err and str(bad) in err and "not a pcap or pcapng capture" in err
    assert "Traceback" not in res.output


def test_cli_ike_still_takes_one_raw_ike_message(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        _app(), ["ike", str(FIX / "ike-scan" / "pkt-v2-sainit-response.dat"), "--json"]
    )
    assert res.exit_code in (0, 3) and json.loads(res.stdout)["messages"][0]["version"] == 2


def test_cli_ike_healthy_capture_without_keys_exits_0() -> None:
    """ikev2_nat_t.pcapng: three complete IKE_SA_INIT + IKE_AUTH exchanges, no keys. Before,
    'answered (encrypted)' counted as a failure and the command exited 3 (QA G7)."""
    res = CliRunner().invoke(_app(), ["ike", str(FIX / "scapy" / "ikev2_nat_t.pcapng"), "--json"])
    assert res.exit_code == 0, res.stdout
    sas = json.loads(res.stdout)["ike_sas"]
    assert len(sas) == 3
    for sa in sas:
        assert sa["outcome"] == "undetermined"
        assert "keys needed to confirm authentication" in sa["verdict"]
    # a real failure in the same kind of document still exits 3
    res = CliRunner().invoke(_app(), ["ike", str(FIX / "tcpdump" / "ikev2pI2.pcap"), "--json"])
    assert res.exit_code == 3
    assert json.loads(res.stdout)["ike_sas"][0]["outcome"] == "failed"


def test_cli_ike_warns_on_truncated_capture(tmp_path: Path) -> None:
    data = (FIX / "tcpdump" / "isakmp4500.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) - 10])
    res = CliRunner().invoke(_app(), ["ike", str(cut), "--json"])
    assert "warning:" in res.stderr and "truncated" in res.stderr
    assert json.loads(res.stdout)["warnings"]
