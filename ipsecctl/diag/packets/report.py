"""Run a capture through the ESP/AH decoders and the replay analysis; build the JSON-ready report.

This is the one place that ties the pieces together (reader -> SA lookup -> open/verify ->
replay window -> inner summary). Per-SA state (cipher objects, window) is created once and kept
in a dict keyed by (protocol, SPI, src, dst) so the per-packet path allocates little.
Packet problems become per-packet ``error`` values; only unreadable files and key files raise.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipsecctl.diag.packets import ah as ah_mod
from ipsecctl.diag.packets.common import iso_utc
from ipsecctl.diag.packets.esp import (
    ICV_BAD,
    ICV_NO_KEY,
    ICV_OK,
    ICV_UNVERIFIED,
    EspCipher,
    EspResult,
)
from ipsecctl.diag.packets.inner import summarize
from ipsecctl.diag.packets.keys import KeyTable, SecurityAssociation
from ipsecctl.diag.packets.pcap import (
    KIND_AH,
    KIND_ESP,
    KIND_IKE,
    KIND_NAT_KEEPALIVE,
    Frame,
    IPHeader,
    decode_ip,
)
from ipsecctl.diag.packets.reader import CaptureInfo, open_capture
from ipsecctl.diag.packets.replay import ReplayWindow, SaReplayStats

SUMMARY_KEYS = (
    "esp", "ah", "decrypted", "icv_ok", "icv_bad", "no_key", "unverified", "malformed",
    "replayed", "too_old",
)  # fmt: skip
_ESP_HDR = struct.Struct("!II")
MAX_NESTING = 4


@dataclass(slots=True)
class Options:
    replay_window: int = 64
    esn: bool = False
    """Treat every SA as using extended sequence numbers (estimate the high half, RFC 4303 A2)."""
    collect_decrypted: bool = False


@dataclass(slots=True)
class _SaState:
    protocol: str
    spi: int
    src: str
    dst: str
    sa: SecurityAssociation | None
    esn: bool
    stats: SaReplayStats
    cipher: EspCipher | None = None
    ah: ah_mod.AhVerifier | None = None
    counts: dict[str, int] = field(default_factory=dict)
    index: int = 0
    """Position in first-seen order (the order of the report's ``sas``)."""
    seqs: list[int] = field(default_factory=list)
    """Deferred mode: sequence numbers queued for the anti-replay window, in capture order."""
    where: list[int] = field(default_factory=list)
    """Deferred mode: where each queued packet's verdict goes in the segment's JSON text."""

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.protocol, self.spi, self.src, self.dst)

    def describe(self) -> dict[str, Any]:
        """The SA's row in ``sas`` without key material; the whole-capture report and the
        parallel chunks build it here so that both outputs carry the same keys."""
        sa = self.sa
        return {
            "protocol": self.protocol, "spi": self.spi, "src": self.src, "dst": self.dst,
            "key": sa is not None,
            "encryption": sa.encryption.name if sa and sa.encryption else None,
            "integrity": sa.integrity.name if sa else None,
            "esn": self.esn,
        }  # fmt: skip


@dataclass(slots=True)
class Analysis:
    packets: list[dict[str, Any]]
    summary: dict[str, Any]
    sas: list[dict[str, Any]]
    decrypted: list[tuple[float, bytes]]
    warnings: list[str]

    @property
    def problems(self) -> int:
        """Findings that make the command exit 3 (wrong keys, bad ICV, replays)."""
        return problems(self.summary)


def problems(s: dict[str, Any]) -> int:
    """Findings in a ``diag esp`` summary that make the command exit 3."""
    return int(s["icv_bad"] + s["wrong_key_suspected"] + s["replayed"] + s["too_old"])


def _rebuild_transport(data: bytes, ip: IPHeader, payload: bytes, nh: int) -> bytes:
    """Outer IP header re-pointed at the decrypted upper layer (transport mode)."""
    if ip.version == 4:
        hdr = bytearray(data[ip.offset : ip.offset + ip.header_len])
        hdr[9] = nh
        struct.pack_into("!H", hdr, 2, len(hdr) + len(payload))
        hdr[10:12] = b"\x00\x00"
        total = sum(struct.unpack(f"!{len(hdr) // 2}H", bytes(hdr)))
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        struct.pack_into("!H", hdr, 10, ~total & 0xFFFF)
        return bytes(hdr) + payload
    hdr = bytearray(data[ip.offset : ip.offset + 40])
    hdr[6] = nh
    struct.pack_into("!H", hdr, 4, len(payload))
    return bytes(hdr) + payload


