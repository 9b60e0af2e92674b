"""The per-segment ESP analysis behind ``diag esp --json``: one buffer in, JSON text out.

Why a second path next to :class:`~ipsecctl.diag.packets.report.Analyzer`: on a 100,000-packet
capture the cipher is a small part of the cost; building a ``Frame``, an ``IPHeader``, a record
dict and then JSON-encoding it is most of it. Here the common packet -- ESP (or ESP in UDP/4500)
over Ethernet, Linux cooked or raw IP, one of the usual suites, a plausible decrypted payload
-- is read straight from the segment buffer by offset, decrypted with per-SA objects built once
(an AEAD object; for CBC one chained decryptor, see :class:`_Fast`), and written as JSON text
from per-SA prefixes and a cache of inner-packet summaries. Every other frame, and every packet
whose check fails on this path (bad ICV, implausible plaintext, ESN, nested ESP, unusual
headers...), goes through the ``Analyzer`` unchanged, so the records are the same whichever path
made them (a test compares the two over a capture built to exercise both).

The anti-replay window is not run here: the sequence numbers are queued per SA with where
each record's verdict sits in the text (written ``"accepted"``), and the caller runs the
window over all segments in capture order and rewrites the few verdicts that differ
(:mod:`ipsecctl.diag.packets.stream`). This function is pure: what goes to a
worker process is a :class:`~ipsecctl.diag.packets.reader.Segment` and the SA list.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from hmac import compare_digest
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, modes

from ipsecctl.diag.packets.inner import summarize
from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.pcap import Frame, classify
from ipsecctl.diag.packets.plausible import PLAUSIBLE_NEXT_HEADERS
from ipsecctl.diag.packets.reader import PCAPNG_SHB, Segment, iter_pcapng_segment, read_idb
from ipsecctl.diag.packets.report import DEFERRED, Analyzer, Options, _iso, _SaState

_ENCODE = json.JSONEncoder(separators=(",", ":")).encode
_PADS = [bytes(range(1, k + 1)) for k in range(256)]
_NOT_FAST = object()
_CACHE_MAX = 8192
_NESTED = (50, 51)  # inner ESP/AH: the Analyzer follows the nesting
_IPV6_EXT = frozenset({0, 43, 44, 60, 135, 139, 140})
_REC = struct.Struct("<IIII")
_REC_BE = struct.Struct(">IIII")
_RAW = frozenset({101, 228, 229, 12, 14})
Record = tuple[int, float, int, int, int, int]
"""(frame number, time, link type, first byte, end byte, original length) in a segment."""


@dataclass(slots=True)
class Chunk:
    """What one segment gives (picklable, mostly one string)."""

    text: str
    """The records as JSON text joined by commas. A deferred ``replay`` reads ``"accepted"``
    until the window says otherwise (what it says for nearly every packet)."""
    records: int
    sas: list[tuple[tuple[str, int, str, str], dict[str, Any], dict[str, int]]]
    """Per SA in first-seen order: key, fixed description, counters."""
    seqs: list[list[int]]
    """Per SA: the sequence numbers queued for the anti-replay window, in capture order."""
    where: list[list[int]]
    """Per SA: the offset in ``text`` of each deferred record's ``"accepted"``."""
    counts: dict[str, int] = field(default_factory=dict)
    unsupported: dict[int, list[int]] = field(default_factory=dict)
    """Link type -> frames skipped because the reader does not decode that link type."""


class _Fast:
    """Per (SA, outer addresses, ports): cipher objects and the constant parts of a record.

    CBC: one decryptor per SA for the whole segment. In CBC each plaintext block is D(C_i)
    XOR C_(i-1); feeding the packet's IV block and then its ciphertext into a running CBC
    decryptor makes the IV the "previous block" of the first ciphertext block, so everything
    after the first output block is the packet's plaintext -- the same bytes a fresh
    ``modes.CBC(iv)`` decryptor gives, without building one per packet (which costs more than
    the decryption).
    """

    __slots__ = ("aead", "align", "cbc", "head", "hmac", "icv_len", "iv_len", "kind",
                 "min_len", "n", "salt", "seqs", "st", "tail", "where")  # fmt: skip

    def __init__(self, st: _SaState, head: str) -> None:
        cipher = st.cipher
        assert cipher is not None
        self.st = st
        self.kind = cipher.kind
        self.iv_len = cipher.iv_len
        self.icv_len = cipher.icv_len
        self.min_len = 8 + cipher.iv_len + cipher.icv_len + 2
        self.align = cipher.align
        self.aead = cipher._aead
        self.salt = cipher._salt
        self.hmac = cipher._hmac
        self.cbc: CipherContext | None = None
        if self.kind == "cbc":
            assert cipher._algo is not None
            self.cbc = Cipher(cipher._algo, modes.CBC(bytes(self.iv_len))).decryptor()
        self.head = head
        self.tail = (
            f'"seq_hi":null,"icv":"ok","decrypted":true,"pad_ok":true,'
            f'"wrong_key_suspected":false,"icv_len":{self.icv_len},"nested":[],"error":null,'
        )
        self.n = 0
        self.seqs = st.seqs
        self.where = st.where


