"""AH (RFC 4302): header decode and ICV verification over the IP packet with mutable fields zeroed.

The ICV covers the whole IP packet as the receiver will see it, so fields that routers change
in transit are zeroed first (RFC 4302 3.3.3.1): IPv4 TOS, flags/fragment offset, TTL, header
checksum and mutable options (the whole option); IPv6 traffic class, flow label, hop limit and
the data of hop-by-hop/destination options whose "chg" bit is set. A routing header is taken
as it appears at the final destination (segments left 0), which is where captures usually are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from cryptography.hazmat.primitives import constant_time, hmac

from ipsecctl.diag.packets.common import hmac_template
from ipsecctl.diag.packets.esp import ICV_BAD, ICV_NO_KEY, ICV_OK, ICV_UNVERIFIED
from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.pcap import IPHeader

_IPV4_IMMUTABLE_OPTIONS = frozenset({0, 1, 130, 133, 134, 148, 149})


@dataclass(slots=True)
class AhHeader:
    next_header: int
    spi: int
    seq: int
    icv_offset: int
    icv_len: int
    payload_offset: int


@dataclass(slots=True)
class AhResult:
    icv: str = ICV_NO_KEY
    error: str | None = None


def parse_header(data: bytes, off: int, end: int) -> AhHeader | str:
    """Decode the AH header at ``off``; a string explains why it is malformed."""
    if end - off < 12:
        return "truncated AH header"
    nh = data[off]
    length = (data[off + 1] + 2) * 4
    if length < 12:
        return f"AH length {length} shorter than its fixed part"
    if off + length > end:
        return "truncated AH header (ICV cut)"
    spi, seq = struct.unpack_from("!II", data, off + 4)
    return AhHeader(nh, spi, seq, off + 12, length - 12, off + length)


def _zero_ipv4(buf: bytearray, ip: IPHeader) -> None:
    o = ip.offset
    buf[o + 1] = 0  # TOS / DSCP+ECN
    buf[o + 6 : o + 8] = b"\x00\x00"  # flags + fragment offset
    buf[o + 8] = 0  # TTL
    buf[o + 10 : o + 12] = b"\x00\x00"  # checksum
    p, end = o + 20, o + ip.header_len
    while p < end:
        t = buf[p]
        if t == 0:  # end of option list: the rest is padding
            break
        if t == 1:
            p += 1
            continue
        length = buf[p + 1] if p + 1 < end else 0
        if length < 2 or p + length > end:
            buf[p:end] = bytes(end - p)  # malformed: zero what is left
            break
        if t not in _IPV4_IMMUTABLE_OPTIONS:
            buf[p : p + length] = bytes(length)
        p += length


def _zero_ipv6(buf: bytearray, ip: IPHeader) -> None:
    o = ip.offset
    buf[o] = 0x60
    buf[o + 1 : o + 4] = b"\x00\x00\x00"  # traffic class + flow label
    buf[o + 7] = 0  # hop limit
    for typ, p, length in ip.ext_headers:
        if typ not in (0, 60):
            continue
        q, end = p + 2, p + length
        while q < end:
            t = buf[q]
            if t == 0:  # Pad1
                q += 1
                continue
            if q + 1 >= end:
                break
            olen = buf[q + 1]
            if t & 0x20:
                buf[q + 2 : q + 2 + olen] = bytes(olen)
            q += 2 + olen


class AhVerifier:
    """Per-SA AH ICV check (keyed HMAC built once)."""

    __slots__ = ("_hmac", "esn", "icv_len", "sa")

    def __init__(self, sa: SecurityAssociation) -> None:
        self.sa = sa
        self.esn = sa.esn
        self.icv_len = sa.integrity.icv_len
        self._hmac: hmac.HMAC | None = (
            hmac_template(sa.integrity.hash, sa.auth_key) if sa.integrity.hash else None
        )

    def verify(self, data: bytes, ip: IPHeader, hdr: AhHeader, seq_hi: int = 0) -> AhResult:
        res = AhResult()
        if self._hmac is None:
            res.icv = ICV_UNVERIFIED
            return res
        if hdr.icv_len != self.icv_len:
            res.icv = ICV_BAD
            res.error = f"ICV is {hdr.icv_len} bytes, {self.sa.integrity.name} gives {self.icv_len}"
            return res
        if ip.truncated:
            res.icv = ICV_UNVERIFIED
            res.error = "packet truncated in the capture: ICV not checkable"
            return res
        mac = self.compute(data, ip, hdr, seq_hi)
        icv = data[hdr.icv_offset : hdr.icv_offset + hdr.icv_len]
        res.icv = ICV_OK if constant_time.bytes_eq(mac, icv) else ICV_BAD
        return res

    def compute(self, data: bytes, ip: IPHeader, hdr: AhHeader, seq_hi: int = 0) -> bytes:
        """The ICV a sender puts into this packet (its own ICV field is ignored)."""
        if self._hmac is None:
            raise ValueError("AH SA without an integrity key")
        buf = bytearray(data[ip.offset : ip.end])
        rel = IPHeader(
            ip.version, ip.src, ip.dst, ip.proto, 0, ip.header_len, 0, len(buf),
            ext_headers=tuple((t, p - ip.offset, n) for t, p, n in ip.ext_headers),
        )  # fmt: skip
        if ip.version == 4:
            _zero_ipv4(buf, rel)
        else:
            _zero_ipv6(buf, rel)
        s = hdr.icv_offset - ip.offset
        buf[s : s + hdr.icv_len] = bytes(hdr.icv_len)
        h = self._hmac.copy()
        h.update(bytes(buf))
        if self.esn:
            h.update(struct.pack("!I", seq_hi))
        return h.finalize()[: self.icv_len]
