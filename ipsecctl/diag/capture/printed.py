"""Printed captures: the text a device prints for a capture, read back into packets.

Operators paste captures into tickets as text, not files. This module reads the forms Cisco
devices print and a plain hex dump, and yields the same segments the pcap reader yields
(:class:`~ipsecctl.diag.packets.reader.Segment`, pcapng layout with one interface per link
type), so ``diag esp``, ``diag ike`` and ``diag capture --from`` decode a pasted dump the way
they decode a pcap.

Formats (``--format`` names; detected from the text when not given):

``ios-dump``
    Classic IOS ``show monitor capture buffer NAME dump``: a header per packet
    (``13:35:46.019 UTC Nov 29 2025 : IPv4 LES CEF : Gi0/0 None``), then
    ``ADDRESS: 8-digit groups  ascii`` lines. IOS-XE 16 ``show monitor capture CAP buffer
    dump``: a packet number alone on a line, then ``  0000:  8-digit groups   ascii``.
    The IOS-XE 17 form (``0000  6c 5e 3b ...``) is the plain hex form below.
``ios-detailed``
    IOS-XE ``show monitor capture CAP buffer detailed`` (a Wireshark-style decode per frame:
    ``Frame N: ...``, ``Epoch Time: ...``, hex lines ``0000  xx xx ...``). When the hex
    covers the whole frame it is the packet; when it covers only the last layer (some
    releases print just the payload) the frame is rebuilt from the decoded outer IPv4/IPv6,
    UDP and ESP header fields -- enough for SPI and sequence analysis, not for decryption
    (each such frame is marked truncated and a warning says so).
``asa-dump`` / ``asa-detail``
    ASA ``show capture NAME dump`` (``   1: 20:40:01.108469 10.1.1.1 > ...`` then
    ``0x0000 a453 0ef3 ... ascii``) and ``show capture NAME detail dump`` (the header carries
    the MAC addresses). ``detail`` without ``dump`` prints no packet bytes: refused with a
    message saying which command to run.
``hex``
    A plain hex dump: lines with an offset (``0000``, ``0x0000:``, ``000010``) followed by
    hex bytes or groups, as Wireshark's "Copy as Hex Dump", ``tcpdump -xx``, ``od -Ax -tx1``
    and IOS-XE 17 print them (offset 0 starts a packet), or blocks of bare hex separated by
    blank lines. A preceding ``HH:MM:SS.ffffff`` (tcpdump) line gives the time.

Times: what the device printed, read as UTC (a time-zone name other than UTC/GMT is noted in a
warning); a time without a date (ASA, tcpdump) is placed on 1970-01-01, advancing a day when
the clock wraps; no time at all (IOS-XE dump) is 0. Link type: per packet, Ethernet when the
bytes start with an Ethernet header carrying IP, raw IP when they start with an IP header.

Damage follows the reader's policy: text in which no packet can be found is an
:class:`~ipsecctl.errors.InputFileError` (exit 2); a packet cut short (a hex line missing, an
odd digit) is kept with what was printed, flagged, with a warning naming its line.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ipsecctl.diag.packets.pcap import LINKTYPE_ETHERNET, LINKTYPE_RAW
from ipsecctl.diag.packets.reader import CaptureInfo, Segment
from ipsecctl.errors import InputFileError

PACKETS_PER_SEGMENT = 2048
_IFACES = ((LINKTYPE_ETHERNET, 1e-6, 0), (LINKTYPE_RAW, 1e-6, 0))
_SAMPLE_LINES = 400

# --------------------------------------------------------------------- line shapes
_IOS_HEADER = re.compile(
    r"^\s*(\d{1,2}):(\d{2}):(\d{2})\.(\d+)\s+(\S+)\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{4})\s*:"
)
_IOS_LINE = re.compile(r"^\s*([0-9A-Fa-f]{8}):\s(.*)$")
_XE16_NUMBER = re.compile(r"^\s*(\d+)\s*$")
_XE16_LINE = re.compile(r"^\s+([0-9A-Fa-f]{4}):\s\s(.*)$")
_ASA_HEADER = re.compile(r"^\s*(\d+):\s+(\d{1,2}):(\d{2}):(\d{2})\.(\d+)\s+(.*)$")
_ASA_LINE = re.compile(r"^\s*0x([0-9A-Fa-f]{4})\s+(.*)$")
_ASA_MACS = re.compile(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}\s+[0-9a-f]{4}\.[0-9a-f]{4}\.")
_ASA_DETAIL_ONLY = re.compile(r"^\s*\d+:\s+\d{1,2}:\d{2}:\d{2}\.\d+\s+[0-9a-f]{4}\.[0-9a-f]{4}\.")
_FRAME = re.compile(r"^Frame (\d+): (\d+) bytes on wire .*?(\d+) bytes captured")
_EPOCH = re.compile(r"^\s+Epoch Time: (\d+)\.(\d+) seconds")
_HEX_LINE = re.compile(r"^\s*(?:0x)?([0-9A-Fa-f]{4,8}):?\s+(.*)$")
_BARE_HEX = re.compile(r"^\s*([0-9A-Fa-f]{2}\s*)+$")
_TIME_ONLY = re.compile(r"^\s*(?:(\d{4})-(\d{2})-(\d{2})\s+)?(\d{1,2}):(\d{2}):(\d{2})\.(\d+)\s")
_HEXCHARS = frozenset("0123456789abcdefABCDEF")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


@dataclass(slots=True)
class Printed:
    """One packet read from text."""

    time: float
    data: bytes
    line: int
    """1-based line of the packet's first line (for messages)."""
    truncated: bool = False
    orig_len: int = 0


