"""Frame decoding down to the IPsec/IKE layer, and the pcap / pcapng writers.

Why our own decoder: the only packaged candidate (dpkt 1.9.8, last released 2022) is not
installed, builds a full object tree per frame, and still needs the IPsec demultiplexing written
here (non-ESP marker, NAT keepalives, IPv6 extension headers). Reading files (in bounded
segments) is :mod:`ipsecctl.diag.packets.reader`; this module decodes one frame at a time.

Each :class:`Frame` carries the 1-based frame number, the timestamp, the link type, the captured
bytes, the decoded IP layer (:class:`IPHeader`), the UDP ports when UDP, and ``kind`` plus
``payload_offset`` saying where the ESP header, AH header or IKE header starts in ``data``.
Nothing here raises on bad packet bytes: a frame that cannot be decoded carries ``error``.
"""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

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


def linktype_label(lt: int) -> str:
    """``link type 147 (USER0)``: the number and, when known, its name."""
    name = _LINKTYPE_NAMES.get(lt)
    return f"link type {lt}" + (f" ({name})" if name else "")


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


class PcapWriter:
    """Write frames of one link type to a microsecond pcap as they come (context manager)."""

    _REC = struct.Struct("<IIII")

    def __init__(self, path: str | Path, linktype: int) -> None:
        self.path = Path(path)
        self.count = 0
        try:
            self._fh = self.path.open("wb")
            self._fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        except OSError as exc:
            raise InputFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def write(self, ts: float, data: bytes) -> None:
        sec = int(ts)
        usec = round((ts - sec) * 1e6)
        if usec >= 1_000_000:
            sec, usec = sec + 1, usec - 1_000_000
        try:
            self._fh.write(self._REC.pack(sec, usec, len(data), len(data)))
            self._fh.write(data)
        except OSError as exc:
            raise InputFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self.count += 1

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError as exc:
            raise InputFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_pcap(path: str | Path, linktype: int, packets: Iterable[tuple[float, bytes]]) -> int:
    """Write a microsecond pcap; returns the number of packets written."""
    with PcapWriter(path, linktype) as w:
        for ts, data in packets:
            w.write(ts, data)
    return w.count


def _open_private(path: Path) -> BinaryIO:
    """A new file readable by its owner only (captures hold the traffic of other people)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode under O_CREAT: tighten it
    return os.fdopen(fd, "wb")


class PcapngWriter:
    """Write frames to a pcapng file as they come (one interface per link type seen).

    Why pcapng for ``--write``: a capture taken on a device can mix link types (an ASA's
    inside and outside captures, IOS-XE's L2 and L3 points), which pcap cannot hold in one
    file. Timestamps are kept to the microsecond. The file is created 0600. Use as a context
    manager; :attr:`count` is the number of packets written.
    """

    _SHB = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)

    def __init__(self, path: str | Path, application: str = "ipsecctl") -> None:
        self.path = Path(path)
        self.count = 0
        self._ifaces: dict[int, int] = {}
        try:
            self._fh = _open_private(self.path)
            opt = application.encode()
            shb_opts = struct.pack("<HH", 4, len(opt)) + opt + bytes(-len(opt) % 4)
            self._block(0x0A0D0D0A, self._SHB + shb_opts + struct.pack("<HH", 0, 0))
        except OSError as exc:
            raise InputFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def _block(self, btype: int, body: bytes) -> None:
        body += bytes(-len(body) % 4)
        n = 12 + len(body)
        self._fh.write(struct.pack("<II", btype, n) + body + struct.pack("<I", n))

    def write(self, ts: float, linktype: int, data: bytes) -> None:
        """Append one frame captured at ``ts`` (seconds since the epoch)."""
        iface = self._ifaces.get(linktype)
        try:
            if iface is None:
                iface = self._ifaces[linktype] = len(self._ifaces)
                tsresol = struct.pack("<HHB3x", 9, 1, 6)  # if_tsresol: microseconds
                self._block(1, struct.pack("<HHI", linktype, 0, 0) + tsresol + bytes(4))
            us = max(round(ts * 1e6), 0)
            self._block(6, struct.pack("<IIIII", iface, us >> 32, us & 0xFFFFFFFF, len(data),
                                       len(data)) + bytes(data))  # fmt: skip
        except OSError as exc:
            raise InputFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self.count += 1

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError as exc:
            raise InputFileError(f"cannot write {self.path}: {exc.strerror or exc}") from exc

    def __enter__(self) -> PcapngWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_pcapng(path: str | Path, frames: Iterable[tuple[float, int, bytes]]) -> int:
    """Write ``(time, link type, bytes)`` frames to a new 0600 pcapng; returns the count."""
    with PcapngWriter(path) as w:
        for ts, lt, data in frames:
            w.write(ts, lt, data)
    return w.count
