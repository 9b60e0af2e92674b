"""Small pcap / pcapng reader and pcap writer, tuned for IPsec captures.

Why our own reader: the only packaged candidate (dpkt 1.9.8, last released 2022) is not installed,
builds a full object tree per frame, and still needs the IPsec demultiplexing written here
(non-ESP marker, NAT keepalives, IPv6 extension headers). A struct-based reader is ~300 lines,
has no dependency, and decodes only what the ESP/AH/IKE diagnostics need.

Public contract (also used by the IKE diagnostics): ``iter_packets(path) -> Iterator[Frame]``.
Each :class:`Frame` carries the 1-based frame number, the timestamp, the link type, the captured
bytes, the decoded IP layer (:class:`IPHeader`), the UDP ports when UDP, and ``kind`` plus
``payload_offset`` saying where the ESP header, AH header or IKE header starts in ``data``.
Nothing here raises on bad packet bytes: a frame that cannot be decoded carries ``error``.
Only an unreadable or non-capture *file* raises :class:`~ipsecctl.errors.InputFileError`.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ipsecctl.errors import InputFileError

# Link types (https://www.tcpdump.org/linktypes.html).
LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276
_RAW_LINKTYPES = frozenset({LINKTYPE_RAW, 12, 14})

IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_UDP = 17
IKE_PORT = 500
NATT_PORT = 4500

# Frame.kind values.
KIND_ESP = "esp"
KIND_AH = "ah"
KIND_IKE = "ike"
KIND_NAT_KEEPALIVE = "nat_keepalive"
KIND_OTHER = "other"

_IPV6_EXT = frozenset({0, 43, 60, 135, 139, 140})  # hop-by-hop, routing, dest opts, mobility, HIP..
_IPV6_FRAGMENT = 44
_ETH_VLAN = frozenset({0x8100, 0x88A8, 0x9100})
_ETH_IPV4 = 0x0800
_ETH_IPV6 = 0x86DD
_BSD_AF_INET6 = frozenset({10, 24, 28, 30})

_PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}
_PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"
_ALL = 1 << 62
# version/IHL, total length, flags/fragment offset, protocol, source, destination
_IPV4 = struct.Struct("!BxH2xH1xB2x4s4s")


@dataclass(slots=True)
class IPHeader:
    """The outer IP layer of a frame; offsets index ``Frame.data``."""

    version: int
    src: str
    dst: str
    proto: int
    """Protocol carried after the base header and any IPv6 extension headers (50 ESP, 51 AH, ..)."""
    offset: int
    header_len: int
    """Base header length: IPv4 IHL*4 (options included) or 40 for IPv6."""
    payload_offset: int
    """First byte after the IP header and the IPv6 extension headers skipped."""
    end: int
    """One past the last captured byte that belongs to this IP packet (Ethernet padding cut)."""
    truncated: bool = False
    """The capture holds fewer bytes than the IP length field announces."""
    fragment: bool = False
    """A non-first fragment: the payload does not start with a transport header."""
    ext_headers: tuple[tuple[int, int, int], ...] = ()
    """IPv6 extension headers skipped: (type, offset, length)."""
    ext_proto_offset: int = -1
    """Offset of the next-header byte that names ``proto`` (for rebuilding packets)."""


@dataclass(slots=True)
class Frame:
    """One captured frame, decoded down to the IPsec/IKE layer."""

    number: int
    time: float
    linktype: int
    data: bytes
    orig_len: int
    ip: IPHeader | None = None
    sport: int | None = None
    dport: int | None = None
    kind: str = KIND_OTHER
    """esp | ah | ike | nat_keepalive | other."""
    payload_offset: int = -1
    """Start of the ESP header, AH header, IKE header (after a non-ESP marker) or keepalive byte."""
    udp_encap: bool = False
    """ESP/IKE arrived inside UDP (RFC 3948)."""
    error: str | None = None


@dataclass(slots=True)
class CaptureInfo:
    """What the reader noticed about the file as a whole (not per frame)."""

    format: str = ""
    warnings: list[str] = field(default_factory=list)
    frames: int = 0
    """Records read so far (all of them once the iterator is exhausted)."""
    unsupported: dict[int, list[int]] = field(default_factory=dict)
    """Link type -> numbers of the frames skipped because the reader cannot decode it."""


SUPPORTED_LINKTYPES = (
    "Ethernet (1), raw IP (101, 228, 229), Linux cooked v1/v2 (113, 276), loopback (0, 108)"
)
_LINKTYPE_NAMES = {
    9: "PPP", 50: "PPP_HDLC", 104: "C_HDLC", 105: "IEEE802_11", 119: "PRISM_HEADER",
    127: "IEEE802_11_RADIOTAP", 129: "ARCNET_LINUX", 138: "APPLE_IP_OVER_IEEE1394",
    141: "MTP3", 143: "DOCSIS", 163: "IEEE802_11_AVS", 187: "BLUETOOTH_HCI_H4", 189: "USB_LINUX",
    192: "PPI", 195: "IEEE802_15_4", 201: "ERF", 220: "USB_LINUX_MMAPPED", 235: "DVB_CI",
    249: "NETLINK", 252: "WIRESHARK_UPPER_PDU", 274: "NFLOG",
    **{147 + i: f"USER{i}" for i in range(16)},
}  # fmt: skip


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


def _note_unsupported(frames: Iterator[Frame], path: Path, info: CaptureInfo) -> Iterator[Frame]:
    """Pass frames through; when done, warn once per link type the reader had to skip.

    Why: a capture in a link type we do not decode (802.11, PPP, DLT_USERn...) would
    otherwise read as "0 ESP packets" with no hint that nothing was even looked at.
    """
    for f in frames:
        if f.linktype >= 0 and f.error is not None and f.error.startswith("unsupported link"):
            info.unsupported.setdefault(f.linktype, []).append(f.number)
        yield f
    for lt, numbers in info.unsupported.items():
        name = _LINKTYPE_NAMES.get(lt)
        label = f"link type {lt}" + (f" ({name})" if name else "")
        info.warnings.append(
            f"{path}: {label} is not supported: {len(numbers)} frame(s) skipped "
            f"(frames {_ranges(numbers)}); supported: {SUPPORTED_LINKTYPES}"
        )


_ADDR_CACHE: dict[bytes, str] = {}


def _cached_ntop(family: int) -> Callable[[bytes], str]:
    """An address formatter with a shared cache: a capture repeats a handful of addresses, and
    a dict hit is cheaper than inet_ntop (4- and 16-byte keys never collide)."""

    def text_of(b: bytes) -> str:
        text = _ADDR_CACHE.get(b)
        if text is None:
            if len(_ADDR_CACHE) > 65536:
                _ADDR_CACHE.clear()
            text = _ADDR_CACHE[b] = socket.inet_ntop(family, b)
        return text

    return text_of


_ip4 = _cached_ntop(socket.AF_INET)
_ip6 = _cached_ntop(socket.AF_INET6)


def decode_ip(data: bytes, off: int) -> IPHeader | str:
    """Decode an IPv4/IPv6 header at ``off``; return an error string when it is not one."""
    n = len(data)
    if off >= n:
        return "truncated before IP header"
    version = data[off] >> 4
    if version == 4:
        if n - off < 20:
            return "truncated IPv4 header"
        vihl, total, frag, proto, src, dst = _IPV4.unpack_from(data, off)
        ihl = (vihl & 0x0F) * 4
        if ihl < 20:
            return f"bad IPv4 header length {ihl}"
        if n - off < ihl:
            return "truncated IPv4 header"
        frag &= 0x1FFF
        end = off + total
        truncated = end > n
        if total < ihl:  # TSO captures show 0; trust the capture then
            end, truncated = n, False
        elif truncated:
            end = n
        return IPHeader(
            4, _ip4(src), _ip4(dst), proto, off, ihl, off + ihl, end, truncated, frag != 0,
            (), off + 9,
        )  # fmt: skip
    if version == 6:
        if n - off < 40:
            return "truncated IPv6 header"
        plen = (data[off + 4] << 8) | data[off + 5]
        end = off + 40 + plen
        truncated = end > n
        if plen == 0:  # jumbogram or TSO: trust the capture
            end, truncated = n, False
        elif truncated:
            end = n
        nh = data[off + 6]
        nh_off = off + 6
        p = off + 40
        exts: list[tuple[int, int, int]] = []
        fragment = False
        while nh in _IPV6_EXT or nh == _IPV6_FRAGMENT:
            if p + 8 > end:
                return "truncated IPv6 extension header"
            length = 8 if nh == _IPV6_FRAGMENT else (data[p + 1] + 1) * 8
            if p + length > end:
                return "truncated IPv6 extension header"
            exts.append((nh, p, length))
            if nh == _IPV6_FRAGMENT and ((data[p + 2] << 8) | data[p + 3]) & 0xFFF8:
                fragment = True
            nh_off = p
            nh = data[p]
            p += length
            if fragment:
                break
        return IPHeader(
            6,
            _ip6(data[off + 8 : off + 24]),
            _ip6(data[off + 24 : off + 40]),
            nh,
            off,
            40,
            p,
            end,
            truncated,
            fragment,
            tuple(exts),
            nh_off,
        )
    return f"not IP (version {version})"


def _l3_offset(linktype: int, data: bytes) -> int | str:
    """Offset of the IP header for ``linktype``; a string says why there is none."""
    n = len(data)
    if linktype == LINKTYPE_ETHERNET:
        if n < 14:
            return "truncated Ethernet header"
        p = 12
        etype = (data[p] << 8) | data[p + 1]
        while etype in _ETH_VLAN:
            p += 4
            if p + 2 > n:
                return "truncated VLAN tag"
            etype = (data[p] << 8) | data[p + 1]
        if etype in (_ETH_IPV4, _ETH_IPV6):
            return p + 2
        return f"ethertype 0x{etype:04x}"
    if linktype in _RAW_LINKTYPES or linktype in (LINKTYPE_IPV4, LINKTYPE_IPV6):
        return 0
    if linktype == LINKTYPE_LINUX_SLL:
        if n < 16:
            return "truncated Linux cooked header"
        etype = (data[14] << 8) | data[15]
        return 16 if etype in (_ETH_IPV4, _ETH_IPV6) else f"protocol 0x{etype:04x}"
    if linktype == LINKTYPE_LINUX_SLL2:
        if n < 20:
            return "truncated Linux cooked v2 header"
        etype = (data[0] << 8) | data[1]
        return 20 if etype in (_ETH_IPV4, _ETH_IPV6) else f"protocol 0x{etype:04x}"
    if linktype in (LINKTYPE_NULL, LINKTYPE_LOOP):
        if n < 4:
            return "truncated loopback header"
        le = int.from_bytes(data[:4], "little")
        be = int.from_bytes(data[:4], "big")
        fam = be if linktype == LINKTYPE_LOOP else (le if le < 256 else be)
        if fam == 2 or fam in _BSD_AF_INET6:
            return 4
        return f"address family {fam}"
    return f"unsupported link type {linktype}"


def classify(frame: Frame) -> Frame:
    """Fill the IP, UDP and IPsec fields of ``frame`` in place (never raises)."""
    data = frame.data
    l3 = _l3_offset(frame.linktype, data)
    if isinstance(l3, str):
        frame.error = None if not l3.startswith(("truncated", "unsupported")) else l3
        return frame
    ip = decode_ip(data, l3)
    if isinstance(ip, str):
        frame.error = ip if ip.startswith("truncated") or ip.startswith("bad") else None
        return frame
    frame.ip = ip
    if ip.fragment:
        return frame
    proto = ip.proto
    p = ip.payload_offset
    if proto == IPPROTO_ESP:
        frame.kind, frame.payload_offset = KIND_ESP, p
    elif proto == IPPROTO_AH:
        frame.kind, frame.payload_offset = KIND_AH, p
    elif proto == IPPROTO_UDP:
        if ip.end - p < 8:
            frame.error = "truncated UDP header"
            return frame
        sport = (data[p] << 8) | data[p + 1]
        dport = (data[p + 2] << 8) | data[p + 3]
        frame.sport, frame.dport = sport, dport
        u = p + 8
        if sport == NATT_PORT or dport == NATT_PORT:
            frame.udp_encap = True
            remaining = ip.end - u
            if remaining == 1 and data[u] == 0xFF:
                frame.kind, frame.payload_offset = KIND_NAT_KEEPALIVE, u
            elif remaining >= 4 and data[u : u + 4] == b"\x00\x00\x00\x00":
                frame.kind, frame.payload_offset = KIND_IKE, u + 4
            elif remaining > 0:
                frame.kind, frame.payload_offset = KIND_ESP, u
        elif sport == IKE_PORT or dport == IKE_PORT:
            frame.kind, frame.payload_offset = KIND_IKE, u
    return frame


def _read_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(
            f"cannot read capture {path}: {exc.strerror or exc}",
            hint="check the path and permissions",
        ) from exc


def _iter_pcap(
    buf: bytes, path: Path, info: CaptureInfo, first: int = 1, last: int = _ALL
) -> Iterator[Frame]:
    endian, unit = _PCAP_MAGICS[buf[:4]]
    if len(buf) < 24:
        raise InputFileError(f"capture {path} is truncated inside the pcap file header")
    linktype = struct.unpack_from(endian + "I", buf, 20)[0] & 0x0FFFFFFF
    rec = struct.Struct(endian + "IIII")
    p, n, number = 24, len(buf), 0
    info.format = "pcap"
    while p < n:
        if p + 16 > n:
            info.warnings.append(f"{path}: truncated record header at byte {p}")
            return
        sec, frac, incl, orig = rec.unpack_from(buf, p)
        p += 16
        if incl > _MAX_RECORD:
            info.warnings.append(
                f"{path}: record {number + 1} at byte {p - 16} has a corrupt header "
                f"(implausible length {incl}): the rest of the file is skipped"
            )
            return
        number += 1
        info.frames = number
        if number < first:
            p += incl
            continue
        if number > last:
            return
        data = buf[p : p + incl]
        p += incl
        frame = Frame(number, sec + frac * unit, linktype, data, orig)
        if len(data) < incl:
            frame.error = "truncated record (capture file ends early)"
            info.warnings.append(f"{path}: last record truncated")
            yield frame
            return
        yield classify(frame)


def _iter_pcapng(
    buf: bytes, path: Path, info: CaptureInfo, first: int = 1, last: int = _ALL
) -> Iterator[Frame]:
    info.format = "pcapng"
    n, p, number = len(buf), 0, 0
    endian = "<"
    ifaces: list[tuple[int, float, int]] = []  # (linktype, time unit, snaplen)
    while p + 12 <= n:
        btype = struct.unpack_from(endian + "I", buf, p)[0]
        if buf[p : p + 4] == _PCAPNG_SHB:
            bom = buf[p + 8 : p + 12]
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            if bom not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                info.warnings.append(f"{path}: bad section byte-order magic at byte {p}")
                return
            btype = 0x0A0D0D0A
            ifaces = []
        blen = struct.unpack_from(endian + "I", buf, p + 4)[0]
        if blen < 12 or blen % 4 or p + blen > n:
            info.warnings.append(f"{path}: truncated or corrupt block at byte {p}")
            return
        body = p + 8
        bend = p + blen - 4
        if btype == 1 and bend - body >= 8:  # Interface Description Block
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
            ifaces.append((lt, unit, snap))
        elif btype in (6, 2) and bend - body >= 20:  # Enhanced / obsolete Packet Block
            if btype == 6:
                iface, hi, lo, incl, orig = struct.unpack_from(endian + "IIIII", buf, body)
            else:
                iface, _drops, hi, lo, incl, orig = struct.unpack_from(endian + "HHIIII", buf, body)
            number += 1
            info.frames = number
            if number > last:
                return
            data = buf[body + 20 : min(body + 20 + incl, bend)]
            if number < first:
                pass
            elif iface >= len(ifaces):
                yield Frame(number, 0.0, -1, data, orig, error=f"unknown interface {iface}")
            else:
                lt, unit, _snap = ifaces[iface]
                frame = Frame(number, ((hi << 32) | lo) * unit, lt, data, orig)
                if len(data) < incl:
                    frame.error = "truncated block"
                    yield frame
                else:
                    yield classify(frame)
        elif btype == 3 and bend - body >= 4:  # Simple Packet Block
            number += 1
            info.frames = number
            if number > last:
                return
            orig = struct.unpack_from(endian + "I", buf, body)[0]
            if number < first:
                pass
            elif not ifaces:
                yield Frame(number, 0.0, -1, b"", orig, error="simple packet before interface")
            else:
                lt, _unit, snap = ifaces[0]
                cap = min(orig, snap) if snap else orig
                data = buf[body + 4 : min(body + 4 + cap, bend)]
                yield classify(Frame(number, 0.0, lt, data, orig))
        p += blen
    if p < n:
        info.warnings.append(f"{path}: {n - p} trailing bytes ignored")


_MAX_RECORD = 0x4000000


def _check_first_pcap_record(buf: bytes, path: Path) -> None:
    """Refuse a pcap whose *first* record header is corrupt: no packet at all can be read.

    Why eagerly (not as a warning while iterating): with nothing readable the file is not a
    usable capture (exit 2), and the streamed ``--json`` output must not have started yet.
    A bad record later in the file is a warning: what came before it is still analysed.
    """
    n = len(buf)
    if n == 24:
        return  # a header and no packets: an empty capture, not a corrupt one
    where = f"capture {path}: the first record (byte 24)"
    if n < 24 + 16:
        raise InputFileError(
            f"{where} is cut inside its 16-byte header ({n - 24} bytes): no packet to read",
            hint="the file is damaged or still being written",
        )
    endian = _PCAP_MAGICS[buf[:4]][0]
    incl = struct.unpack_from(endian + "I", buf, 24 + 8)[0]
    if incl > _MAX_RECORD or 40 + incl > n:
        raise InputFileError(
            f"{where} claims {incl} bytes but only {n - 40} follow: corrupt record header "
            "or a file cut inside its first packet; no packet to read",
            hint="the file is damaged; capture again with tcpdump -w or dumpcap",
        )


def open_capture(
    path: str | Path,
    info: CaptureInfo | None = None,
    first: int = 1,
    last: int = _ALL,
) -> Iterator[Frame]:
    """Like :func:`iter_packets`; ``info`` collects file-level warnings (truncated tail, ...).

    ``first``/``last`` (1-based, inclusive) select a run of frames: the others are skipped
    without being decoded, which is how parallel workers each take one chunk of a capture.
    """
    path = Path(path)
    buf = _read_file(path)
    info = info if info is not None else CaptureInfo()
    head = buf[:4]
    if head in _PCAP_MAGICS:
        if len(buf) < 24:  # eagerly: the streamed --json output must not have started
            raise InputFileError(f"capture {path} is truncated inside the pcap file header")
        _check_first_pcap_record(buf, path)
        return _note_unsupported(_iter_pcap(buf, path, info, first, last), path, info)
    if head == _PCAPNG_SHB:
        return _note_unsupported(_iter_pcapng(buf, path, info, first, last), path, info)
    raise InputFileError(
        f"{path} is not a pcap or pcapng capture (magic {head.hex() or 'empty'})",
        hint="write captures with tcpdump -w or dumpcap",
    )


def count_frames(path: str | Path) -> int:
    """Number of records in a capture, without decoding any of them (cheap: headers only)."""
    info = CaptureInfo()
    for _ in open_capture(path, info, first=_ALL):
        pass
    return info.frames


def iter_packets(path: str | Path) -> Iterator[Frame]:
    """Yield every frame of a pcap/pcapng file, decoded to the IPsec/IKE layer.

    Raises :class:`InputFileError` (exit 2) when the file cannot be read or is not a capture;
    never raises on packet contents.
    """
    return open_capture(path)


def write_pcap(path: str | Path, linktype: int, packets: Iterable[tuple[float, bytes]]) -> int:
    """Write a microsecond pcap; returns the number of packets written."""
    path = Path(path)
    count = 0
    rec = struct.Struct("<IIII")
    try:
        with path.open("wb") as fh:
            fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
            for ts, data in packets:
                sec = int(ts)
                usec = round((ts - sec) * 1e6)
                if usec >= 1_000_000:
                    sec, usec = sec + 1, usec - 1_000_000
                fh.write(rec.pack(sec, usec, len(data), len(data)))
                fh.write(data)
                count += 1
    except OSError as exc:
        raise InputFileError(f"cannot write {path}: {exc.strerror or exc}") from exc
    return count