@dataclass(slots=True)
class _State:
    path: Path
    info: CaptureInfo
    warnings_seen: set[str] = field(default_factory=set)

    def warn(self, text: str) -> None:
        if text not in self.warnings_seen:
            self.warnings_seen.add(text)
            self.info.warnings.append(f"{self.path}: {text}")


# --------------------------------------------------------------------- helpers
def _ascii_forms(data: bytes) -> tuple[str, str]:
    """How devices render bytes in the ASCII column: printable or '.', and IOS's form, which
    drops the high bit first (0xAB prints as '+')."""
    plain = "".join(chr(b) if 32 <= b < 127 else "." for b in data)
    masked = "".join(chr(b & 0x7F) if 32 <= (b & 0x7F) < 127 else "." for b in data)
    return plain.replace(" ", ""), masked.replace(" ", "")


def _groups(text: str, width: int, max_groups: int) -> tuple[bytes, str | None]:
    """Hex groups at the start of ``text`` (each up to ``width`` digits), before the ASCII.

    Used when the fixed columns were lost (a dump pasted through a ticket system). The ASCII
    column can itself look like hex ("CAFE"): of the readings the tokens allow, the one whose
    bytes render as the text that follows them is taken; else the longest.
    """
    tokens = text.split()
    usable = 0
    for tok in tokens[:max_groups]:
        if len(tok) > width or not _is_hex(tok):
            break
        usable += 1
        if len(tok) < width:  # a short group ends the line's bytes
            break
    if usable and any(len(t) % 2 for t in tokens[:usable]):
        good = [t for t in tokens[:usable] if len(t) % 2 == 0]
        return bytes.fromhex("".join(good)), "an odd number of hex digits"
    for k in range(usable, 0, -1):
        data = bytes.fromhex("".join(tokens[:k]))
        rest = "".join(tokens[k:])
        if rest and rest in _ascii_forms(data):
            return data, None
    return bytes.fromhex("".join(tokens[:usable])), None


def _is_hex(tok: str) -> bool:
    return bool(tok) and all(c in _HEXCHARS for c in tok)


