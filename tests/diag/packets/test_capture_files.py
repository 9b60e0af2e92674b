"""File-level capture problems are reported for what they are: a link type
the reader does not decode is named with the frames it skipped, and a corrupt first record is
an unreadable capture, not a "last record truncated"."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from ipsecctl.diag.packets.reader import CaptureInfo, open_capture
from ipsecctl.errors import InputFileError
from tests.diag.packets.builders import frame, ipv4, udp, write_capture
from tests.diag.packets.test_corpus import run_cli

ESP = ipv4("172.16.1.1", "172.16.2.2", 50, struct.pack("!II", 0x1234, 1) + bytes(40))


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_unsupported_link_type_is_named_with_its_frames(tmp_path: Path, fmt: str) -> None:
    # DLT_USER0 (147): what QA's capture had; the bytes are a perfectly good IP packet
    cap = write_capture(tmp_path / f"u.{fmt}", 147, [ESP] * 15, fmt)
    code, stdout, stderr = run_cli(str(cap), "--json")
    assert json.loads(stdout)["summary"]["frames"] == 15
    (line,) = [ln for ln in stderr.splitlines() if ln.startswith("warning:")]
    assert "link type 147 (USER0) is not supported" in line
    assert "15 frame(s) skipped (frames 1-15)" in line and "Ethernet (1)" in line
    assert code == 0


def test_supported_link_type_gives_no_warning(tmp_path: Path) -> None:
    cap = write_capture(tmp_path / "e.pcap", 1, [frame(1, ESP)] * 3)
    info = CaptureInfo()
    assert len(list(open_capture(cap, info))) == 3
    assert info.warnings == [] and info.unsupported == {}


def _pcap_with_first_incl(tmp_path: Path, incl: int) -> Path:
    good = write_capture(tmp_path / "g.pcap", 1, [frame(1, ESP)] * 2).read_bytes()
    bad = good[: 24 + 8] + struct.pack("<I", incl) + good[24 + 12 :]
    path = tmp_path / "bad.pcap"
    path.write_bytes(bad)
    return path


@pytest.mark.parametrize("incl", [0xFFFFFF, 0x7FFFFFFF])
@pytest.mark.parametrize("as_json", [True, False])
def test_corrupt_first_record_is_reported_as_such(tmp_path: Path, incl: int, as_json: bool) -> None:
    path = _pcap_with_first_incl(tmp_path, incl)
    code, stdout, stderr = run_cli(str(path), *(["--json"] if as_json else []))
    assert code == 2 and stdout == ""
    err = stderr.strip()
    assert "\n" not in err and str(path) in err
    assert "first record" in err and "corrupt record header" in err
    assert "last record" not in err
    with pytest.raises(InputFileError, match="first record"):
        open_capture(path)


def test_cut_inside_first_record_header_and_empty_capture(tmp_path: Path) -> None:
    good = write_capture(tmp_path / "g.pcap", 1, [frame(1, ESP)]).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(good[:30])
    with pytest.raises(InputFileError, match=r"first record .* cut inside its 16-byte header"):
        open_capture(cut)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(good[:24])
    assert list(open_capture(empty)) == []


def test_truncated_last_record_is_still_a_warning(tmp_path: Path) -> None:
    good = write_capture(tmp_path / "g.pcap", 1, [frame(1, ESP)] * 3).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(good[:-5])
    info = CaptureInfo()
    frames = list(open_capture(cut, info))
    assert len(frames) == 3 and frames[-1].error is not None
    assert any("last record truncated" in w for w in info.warnings)


def test_unsupported_udp_frames_still_counted_in_ike(tmp_path: Path) -> None:
    """The IKE command reads through the same opener: it warns the same way."""
    from typer.testing import CliRunner

    from tests.diag.ike.test_units import _app

    ike = bytes(16) + bytes((33, 0x20, 34, 8)) + bytes(4) + (28).to_bytes(4, "big")
    cap = write_capture(
        tmp_path / "i.pcap", 105, [ipv4("10.0.0.1", "10.0.0.2", 17, udp(500, 500, ike))]
    )
    res = CliRunner().invoke(_app(), ["ike", str(cap), "--json"])
    assert res.exit_code == 0
    assert "link type 105 (IEEE802_11) is not supported" in res.stderr
    assert json.loads(res.stdout)["warnings"]


# -- one damage policy for pcap and pcapng (see ipsecctl.diag.packets.reader) ----------------
def _ike_cli(path: Path) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from tests.diag.ike.test_units import _app

    res = CliRunner().invoke(_app(), ["ike", str(path), "--json"])
    return res.exit_code, res.stdout, res.stderr


def _five(tmp_path: Path, fmt: str) -> tuple[bytes, list[int]]:
    """A 5-frame capture and the byte offset of each record/packet block."""
    esp = [
        frame(1, ipv4("172.16.1.1", "172.16.2.2", 50, struct.pack("!II", 0x1234, i) + bytes(40)))
        for i in range(1, 6)
    ]
    data = write_capture(tmp_path / f"five.{fmt}", 1, esp, fmt).read_bytes()
    if fmt == "pcap":
        size = 16 + len(frame(1, ESP))
        return data, [24 + i * size for i in range(5)]
    offsets, p = [], 0
    while p < len(data):
        btype, blen = struct.unpack_from("<II", data, p)
        if btype == 6:
            offsets.append(p)
        p += blen
    return data, offsets


def _corrupt_length(data: bytes, at: int, fmt: str) -> bytes:
    field = at + (8 if fmt == "pcap" else 4)  # pcap incl_len / pcapng block total length
    return data[:field] + struct.pack("<I", 0x7FFFFFF0) + data[field + 4 :]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_damage_before_the_first_packet_is_exit_2_for_both_formats(
    tmp_path: Path, fmt: str
) -> None:
    data, offsets = _five(tmp_path, fmt)
    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(_corrupt_length(data, offsets[0], fmt))
    for code, stdout, stderr in (run_cli(str(bad), "--json"), run_cli(str(bad)), _ike_cli(bad)):
        assert code == 2 and stdout == ""
        assert str(bad) in stderr and "no packet to read" in stderr
        assert "Traceback" not in stderr and stderr.count("\n") == 1


def test_corrupt_pcapng_section_header_is_exit_2(tmp_path: Path) -> None:
    data, _ = _five(tmp_path, "pcapng")
    bad = tmp_path / "shb.pcapng"
    bad.write_bytes(data[:8] + b"\x00\x00\x00\x00" + data[12:])  # byte-order magic gone
    code, stdout, stderr = run_cli(str(bad), "--json")
    assert code == 2 and stdout == "" and "byte-order magic" in stderr
    with pytest.raises(InputFileError, match="no packet to read"):
        open_capture(bad)


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_damage_after_packets_keeps_them_and_warns_for_both_formats(
    tmp_path: Path, fmt: str
) -> None:
    data, offsets = _five(tmp_path, fmt)
    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(_corrupt_length(data, offsets[3], fmt))
    info = CaptureInfo()
    assert len(list(open_capture(bad, info))) == 3
    (warning,) = info.warnings
    assert f"byte {offsets[3]}" in warning and "the rest of the file is skipped" in warning
    code, stdout, stderr = run_cli(str(bad), "--json")
    doc = json.loads(stdout)
    assert code == 0 and doc["summary"]["esp"] == 3 and len(doc["packets"]) == 3
    assert doc["warnings"] == [warning] and f"warning: {warning}" in stderr
    code, stdout, stderr = _ike_cli(bad)
    assert code == 0 and json.loads(stdout)["warnings"] == [warning]


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_file_cut_inside_the_last_packet_warns_for_both_formats(tmp_path: Path, fmt: str) -> None:
    data, _ = _five(tmp_path, fmt)
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(data[:-7])
    info = CaptureInfo()
    frames = list(open_capture(cut, info))
    assert len(info.warnings) == 1 and "truncat" in info.warnings[0]
    assert len(frames) in (4, 5)  # pcap yields the cut record with an error; pcapng stops
    code, stdout, _ = run_cli(str(cut), "--json")
    assert code == 0 and json.loads(stdout)["summary"]["frames"] == len(frames)


def test_pcapng_block_whose_trailing_length_disagrees(tmp_path: Path) -> None:
    data, offsets = _five(tmp_path, "pcapng")
    blen = struct.unpack_from("<I", data, offsets[2] + 4)[0]
    end = offsets[2] + blen
    bad = tmp_path / "trail.pcapng"
    bad.write_bytes(data[: end - 4] + struct.pack("<I", blen + 4) + data[end:])
    info = CaptureInfo()
    assert len(list(open_capture(bad, info))) == 2
    assert "trailing length" in info.warnings[0]