def _fast_ok(st: _SaState) -> bool:
    """Suites the fast path opens: AEAD with a 16-byte tag, CBC with a checked HMAC."""
    c = st.cipher
    if c is None or st.esn or st.protocol != "esp":
        return False
    if c.kind in ("gcm", "chacha"):
        return c.icv_len == 16 and c._aead is not None
    return c.kind == "cbc" and c._hmac is not None and c._algo is not None


_ACCEPTED = '"accepted"}'
_ACCEPTED_BACK = len(_ACCEPTED)
_INNER_TUNNEL = '{"mode":"tunnel","length":'


class SegmentAnalyzer:
    """Analyse segments of one capture; :meth:`chunk` hands back what was found."""

    def __init__(
        self, sas: list[SecurityAssociation], opts: Options, summary_only: bool = False
    ) -> None:
        self.an = Analyzer(sas, opts)
        self.an.defer_replay = True
        self.summary_only = summary_only
        self.texts: list[str] = []
        self.pos = 0
        """Length of the text so far (records plus the commas between them)."""
        self.fast: dict[bytes, Any] = {}
        self.inner: dict[bytes, str] = {}
        self.unsupported: dict[int, list[int]] = {}

    # ----------------------------------------------------------------- slow path
    def _slow(self, frame: Frame) -> None:
        an = self.an
        if frame.error is None:
            classify(frame)
            if frame.error is not None and frame.error.startswith("unsupported link"):
                self.unsupported.setdefault(frame.linktype, []).append(frame.number)
        an.feed(frame)
        if not an.packets:
            return
        deferred = iter(an.deferred_states)
        for rec in an.packets:
            verdict = rec.pop("replay")
            st = next(deferred) if verdict == DEFERRED else None
            if self.summary_only:
                continue
            text = _ENCODE(rec)[:-1] + ',"replay":'
            if st is not None:
                text += _ACCEPTED
                st.where.append(self.pos + len(text) - _ACCEPTED_BACK)
            else:
                text += ("null" if verdict is None else f'"{verdict}"') + "}"
            self.texts.append(text)
            self.pos += len(text) + 1
        an.packets.clear()
        an.deferred_states.clear()

    # ----------------------------------------------------------------- one segment
    def feed(self, seg: Segment) -> None:
        records = self._pcapng(seg) if seg.format == "pcapng" else self._pcap(seg)
        self._run(seg.data, records)

    def _pcap(self, seg: Segment) -> Iterator[Record | Frame]:
        """Records of a pcap-layout segment: (number, time, link type, start, end, orig)."""
        buf = seg.data
        unpack = (_REC if seg.endian == "<" else _REC_BE).unpack_from
        unit, lt = seg.unit, seg.linktype
        p, n, number = 0, len(buf), seg.first
        while p + 16 <= n:
            sec, frac, incl, orig = unpack(buf, p)
            d0 = p + 16
            p = d0 + incl
            if p > n:
                frame = Frame(number, sec + frac * unit, lt, buf[d0:n], orig)
                frame.error = "truncated record (capture file ends early)"
                yield frame
                return
            yield number, sec + frac * unit, lt, d0, p, orig
            number += 1

    def _pcapng(self, seg: Segment) -> Iterator[Record | Frame]:
        """Records of a pcapng-layout segment; frames the general reader decodes (blocks
        other than an Enhanced Packet Block) come as :class:`Frame` s."""
        buf = seg.data
        endian = seg.endian
        ifaces = list(seg.ifaces)
        epb = struct.Struct(endian + "IIIII")
        n, p, number = len(buf), 0, seg.first
        while p + 12 <= n:
            if buf[p : p + 4] == PCAPNG_SHB:
                endian = "<" if buf[p + 8 : p + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                epb = struct.Struct(endian + "IIIII")
            btype, blen = struct.unpack_from(endian + "II", buf, p)
            body, bend = p + 8, p + blen - 4
            if btype == 6 and bend - body >= 20:
                iface, hi, lo, incl, orig = epb.unpack_from(buf, body)
                if iface < len(ifaces) and body + 20 + incl <= bend:
                    lt, unit, _snap = ifaces[iface]
                    yield number, ((hi << 32) | lo) * unit, lt, body + 20, body + 20 + incl, orig
                    number += 1
                    p += blen
                    continue
            one = Segment("pcapng", number, 0, buf[p : p + blen], endian, ifaces=tuple(ifaces))
            for frame in iter_pcapng_segment(one):
                yield frame
                number += 1
            if btype == 0x0A0D0D0A:
                ifaces = []
            elif btype == 1 and bend - body >= 8:
                ifaces.append(read_idb(buf, body, bend, endian))
            p += blen

    # ----------------------------------------------------------------- the packets
    def _run(self, buf: bytes, records: Iterator[Record | Frame]) -> None:
        """Open every record on the fast path, or hand it to the Analyzer.

        One loop with everything it touches in local variables: per packet, attribute
        lookups and a method call cost as much as the decryption. A record that fails any
        check (``break`` out of the one-pass ``while``) goes to :meth:`_slow`, which says
        exactly what is wrong with it.
        """
        fast, inner_cache, app = self.fast, self.inner, self.texts.append
        summary_only, slow, new_fast = self.summary_only, self._slow, self._new_fast
        pads, nested, raw, ipv6_ext = _PADS, _NESTED, _RAW, _IPV6_EXT
        plausible, encode, accepted, back = (
            PLAUSIBLE_NEXT_HEADERS,
            _ENCODE,
            _ACCEPTED,
            _ACCEPTED_BACK,
        )
        iso_heads: dict[int, str] = {}
        pos = self.pos
        for rec in records:
            if isinstance(rec, Frame):
                self.pos = pos
                slow(rec)
                pos = self.pos
                continue
            number, ts, lt, d0, d1, orig = rec
            done = False
            while True:  # one pass; ``break`` hands the frame to the Analyzer
                # -- link layer -> IP
                if lt == 1:
                    et = buf[d0 + 12 : d0 + 14]
                    if et != b"\x08\x00" and et != b"\x86\xdd":
                        break
                    ip = d0 + 14
                elif lt in raw:
                    ip = d0
                elif lt == 113:
                    ip = d0 + 16
                else:
                    break
                if d1 - ip < 48:
                    break
                if buf[ip] == 0x45:
                    end = ip + ((buf[ip + 2] << 8) | buf[ip + 3])
                    if end > d1 or end < ip + 20 or (buf[ip + 6] & 0x3F) or buf[ip + 7]:
                        break
                    proto = buf[ip + 9]
                    if proto == 50:
                        esp = ip + 20
                        key = buf[ip + 12 : ip + 24]
                    elif proto == 17:
                        esp = ip + 28
                        key = buf[ip + 12 : ip + 24] + buf[esp : esp + 4]
                    else:
                        break
                elif buf[ip] >> 4 == 6:
                    end = ip + 40 + ((buf[ip + 4] << 8) | buf[ip + 5])
                    if end > d1 or end == ip + 40:
                        break
                    proto = buf[ip + 6]
                    if proto == 50:
                        esp = ip + 40
                        key = buf[ip + 8 : ip + 44]
                    elif proto == 17:
                        esp = ip + 48
                        key = buf[ip + 8 : ip + 44] + buf[esp : esp + 4]
                    else:
                        break
                else:
                    break
                fs = fast.get(key)
                if fs is None:
                    fs = new_fast(key, buf, ip, esp, end)
                if fs is _NOT_FAST or end - esp < fs.min_len:
                    break
                # -- authenticate and decrypt
                if fs.cbc is not None:
                    icv_start = end - fs.icv_len
                    ct_len = icv_start - esp - 8 - fs.iv_len
                    if ct_len <= 0 or ct_len % fs.align:
                        break
                    h = fs.hmac.copy()
                    h.update(buf[esp:icv_start])
                    if not compare_digest(h.finalize()[: fs.icv_len], buf[icv_start:end]):
                        break
                    pt = fs.cbc.update(buf[esp + 8 : icv_start])[fs.iv_len :]
                else:
                    try:
                        pt = fs.aead.decrypt(fs.salt + buf[esp + 8 : esp + 16],
                                             buf[esp + 16 : end], buf[esp : esp + 8])  # fmt: skip
                    except InvalidTag:
                        break
                # -- RFC 4303 trailer and a plausible payload
                m = len(pt) - 2
                pad = pt[m]
                nh = pt[m + 1]
                m -= pad
                if m < 0 or (pad and pt[m : m + pad] != pads[pad]):
                    break
                if nh == 4:
                    if m < 24 or pt[0] != 0x45:
                        if m < 20 or pt[0] >> 4 != 4:
                            break
                        ihl = (pt[0] & 15) * 4
                        ck = b""
                    else:
                        ihl = 20
                        ck = pt[6:10] + pt[12:24]
                    total = (pt[2] << 8) | pt[3]
                    hv = int.from_bytes(pt[:ihl], "big")
                    if ihl < 20 or total < ihl or total > m or hv % 0xFFFF or not hv:
                        break
                    if pt[9] in nested:
                        break
                    if total < 24:
                        ck = b""
                elif nh == 41:
                    if m < 40 or pt[0] >> 4 != 6:
                        break
                    plen = (pt[4] << 8) | pt[5]
                    if 40 + plen > m or plen == 0 or pt[6] in nested:
                        break
                    ck = b"" if pt[6] in ipv6_ext or plen < 4 else b"6" + pt[6:7] + pt[8:44]
                elif nh in plausible and nh not in nested:
                    ck = b""
                else:
                    break
                # -- the record
                seq = int.from_bytes(buf[esp + 4 : esp + 8], "big")
                fs.n += 1
                fs.seqs.append(seq)
                done = True
                if summary_only:
                    break
                rest = inner_cache.get(ck) if ck else None
                if rest is None:
                    summary = encode(summarize(pt[:m], nh))
                    # the summary's first keys are mode and length; the rest depends only on
                    # the header bytes in the key (the checks above keep them inside)
                    _, _, rest = summary.partition(f',"length":{m},')
                    if ck:
                        if len(inner_cache) >= _CACHE_MAX:
                            inner_cache.clear()
                        inner_cache[ck] = rest
                    inner = summary
                else:
                    inner = f"{_INNER_TUNNEL}{m},{rest}"
                # the time as _iso() writes it, with its whole-second prefix cached here
                sec = int(ts // 1)
                usec = round((ts - sec) * 1e6)
                if usec >= 1_000_000:
                    sec, usec = sec + 1, usec - 1_000_000
                head = iso_heads.get(sec)
                if head is None:
                    head = iso_heads[sec] = _iso(float(sec))[:-1]
                when = f"{head}.{usec:06d}Z" if usec else f"{head}Z"
                text = (
                    f'{{"frame":{number},"time":"{when}",{fs.head}"seq":{seq},"pad_len":{pad},'
                    f'"next_header":{nh},{fs.tail}"inner":{inner},"replay":{accepted}'
                )
                app(text)
                pos += len(text)
                fs.where.append(pos - back)
                pos += 1
                break
            if not done:
                self.pos = pos
                slow(Frame(number, ts, lt, buf[d0:d1], orig))
                pos = self.pos
        self.pos = pos

    def _new_fast(self, key: bytes, buf: bytes, ip: int, esp: int, end: int) -> Any:
        """Look the SA up once per (SPI, addresses, ports) and decide whether it goes fast."""
        frame = Frame(0, 0.0, 101, buf[ip:end], 0)
        classify(frame)
        fip = frame.ip
        if fip is None or frame.kind != "esp":
            self.fast[key] = _NOT_FAST
            return _NOT_FAST
        spi = int.from_bytes(buf[esp : esp + 4], "big")
        st = self.an._state("esp", spi, fip.src, fip.dst)
        if not _fast_ok(st):
            self.fast[key] = _NOT_FAST
            return _NOT_FAST
        head = {"src": fip.src, "dst": fip.dst, "protocol": "esp",
                "udp_encap": frame.udp_encap, "sport": frame.sport, "dport": frame.dport,
                "spi": spi}  # fmt: skip
        fs = _Fast(st, _ENCODE(head)[1:-1] + ",")
        self.fast[key] = fs
        return fs

    # ----------------------------------------------------------------- result
    def chunk(self) -> Chunk:
        """Everything found so far (counters flushed into the Analyzer's), for the merge."""
        an = self.an
        ok = 0
        for fs in self.fast.values():
            if fs is _NOT_FAST or not fs.n:
                continue
            c = fs.st.counts
            c["packets"] += fs.n
            c["icv_ok"] += fs.n
            c["decrypted"] += fs.n
            ok += fs.n
            fs.n = 0
        counts = dict(an.counts)
        for k in ("frames", "esp", "icv_ok", "decrypted"):
            counts[k] += ok
        states = list(an.states.values())
        return Chunk(
            ",".join(self.texts),
            len(self.texts),
            [(st.key, st.describe(), dict(st.counts)) for st in states],
            [st.seqs for st in states],
            [st.where for st in states],
            counts,
            self.unsupported,
        )


def record_text(rec: dict[str, Any]) -> str:
    """A record dict as JSON text with ``replay`` last (for the frame-by-frame path)."""
    verdict = rec.pop("replay")
    return _ENCODE(rec)[:-1] + ',"replay":' + ("null" if verdict is None else f'"{verdict}"') + "}"


def analyse_segment(
    seg: Segment, sas: list[SecurityAssociation], opts: Options, summary_only: bool = False
) -> Chunk:
    """Analyse one segment from scratch (what a worker process runs; a detached segment is
    read from its file here)."""
    sa = SegmentAnalyzer(sas, opts, summary_only)
    sa.feed(seg.load())
    return sa.chunk()