def _column_bytes(text: str, width: int, groups: int) -> bytes | None:
    """Bytes from the fixed hex column (``groups`` x ``width`` digits + spaces), or None when
    the column is not intact (then the token reader is used)."""
    span = groups * (width + 1) - 1
    area = text[:span]
    if len(text) > span and text[span] != " ":
        return None
    if not all(c in _HEXCHARS or c == " " for c in area):
        return None
    toks = area.split()
    if any(len(t) % 2 for t in toks):
        return None
    return bytes.fromhex("".join(toks))


def link_of(data: bytes) -> int:
    """Ethernet or raw IP, from the first bytes (see the module docstring)."""
    if len(data) >= 34:
        et = (data[12] << 8) | data[13]
        if (et == 0x0800 and data[14] >> 4 == 4) or (et == 0x86DD and data[14] >> 4 == 6):
            return LINKTYPE_ETHERNET
        if et in (0x8100, 0x88A8, 0x8909, 0x0806):
            return LINKTYPE_ETHERNET
    if data and data[0] >> 4 == 4 and len(data) >= 20 and (data[0] & 15) >= 5:
        return LINKTYPE_RAW
    if data and data[0] >> 4 == 6 and len(data) >= 40:
        return LINKTYPE_RAW
    return LINKTYPE_ETHERNET


def _segment(first: int, packets: list[Printed]) -> Segment:
    """A pcapng-layout segment (two interfaces: Ethernet, raw IP) holding ``packets``."""
    out = bytearray()

    def block(btype: int, body: bytes) -> None:
        body += bytes(-len(body) % 4)
        n = 12 + len(body)
        out.extend(struct.pack("<II", btype, n) + body + struct.pack("<I", n))

    for p in packets:
        iface = 0 if link_of(p.data) == LINKTYPE_ETHERNET else 1
        us = max(round(p.time * 1e6), 0)
        orig = max(p.orig_len, len(p.data))
        block(6, struct.pack("<IIIII", iface, us >> 32, us & 0xFFFFFFFF, len(p.data), orig)
              + p.data)  # fmt: skip
    return Segment("pcapng", first, len(packets), bytes(out), "<", ifaces=_IFACES)


# --------------------------------------------------------------------- the readers
def _ios(lines: Iterator[tuple[int, str]], st: _State) -> Iterator[Printed]:
    """Classic IOS dump and IOS-XE 16 dump (both: packet header line, then hex lines)."""
    cur: Printed | None = None
    expect: int | None = None
    for no, line in lines:
        m = _IOS_HEADER.match(line)
        n16 = None if m else _XE16_NUMBER.match(line)
        if m or n16:
            if cur is not None:
                yield cur
            ts = 0.0
            if m:
                hh, mi, ss, frac, tz, mon, day, year = m.groups()
                ts = _utc(int(year), _MONTHS.get(mon, 1), int(day), int(hh), int(mi), int(ss),
                          frac)  # fmt: skip
                if tz.upper() not in ("UTC", "GMT"):
                    st.warn(f"times are printed in the device's time zone {tz}, read as UTC")
            cur = Printed(ts, b"", no)
            expect = None
            continue
        lm = _IOS_LINE.match(line) or _XE16_LINE.match(line)
        if lm is None or cur is None:
            continue
        addr = int(lm.group(1), 16)
        body = lm.group(2)
        data = _column_bytes(body, 8, 4)
        if data is None:
            data, problem = _groups(body, 8, 4)
            if problem:
                cur.truncated = True
                st.warn(f"line {no}: {problem}; the packet is kept as far as it was printed")
        if expect is not None and addr != expect and cur.data:
            cur.truncated = True
            st.warn(f"line {no}: hex line out of sequence (offset {addr:x}, expected "
                    f"{expect:x}); the packet is kept as far as it was printed")  # fmt: skip
        expect = (addr & ~0xF) + 16
        cur.data += data
    if cur is not None:
        yield cur


