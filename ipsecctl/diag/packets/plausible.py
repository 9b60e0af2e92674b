"""Is a decrypted ESP payload what a peer would really have sent?

Why this exists: an ICV proves that the *authentication* key is right, not the *encryption*
key. With a wrong cipher key and the right HMAC key (a typo in one of the two, or the two keys
swapped between directions) every ICV verifies and the plaintext is noise. Without integrity
(ENCR_NULL-integrity suites, tcpdump's ``hmac96``) nothing verifies at all. In both cases the
decrypted bytes must still look like ESP: RFC 4303 2.4 padding (1, 2, 3, ...), a next header a
tunnel or transport SA carries, and in tunnel mode an inner IP header whose version, length and
(IPv4) checksum agree. Noise passes all of that with a probability of about 1e-7 (IPv4 tunnel)
to 1e-4 (transport), so a failure is reported as a suspected wrong key, never as a decode.

Longer-than-a-block padding is *not* rejected: RFC 4303 2.4 allows up to 255 bytes and 2.7
(traffic flow confidentiality) uses it; with the monotonic check, noise cannot fake it anyway.
"""

from __future__ import annotations

import struct

PLAUSIBLE_NEXT_HEADERS = frozenset(
    {1, 2, 4, 6, 17, 41, 47, 50, 51, 58, 59, 89, 103, 112, 132, 136, 137, 143}
)
"""Next headers an ESP SA plausibly carries: tunnel (4 IPv4, 41 IPv6), the usual transport
protocols (6, 17, 1, 58, 47 GRE, 50/51 nested, 59 dummy packets of RFC 4303 2.6), and routing
protocols run over transport-mode ESP (89 OSPFv3 per RFC 4552, 103 PIM, 112 VRRP, 132 SCTP)."""


def _ipv4_checksum_ok(header: bytes) -> bool:
    """One's-complement sum over the header (``len`` is a multiple of 4) is all ones."""
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total == 0xFFFF


def inner_ip_problem(payload: bytes, next_header: int) -> str | None:
    """Why a tunnel-mode payload is not the IP packet ``next_header`` announces (None: it is).

    The inner length may be shorter than the payload: RFC 4303 2.7 TFC padding follows it.
    """
    n = len(payload)
    if next_header == 4:
        if n and payload[0] >> 4 != 4:
            return f"next header 4 but inner IP version {payload[0] >> 4}"
        if n < 20:
            return f"inner IPv4 header truncated ({n} bytes)"
        ihl = (payload[0] & 0x0F) * 4
        total = (payload[2] << 8) | payload[3]
        if ihl < 20 or ihl > n:
            return f"inner IPv4 header length {ihl} does not fit"
        if total < ihl or total > n:
            return f"inner IPv4 total length {total} does not match the {n}-byte payload"
        if not _ipv4_checksum_ok(payload[:ihl]):
            return "inner IPv4 header checksum is wrong"
        return None
    if next_header == 41:
        if n and payload[0] >> 4 != 6:
            return f"next header 41 but inner IP version {payload[0] >> 4}"
        if n < 40:
            return f"inner IPv6 header truncated ({n} bytes)"
        plen = (payload[4] << 8) | payload[5]
        if 40 + plen > n or (plen == 0 and n != 40):
            return f"inner IPv6 payload length {plen} does not match the {n}-byte payload"
        return None
    return None


def payload_problem(payload: bytes, pad_ok: bool, next_header: int) -> str | None:
    """Why a decrypted ESP payload (trailer removed) is implausible, or None when it is fine."""
    if not pad_ok:
        return "padding is not 1, 2, 3, ... (RFC 4303 2.4)"
    if next_header not in PLAUSIBLE_NEXT_HEADERS:
        return f"next header {next_header} is not a protocol ESP carries"
    return inner_ip_problem(payload, next_header)
