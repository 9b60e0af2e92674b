"""The packets a lab device's capture point sees, made from the lab's own state.

A capture on a lab router must agree with everything else the router says: the SPIs are
those of its current SAs (``show crypto ipsec sa``), the sequence numbers count the packets
each SA has carried at the link's traffic rate (the same rate that moves ``#pkts encaps``),
and each scenario looks on the wire as it would on a real network:

* ``one_way``: the far end's packets never arrive at end ``a``: ESP leaves, none comes in;
* ``replay_spi_errors``: end ``a`` receives about 3 % of its inbound packets again or late
  (duplicates, and sequence numbers below the 64-packet anti-replay window), plus one packet
  every 7 seconds for an SPI it does not have (the ``recv errors`` the counters show);
* ``ike_no_response``: main mode message 1 (or IKE_SA_INIT) sent and retransmitted every
  10 s, nothing back, a new attempt each minute (the log's cadence);
* ``psk_mismatch``: the encrypted main mode message 5 retransmitted with no answer;
* ``p1_mismatch`` (a configuration change): the first message answered by a clear
  NO_PROPOSAL_CHOSEN notify (IKEv1 informational, IKEv2 IKE_SA_INIT response);
* ``p2_mismatch``: quick mode proposals answered by an encrypted informational (the
  NO_PROPOSAL_CHOSEN notify the responder sends);
* a re-key during the capture: the new SA's negotiation (quick mode, CREATE_CHILD_SA) and
  the new SPIs from then on.

The encrypted bytes are not real ciphertext (a lab router has no keys to give): headers are
exact, payloads are deterministic filler. Frames are Ethernet II, as EPC and ASA dumps print.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ipsecctl.lab.state import Fleet, Link

ICV_LEN = 12
IKE_RETRANSMIT_S = 10.0
IKE_ATTEMPT_S = 60.0
INVALID_SPI_EVERY_S = 7.0
REPLAY_EVERY = 33  # one inbound packet in 33 is replayed or late (the counters' 3 %)
REPLAY_WINDOW = 64


@dataclass
class Filter:
    """What a capture point takes: an interface and hosts (``None``: any)."""

    interface: str | None = None
    src: str | None = None
    dst: str | None = None
    bidirectional: bool = True

    def takes(self, src: str, dst: str) -> bool:
        def fits(want: str | None, addr: str) -> bool:
            return want is None or _norm(want) == _norm(addr)

        if fits(self.src, src) and fits(self.dst, dst):
            return True
        return self.bidirectional and fits(self.src, dst) and fits(self.dst, src)


@dataclass(order=True)
class Packet:
    time: float  # simulated seconds
    data: bytes = field(compare=False)
    src: str = field(compare=False, default="")
    dst: str = field(compare=False, default="")
    summary: str = field(compare=False, default="")


def _norm(addr: str) -> str:
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return addr


def _mac(addr: str) -> bytes:
    return b"\x52\x54" + hashlib.sha256(addr.encode()).digest()[:4]


def _filler(seed: bytes, n: int) -> bytes:
    out = b""
    while len(out) < n:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return out[:n]


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ip_frame(src: str, dst: str, proto: int, payload: bytes, ident: int = 0) -> bytes:
    """An Ethernet II frame carrying one IPv4 or IPv6 packet."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 6:
        ip = struct.pack("!IHBB", 6 << 28, len(payload), proto, 64) + s.packed + d.packed
        eth_type = 0x86DD
    else:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000,
                          255, proto, 0, s.packed, d.packed)  # fmt: skip
        ip = hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]
        eth_type = 0x0800
    return _mac(dst) + _mac(src) + struct.pack("!H", eth_type) + ip + payload


def udp(sport: int, dport: int, body: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(body), 0) + body


def esp(spi: int, seq: int, size: int, seed: bytes) -> bytes:
    body = max(size - 8, 16 + ICV_LEN)
    return struct.pack("!II", spi, seq) + _filler(seed + struct.pack("!IQ", spi, seq), body)


def ike_header(spi_i: bytes, spi_r: bytes, np: int, version: int, exchange: int, flags: int,
               msgid: int, body: bytes) -> bytes:  # fmt: skip
    return spi_i + spi_r + struct.pack("!BBBBII", np, version, exchange, flags, msgid,
                                       28 + len(body)) + body  # fmt: skip


