"""Printed captures (device dump text) read back into packets.

1. Real device outputs (tests/fixtures/printed, sources in SOURCES.md): the packets, addresses,
   ports and times are the ones a person reads in the text (values in the comments).
2. Real ESP and IKE captures (tcpdump's and scapy's test captures) printed the way each device
   prints them (tests/diag/capture/render.py): `diag esp` and `diag ike` must say the same
   about the text as about the pcap it came from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ipsecctl.diag.packets.reader import CaptureInfo, open_capture
from ipsecctl.errors import InputFileError
from tests.diag.capture import render
from tests.diag.packets.test_corpus import run_cli

FIX = Path(__file__).resolve().parents[2] / "fixtures"
PRINTED = FIX / "printed"


def _frames(path: Path, fmt: str | None = None) -> tuple[list[Any], CaptureInfo]:
    info = CaptureInfo()
    return list(open_capture(path, info, fmt)), info


def _ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_asa_dump_fixture() -> None:
    # "1: 20:40:01.108469  10.124.255.212 > 10.124.255.5 icmp: echo request", 0x0060+2 bytes
    (f,), info = _frames(PRINTED / "asa-dump-icmp.txt")
    assert info.format == "asa-dump" and info.warnings == []
    assert f.linktype == 1 and len(f.data) == 0x62
    assert (f.ip.src, f.ip.dst, f.ip.proto) == ("10.124.255.212", "10.124.255.5", 1)
    assert f.data[f.ip.payload_offset] == 8  # ICMP type 8: echo request
    assert f.time == pytest.approx(20 * 3600 + 40 * 60 + 1.108469)  # no date printed


def test_ios_classic_dump_fixture() -> None:
    # two SNMP gets: AC101F60 -> AC107F31 / AC105828, ports D0DF / E872 -> 00A1
    frames, info = _frames(PRINTED / "ios-dump-snmp.txt")
    assert info.format == "ios-dump" and info.warnings == []
    assert [(f.ip.src, f.ip.dst, f.sport, f.dport) for f in frames] == [
        ("172.16.31.96", "172.16.127.49", 0xD0DF, 161),
        ("172.16.31.96", "172.16.88.40", 0xE872, 161),
    ]
    assert all(f.time == pytest.approx(_ts("2021-11-27T22:45:44.700")) for f in frames)
    # 8 bytes on the first line, 5 full lines, 5 on the last
    assert all(len(f.data) == 8 + 5 * 16 + 5 for f in frames)
    assert frames[0].data[:6].hex() == "b0faebc7a862"  # destination MAC b0fa.ebc7.a862


def test_iosxe16_dump_fixture() -> None:
    # packet 0: C0A84983 -> C0A84609 ICMP echo request (type 08); packet 1: the reply (00)
    frames, info = _frames(PRINTED / "iosxe16-dump-icmp.txt")
    assert info.format == "ios-dump"
    got = [(f.ip.src, f.ip.dst, f.data[f.ip.payload_offset]) for f in frames]
    assert got == [("192.168.73.131", "192.168.70.9", 8), ("192.168.70.9", "192.168.73.131", 0)]
    assert all(len(f.data) == 0x62 and f.time == 0.0 for f in frames)  # no time printed


def test_iosxe17_dump_fixture_reads_as_plain_hex() -> None:
    # c0a8c801 -> c0a8c87a, TCP (06) 7e77 -> 0031, 0x3c bytes
    (f,), info = _frames(PRINTED / "iosxe17-dump-tcp.txt")
    assert info.format == "hex"
    assert (f.ip.src, f.ip.dst, f.ip.proto, len(f.data)) == (
        "192.168.200.1", "192.168.200.122", 6, 0x3C)  # fmt: skip
    assert f.data[f.ip.payload_offset : f.ip.payload_offset + 4].hex() == "7e770031"


def test_iosxe_detailed_fixture_rebuilds_the_frame_from_the_decode() -> None:
    # the hex holds only the 46-byte Data layer; Ethernet and IPv4 come from the decode, and
    # the rebuilt IPv4 header carries the printed checksum 0x3215 / 0x3214, which verifies
    frames, info = _frames(PRINTED / "iosxe-detailed-genie.txt")
    assert info.format == "ios-detailed"
    assert [f.time for f in frames] == [1666180274.938988, 1666180274.939868]
    for f, ident, cksum in zip(frames, (0xF519, 0xF51A), ("3215", "3214"), strict=True):
        assert len(f.data) == 80 and f.orig_len == 1496  # "80 bytes captured"
        assert f.data[:12].hex() == "00a7428606bf" + "fa888e780002"  # Dst then Src
        assert (f.ip.src, f.ip.dst, f.ip.proto) == ("49.1.1.2", "91.4.1.1", 253)
        hdr = f.data[14:34]
        assert int.from_bytes(hdr[4:6], "big") == ident and hdr[10:12].hex() == cksum
        total = sum(int.from_bytes(hdr[i : i + 2], "big") for i in range(0, 20, 2))
        assert (total & 0xFFFF) + (total >> 16) == 0xFFFF  # the device's checksum verifies
    assert len(info.warnings) == 2 and "rebuilt" in info.warnings[0]


# -- real ESP / IKE captures printed by each device --------------------------------------
RENDERERS: dict[str, tuple[Callable[[list[tuple[float, bytes]]], str], str, bool]] = {
    # name: (printer, --format, keeps the date)
    "ios": (render.ios_classic, "ios-dump", True),
    "iosxe16": (render.iosxe16, "ios-dump", False),
    "asa": (render.asa, "asa-dump", False),
    "hex": (render.wireshark_hex, "hex", False),
    "tcpdump": (render.tcpdump_xx, "hex", False),
    "detailed": (render.iosxe_detailed, "ios-detailed", True),
}


def _print(tmp: Path, pcap: Path, name: str) -> Path:
    printer, _fmt, _date = RENDERERS[name]
    frames = [(f.time, f.data) for f in open_capture(pcap)]
    out = tmp / f"{pcap.stem}.{name}.txt"
    out.write_text(printer(frames))
    return out


_SAME = ("protocol", "src", "dst", "udp_encap", "sport", "dport", "spi", "seq", "icv",
         "decrypted", "pad_ok", "next_header", "inner", "nested", "error", "replay")  # fmt: skip


@pytest.mark.parametrize("name", sorted(RENDERERS))
@pytest.mark.parametrize(
    ("capture", "keys"),
    [("02-sunrise-sunset-esp.pcap", "esp1-secrets.txt"),
     ("08-sunrise-sunset-esp2.pcap", "esp-secrets.txt"),
     ("espudp1.pcap", "esp-secrets.txt")],
)  # fmt: skip
def test_esp_from_printed_capture_decodes_like_the_pcap(
    tmp_path: Path, name: str, capture: str, keys: str
) -> None:
    pcap = FIX / "pcap" / capture
    text = _print(tmp_path, pcap, name)
    want_code, want_out, _ = run_cli(str(pcap), "--keys", str(FIX / "pcap" / keys), "--json")
    for extra in ([], ["--format", RENDERERS[name][1]]):  # detected, then forced
        code, out, err = run_cli(str(text), "--keys", str(FIX / "pcap" / keys), "--json", *extra)
        assert code == want_code, err
        want, got = json.loads(want_out), json.loads(out)
        assert len(got["packets"]) == len(want["packets"]) == 8
        for g, w in zip(got["packets"], want["packets"], strict=True):
            assert {k: g[k] for k in _SAME} == {k: w[k] for k in _SAME}
            if RENDERERS[name][2]:
                assert g["time"][:23] == w["time"][:23]  # IOS prints milliseconds
        for k in ("esp", "decrypted", "icv_ok", "icv_bad", "wrong_key_suspected", "replayed"):
            assert got["summary"][k] == want["summary"][k]


def _ike(path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    from tests.diag.ike.test_units import _app

    res = CliRunner().invoke(_app(), ["ike", str(path), "--json", *extra])
    return res.exit_code, json.loads(res.stdout) if res.stdout else {}


_MSG = ("src", "dst", "version", "exchange", "spi_i", "spi_r", "message_id", "response",
        "initiator", "notify", "errors")  # fmt: skip


@pytest.mark.parametrize("name", sorted(RENDERERS))
@pytest.mark.parametrize(
    "capture", ["pcap/isakmp4500.pcap", "ike/scapy/ikev2_notify_redirect.pcap"]
)
def test_ike_from_printed_capture_decodes_like_the_pcap(
    tmp_path: Path, name: str, capture: str
) -> None:
    pcap = FIX / capture
    text = _print(tmp_path, pcap, name)
    want_code, want = _ike(pcap)
    code, got = _ike(text)
    assert code == want_code
    assert len(got["messages"]) == len(want["messages"]) > 0
    for g, w in zip(got["messages"], want["messages"], strict=True):
        assert {k: g.get(k) for k in _MSG} == {k: w.get(k) for k in _MSG}
        assert [p["type"] for p in g["payloads"]] == [p["type"] for p in w["payloads"]]
    assert [s["verdict"] for s in got["ike_sas"]] == [s["verdict"] for s in want["ike_sas"]]


# -- bad and ambiguous text ------------------------------------------------------------------
def test_text_without_packets_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "notes.txt"
    p.write_text("Router#show version\nCisco IOS XE Software, Version 17.9.4\n")
    code, out, err = run_cli(str(p), "--json")
    assert code == 2 and out == "" and "nor a printed capture" in err
    assert str(p) in err and err.count("\n") == 1


def test_asa_detail_without_dump_says_what_to_run(tmp_path: Path) -> None:
    p = tmp_path / "detail.txt"
    p.write_text("2 packets captured\n\n   1: 14:13:05.129931 0050.5684.7e3b 0050.5684.5b1c "
                 "0x0800 Length: 98\n      10.1.1.1 > 10.2.2.2 icmp: echo request\n")  # fmt: skip
    with pytest.raises(InputFileError, match="detail dump"):
        open_capture(p)


def test_mixed_formats_need_format(tmp_path: Path) -> None:
    asa = (PRINTED / "asa-dump-icmp.txt").read_text()
    ios = (PRINTED / "ios-dump-snmp.txt").read_text()
    p = tmp_path / "both.txt"
    p.write_text(asa + "\n" + ios)
    with pytest.raises(InputFileError, match="--format"):
        open_capture(p)
    frames, info = _frames(p, "asa-dump")
    assert info.format == "asa-dump" and len(frames) == 1


def test_binary_garbage_is_not_a_capture(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputFileError, match="not a pcap or pcapng capture"):
        open_capture(p)


def test_a_missing_hex_line_keeps_the_packet_and_warns(tmp_path: Path) -> None:
    lines = (PRINTED / "asa-dump-icmp.txt").read_text().splitlines()
    cut = [ln for ln in lines if not ln.startswith("0x0020")]
    p = tmp_path / "cut.txt"
    p.write_text("\n".join(cut) + "\n")
    (f,), info = _frames(p)
    assert len(f.data) == 0x62 - 16
    (w,) = info.warnings
    assert "line 6" in w and "out of sequence (offset 0x0030, expected 0x0020)" in w


def test_pasted_dump_with_collapsed_spaces(tmp_path: Path) -> None:
    """Ticket systems collapse runs of spaces: the ASCII column ("0zkG(b.P") must still not
    be read as bytes, and a hex-looking ASCII column is told apart by what it renders."""
    text = " ".join((PRINTED / "ios-dump-snmp.txt").read_text().split(" "))
    collapsed = "\n".join(" ".join(ln.split()) for ln in text.splitlines())
    p = tmp_path / "pasted.txt"
    p.write_text(collapsed + "\n")
    frames, _ = _frames(p, "ios-dump")
    want, _ = _frames(PRINTED / "ios-dump-snmp.txt")
    assert [f.data for f in frames] == [f.data for f in want]
    asa = tmp_path / "asa.txt"  # last line ends in bytes 41 42: ASCII "....AB"
    asa.write_text("   1: 00:00:01.000000 a > b\n0x0000 4500 0016 0000 0000 4011 0000 0a00 0001 "
                   "E.......@.......\n0x0010 0a00 0002 4142 ....AB\n")  # fmt: skip
    (f,), _ = _frames(asa)
    assert f.data[-2:] == b"AB" and len(f.data) == 22


def test_platform_hint_settles_an_ambiguous_text_and_text_in_memory(tmp_path: Path) -> None:
    from ipsecctl.diag.capture.files import frames_from_file, frames_from_text

    both = (PRINTED / "asa-dump-icmp.txt").read_text() + "\n" + (
        PRINTED / "ios-dump-snmp.txt").read_text()  # fmt: skip
    p = tmp_path / "both.txt"
    p.write_text(both)
    asa = list(frames_from_file(p, platform="cisco_asa"))
    assert [f.ip.src for f in asa] == ["10.124.255.212"]
    ios = list(frames_from_text(both, platform="cisco_iosxe"))
    assert [f.ip.dst for f in ios] == ["172.16.127.49", "172.16.88.40"]
    with pytest.raises(InputFileError, match="device output: the text looks like several"):
        list(frames_from_text(both))
    with pytest.raises(InputFileError, match="not a pcapng capture"):
        list(frames_from_file(p, fmt="pcapng"))
    with pytest.raises(InputFileError, match="binary capture, not a printed one"):
        list(frames_from_file(FIX / "pcap" / "espudp1.pcap", fmt="asa-dump"))


_FIXTURE_TEXTS = {p.name: p.read_text() for p in sorted(PRINTED.glob("*.txt"))}


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(_FIXTURE_TEXTS)),
    edits=st.lists(st.tuples(st.sampled_from(["drop", "dup", "junk", "cut"]),
                             st.integers(0, 200), st.text(max_size=20)), max_size=6),
)  # fmt: skip
def test_mutated_printed_captures_never_crash(name: str, edits: list[tuple[str, int, str]]) -> None:
    """Lines deleted, duplicated, replaced by junk or cut short: packets or one clear error,
    never a traceback."""
    from ipsecctl.diag.capture.files import frames_from_text

    lines = _FIXTURE_TEXTS[name].splitlines()
    for op, at, junk in edits:
        if not lines:
            break
        i = at % len(lines)
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "junk":
            lines[i] = junk
        else:
            lines[i] = lines[i][: len(lines[i]) // 2]
    try:
        frames = list(frames_from_text("\n".join(lines) + "\n", label=name))
    except InputFileError as exc:
        assert name in str(exc)
        return
    assert all(f.number >= 1 for f in frames)