def _asa(lines: Iterator[tuple[int, str]], st: _State) -> Iterator[Printed]:
    cur: Printed | None = None
    day = 0
    last = -1.0
    expect = 0
    for no, line in lines:
        m = _ASA_HEADER.match(line)
        if m:
            if cur is not None:
                yield cur
            _n, hh, mi, ss, frac = m.groups()[:5]
            tod = int(hh) * 3600 + int(mi) * 60 + int(ss) + float("0." + frac)
            if tod < last:
                day += 1
            last = tod
            cur = Printed(day * 86400 + tod, b"", no)
            expect = 0
            continue
        lm = _ASA_LINE.match(line)
        if lm is None or cur is None:
            continue
        off = int(lm.group(1), 16)
        data = _column_bytes(lm.group(2), 4, 8)
        if data is None:
            data, problem = _groups(lm.group(2), 4, 8)
            if problem:
                cur.truncated = True
                st.warn(f"line {no}: {problem}; the packet is kept as far as it was printed")
        if off != expect:
            cur.truncated = True
            st.warn(f"line {no}: hex line out of sequence (offset 0x{off:04x}, expected "
                    f"0x{expect:04x}); the packet is kept as far as it was printed")  # fmt: skip
        expect = off + 16
        cur.data += data
    if cur is not None:
        yield cur


def _hex(lines: Iterator[tuple[int, str]], st: _State) -> Iterator[Printed]:
    """Offset + hex lines (offset 0 starts a packet), or bare hex blocks between blank lines."""
    cur: Printed | None = None
    pending_time: float | None = None
    day, last = 0, -1.0
    bare = False
    for no, line in lines:
        if not line.strip():
            if bare and cur is not None:
                yield cur
                cur = None
            continue
        tm = _TIME_ONLY.match(line)
        hm = _HEX_LINE.match(line)
        if tm and not (hm and _offset_line(hm)):
            y, mo, d, hh, mi, ss, frac = tm.groups()
            if y:
                pending_time = _utc(int(y), int(mo), int(d), int(hh), int(mi), int(ss), frac)
            else:
                tod = int(hh) * 3600 + int(mi) * 60 + int(ss) + float("0." + frac)
                if tod < last:
                    day += 1
                last = tod
                pending_time = day * 86400 + tod
            continue
        if hm and _offset_line(hm):
            off = int(hm.group(1), 16)
            data, problem = _byte_tokens(hm.group(2))
            if off == 0 or cur is None:
                if cur is not None:
                    yield cur
                cur = Printed(pending_time or 0.0, b"", no)
                pending_time = None
                if off != 0:
                    cur.truncated = True
                    st.warn(f"line {no}: a packet starts at offset {off:x}, not 0")
            elif off != len(cur.data):
                cur.truncated = True
                want = len(cur.data)
                st.warn(f"line {no}: hex line out of sequence (offset {off:x}, expected "
                        f"{want:x}); the packet is kept as far as it was printed")  # fmt: skip
            if problem:
                cur.truncated = True
                st.warn(f"line {no}: {problem}; the packet is kept as far as it was printed")
            cur.data += data
            bare = False
            continue
        if _BARE_HEX.match(line):
            if cur is None:
                cur = Printed(pending_time or 0.0, b"", no)
                pending_time = None
            text = "".join(line.split())
            if len(text) % 2:
                cur.truncated = True
                st.warn(f"line {no}: an odd number of hex digits")
                text = text[:-1]
            cur.data += bytes.fromhex(text)
            bare = True
    if cur is not None:
        yield cur


def _offset_line(m: re.Match[str]) -> bool:
    """An offset followed by at least one hex byte/group (not a time or a sentence)."""
    toks = m.group(2).split()
    return bool(toks) and _is_hex(toks[0]) and len(toks[0]) % 2 == 0 and len(toks[0]) <= 8