def _encrypted_v1(spi_i: bytes, spi_r: bytes, exchange: int, msgid: int, first: int,
                  seed: bytes, size: int = 76) -> bytes:  # fmt: skip
    """An IKEv1 message with the encryption flag: header in clear, body opaque."""
    return ike_header(spi_i, spi_r, first, 0x10, exchange, 0x01, msgid, _filler(seed, size))


def _sk_v2(spi_i: bytes, spi_r: bytes, exchange: int, flags: int, msgid: int, first: int,
           seed: bytes, size: int = 80) -> bytes:  # fmt: skip
    """An IKEv2 message whose only payload is SK (encrypted and integrity protected)."""
    body = _filler(seed, size)
    sk = struct.pack("!BBH", first, 0, 4 + len(body)) + body
    return ike_header(spi_i, spi_r, 46, 0x20, exchange, flags, msgid, sk)


# ------------------------------------------------------------------------ per link
_GROUPS = {1: "modp768", 2: "modp1024", 5: "modp1536", 14: "modp2048", 15: "modp3072",
           19: "ecp256", 20: "ecp384", 21: "ecp521"}  # fmt: skip


def _ike_proposal(link: Link) -> str:
    """What the device proposes: the configured (or agreed) suite, in proposal syntax."""
    agreed = link.agreed
    if agreed is not None:
        return f"{agreed.encryption}-{agreed.integrity}-{_GROUPS.get(agreed.group, 'modp2048')}"
    return "aes256-sha256-modp2048" if link.spec.ike_version == 2 else "aes256-sha1-modp2048"


def _first_message(link: Link, spi_i: bytes, local: str, peer: str) -> bytes:
    from ipsecctl.diag.ike.probe import build_ikev1, build_ikev2_init, parse_proposal
    from ipsecctl.errors import UsageError

    version = link.spec.ike_version
    try:
        prop = parse_proposal(_ike_proposal(link), version)
    except UsageError:
        prop = parse_proposal("aes256-sha256-modp2048", version)
    if version == 2:
        return build_ikev2_init(spi_i, [prop], prop.dh[0] if prop.dh else 14,
                                local=(local, 500), remote=(peer, 500))  # fmt: skip
    return build_ikev1(spi_i, [prop])


def _spi8(hex16: str) -> bytes:
    try:
        return bytes.fromhex(hex16)[:8].rjust(8, b"\x00")
    except ValueError:
        return hashlib.sha256(hex16.encode()).digest()[:8]


def _ike_packets(link: Link, side: str, local: str, peer: str, t0: float, t1: float,
                 initiator_here: bool) -> Iterator[Packet]:  # fmt: skip
    """IKE on the wire for the scenarios stuck in IKE (see the module docstring)."""
    ike = link.ike
    beh = link.behaviour
    if ike is None or beh not in ("ike_no_response", "psk_mismatch", "p2_mismatch",
                                  "p1_mismatch"):  # fmt: skip
        return
    if beh == "p1_mismatch" and not initiator_here:
        local, peer = peer, local  # seen from the responder: a's request in, its notify out
    elif not initiator_here:
        return  # the lab's far ends of these scenarios are outside peers: a is the initiator
    seed = f"{link.spec.id}".encode()
    start = ike.born
    first_attempt = math.floor((t0 - start) / IKE_ATTEMPT_S)
    attempt = max(first_attempt, 0)
    v2 = link.spec.ike_version == 2
    while start + attempt * IKE_ATTEMPT_S <= t1:
        base = start + attempt * IKE_ATTEMPT_S
        spi_i = hashlib.sha256(_spi8(ike.spi_i) + struct.pack("!I", attempt)).digest()[:8]
        spi_r = hashlib.sha256(_spi8(ike.spi_r) + struct.pack("!I", attempt)).digest()[:8]
        if beh == "ike_no_response":
            msg = _first_message(link, spi_i, local, peer)
            sends = [base + k * IKE_RETRANSMIT_S for k in range(6)]
            for t in sends:
                if t0 <= t <= t1:
                    yield Packet(t, ip_frame(local, peer, 17, udp(500, 500, msg)), local, peer,
                                 "udp 500 > 500")  # fmt: skip
        elif beh == "psk_mismatch":
            msg5 = _encrypted_v1(spi_i, spi_r, 2, 0, 5, seed + b"mm5" + spi_i)
            for k in range(6):
                t = base + k * IKE_RETRANSMIT_S
                if t0 <= t <= t1:
                    yield Packet(t, ip_frame(local, peer, 17, udp(500, 500, msg5)), local, peer,
                                 "udp 500 > 500")  # fmt: skip
        elif beh == "p1_mismatch":
            # the responder has no proposal in common: NO_PROPOSAL_CHOSEN, in clear
            req = _first_message(link, spi_i, local, peer)
            note = struct.pack("!BBHIBBH", 0, 0, 12, 1, 1, 0, 14)  # IKEv1 N, DOI 1, type 14
            if v2:
                note = struct.pack("!BBHBBH", 0, 0, 8, 0, 0, 14)
                resp = ike_header(spi_i, bytes(8), 41, 0x20, 34, 0x20, 0, note)
            else:
                resp = ike_header(spi_i, bytes(8), 11, 0x10, 5, 0x00, 0, note)
            for t, src, dst, msg in ((base, local, peer, req), (base + 0.02, peer, local, resp)):
                if t0 <= t <= t1:
                    yield Packet(t, ip_frame(src, dst, 17, udp(500, 500, msg)), src, dst,
                                 "udp 500 > 500")  # fmt: skip
        elif beh == "p2_mismatch" and not v2:
            msgid = int.from_bytes(hashlib.sha256(spi_i).digest()[:4], "big") | 1
            qm1 = _encrypted_v1(spi_i, spi_r, 32, msgid, 8, seed + b"qm1" + spi_i, 300)
            info = _encrypted_v1(spi_i, spi_r, 5, msgid ^ 0x5A5A, 8, seed + b"inf" + spi_i, 60)
            for t, src, dst, msg in ((base, local, peer, qm1), (base + 0.05, peer, local, info)):
                if t0 <= t <= t1:
                    yield Packet(t, ip_frame(src, dst, 17, udp(500, 500, msg)), src, dst,
                                 "udp 500 > 500")  # fmt: skip
        attempt += 1


