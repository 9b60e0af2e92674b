"""Streaming capture reader: a pcap/pcapng file as a sequence of bounded :class:`Segment` s.

Why segments: a capture can be larger than the memory a diagnostic may use (1 GB and more).
The file is read in blocks of about :data:`SEGMENT_BYTES`, cut at record boundaries; each
segment carries what is needed to decode it alone (format, byte order, link type or the pcapng
interfaces in effect), so it can be decoded here or handed to a worker process as one buffer.
:func:`open_capture` turns segments into :class:`~ipsecctl.diag.packets.pcap.Frame` s for the
per-frame consumers (IKE, the human report); the batched ESP engine reads segments directly.

Damage policy (the same for pcap and pcapng, and for the printed captures of
:mod:`ipsecctl.diag.capture.printed`):

- the file cannot be read, is not a capture, its file header (pcap) or section header
  (pcapng) is damaged, or damage comes *before the first packet record could be read*:
  :class:`~ipsecctl.errors.InputFileError` (exit 2), raised eagerly by :func:`open_capture`
  and :func:`read_segments` before anything was produced ("no packet to read");
- damage *after* at least one packet was read (a corrupt record or block header, a file cut
  inside its last record): the packets before the damage are decoded as usual, the reader adds
  one warning to :class:`CaptureInfo` naming the byte offset, and reading stops there. A cut
  last record is still yielded, with ``error`` set. A warning does not change the exit code.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ipsecctl.diag.packets.pcap import SUPPORTED_LINKTYPES, Frame, classify, linktype_label
from ipsecctl.errors import InputFileError

SEGMENT_BYTES = 2 << 20
"""Target size of one segment: big enough that per-segment costs vanish, small enough that a
few segments in flight stay far below the memory budget."""
MAX_RECORD = 0x4000000
"""Largest record/block accepted (64 MiB): a bigger length is a corrupt header, not a packet."""

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_BOM_LE = b"\x4d\x3c\x2b\x1a"
_BOM_BE = b"\x1a\x2b\x3c\x4d"
_PACKET_BLOCKS = (2, 3, 6)  # obsolete Packet Block, Simple Packet Block, Enhanced Packet Block

Iface = tuple[int, float, int]
"""A pcapng interface: (link type, time unit in seconds, snap length)."""


@dataclass(slots=True)
class CaptureInfo:
    """What the reader noticed about the file as a whole (not per frame)."""

    format: str = ""
    warnings: list[str] = field(default_factory=list)
    frames: int = 0
    """Records read so far (all of them once the iterator is exhausted)."""
    unsupported: dict[int, list[int]] = field(default_factory=dict)
    """Link type -> numbers of the frames skipped because the reader cannot decode it."""


@dataclass(slots=True)
class Segment:
    """A run of whole records of one capture, as one buffer (picklable: workers take these)."""

    format: str
    """``pcap`` or ``pcapng``: how ``data`` is laid out (printed captures become ``pcap``)."""
    first: int
    """1-based number of the first frame in the segment."""
    frames: int
    """Packet records in the segment."""
    data: bytes
    endian: str = "<"
    unit: float = 1e-6
    """pcap: seconds per timestamp fraction unit."""
    linktype: int = 1
    """pcap: the file's link type."""
    ifaces: tuple[Iface, ...] = ()
    """pcapng: the interfaces described before the segment starts."""
    source: str | None = None
    """File the bytes are in, when ``data`` was left out (see :meth:`detached`)."""
    offset: int = 0
    length: int = 0

    def detached(self, path: str | Path) -> Segment:
        """The same segment without its bytes: where they are in ``path`` instead.

        Why: handing a worker process a file range costs a few bytes; handing it the bytes
        costs a copy through a pipe, which for a 1 GB capture is most of the parent's work.
        """
        return Segment(
            self.format, self.first, self.frames, b"", self.endian, self.unit, self.linktype,
            self.ifaces, str(path), self.offset, len(self.data),
        )  # fmt: skip

    def load(self) -> Segment:
        """The bytes back in (worker side); InputFileError when the file changed under us."""
        if self.source is None or self.data:
            return self
        try:
            with open(self.source, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read(self.length)
        except OSError as exc:
            raise InputFileError(
                f"cannot read capture {self.source}: {exc.strerror or exc}"
            ) from None
        if len(data) != self.length:
            raise InputFileError(f"capture {self.source} changed while it was being read")
        return Segment(self.format, self.first, self.frames, data, self.endian, self.unit,
                       self.linktype, self.ifaces)  # fmt: skip


def _open(path: Path) -> BinaryIO:
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputFileError(
            f"cannot read capture {path}: {exc.strerror or exc}",
            hint="check the path and permissions",
        ) from exc


def _read(fh: BinaryIO, n: int, path: Path) -> bytes:
    try:
        return fh.read(n)
    except OSError as exc:
        raise InputFileError(f"cannot read capture {path}: {exc.strerror or exc}") from exc


def _no_packet(path: Path, what: str) -> InputFileError:
    return InputFileError(
        f"capture {path}: {what}; no packet to read",
        hint="the file is damaged or still being written; capture again with tcpdump -w or dumpcap",
    )


# ------------------------------------------------------------------------------ pcap
def _pcap_segments(
    fh: BinaryIO, path: Path, head: bytes, info: CaptureInfo, size: int
) -> Iterator[Segment]:
    endian, unit = PCAP_MAGICS[head[:4]]
    if len(head) < 24:
        raise InputFileError(f"capture {path} is truncated inside the pcap file header")
    linktype = struct.unpack_from(endian + "I", head, 20)[0] & 0x0FFFFFFF
    info.format = "pcap"
    rec = struct.Struct(endian + "IIII")
    unpack = rec.unpack_from
    number = 0
    offset = 24  # file offset of buf[0]
    buf = b""
    eof = False
    while True:
        if not eof:
            more = _read(fh, size, path)
            eof = len(more) < size
            buf = buf + more if buf else more
        n = len(buf)
        p = 0
        start_number = number
        damage: str | None = None
        while p + 16 <= n:
            incl = unpack(buf, p)[2]
            if incl > MAX_RECORD:
                damage = (
                    f"record {number + 1} at byte {offset + p} has a corrupt header "
                    f"(implausible length {incl})"
                )
                break
            if p + 16 + incl > n:
                break
            p += 16 + incl
            number += 1
        cut = p
        tail = n - p
        if number == 0 and (damage is not None or (eof and tail)):
            if damage is None and tail < 16:
                what = f"is cut inside its 16-byte header ({tail} bytes)"
            else:
                incl = unpack(buf, p)[2]
                what = (
                    f"claims {incl} bytes but only {tail - 16} follow: corrupt record "
                    "header or a file cut inside its first packet"
                )
            raise _no_packet(path, f"the first record (byte 24) {what}")
        if damage is None and eof and tail:
            if tail < 16:
                damage = f"truncated record header at byte {offset + p}"
            else:
                incl = unpack(buf, p)[2]
                damage = (
                    f"last record truncated (record {number + 1} at byte {offset + p} "
                    f"claims {incl} bytes, {tail - 16} follow)"
                )
                cut = n
                number += 1  # the cut record is still yielded, with an error
        if cut > 0:
            info.frames = number
            yield Segment("pcap", start_number + 1, number - start_number, buf[:cut], endian,
                          unit, linktype, offset=offset)  # fmt: skip
        if damage is not None:
            if not damage.startswith("last record"):
                damage += ": the rest of the file is skipped"
            info.warnings.append(f"{path}: {damage}")
            return
        if eof:
            return
        offset += cut
        buf = buf[cut:]


def iter_pcap_segment(seg: Segment) -> Iterator[Frame]:
    """Frames of a pcap-layout segment (the last record may be cut: ``error`` says so)."""
    buf = seg.data
    unpack = struct.Struct(seg.endian + "IIII").unpack_from
    unit, linktype = seg.unit, seg.linktype
    p, n, number = 0, len(buf), seg.first
    while p + 16 <= n:
        sec, frac, incl, orig = unpack(buf, p)
        data = buf[p + 16 : p + 16 + incl]
        p += 16 + incl
        frame = Frame(number, sec + frac * unit, linktype, data, orig)
        number += 1
        if len(data) < incl:
            frame.error = "truncated record (capture file ends early)"
            yield frame
            return
        yield classify(frame)


# ------------------------------------------------------------------------------ pcapng
def read_idb(buf: bytes, body: int, bend: int, endian: str) -> Iface:
    lt, _res, snap = struct.unpack_from(endian + "HHI", buf, body)
    unit = 1e-6
    q = body + 8
    while q + 4 <= bend:
        code, olen = struct.unpack_from(endian + "HH", buf, q)
        if code == 0:
            break
        if code == 9 and olen >= 1:  # if_tsresol
            r = buf[q + 4]
            unit = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0**-r
        q += 4 + ((olen + 3) & ~3)
    return lt, unit, snap


def _pcapng_segments(
    fh: BinaryIO, path: Path, head: bytes, info: CaptureInfo, size: int
) -> Iterator[Segment]:
    info.format = "pcapng"
    endian = "<"
    ifaces: list[Iface] = []
    number = 0
    offset = 0
    buf = head
    eof = False
    while True:
        if not eof:
            more = _read(fh, size, path)
            eof = len(more) < size
            buf = buf + more if buf else more
        n = len(buf)
        p = 0
        start_number = number
        start_endian, start_ifaces = endian, tuple(ifaces)
        damage: str | None = None
        while p + 12 <= n:
            if buf[p : p + 4] == PCAPNG_SHB:
                bom = buf[p + 8 : p + 12]
                if bom not in (_BOM_LE, _BOM_BE):
                    damage = f"section header at byte {offset + p} has a bad byte-order magic"
                    break
                blk_endian = "<" if bom == _BOM_LE else ">"
            else:
                blk_endian = endian
            btype, blen = struct.unpack_from(blk_endian + "II", buf, p)
            if blen < 12 or blen % 4 or blen > MAX_RECORD:
                damage = f"block at byte {offset + p} has a corrupt length ({blen})"
                break
            if p + blen > n:
                break
            if struct.unpack_from(blk_endian + "I", buf, p + blen - 4)[0] != blen:
                damage = (
                    f"block at byte {offset + p} is corrupt (its trailing length does not "
                    f"repeat {blen})"
                )
                break
            if btype == 0x0A0D0D0A:
                endian, ifaces = blk_endian, []
            elif btype == 1 and blen >= 20:
                ifaces.append(read_idb(buf, p + 8, p + blen - 4, endian))
            elif btype in _PACKET_BLOCKS:
                number += 1
            p += blen
        cut = p
        tail = n - p
        if damage is None and eof and tail:
            damage = f"truncated block at byte {offset + p} (the file ends inside it)"
        if damage is not None and number == 0:
            raise _no_packet(path, f"{damage}, before the first packet")
        if cut > 0:
            info.frames = number
            yield Segment("pcapng", start_number + 1, number - start_number, buf[:cut],
                          start_endian, ifaces=start_ifaces, offset=offset)  # fmt: skip
        if damage is not None:
            info.warnings.append(f"{path}: {damage}: the rest of the file is skipped")
            return
        if eof:
            return
        offset += cut
        buf = buf[cut:]


def iter_pcapng_segment(seg: Segment) -> Iterator[Frame]:
    """Frames of a pcapng-layout segment (blocks were checked by the segmenter)."""
    buf = seg.data
    endian = seg.endian
    ifaces = list(seg.ifaces)
    n, p, number = len(buf), 0, seg.first
    while p + 12 <= n:
        if buf[p : p + 4] == PCAPNG_SHB:
            endian = "<" if buf[p + 8 : p + 12] == _BOM_LE else ">"
            ifaces = []
        btype, blen = struct.unpack_from(endian + "II", buf, p)
        body, bend = p + 8, p + blen - 4
        p += blen
        if btype == 1 and bend - body >= 8:
            ifaces.append(read_idb(buf, body, bend, endian))
        elif btype in (6, 2):
            if bend - body < 20:
                yield Frame(number, 0.0, -1, b"", 0, error="truncated packet block")
                number += 1
                continue
            if btype == 6:
                iface, hi, lo, incl, orig = struct.unpack_from(endian + "IIIII", buf, body)
            else:
                iface, _drops, hi, lo, incl, orig = struct.unpack_from(endian + "HHIIII", buf, body)
            data = buf[body + 20 : min(body + 20 + incl, bend)]
            if iface >= len(ifaces):
                yield Frame(number, 0.0, -1, data, orig, error=f"unknown interface {iface}")
            else:
                lt, unit, _snap = ifaces[iface]
                frame = Frame(number, ((hi << 32) | lo) * unit, lt, data, orig)
                if len(data) < incl:
                    frame.error = "truncated block"
                    yield frame
                else:
                    yield classify(frame)
            number += 1
        elif btype == 3:
            orig = struct.unpack_from(endian + "I", buf, body)[0] if bend - body >= 4 else 0
            if not ifaces:
                yield Frame(number, 0.0, -1, b"", orig, error="simple packet before interface")
            else:
                lt, _unit, snap = ifaces[0]
                cap = min(orig, snap) if snap else orig
                yield classify(Frame(number, 0.0, lt, buf[body + 4 : min(body + 4 + cap, bend)],
                                     orig))  # fmt: skip
            number += 1


def iter_segment(seg: Segment) -> Iterator[Frame]:
    """Frames of any segment."""
    if seg.format == "pcapng":
        return iter_pcapng_segment(seg)
    return iter_pcap_segment(seg)


# ------------------------------------------------------------------------------ entry points
def read_segments(
    path: str | Path,
    info: CaptureInfo | None = None,
    size: int = SEGMENT_BYTES,
    fmt: str | None = None,
    prefer: tuple[str, ...] = (),
) -> Iterator[Segment]:
    """The capture as segments. File-level damage before the first packet raises
    :class:`InputFileError` *now* (before the first segment is consumed); see the module
    docstring for the rest. ``fmt`` forces a format (detected when None or ``auto``);
    ``prefer`` names the printed formats to take when the text fits several (a platform's)."""
    path = Path(path)
    return stream_segments(_open(path), path, info, size, fmt, prefer)


def stream_segments(
    fh: BinaryIO,
    label: Path,
    info: CaptureInfo | None = None,
    size: int = SEGMENT_BYTES,
    fmt: str | None = None,
    prefer: tuple[str, ...] = (),
) -> Iterator[Segment]:
    """:func:`read_segments` of an open binary stream (closed when the segments end);
    ``label`` names the capture in messages. Device output held in memory goes this way."""
    path = label
    info = info if info is not None else CaptureInfo()
    try:
        head = _read(fh, 24, path)
        binary = head[:4] in PCAP_MAGICS or head[:4] == PCAPNG_SHB
        if fmt in ("pcap", "pcapng") and not (
            (fmt == "pcap" and head[:4] in PCAP_MAGICS)
            or (fmt == "pcapng" and head[:4] == PCAPNG_SHB)
        ):
            raise InputFileError(f"{path} is not a {fmt} capture (--format {fmt})",
                                 hint="leave --format out to detect the format")  # fmt: skip
        if binary and fmt not in (None, "auto", "pcap", "pcapng"):
            raise InputFileError(f"{path} is a binary capture, not a printed one (--format {fmt})",
                                 hint="leave --format out to detect the format")  # fmt: skip
        if head[:4] in PCAP_MAGICS:
            gen = _pcap_segments(fh, path, head, info, size)
        elif head[:4] == PCAPNG_SHB:
            gen = _pcapng_segments(fh, path, head, info, size)
        else:
            from ipsecctl.diag.capture.printed import printed_segments

            fh.seek(0)
            gen = printed_segments(fh, path, info, fmt, head, prefer)
        first = next(gen, None)
    except BaseException:
        fh.close()
        raise
    return _closing(fh, first, gen)


def _closing(fh: BinaryIO, first: Segment | None, rest: Iterator[Segment]) -> Iterator[Segment]:
    try:
        if first is not None:
            yield first
            yield from rest
    finally:
        fh.close()


def _note_unsupported(frames: Iterator[Frame], path: Path, info: CaptureInfo) -> Iterator[Frame]:
    """Pass frames through; when done, warn once per link type the reader had to skip.

    Why: a capture in a link type we do not decode (802.11, PPP, DLT_USERn...) would
    otherwise read as "0 ESP packets" with no hint that nothing was even looked at.
    """
    for f in frames:
        if f.linktype >= 0 and f.error is not None and f.error.startswith("unsupported link"):
            info.unsupported.setdefault(f.linktype, []).append(f.number)
        yield f
    note_unsupported(info, path)


def note_unsupported(info: CaptureInfo, path: Path) -> None:
    """Turn ``info.unsupported`` into one warning per link type (frames as runs)."""
    for lt, numbers in info.unsupported.items():
        info.warnings.append(
            f"{path}: {linktype_label(lt)} is not supported: {len(numbers)} frame(s) skipped "
            f"(frames {_ranges(numbers)}); supported: {SUPPORTED_LINKTYPES}"
        )


def _ranges(numbers: list[int], limit: int = 8) -> str:
    """``1-15, 20, 22-24``: frame numbers as runs (at most ``limit`` runs, then ``...``)."""
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in runs[:limit])
    return text + (", ..." if len(runs) > limit else "")


def _frames(segments: Iterator[Segment]) -> Iterator[Frame]:
    for seg in segments:
        yield from iter_segment(seg)


def open_capture(
    path: str | Path, info: CaptureInfo | None = None, fmt: str | None = None
) -> Iterator[Frame]:
    """Every frame of a capture, decoded to the IPsec/IKE layer, read in bounded segments.

    Raises :class:`InputFileError` (exit 2) eagerly when the file cannot be read, is not a
    capture, or is damaged before its first packet; never raises on packet contents. ``info``
    collects file-level warnings (damage later in the file, unsupported link types).
    """
    path = Path(path)
    info = info if info is not None else CaptureInfo()
    return _note_unsupported(_frames(read_segments(path, info, fmt=fmt)), path, info)


def iter_packets(path: str | Path) -> Iterator[Frame]:
    """Yield every frame of a capture (see :func:`open_capture`)."""
    return open_capture(path)