def _byte_tokens(text: str) -> tuple[bytes, str | None]:
    """Hex bytes or 2/4/8-digit groups, stopping at the ASCII column (which starts after two
    or more spaces in every dump form, or is told apart by what it renders)."""
    hexpart = re.split(r"\s{3,}|\t", text.rstrip(), maxsplit=1)[0]
    width = max((len(t) for t in hexpart.split()[:1]), default=2)
    return _groups(hexpart, width if width in (2, 4, 8) else 2, 32)


_LAYER = re.compile(
    r"^(Ethernet II|Internet Protocol Version [46]|User Datagram Protocol|"
    r"Encapsulating Security Payload|Data \(\d+ bytes\)|\S.*)"
)
_FIELD = re.compile(r"^ {4}([A-Za-z][A-Za-z /]*?): (.*)$")
_DETAIL_HEX = re.compile(r"^([0-9a-fA-F]{4})\s\s((?:[0-9a-fA-F]{2}\s){1,16})")
_NUM = re.compile(r"^(0x[0-9a-fA-F]+|\d+)\b")
_NUM_END = re.compile(r"\((0x[0-9a-fA-F]+|\d+)\)\s*$")


@dataclass(slots=True)
class _Frame:
    number: int
    wire: int
    captured: int
    line: int
    time: float = 0.0
    hex: bytearray = field(default_factory=bytearray)
    layers: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _detailed(lines: Iterator[tuple[int, str]], st: _State) -> Iterator[Printed]:
    """IOS-XE ``buffer detailed``: per frame the decode, its epoch time and a hex dump."""
    fr: _Frame | None = None
    for no, line in lines:
        m = _FRAME.match(line)
        if m:
            if fr is not None:
                yield _finish_detailed(fr, st)
            fr = _Frame(int(m.group(1)), int(m.group(2)), int(m.group(3)), no)
            continue
        if fr is None:
            continue
        if (em := _EPOCH.match(line)) is not None:
            fr.time = float(f"{em.group(1)}.{em.group(2)}")
        elif (hm := _DETAIL_HEX.match(line)) is not None:
            if int(hm.group(1), 16) == len(fr.hex):
                fr.hex += bytes.fromhex(hm.group(2).replace(" ", ""))
        elif line[:1].strip():
            fr.layers.append((line, {}))
        elif fr.layers and (fm := _FIELD.match(line)) is not None:
            fr.layers[-1][1].setdefault(fm.group(1), fm.group(2))
    if fr is not None:
        yield _finish_detailed(fr, st)


def _finish_detailed(fr: _Frame, st: _State) -> Printed:
    p = Printed(fr.time, bytes(fr.hex[: fr.captured]), fr.line, orig_len=fr.wire)
    if fr.captured and len(fr.hex) >= fr.captured:
        return p
    rebuilt, complete = _rebuild(fr)
    if rebuilt:
        p.data = rebuilt
        p.truncated = not complete
        how = (
            "its decoded headers and the printed payload"
            if complete
            else "its decoded headers only (the rest was not printed)"
        )
        st.warn(f"line {fr.line}: the detailed view printed only the last layer of frame "
                f"{fr.number}; the frame was rebuilt from {how}")  # fmt: skip
    else:
        p.truncated = True
        st.warn(f"line {fr.line}: the detailed view printed {len(fr.hex)} of the "
                f"{fr.captured} bytes of frame {fr.number}")  # fmt: skip
    return p


def _num(fields: dict[str, str], name: str, default: int = 0) -> int:
    """A decoded field's number: leading (``0x00``, ``1482``) or in brackets at the end
    (``Unknown (253)``, ``IPv4 (0x0800)``)."""
    text = fields.get(name, "")
    m = _NUM.match(text) or _NUM_END.search(text.split(" [")[0])
    if m is None:
        return default
    return int(m.group(1), 16) if m.group(1).startswith("0x") else int(m.group(1))


