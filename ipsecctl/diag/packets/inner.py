"""One-line summaries of what an ESP/AH payload carries (tunnel-mode IP or transport upper layer).

The summary is what an operator checks after decrypting: does the inner traffic match the
tunnel's selectors (addresses, protocol, ports, ICMP type)? It is a dict (JSON-ready) with a
``text`` field for tables; it never raises on malformed bytes (``error`` instead).
"""

from __future__ import annotations

from typing import Any

from ipsecctl.diag.packets.pcap import decode_ip

PROTO_NAMES = {
    1: "icmp", 2: "igmp", 4: "ipip", 6: "tcp", 17: "udp", 41: "ipv6", 47: "gre", 50: "esp",
    51: "ah", 58: "icmpv6", 59: "none", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp",
}  # fmt: skip
_PORTS = frozenset({6, 17, 132, 136})


def proto_name(proto: int) -> str:
    return PROTO_NAMES.get(proto, f"ip-proto-{proto}")


def _upper(proto: int, data: bytes, off: int, end: int, out: dict[str, Any]) -> str:
    """Fill ports / ICMP fields for an upper-layer header at ``off``; return a text fragment."""
    name = proto_name(proto)
    if proto in _PORTS:
        if end - off < 4:
            out["error"] = f"truncated {name} header"
            return f"{name} [truncated]"
        sport = (data[off] << 8) | data[off + 1]
        dport = (data[off + 2] << 8) | data[off + 3]
        out["sport"], out["dport"] = sport, dport
        return f"{name} {sport} > {dport}"
    if proto in (1, 58):
        if end - off < 2:
            out["error"] = f"truncated {name} header"
            return f"{name} [truncated]"
        out["icmp_type"], out["icmp_code"] = data[off], data[off + 1]
        return f"{name} type {data[off]} code {data[off + 1]}"
    if proto in (50, 51):
        if end - off < 8 + (4 if proto == 51 else 0):
            out["error"] = f"truncated {name} header"
            return f"{name} [truncated]"
        base = off + (4 if proto == 51 else 0)
        spi = int.from_bytes(data[base : base + 4], "big")
        seq = int.from_bytes(data[base + 4 : base + 8], "big")
        out["spi"], out["seq"] = spi, seq
        return f"{name} spi 0x{spi:08x} seq {seq}"
    return name


def summarize(payload: bytes, next_header: int) -> dict[str, Any]:
    """Summary of a decrypted ESP payload / AH-protected payload with ``next_header``."""
    out: dict[str, Any] = {"mode": "transport", "length": len(payload)}
    if next_header in (4, 41):
        out["mode"] = "tunnel"
        ip = decode_ip(payload, 0)
        if isinstance(ip, str):
            out["error"] = ip
            out["text"] = f"inner IP: {ip}"
            return out
        want = 4 if next_header == 4 else 6
        if ip.version != want:
            out["error"] = f"next header {next_header} but IPv{ip.version} inside"
        out.update(version=ip.version, src=ip.src, dst=ip.dst, protocol=proto_name(ip.proto))
        out["proto"] = ip.proto
        if ip.fragment:
            out["text"] = f"{ip.src} > {ip.dst} {proto_name(ip.proto)} fragment"
            return out
        frag = _upper(ip.proto, payload, ip.payload_offset, ip.end, out)
        out["text"] = f"{ip.src} > {ip.dst} {frag}"
        return out
    out["proto"] = next_header
    out["protocol"] = proto_name(next_header)
    out["text"] = _upper(next_header, payload, 0, len(payload), out)
    return out