def _rekey_packets(link: Link, local: str, peer: str, born: float, initiator_here: bool,
                   ike_spis: tuple[bytes, bytes], n: int) -> Iterator[Packet]:  # fmt: skip
    """The negotiation of an SA born during the capture (encrypted, header in clear)."""
    spi_i, spi_r = ike_spis
    me_first = initiator_here
    a, b = (local, peer) if me_first else (peer, local)
    seed = f"{link.spec.id}-{n}".encode()
    if link.spec.ike_version == 2:
        msgid = 2 + n
        req = _sk_v2(spi_i, spi_r, 36, 0x08, msgid, 33, seed + b"req")
        resp = _sk_v2(spi_i, spi_r, 36, 0x20, msgid, 33, seed + b"resp")
        msgs = [(born - 0.02, a, b, req), (born - 0.01, b, a, resp)]
    else:
        msgid = int.from_bytes(hashlib.sha256(seed).digest()[:4], "big") | 1
        msgs = [
            (born - 0.03, a, b, _encrypted_v1(spi_i, spi_r, 32, msgid, 8, seed + b"1", 300)),
            (born - 0.02, b, a, _encrypted_v1(spi_i, spi_r, 32, msgid, 8, seed + b"2", 300)),
            (born - 0.01, a, b, _encrypted_v1(spi_i, spi_r, 32, msgid, 8, seed + b"3", 44)),
        ]
    for t, src, dst, msg in msgs:
        yield Packet(t, ip_frame(src, dst, 17, udp(500, 500, msg)), src, dst, "udp 500 > 500")


def _esp_stream(spi: int, start: float, end: float, rate: float, t0: float, t1: float,
                src: str, dst: str, size: int) -> Iterator[tuple[float, int, Packet]]:  # fmt: skip
    """Packet k of an SA leaves at ``start + (k-1)/rate`` with sequence number k."""
    if rate <= 0 or end <= start:
        return
    lo, hi = max(t0, start), min(t1, end)
    if hi < lo:
        return
    k = max(1, math.ceil((lo - start) * rate) + 1)
    seed = f"{spi}".encode()
    while True:
        t = start + (k - 1) / rate
        if t > hi:
            return
        if t >= lo:
            data = ip_frame(src, dst, 50, esp(spi, k, size, seed), ident=k)
            yield t, k, Packet(t, data, src, dst, f"ip-proto-50, length {size}")
        k += 1