DEFERRED = "\x00"
"""``replay`` of a record whose verdict is decided later (deferred mode); the batched path
writes such a record with ``"accepted"`` and the merge rewrites the few the window rejects."""


_ISO_SECOND: dict[int, str] = {}


def _iso(ts: float) -> str:
    """Capture timestamp as ISO-8601 UTC (the JSON contract for times).

    Why a cache: captures hold thousands of packets per second, and building a datetime per
    packet costs more than decrypting it. The whole-second prefix is computed once per second;
    the fraction follows ``datetime.isoformat`` (no fraction at .000000, else 6 digits).
    """
    sec = int(ts // 1)
    usec = round((ts - sec) * 1e6)
    if usec >= 1_000_000:
        sec, usec = sec + 1, usec - 1_000_000
    head = _ISO_SECOND.get(sec)
    if head is None:
        full = iso_utc(sec) or "1970-01-01T00:00:00Z"
        head = full[:-1]
        if len(_ISO_SECOND) > 4096:
            _ISO_SECOND.clear()
        _ISO_SECOND[sec] = head
    return f"{head}.{usec:06d}Z" if usec else f"{head}Z"


class Analyzer:
    """Stateful analysis of one capture (feed frames in order)."""

    def __init__(self, sas: Iterable[SecurityAssociation], opts: Options | None = None) -> None:
        self.opts = opts or Options()
        sa_list = list(sas)
        self.keys = KeyTable(sa_list)
        self.keys_given = bool(sa_list)
        self.states: dict[tuple[str, int, str, str], _SaState] = {}
        self.packets: list[dict[str, Any]] = []
        self.decrypted: list[tuple[float, bytes]] = []
        self.counts = dict.fromkeys(SUMMARY_KEYS, 0)
        self.counts.update(frames=0, ike=0, nat_keepalive=0, wrong_key_suspected=0)
        self._ciphers: dict[int, EspCipher] = {}
        self.defer_replay = False
        """When set, replay-window input is queued (``_SaState.seqs``, ``deferred_states``)
        instead of checked, and the record's ``replay`` is :data:`DEFERRED`: the batched path
        checks it later, in capture order, over all segments."""
        self.deferred_states: list[_SaState] = []
        """Deferred mode: the SA of each deferred record, in record order."""

    # ---------------------------------------------------------------- SA state
    def _state(self, proto: str, spi: int, src: str, dst: str) -> _SaState:
        key = (proto, spi, src, dst)
        st = self.states.get(key)
        if st is None:
            sa = self.keys.lookup(proto, spi, src, dst)
            esn = self.opts.esn or (sa.esn if sa else False)
            st = _SaState(proto, spi, src, dst, sa, esn,
                          SaReplayStats(ReplayWindow(self.opts.replay_window)))  # fmt: skip
            st.counts = dict.fromkeys(("icv_ok", "icv_bad", "unverified", "no_key"), 0)
            st.counts["decrypted"] = 0
            st.counts["packets"] = 0
            st.index = len(self.states)
            if sa is not None:
                if proto == "esp" and sa.encryption is not None:
                    st.cipher = self._cipher_for(sa, esn)
                elif proto == "ah":
                    st.ah = ah_mod.AhVerifier(sa)
                    st.ah.esn = esn
            self.states[key] = st
        return st

    def _cipher_for(self, sa: SecurityAssociation, esn: bool) -> EspCipher:
        """One cipher per SA object (wildcard SAs serve several SPIs with one key schedule)."""
        c = self._ciphers.get(id(sa))
        if c is None:
            c = EspCipher(sa)
            c.esn = esn
            self._ciphers[id(sa)] = c
        return c

    # ---------------------------------------------------------------- per frame
    def feed(self, frame: Frame) -> None:
        c = self.counts
        c["frames"] += 1
        kind = frame.kind
        if kind == KIND_ESP:
            self._esp(frame)
        elif kind == KIND_AH:
            self._ah(frame)
        elif kind == KIND_IKE:
            c["ike"] += 1
        elif kind == KIND_NAT_KEEPALIVE:
            c["nat_keepalive"] += 1

    def _record(self, frame: Frame, proto: str) -> dict[str, Any]:
        """Count the packet and add its record with every key present, so that the JSON and
        CSV rows of ESP and AH packets have the same columns whatever happens next."""
        ip = frame.ip
        assert ip is not None
        self.counts[proto] += 1
        rec = {
            "frame": frame.number, "time": _iso(frame.time), "src": ip.src, "dst": ip.dst,
            "protocol": proto, "udp_encap": frame.udp_encap, "sport": frame.sport,
            "dport": frame.dport, "spi": None, "seq": None, "seq_hi": None, "icv": ICV_NO_KEY,
            "decrypted": False, "pad_ok": None, "pad_len": None, "next_header": None,
            "wrong_key_suspected": False, "icv_len": None, "replay": None, "inner": None,
            "nested": [],
            "error": frame.error,
        }  # fmt: skip
        self.packets.append(rec)
        return rec

    def _esp(self, frame: Frame) -> None:
        c = self.counts
        rec = self._record(frame, "esp")
        ip = frame.ip
        assert ip is not None
        data, off, end = frame.data, frame.payload_offset, ip.end
        if end - off < 8:
            if end - off >= 4:
                rec["spi"] = int.from_bytes(data[off : off + 4], "big")
            rec["error"] = "truncated ESP header"
            c["malformed"] += 1
            return
        spi, seq = _ESP_HDR.unpack_from(data, off)
        rec["spi"], rec["seq"] = spi, seq
        st = self._state("esp", spi, ip.src, ip.dst)
        st.counts["packets"] += 1
        seq64 = seq
        if st.esn:
            hi = st.stats.window.seq_hi(seq)
            seq64 = (hi << 32) | seq
            rec["seq_hi"] = hi
        if st.cipher is None:
            rec["icv"] = ICV_NO_KEY
            c["no_key"] += 1
            st.counts["no_key"] += 1
            if st.sa is None and self.keys_given and rec["error"] is None:
                rec["error"] = "unknown SPI: no key for it in the key file"
            self._replay(rec, st, seq64)
            return
        res = st.cipher.open(data, off, end, seq64 >> 32)
        rec["icv_len"] = st.cipher.icv_len
        self._apply(rec, res, st)
        if res.error and not res.wrong_key_suspected:
            c["malformed"] += 1
        if ip.truncated and rec["error"] is None and not res.decrypted:
            rec["error"] = "packet truncated in the capture"
        if res.icv == ICV_OK or (res.icv == ICV_UNVERIFIED and not res.wrong_key_suspected
                                 and res.error is None):  # fmt: skip
            self._replay(rec, st, seq64)
        if res.decrypted and res.plaintext is not None and res.next_header is not None:
            self._inner(frame, rec, res.plaintext, res.next_header)

    def _apply(self, rec: dict[str, Any], res: EspResult, st: _SaState) -> None:
        c = self.counts
        rec["icv"] = res.icv
        rec["decrypted"] = res.decrypted
        rec["pad_ok"] = res.pad_ok
        rec["pad_len"] = res.pad_len
        rec["next_header"] = res.next_header
        rec["wrong_key_suspected"] = res.wrong_key_suspected
        if res.error:
            rec["error"] = res.error
        elif res.wrong_key_suspected:
            rec["error"] = "padding/next header implausible: wrong key or algorithm?"
        icv = res.icv
        if icv == ICV_OK:
            c["icv_ok"] += 1
            st.counts["icv_ok"] += 1
        elif icv == ICV_BAD:
            c["icv_bad"] += 1
            st.counts["icv_bad"] += 1
            rec["error"] = rec["error"] or "ICV mismatch: wrong authentication key or corrupted"
        elif icv == ICV_UNVERIFIED:
            c["unverified"] += 1
            st.counts["unverified"] += 1
        if res.decrypted:
            c["decrypted"] += 1
            st.counts["decrypted"] += 1
        if res.wrong_key_suspected:
            c["wrong_key_suspected"] += 1

    def _replay(self, rec: dict[str, Any], st: _SaState, seq64: int) -> None:
        """Run (or queue) the anti-replay window for an authenticated packet."""
        if self.defer_replay:
            rec["replay"] = DEFERRED
            st.seqs.append(seq64)
            self.deferred_states.append(st)
            return
        rec["replay"] = verdict = st.stats.record(seq64)
        self._count_replay(verdict)

    def _count_replay(self, verdict: str | None) -> None:
        if verdict == "replay":
            self.counts["replayed"] += 1
        elif verdict == "too_old":
            self.counts["too_old"] += 1

    def _inner(self, frame: Frame, rec: dict[str, Any], payload: bytes, nh: int) -> None:
        """Summarise the payload; follow ESP nested in tunnel mode; keep it for --write."""
        rec["inner"] = summarize(payload, nh)
        innermost, inner_nh = payload, nh
        depth = 0
        # Nested ESP (ESP in a tunnel-mode ESP) is rare: decode the inner IP again only then.
        nested_esp = rec["inner"].get("proto") == 50
        while nested_esp and inner_nh in (4, 41) and depth < MAX_NESTING:
            ip = decode_ip(innermost, 0)
            if (
                isinstance(ip, str)
                or ip.proto != 50
                or ip.fragment
                or ip.end - ip.payload_offset < 8
            ):
                break
            spi, seq = _ESP_HDR.unpack_from(innermost, ip.payload_offset)
            sa = self.keys.lookup("esp", spi, ip.src, ip.dst)
            layer: dict[str, Any] = {"spi": spi, "seq": seq, "src": ip.src, "dst": ip.dst,
                                     "icv": ICV_NO_KEY, "decrypted": False}  # fmt: skip
            rec["nested"].append(layer)
            if sa is None or sa.encryption is None:
                break
            res = self._cipher_for(sa, sa.esn).open(innermost, ip.payload_offset, ip.end)
            layer.update(icv=res.icv, decrypted=res.decrypted, pad_ok=res.pad_ok,
                         pad_len=res.pad_len, next_header=res.next_header,
                         wrong_key_suspected=res.wrong_key_suspected, error=res.error)  # fmt: skip
            if res.icv == ICV_BAD or res.wrong_key_suspected:
                self.counts["wrong_key_suspected" if res.wrong_key_suspected else "icv_bad"] += 1
            if not res.decrypted or res.plaintext is None or res.next_header is None:
                break
            innermost, inner_nh = res.plaintext, res.next_header
            layer["inner"] = summarize(innermost, inner_nh)
            depth += 1
        if self.opts.collect_decrypted:
            if inner_nh in (4, 41):
                self.decrypted.append((frame.time, innermost))
            elif frame.ip is not None and not rec["nested"]:
                self.decrypted.append(
                    (frame.time, _rebuild_transport(frame.data, frame.ip, innermost, inner_nh))
                )

    def _ah(self, frame: Frame) -> None:
        c = self.counts
        rec = self._record(frame, "ah")
        ip = frame.ip
        assert ip is not None
        hdr = ah_mod.parse_header(frame.data, frame.payload_offset, ip.end)
        if isinstance(hdr, str):
            rec["error"] = hdr
            c["malformed"] += 1
            return
        rec["spi"], rec["seq"], rec["next_header"] = hdr.spi, hdr.seq, hdr.next_header
        rec["icv_len"] = hdr.icv_len
        st = self._state("ah", hdr.spi, ip.src, ip.dst)
        st.counts["packets"] += 1
        seq64 = hdr.seq
        if st.esn:
            hi = st.stats.window.seq_hi(hdr.seq)
            seq64 = (hi << 32) | hdr.seq
            rec["seq_hi"] = hi
        if st.ah is None:
            icv = ICV_NO_KEY
        else:
            res = st.ah.verify(frame.data, ip, hdr, seq64 >> 32)
            icv = res.icv
            if res.error:
                rec["error"] = res.error
        rec["icv"] = icv
        key = {ICV_OK: "icv_ok", ICV_BAD: "icv_bad", ICV_NO_KEY: "no_key"}.get(icv, "unverified")
        c[key] += 1
        st.counts[key] += 1
        if icv == ICV_BAD and rec["error"] is None:
            rec["error"] = "ICV mismatch: wrong authentication key or corrupted"
        if icv != ICV_BAD:
            self._replay(rec, st, seq64)
        payload = frame.data[hdr.payload_offset : ip.end]
        rec["inner"] = summarize(payload, hdr.next_header)
        if self.opts.collect_decrypted and icv != ICV_BAD:
            if hdr.next_header in (4, 41):
                self.decrypted.append((frame.time, payload))
            else:
                self.decrypted.append(
                    (frame.time, _rebuild_transport(frame.data, ip, payload, hdr.next_header))
                )

    # ---------------------------------------------------------------- result
    def result(self, warnings: list[str] | None = None) -> Analysis:
        sas = []
        for st in self.states.values():
            d = st.describe()
            d.update(st.stats.as_dict())
            d["replay_checked"] = d.pop("packets")
            d.update(st.counts)
            sas.append(d)
        summary: dict[str, Any] = dict(self.counts)
        summary["sas"] = sas
        return Analysis(self.packets, summary, sas, self.decrypted, list(warnings or []))


def analyse(
    capture: str | Path,
    sas: Iterable[SecurityAssociation],
    opts: Options | None = None,
    fmt: str | None = None,
) -> Analysis:
    """Decode, decrypt and replay-check every ESP/AH packet of ``capture`` (kept in memory)."""
    info = CaptureInfo()
    an = Analyzer(sas, opts)
    for frame in open_capture(capture, info, fmt):
        an.feed(frame)
    return an.result(info.warnings)