def _rebuild(fr: _Frame) -> tuple[bytes, bool]:
    """The frame from its decoded layers (Ethernet, IPv4/IPv6, UDP, ESP header) plus the
    printed last-layer bytes; ``complete`` when that adds up to the captured length."""
    import ipaddress

    out = bytearray()
    known = True
    for title, f in fr.layers:
        if title.startswith("Ethernet II"):
            mm = re.search(r"Src: ([0-9a-f:]{17}).*Dst: ([0-9a-f:]{17})", title)
            if mm is None:
                return b"", False
            src, dst = (bytes.fromhex(x.replace(":", "")) for x in mm.groups())
            out += dst + src + struct.pack("!H", _num(f, "Type", 0x0800))
        elif title.startswith("Internet Protocol Version 4"):
            m = re.search(r"Src: (\S+), Dst: (\S+)", title)
            if m is None:
                return b"", False
            flags = _num(f, "Flags")
            fragword = flags if flags > 0xFF else (flags << 8) | _num(f, "Fragment offset")
            out += struct.pack(
                "!BBHHHBBH4s4s", 0x45, _num(f, "Differentiated Services Field"),
                _num(f, "Total Length"), _num(f, "Identification"), fragword,
                _num(f, "Time to live", 64), _num(f, "Protocol"), _num(f, "Header checksum"),
                ipaddress.IPv4Address(m.group(1).rstrip(",")).packed,
                ipaddress.IPv4Address(m.group(2)).packed,
            )  # fmt: skip
        elif title.startswith("Internet Protocol Version 6"):
            m = re.search(r"Src: (\S+), Dst: (\S+)", title)
            if m is None:
                return b"", False
            first = (6 << 28) | (_num(f, "Traffic Class") << 20) | _num(f, "Flow Label")
            out += struct.pack(
                "!IHBB16s16s", first, _num(f, "Payload Length"), _num(f, "Next Header"),
                _num(f, "Hop Limit", 64), ipaddress.IPv6Address(m.group(1).rstrip(",")).packed,
                ipaddress.IPv6Address(m.group(2)).packed,
            )  # fmt: skip
        elif title.startswith("User Datagram Protocol"):
            m = re.search(r"Src Port: (\d+), Dst Port: (\d+)", title)
            if m is None:
                return b"", False
            out += struct.pack("!HHHH", int(m.group(1)), int(m.group(2)), _num(f, "Length"),
                               _num(f, "Checksum"))  # fmt: skip
        elif title.startswith("Encapsulating Security Payload"):
            if "ESP SPI" not in f or "ESP Sequence" not in f:
                return bytes(out), False
            out += struct.pack("!II", _num(f, "ESP SPI"), _num(f, "ESP Sequence"))
        elif title.startswith("Data ("):
            break
        elif not title.startswith(("Frame ", "[")):
            known = False  # a layer we do not rebuild (ISAKMP, TCP ...): stop here
            break
    if not out:
        return b"", False
    if known and len(out) + len(fr.hex) == fr.captured:
        return bytes(out) + bytes(fr.hex), True
    return bytes(out), False