def link_packets(fleet: Fleet, link: Link, side: str, t0: float, t1: float) -> list[Packet]:
    """Everything between this end and its peer on the wire in ``[t0, t1]`` (simulated)."""
    spec = link.spec
    local = spec.a_addr if side == "a" else spec.b_addr
    peer = spec.b_addr if side == "a" else spec.a_addr
    out_rate, in_rate = (
        (spec.rate_ab, spec.rate_ba) if side == "a" else (spec.rate_ba, spec.rate_ab)
    )
    ike = link.ike
    initiator_here = ike is not None and ike.initiator == side
    packets: list[Packet] = list(_ike_packets(link, side, local, peer, t0, t1,
                                              side == "a"))  # fmt: skip
    if link.flow_since is None or not link.sas:
        return packets
    pairs = sorted([*link.retired, *link.sas], key=lambda p: p.born)
    ike_spis = (_spi8(ike.spi_i), _spi8(ike.spi_r)) if ike is not None else (bytes(8), bytes(8))
    one_way_here = link.behaviour == "one_way" and side == "a"
    replay_here = link.behaviour == "replay_spi_errors" and side == "a"
    for i, pair in enumerate(pairs):
        start = max(pair.born, link.flow_since)
        end = pairs[i + 1].born if i + 1 < len(pairs) else t1
        if i > 0 and t0 <= pair.born <= t1:
            packets += _rekey_packets(link, local, peer, pair.born, initiator_here, ike_spis, i)
        for _t, _k, p in _esp_stream(pair.spi_out(side), start, end, out_rate, t0, t1, local,
                                     peer, spec.pkt_size):  # fmt: skip
            packets.append(p)
        if one_way_here:
            continue
        spi_in = pair.spi_in(side)
        for t, k, p in _esp_stream(spi_in, start, end, in_rate, t0, t1, peer, local,
                                   spec.pkt_size):  # fmt: skip
            packets.append(p)
            if replay_here and k % REPLAY_EVERY == 0 and k > REPLAY_WINDOW + 8:
                # a copy of this packet (a duplicate), or one from far behind the window
                late = k if (k // REPLAY_EVERY) % 2 else k - REPLAY_WINDOW - 6
                data = ip_frame(peer, local, 50, esp(spi_in, late, spec.pkt_size,
                                                     f"{spi_in}".encode()), ident=late)  # fmt: skip
                packets.append(Packet(t + 0.0005, data, peer, local, p.summary))
        if replay_here:
            bogus = (spi_in ^ 0x0BAD0000) or 0x0BAD0001
            first = start + INVALID_SPI_EVERY_S * max(
                0, math.ceil((t0 - start) / INVALID_SPI_EVERY_S)
            )
            t = first
            n = 1
            while t <= min(t1, end):
                if t >= max(t0, start):
                    data = ip_frame(peer, local, 50, esp(bogus, n, spec.pkt_size, b"bogus"),
                                    ident=n)  # fmt: skip
                    packets.append(Packet(t + 0.0003, data, peer, local,
                                          f"ip-proto-50, length {spec.pkt_size}"))  # fmt: skip
                t += INVALID_SPI_EVERY_S
                n += 1
    return packets


def router_packets(fleet: Fleet, router: str, filt: Filter, t0: float, t1: float,
                   limit: int | None = None) -> list[Packet]:  # fmt: skip
    """What a capture point on ``router`` with ``filt`` holds for ``[t0, t1]`` (simulated),
    in time order, at most ``limit`` packets (the point stops when its limit is reached)."""
    from ipsecctl.lab.tunnel_end import End

    state = fleet.routers[router]
    out: list[Packet] = []
    for link, side in fleet.ends_of(router):
        end = End(link, side, state.spec)
        if filt.interface is not None and not _on_interface(filt.interface, end, state.spec):
            continue
        for p in link_packets(fleet, link, side, t0, t1):
            if filt.takes(p.src, p.dst):
                out.append(p)
    out.sort()
    if limit is not None and limit > 0:
        out = out[:limit]
    return out


def _on_interface(wanted: str, end: object, spec: object) -> bool:
    """Whether the end's packets cross ``wanted``: its crypto map interface, or for a VTI the
    physical WAN port its tunnel source sits on."""
    names = {getattr(spec, "wan_if", None), getattr(spec, "wan_port", None)}
    if not getattr(end, "vti", False):  # a tunnel interface carries the clear packets
        names.add(getattr(end, "interface", None))
    link_spec = getattr(end, "spec", None)
    if (
        link_spec is not None
        and getattr(link_spec, "a_if", None)
        and getattr(end, "side", "") == "a"
    ):
        names.add(link_spec.a_if)
    low = wanted.replace(" ", "").lower()
    return any(n and n.replace(" ", "").lower() == low for n in names)
