"""Minimal pcap/pcapng reader yielding UDP datagrams (IKE lives on UDP/500 and UDP/4500).

Why here: the ESP work in ``ipsecctl.diag.packets`` owns the general packet reader; until the
two are merged this module reads just enough (pcap LE/BE, usec/nsec; pcapng EPB/SPB; Ethernet,
raw IP, Linux SLL/SLL2, BSD null/loopback; IPv4/IPv6, VLAN tags) to find UDP payloads.
Truncated or foreign frames are skipped, never fatal.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ipsecctl.errors import InputFileError


@dataclass(frozen=True)
class UdpDatagram:
    frame: int  # 1-based frame number in the capture
    time: float  # seconds since the epoch
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes


def _frames(data: bytes, name: str) -> Iterator[tuple[int, float, int, bytes]]:
    """(frame number, time, link type, bytes) for every frame of a pcap or pcapng file."""
    if len(data) < 24:
        raise InputFileError(f"{name}: not a pcap/pcapng capture (too short)",
                             hint="give a file written by tcpdump, tshark or dumpcap")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                 b"\xa1\xb2\x3c\x4d"):
        end = "<" if magic[0] in (0xD4, 0x4D) else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
        off, n = 24, 0
        while off + 16 <= len(data):
            sec, frac, incl, _orig = struct.unpack(end + "IIII", data[off:off + 16])
            off += 16
            frame = data[off:off + incl]
            off += incl
            n += 1
            yield n, sec + frac / (1e9 if nano else 1e6), linktype, frame
        return
    if magic == b"\x0a\x0d\x0d\x0a":
        yield from _pcapng(data)
        return
    raise InputFileError(f"{name}: not a pcap/pcapng capture (unknown magic {magic.hex()})",
                         hint="give a file written by tcpdump, tshark or dumpcap")


def _pcapng(data: bytes) -> Iterator[tuple[int, float, int, bytes]]:
    off, n = 0, 0
    end = "<"
    ifaces: list[tuple[int, float]] = []  # (linktype, ticks per second)
    while off + 12 <= len(data):
        btype_raw = data[off:off + 4]
        if btype_raw == b"\x0a\x0d\x0d\x0a":
            end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        btype, blen = struct.unpack(end + "II", data[off:off + 8])
        if blen < 12 or off + blen > len(data):
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:  # interface description
            linktype = struct.unpack(end + "H", body[:2])[0]
            ticks = 1e6
            opt = 8
            while opt + 4 <= len(body):
                code, olen = struct.unpack(end + "HH", body[opt:opt + 4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:  # if_tsresol
                    v = body[opt + 4]
                    ticks = float(2 ** (v & 0x7F)) if v & 0x80 else float(10 ** v)
                opt += 4 + ((olen + 3) & ~3)
            ifaces.append((linktype, ticks))
        elif btype == 6 and len(body) >= 20:  # enhanced packet
            iface, hi, lo, cap, _orig = struct.unpack(end + "IIIII", body[:20])
            n += 1
            lt, ticks = ifaces[iface] if iface < len(ifaces) else (1, 1e6)
            yield n, ((hi << 32) | lo) / ticks, lt, body[20:20 + cap]
        elif btype == 3 and len(body) >= 4:  # simple packet
            n += 1
            lt = ifaces[0][0] if ifaces else 1
            yield n, 0.0, lt, body[4:]
        off += blen


def _network(linktype: int, frame: bytes) -> tuple[int, bytes] | None:
    """(ethertype, L3 bytes) of a frame, or None for link types we do not read."""
    if linktype == 1:  # Ethernet
        if len(frame) < 14:
            return None
        etype, off = struct.unpack("!H", frame[12:14])[0], 14
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype, off = struct.unpack("!H", frame[off + 2:off + 4])[0], off + 4
        return etype, frame[off:]
    if linktype in (101, 12, 14):  # raw IP
        if not frame:
            return None
        return (0x0800 if frame[0] >> 4 == 4 else 0x86DD), frame
    if linktype == 113 and len(frame) >= 16:  # Linux cooked
        return struct.unpack("!H", frame[14:16])[0], frame[16:]
    if linktype == 276 and len(frame) >= 20:  # Linux cooked v2
        return struct.unpack("!H", frame[0:2])[0], frame[20:]
    if linktype in (0, 108) and len(frame) >= 4:  # BSD null / loopback
        fam = struct.unpack("<I", frame[:4])[0]
        if fam > 0xFFFF:
            fam = struct.unpack(">I", frame[:4])[0]
        return (0x0800 if fam == 2 else 0x86DD), frame[4:]
    return None


def _udp(etype: int, pkt: bytes) -> tuple[str, str, bytes] | None:
    """(src, dst, UDP segment) of an unfragmented IPv4/IPv6 UDP packet."""
    if etype == 0x0800 and len(pkt) >= 20 and pkt[0] >> 4 == 4:
        ihl = (pkt[0] & 0x0F) * 4
        total = struct.unpack("!H", pkt[2:4])[0]
        frag = struct.unpack("!H", pkt[6:8])[0]
        if pkt[9] != 17 or frag & 0x1FFF or ihl < 20:
            return None
        end = min(len(pkt), total) if total >= ihl else len(pkt)
        return (str(ipaddress.IPv4Address(pkt[12:16])), str(ipaddress.IPv4Address(pkt[16:20])),
                pkt[ihl:end])
    if etype == 0x86DD and len(pkt) >= 40 and pkt[0] >> 4 == 6:
        nh, off = pkt[6], 40
        while nh in (0, 43, 60) and len(pkt) >= off + 8:
            nh, off = pkt[off], off + (pkt[off + 1] + 1) * 8
        if nh != 17:
            return None
        plen = struct.unpack("!H", pkt[4:6])[0]
        return (str(ipaddress.IPv6Address(pkt[8:24])), str(ipaddress.IPv6Address(pkt[24:40])),
                pkt[off:40 + plen])
    return None


def iter_udp(path: str | Path) -> Iterator[UdpDatagram]:
    """Every UDP datagram of a capture file, in file order."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read capture: {exc.strerror}",
                             hint="check the path and permissions") from exc
    for n, ts, lt, frame in _frames(data, str(p)):
        net = _network(lt, frame)
        if net is None:
            continue
        found = _udp(*net)
        if found is None or len(found[2]) < 8:
            continue
        src, dst, seg = found
        sport, dport, ulen = struct.unpack("!HHH", seg[:6])
        payload = seg[8:ulen] if 8 <= ulen <= len(seg) else seg[8:]
        yield UdpDatagram(n, ts, src, dst, sport, dport, payload)