def _utc(year: int, month: int, day: int, hh: int, mi: int, ss: int, frac: str) -> float:
    try:
        base = datetime(year, month, day, hh, mi, ss, tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0
    return base + float("0." + frac)


_READERS = {"ios-dump": _ios, "ios-detailed": _detailed, "asa-dump": _asa, "asa-detail": _asa,
            "hex": _hex}  # fmt: skip


def detect(sample: list[str]) -> set[str]:
    """Formats whose packet lines appear in ``sample`` (the first lines of the text)."""
    found: set[str] = set()
    for line in sample:
        xe16 = _XE16_LINE.match(line)
        if _IOS_HEADER.match(line) or (xe16 and _groups(xe16.group(2), 8, 4)[0]):
            found.add("ios-dump")
        elif _FRAME.match(line):
            found.add("ios-detailed")
        elif _ASA_LINE.match(line):
            found.add("asa-dump")
        elif _ASA_DETAIL_ONLY.match(line):
            found.add("asa-detail")
    if "ios-detailed" in found:
        return {"ios-detailed"}
    if "asa-dump" in found or "asa-detail" in found:
        found.discard("asa-detail")
        found.add("asa-dump")
    if not found:
        for line in sample:
            hm = _HEX_LINE.match(line)
            if (hm and _offset_line(hm)) or _BARE_HEX.match(line):
                found.add("hex")
                break
    return found


def _text_lines(fh: BinaryIO, path: Path) -> Iterator[tuple[int, str]]:
    for no, raw in enumerate(fh, 1):
        yield no, raw.decode("utf-8", "replace").rstrip("\r\n")


def _is_text(head: bytes) -> bool:
    if not head:
        return False
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4  # a character cut at the end of the sample
    return True


def read_printed(
    fh: BinaryIO,
    path: Path,
    info: CaptureInfo,
    fmt: str | None = None,
    prefer: tuple[str, ...] = (),
) -> Iterator[Printed]:
    """Packets of a printed capture (format detected unless ``fmt``); InputFileError when
    the text holds none. Raises before yielding anything when the text is unusable."""
    head = fh.read(65536)
    fh.seek(0)
    if not _is_text(head):
        raise InputFileError(
            f"{path} is not a pcap or pcapng capture (magic {head[:4].hex() or 'empty'}) "
            "nor a printed capture",
            hint="write captures with tcpdump -w or dumpcap, or save the device's "
            "`show monitor capture ... dump` / `show capture NAME dump` output",
        )
    sample = head.decode("utf-8", "replace").splitlines()[:_SAMPLE_LINES]
    if fmt is None:
        if any(_ASA_DETAIL_ONLY.match(ln) for ln in sample) and not any(
            _ASA_LINE.match(ln) for ln in sample
        ):
            raise InputFileError(
                f"{path}: ASA `show capture NAME detail` output prints no packet bytes",
                hint="save `show capture NAME detail dump` (or `dump`) instead",
            )
        found = detect(sample)
        if not found:
            raise InputFileError(
                f"{path} is not a pcap or pcapng capture nor a printed capture "
                "(no hex packet lines found in its first lines)",
                hint="formats: IOS/IOS-XE `show monitor capture ... dump|detailed`, ASA "
                "`show capture NAME dump`, a hex dump; force one with --format",
            )
        if len(found) > 1 and len(found & set(prefer)) == 1:
            found &= set(prefer)
        if len(found) > 1:
            raise InputFileError(
                f"{path}: the text looks like several printed formats ({', '.join(sorted(found))})",
                hint="pick one with --format",
            )
        fmt = found.pop()
    info.format = fmt
    st = _State(path, info)
    reader = _READERS[fmt]
    gen = reader(_text_lines(fh, path), st)
    first = next(gen, None)
    if first is None:
        raise InputFileError(
            f"{path}: no packet found in the text ({fmt})",
            hint="check the format (--format) and that the hex lines are there",
        )

    def all_packets() -> Iterator[Printed]:
        yield first
        yield from gen

    return all_packets()


def printed_segments(
    fh: BinaryIO,
    path: Path,
    info: CaptureInfo,
    fmt: str | None,
    head: bytes,
    prefer: tuple[str, ...] = (),
) -> Iterator[Segment]:
    """A printed capture as reader segments (:func:`read_segments` calls this for text)."""
    packets = read_printed(fh, path, info, None if fmt in (None, "auto") else fmt, prefer)

    def segments() -> Iterator[Segment]:
        batch: list[Printed] = []
        first = 1
        for p in packets:
            batch.append(p)
            if len(batch) >= PACKETS_PER_SEGMENT:
                info.frames = first + len(batch) - 1
                yield _segment(first, batch)
                first += len(batch)
                batch = []
        if batch:
            info.frames = first + len(batch) - 1
            yield _segment(first, batch)

    return segments()
