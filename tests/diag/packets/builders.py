"""Test-side packet and capture builders (IP, UDP, ICMP, link layers, pcap/pcapng).

Encryption is done by ipsecctl's own EspCipher.seal (cryptography underneath); everything here
only frames bytes, so a capture built here is what tcpdump would have written.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from ipsecctl.diag.packets.pcap import write_pcap


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(
    src: str,
    dst: str,
    proto: int,
    payload: bytes,
    ttl: int = 64,
    options: bytes = b"",
    tos: int = 0,
    ident: int = 1,
) -> bytes:
    ihl = (20 + len(options)) // 4
    hdr = struct.pack(
        "!BBHHHBBH4s4s",
        0x40 | ihl,
        tos,
        20 + len(options) + len(payload),
        ident,
        0x4000,
        ttl,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    hdr += options
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def ipv6(src: str, dst: str, nh: int, payload: bytes, hlim: int = 64, flow: int = 0) -> bytes:
    first = (6 << 28) | flow
    return (
        struct.pack(
            "!IHBB16s16s",
            first,
            len(payload),
            nh,
            hlim,
            socket.inet_pton(socket.AF_INET6, src),
            socket.inet_pton(socket.AF_INET6, dst),
        )
        + payload
    )


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp_echo(ident: int = 1, seq: int = 1, data: bytes = bytes(range(8, 40))) -> bytes:
    body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return body[:2] + struct.pack("!H", checksum(body)) + body[4:]


def tcp_syn(sport: int, dport: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 0x50, 0x02, 65535, 0, 0)


def frame(linktype: int, ip_packet: bytes, vlan: bool = False) -> bytes:
    """Wrap an IP packet in ``linktype`` framing."""
    version = ip_packet[0] >> 4
    etype = 0x0800 if version == 4 else 0x86DD
    if linktype == 1:
        tag = struct.pack("!HH", 0x8100, 42) if vlan else b""
        return b"\x02" * 6 + b"\x04" * 6 + tag + struct.pack("!H", etype) + ip_packet
    if linktype in (101, 12, 14, 228, 229):
        return ip_packet
    if linktype == 113:
        return struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 6 + b"\0\0", etype) + ip_packet
    if linktype == 276:
        return struct.pack("!HHIHBB8s", etype, 0, 2, 1, 0, 6, b"\x02" * 8) + ip_packet
    if linktype == 0:
        return struct.pack("<I", 2 if version == 4 else 30) + ip_packet
    raise ValueError(linktype)


def write_capture(path: Path, linktype: int, frames: list[bytes], fmt: str = "pcap") -> Path:
    if fmt == "pcap":
        write_pcap(path, linktype, [(1_700_000_000 + i * 0.001, f) for i, f in enumerate(frames)])
        return path
    out = bytearray()

    def block(btype: int, body: bytes) -> bytes:
        body += b"\x00" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    out += block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = struct.pack("<HHB3x", 9, 1, 9) + struct.pack("<HH", 0, 0)  # if_tsresol = 10^-9
    out += block(1, struct.pack("<HHI", linktype, 0, 0) + opts)
    for i, f in enumerate(frames):
        ts = (1_700_000_000 + i) * 1_000_000_000
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(f), len(f)) + f)
    path.write_bytes(bytes(out))
    return path
