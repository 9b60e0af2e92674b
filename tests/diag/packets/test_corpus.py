"""tcpdump's own ESP/AH captures decoded by ipsecctl and compared with tcpdump's expected output."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from ipsecctl.cli.diag_esp import register
from ipsecctl.diag.packets.keys import load_keys
from ipsecctl.diag.packets.report import analyse

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "pcap"

_LINE = re.compile(
    r"^\s*(?P<frame>\d+)\s+\S+ \S+ IP (?P<src>\d+\.\d+\.\d+\.\d+)(?:\.\d+)? > "
    r"(?P<dst>\d+\.\d+\.\d+\.\d+)(?:\.\d+)?: "
    r"(?:UDP-encap: )?ESP\(spi=(?P<spi>0x[0-9a-f]+),seq=(?P<seq>0x[0-9a-f]+)\)"
)
_INNER_ESP = re.compile(r"IP ([\d.]+) > ([\d.]+): ESP\(spi=(0x[0-9a-f]+),seq=(0x[0-9a-f]+)\)")
_ICMP = re.compile(r"IP ([\d.]+) > ([\d.]+): ICMP echo request")


def _expected(name: str) -> list[dict[str, Any]]:
    rows = []
    for line in (FIX / name).read_text().splitlines():
        m = _LINE.match(line)
        if not m:
            continue
        tail = line[m.end() :]
        rows.append({
            "frame": int(m["frame"]), "src": m["src"], "dst": m["dst"], "spi": int(m["spi"], 16),
            "seq": int(m["seq"], 16), "inner_esp": _INNER_ESP.findall(tail),
            "icmp": _ICMP.findall(tail),
        })  # fmt: skip
    assert rows, f"no ESP lines parsed from {name}"
    return rows


def _app() -> typer.Typer:
    app = typer.Typer()
    diag = typer.Typer()
    register(diag)
    app.add_typer(diag, name="diag")
    return app


def run_cli(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(_app(), ["diag", "esp", *args])
    return res.exit_code, res.stdout, res.stderr


@pytest.mark.parametrize(
    "capture,keys,out",
    [
        ("02-sunrise-sunset-esp.pcap", "esp1-secrets.txt", "esp1.out"),
        ("08-sunrise-sunset-esp2.pcap", "esp-secrets.txt", "esp2.out"),
        ("08-sunrise-sunset-aes.pcap", "esp-secrets.txt", "esp5.out"),
    ],
)
def test_decrypt_matches_tcpdump(capture: str, keys: str, out: str) -> None:
    code, stdout, _ = run_cli(str(FIX / capture), "--keys", str(FIX / keys), "--json")
    assert code == 0
    doc = json.loads(stdout)
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "diag esp"
    packets = doc["packets"]
    expected = _expected(out)
    assert len(packets) == len(expected)
    for p, e in zip(packets, expected, strict=True):
        assert (p["frame"], p["src"], p["dst"], p["spi"], p["seq"]) == (
            e["frame"],
            e["src"],
            e["dst"],
            e["spi"],
            e["seq"],
        )
        assert p["decrypted"] and p["pad_ok"] and p["icv"] == "unverified"
        assert not p["wrong_key_suspected"] and p["replay"] == "accepted"
        layers = [p["inner"]] + [n["inner"] for n in p["nested"]]
        for (src, dst, spi, seq), layer in zip(e["inner_esp"], layers, strict=False):
            assert (layer["src"], layer["dst"], layer["spi"], layer["seq"]) == (
                src,
                dst,
                int(spi, 16),
                int(seq, 16),
            )
        ((isrc, idst),) = e["icmp"]
        innermost = layers[-1]
        assert (innermost["src"], innermost["dst"], innermost["icmp_type"]) == (isrc, idst, 8)
    s = doc["summary"]
    assert s["decrypted"] == s["esp"] == len(expected)
    assert s["sas"][0]["missing"] == 0 and s["sas"][0]["max_reorder_depth"] == 0


def test_pad_lengths_match_manifest() -> None:
    sas = load_keys(FIX / "esp-secrets.txt")
    nested = analyse(FIX / "08-sunrise-sunset-esp2.pcap", sas)
    assert {p["pad_len"] for p in nested.packets} == {6}
    assert {p["nested"][0]["pad_len"] for p in nested.packets} == {2}
    aes = analyse(FIX / "08-sunrise-sunset-aes.pcap", sas)
    assert {(p["pad_len"], p["next_header"]) for p in aes.packets} == {(10, 4)}


def test_negative_espudp1_wrong_key_is_not_a_decode() -> None:
    """espudp1.out shows garbage (ip-proto-227 ...): we must flag a wrong key, exit 3."""
    code, stdout, _ = run_cli(
        str(FIX / "espudp1.pcap"), "--keys", str(FIX / "esp-secrets.txt"), "--json"
    )
    assert code == 3
    doc = json.loads(stdout)
    expected = _expected("espudp1.out")
    assert [(p["spi"], p["seq"]) for p in doc["packets"]] == [
        (e["spi"], e["seq"]) for e in expected
    ]
    assert all(p["udp_encap"] and p["sport"] == 4500 for p in doc["packets"])
    assert all(p["wrong_key_suspected"] and not p["decrypted"] for p in doc["packets"])
    assert all(p["icv"] == "unverified" and p["inner"] is None for p in doc["packets"])
    # tcpdump printed next headers 227, 183, 72, 224 for frames 2, 6, 7, 8: the same bytes.
    assert [doc["packets"][i]["next_header"] for i in (1, 5, 6, 7)] == [227, 183, 72, 224]
    assert doc["summary"]["wrong_key_suspected"] == 8 and doc["summary"]["decrypted"] == 0


def test_negative_wrong_key_for_3des_capture() -> None:
    code, stdout, _ = run_cli(
        str(FIX / "02-sunrise-sunset-esp.pcap"), "--keys", str(FIX / "esp-secrets.txt"), "--json"
    )
    assert code == 3
    assert json.loads(stdout)["summary"]["decrypted"] == 0


def test_negative_truncated_esp() -> None:
    """esp_truncated.out: `ESP(spi=0xc0f7d4c3 [|esp]`; we report truncation per packet."""
    code, stdout, stderr = run_cli(str(FIX / "esp_truncated.pcap"), "--json")
    assert code == 0, stderr
    (p,) = json.loads(stdout)["packets"]
    assert p["spi"] == 0xC0F7D4C3 and p["seq"] is None
    assert p["src"] == "0.254.92.182" and p["dst"] == "255.127.255.121" and p["dport"] == 8472
    assert "truncated" in p["error"]
    assert json.loads(stdout)["summary"]["malformed"] == 1


def test_isakmp4500_demux_ike_keepalive_esp() -> None:
    expected = _expected("isakmp4.out")
    text = (FIX / "isakmp4.out").read_text()
    an = analyse(FIX / "isakmp4500.pcap", [])
    assert [(p["frame"], p["spi"], p["seq"]) for p in an.packets] == [
        (e["frame"], e["spi"], e["seq"]) for e in expected
    ]
    assert an.summary["ike"] == text.count("isakmp:")
    assert an.summary["nat_keepalive"] == text.count("isakmp-nat-keep-alive")
    assert all(p["icv"] == "no_key" for p in an.packets)


def test_ospfv3_ah_headers_match_tcpdump() -> None:
    rows = re.findall(
        r"^\s*(\d+) .* (\S+) > (\S+): AH\(length=4\(24-bytes\),spi=(0x[0-9a-f]+),seq=(0x[0-9a-f]+),"
        r"icv=0x([0-9a-f]+)\): OSPFv3",
        (FIX / "ospf3_ah-vv.out").read_text(),
        re.M,
    )
    an = analyse(FIX / "OSPFv3_with_AH.pcap", [])
    assert len(an.packets) == len(rows) == an.summary["ah"]
    for p, (frame, src, dst, spi, seq, _icv) in zip(an.packets, rows, strict=True):
        assert (p["frame"], p["src"], p["dst"], p["spi"], p["seq"]) == (
            int(frame),
            src,
            dst,
            int(spi, 16),
            int(seq, 16),
        )
        assert p["icv"] == "no_key" and p["icv_len"] == 12 and p["next_header"] == 89
        assert p["inner"]["protocol"] == "ospf"
    # Both routers use SPI 0x100 with their own sequence spaces: one SA per (src, dst), and
    # no replay is reported across them.
    assert {(s["src"], s["dst"]) for s in an.sas} >= {
        ("fe80::1", "ff02::5"),
        ("fe80::2", "ff02::5"),
    }
    assert an.summary["replayed"] == 0 and an.summary["too_old"] == 0


def test_keys_format_forced(tmp_path: Path) -> None:
    """--keys-format: the named parser is used (no detection); a wrong one fails cleanly."""
    cap, keys = str(FIX / "02-sunrise-sunset-esp.pcap"), FIX / "esp1-secrets.txt"
    code, stdout, _ = run_cli(cap, "--keys", str(keys), "--keys-format", "tcpdump", "--json")
    assert code == 0
    assert json.loads(stdout)["summary"]["decrypted"] == 8
    # The same SA as an `ip xfrm state` dump, read only when forced to xfrm.
    xfrm = tmp_path / "sa.txt"
    xfrm.write_text(
        "src 192.1.2.23 dst 192.1.2.45\n"
        "\tproto esp spi 0x12345678 reqid 1 mode tunnel\n"
        "\tenc cbc(des3_ede) 0x4043434545464649494a4a4c4c4f4f515152525454575758\n"
    )
    code, stdout, _ = run_cli(cap, "--keys", str(xfrm), "--keys-format", "xfrm", "--json")
    (sa,) = json.loads(stdout)["summary"]["sas"]
    assert (sa["spi"], sa["key"], sa["encryption"]) == (0x12345678, True, "3des")
    # no auth-trunc line: the 12-byte ICV counts as ciphertext, so the trailer cannot fit
    assert code == 3 and sa["decrypted"] == 0 and sa["unverified"] == 8
    # Forcing a format the file is not in: exit 2, one line naming the file, no traceback.
    code, stdout, stderr = run_cli(cap, "--keys", str(keys), "--keys-format", "wireshark")
    assert code == 2 and stdout == ""
    assert str(keys) in stderr and "Traceback" not in stderr and stderr.count("\n") == 1
    code, _, stderr = run_cli(cap, "--keys", str(keys), "--keys-format", "pgp")
    assert code == 2 and "unknown key format 'pgp'" in stderr
