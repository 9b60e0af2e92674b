"""What a capture taken on a device says about one tunnel: the ``diag capture`` report.

Pure: packets in (:class:`~ipsecctl.diag.packets.pcap.Frame` s from a pcap, a pcapng or a
printed capture), together with what the device said in the same poll (its IPsec SAs, with
their direction) and the SPIs seen in earlier polls; a :class:`CaptureReport` out. The device
side (running the capture commands, confirmation, audit, cleanup) calls this; nothing here
touches the network or the disk.

Per ESP SPI: the device SA it belongs to (direction, transform) or, failing that, the
direction from the device's local address; whether the SPI is one of the device's current
SAs, one seen before (``previous``) or neither; packets, first and last sequence numbers,
missing numbers, duplicates and packets outside the RFC 4303 anti-replay window (the
:mod:`~ipsecctl.diag.packets.replay` engine, with the SA's own window size when the device
shows it), the rate, and -- with keys -- how many decrypted and how many ICVs verified.
IKE messages are decoded (exchange, initiator, message id, payloads in clear, notifies).

Findings use the codes ``diag health`` uses for the same fault (``ONE_WAY_TRAFFIC``,
``ONE_WAY_TRAFFIC_INBOUND``, ``INVALID_SPI``, ``REPLAY_FAILURES``, ``VERIFY_FAILURES``) and
add what only the wire shows (``ESP_SEQUENCE_GAPS``, ``IKE_NO_RESPONSE``,
``PROPOSAL_MISMATCH_P1/P2``, ``IKE_INVALID_KE``, ``IKE_AUTH_FAILED``, ``TS_UNACCEPTABLE``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ipsecctl.diag.ike.charon_keys import CharonKeys, bind_from_messages
from ipsecctl.diag.ike.decode import decode_frames, ike_message, transform_keyword
from ipsecctl.diag.ike.keys import KeyTable
from ipsecctl.diag.ike.timeline import build_sas
from ipsecctl.diag.packets.common import iso_utc
from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.pcap import KIND_IKE, Frame
from ipsecctl.diag.packets.replay import ReplayWindow, SaReplayStats
from ipsecctl.diag.packets.report import Analyzer, Options
from ipsecctl.models import SCHEMA, Finding, IpsecSa, dump

ONE_WAY_MIN_PACKETS = 5
"""ESP packets one way, none the other, before the capture calls the tunnel one-way (the
counter rule in ``diag health`` uses the same number between two polls)."""
DEFAULT_WINDOW = 64


@dataclass
class SpiReport:
    spi: int
    src: str
    dst: str
    direction: str = "unknown"
    known: str = "unknown"
    udp_encap: bool = False
    transform: str | None = None
    packets: int = 0
    first_time: float | None = None
    last_time: float | None = None
    decrypted: int = 0
    icv_ok: int = 0
    icv_bad: int = 0
    stats: SaReplayStats = field(default_factory=lambda: SaReplayStats(ReplayWindow(64)))
    esn: bool = False

    def to_dict(self) -> dict[str, Any]:
        ranges, missing = self.stats.gaps()
        span = (self.last_time or 0) - (self.first_time or 0)
        return {
            "spi": self.spi, "src": self.src, "dst": self.dst, "direction": self.direction,
            "known": self.known, "udp_encap": self.udp_encap, "transform": self.transform,
            "packets": self.packets, "first_seq": self.stats.first_seq,
            "last_seq": self.stats.highest if self.stats.packets else None,
            "gaps": missing, "gap_ranges": ranges, "duplicates": self.stats.duplicates,
            "outside_window": self.stats.too_old, "replays": self.stats.replays,
            "window": self.stats.window.size, "decrypted": self.decrypted,
            "icv_ok": self.icv_ok, "icv_bad": self.icv_bad,
            "rate_pps": round((self.packets - 1) / span, 3) if span > 0 else None,
        }  # fmt: skip


@dataclass
class CaptureReport:
    """The ``diag capture`` document (see :meth:`to_dict`)."""

    device: str
    peer: str | None
    vrf: str | None
    commands: list[str]
    packets: int
    duration_s: float | None
    esp: list[SpiReport]
    ike: list[dict[str, Any]]
    ike_sas: list[dict[str, Any]]
    findings: list[Finding]
    pcap: str | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"schema", "kind": "capture", device, peer, vrf, commands, packets, duration_s,
        esp, ike, findings, pcap}`` plus ``ike_sas`` and ``warnings``."""
        return {
            "schema": SCHEMA, "kind": "capture", "device": self.device, "peer": self.peer,
            "vrf": self.vrf, "commands": list(self.commands), "packets": self.packets,
            "duration_s": self.duration_s, "esp": [s.to_dict() for s in self.esp],
            "ike": self.ike, "ike_sas": self.ike_sas,
            "findings": [dump(f) for f in self.findings], "pcap": self.pcap,
            "warnings": list(self.warnings),
        }  # fmt: skip


def _proposal_text(prop: dict[str, Any]) -> str:
    """``aes256-sha256-prfsha256-modp2048`` for an IKEv2 proposal dict; IKEv1 attributes as
    ``key=value`` pairs."""
    words = []
    for t in prop.get("transforms", []):
        if "attributes" in t:
            words.append(",".join(f"{k}={v}" for k, v in t["attributes"].items()
                                  if not k.endswith("_name")))  # fmt: skip
        else:
            words.append(transform_keyword(t) or str(t.get("name")))
    return "-".join(w for w in words if w)


def _ike_row(m: dict[str, Any]) -> dict[str, Any]:
    payloads = [p.get("type") for p in m.get("payloads", [])]
    inner = [q.get("type") for p in m.get("payloads", []) for q in p.get("payloads") or []]
    proposals = [_proposal_text(prop) for p in m.get("payloads", []) if p.get("type") == "SA"
                 for prop in p.get("proposals", [])]  # fmt: skip
    return {
        "time": iso_utc(m.get("time")), "frame": m.get("frame"), "src": m.get("src"),
        "dst": m.get("dst"), "version": m.get("version"), "exchange": m.get("exchange"),
        "initiator": m.get("initiator"), "response": m.get("response"),
        "message_id": m.get("message_id"), "spi_i": m.get("spi_i"), "spi_r": m.get("spi_r"),
        "payloads": payloads, "encrypted_payloads": inner, "proposals": proposals,
        "notify": [n.get("name") for n in m.get("notify", [])],
        "retransmission": "retransmission_of" in m, "icv": m.get("icv"),
        "errors": list(m.get("errors", [])),
    }  # fmt: skip


def analyse_capture(
    packets: Iterable[Frame],
    *,
    device: str,
    peer: str | None = None,
    vrf: str | None = None,
    sas: Sequence[IpsecSa] = (),
    previous_spis: Iterable[int] = (),
    local_addr: str | None = None,
    keys: Sequence[SecurityAssociation] | CharonKeys | None = None,
    ike_keys: KeyTable | None = None,
    commands: Sequence[str] = (),
    pcap: str | None = None,
) -> CaptureReport:
    """The report for ``packets`` captured on ``device`` towards ``peer`` (see the module
    docstring). ``keys`` decrypt ESP, ``ike_keys`` IKE (both optional). ``keys`` may be what
    a charon log gave (:class:`~ipsecctl.diag.ike.charon_keys.CharonKeys`): its IKE key sets
    are then bound to this capture's IKE SAs by the messages their ICVs verify."""
    current = {sa.spi: sa for sa in sas if sa.protocol == "esp"}
    previous = set(previous_spis)
    charon = keys if isinstance(keys, CharonKeys) else None
    esp_keys: list[SecurityAssociation] = []
    if isinstance(keys, CharonKeys):
        esp_keys = list(keys.esp)
    elif keys:
        esp_keys = list(keys)
    an = Analyzer(esp_keys, Options(replay_window=0))
    spis: dict[tuple[int, str], SpiReport] = {}
    ike_frames: list[Frame] = []
    count = 0
    t_first = t_last = None
    for frame in packets:
        count += 1
        if frame.time:
            t_first = frame.time if t_first is None else min(t_first, frame.time)
            t_last = frame.time if t_last is None else max(t_last, frame.time)
        if frame.kind == KIND_IKE and ike_message(frame) is not None:
            ike_frames.append(frame)
            continue
        an.feed(frame)
        for rec in an.packets:
            if rec["protocol"] == "esp" and rec["spi"] is not None and rec["seq"] is not None:
                _count_esp(rec, frame, spis, current, previous, local_addr)
        an.packets.clear()
    if charon is not None and ike_keys is None:
        raw = {f.number: m for f in ike_frames if (m := ike_message(f)) is not None}
        bind_from_messages(charon, decode_frames(ike_frames), raw)
        ike_keys = charon.ike_table()
    messages = decode_frames(ike_frames, ike_keys)
    ike_sas = build_sas(messages)
    report = CaptureReport(
        device, peer, vrf, list(commands), count,
        round(t_last - t_first, 6) if t_first is not None and t_last is not None else None,
        list(spis.values()), [_ike_row(m) for m in messages], ike_sas, [], pcap,
    )  # fmt: skip
    report.findings = findings(report, have_sas=bool(current), peer=peer, device=device,
                               keys_given=bool(esp_keys))  # fmt: skip
    return report


def _count_esp(
    rec: dict[str, Any],
    frame: Frame,
    spis: dict[tuple[int, str], SpiReport],
    current: dict[int, IpsecSa],
    previous: set[int],
    local: str | None,
) -> None:
    spi, dst = rec["spi"], rec["dst"]
    s = spis.get((spi, dst))
    if s is None:
        sa = current.get(spi)
        window = sa.replay_window if sa is not None and sa.replay_window else DEFAULT_WINDOW
        s = spis[(spi, dst)] = SpiReport(spi, rec["src"], dst,
                                         stats=SaReplayStats(ReplayWindow(window)))  # fmt: skip
        if sa is not None:
            s.direction, s.known, s.transform, s.esn = sa.direction, "current", sa.transform, sa.esn
        else:
            s.known = "previous" if spi in previous else "unknown"
            if local is not None:
                s.direction = "in" if dst == local else "out" if rec["src"] == local else "unknown"
        s.udp_encap = bool(rec["udp_encap"])
    s.packets += 1
    if frame.time:
        s.first_time = frame.time if s.first_time is None else min(s.first_time, frame.time)
        s.last_time = frame.time if s.last_time is None else max(s.last_time, frame.time)
    icv = rec["icv"]
    if icv == "ok":
        s.icv_ok += 1
    elif icv == "bad":
        s.icv_bad += 1
    if rec["decrypted"]:
        s.decrypted += 1
    if icv != "bad":  # a receiver drops a bad ICV before its window sees the packet
        seq = rec["seq"]
        if s.esn:
            seq = (s.stats.window.seq_hi(seq) << 32) | seq
        s.stats.record(seq)


# ------------------------------------------------------------------------- findings
def findings(report: CaptureReport, *, have_sas: bool, peer: str | None, device: str,
             keys_given: bool) -> list[Finding]:  # fmt: skip
    """Findings from a report (pure; see the module docstring for the codes)."""
    out: list[Finding] = []
    cap = "seen in the capture"
    sent = sum(s.packets for s in report.esp if s.direction == "out")
    recv = sum(s.packets for s in report.esp if s.direction == "in")
    if sent >= ONE_WAY_MIN_PACKETS and recv == 0:
        out.append(Finding(
            code="ONE_WAY_TRAFFIC", severity="error", device=device, peer=peer,
            summary=f"traffic to {peer} is encrypted but nothing comes back ({cap})",
            evidence=[f"ESP out: {sent} packets on SPI(s) "
                      + ", ".join(f"0x{s.spi:08x}" for s in report.esp if s.direction == "out"),
                      "ESP in: 0 packets"],
            causes=["the peer has no route back into the tunnel",
                    "the peer's SA is stale (it drops our SPI)",
                    "ESP (IP 50) or UDP 4500 blocked towards this device"],
            next_steps=[f"show crypto ipsec sa peer {peer}   (on the peer)",
                        "show logging | include RECVD_PKT_INV_SPI   (on the peer)"],
            extra={"direction": "out", "source": "capture"},
        ))  # fmt: skip
    elif recv >= ONE_WAY_MIN_PACKETS and sent == 0:
        out.append(Finding(
            code="ONE_WAY_TRAFFIC_INBOUND", severity="error", device=device, peer=peer,
            summary=f"{peer} sends and nothing is encrypted back ({cap})",
            evidence=[f"ESP in: {recv} packets", "ESP out: 0 packets"],
            causes=["return traffic is not routed into the tunnel",
                    "local NAT before crypto (no NAT exemption)",
                    "the local crypto ACL does not match the return flow"],
            next_steps=["show ip route", "show crypto map", "show ip nat translations"],
            extra={"direction": "in", "source": "capture"},
        ))  # fmt: skip
    for s in report.esp:
        spi = f"0x{s.spi:08x}"
        if have_sas and s.direction == "in" and s.known != "current":
            what = "an SA it deleted" if s.known == "previous" else "an SPI it never had"
            out.append(Finding(
                code="INVALID_SPI", severity="error", device=device, peer=peer,
                summary=f"ESP from {s.src} arrives for {what} ({spi}, {cap})",
                evidence=[f"SPI {spi}: {s.packets} packets from {s.src}, known: {s.known}"],
                causes=["the peer still uses an SA this device deleted (one-sided clear, "
                        "reboot, lifetime skew)"],
                next_steps=[f"clear crypto sa peer {device}   (on {s.src}, the sending side)",
                            "crypto isakmp invalid-spi-recovery"],
                extra={"spi": s.spi, "known": s.known, "source": "capture"},
            ))  # fmt: skip
        bad_replay = s.stats.duplicates + s.stats.too_old
        if bad_replay:
            out.append(Finding(
                code="REPLAY_FAILURES", severity="error", device=device, peer=peer,
                summary=f"SPI {spi}: {bad_replay} packets a receiver's anti-replay window "
                        f"drops ({cap})",
                evidence=[f"duplicates {s.stats.duplicates}, outside the {s.stats.window.size}"
                          f"-packet window {s.stats.too_old}, deepest reordering "
                          f"{s.stats.max_depth} (a window of {s.stats.min_window()} would "
                          "accept every non-duplicate)"],
                causes=["reordering on the path (QoS, load balancing)", "a real replay"],
                next_steps=["crypto ipsec security-association replay window-size 1024"],
                extra={"spi": s.spi, "source": "capture"},
            ))  # fmt: skip
        if s.icv_bad and keys_given:
            out.append(Finding(
                code="VERIFY_FAILURES", severity="warning", device=device, peer=peer,
                summary=f"SPI {spi}: {s.icv_bad} of {s.packets} ICVs do not verify with the "
                        "keys given",
                evidence=[f"icv_ok {s.icv_ok}, icv_bad {s.icv_bad}"],
                causes=["the keys are not this SA's (or not this direction's)",
                        "corruption on the path"],
                next_steps=["check the SA keys for this SPI and direction"],
                extra={"spi": s.spi, "source": "capture"},
            ))  # fmt: skip
        _, missing = s.stats.gaps()
        if missing:
            out.append(Finding(
                code="ESP_SEQUENCE_GAPS", severity="info", device=device, peer=peer,
                summary=f"SPI {spi}: {missing} sequence numbers missing between "
                        f"{s.stats.first_seq} and {s.stats.highest}",
                evidence=[f"gap ranges: {s.stats.gaps(5)[0]}"],
                causes=["packets lost before the capture point",
                        "the capture buffer dropped packets"],
                next_steps=["compare with the peer's capture of the same SPI"],
                extra={"spi": s.spi, "source": "capture"},
            ))  # fmt: skip
    out.extend(_ike_findings(report, device, peer))
    return out


_VERDICT_CODES = (
    ("responder never answered", "IKE_NO_RESPONSE", "error"),
    ("IKE_AUTH never answered", "IKE_NO_RESPONSE", "error"),
    ("proposal rejected", "PROPOSAL_MISMATCH_P1", "error"),
    ("invalid KE", "IKE_INVALID_KE", "error"),
    ("authentication failed", "IKE_AUTH_FAILED", "error"),
    ("child SA rejected: NO_PROPOSAL_CHOSEN", "PROPOSAL_MISMATCH_P2", "error"),
    ("child SA rejected: TS_UNACCEPTABLE", "TS_UNACCEPTABLE", "error"),
    ("phase 2 rejected: INVALID_ID_INFORMATION", "TS_UNACCEPTABLE", "error"),
    ("child SA rejected", "CHILD_SA_REJECTED", "error"),
)


def _ike_findings(report: CaptureReport, device: str, peer: str | None) -> list[Finding]:
    out = []
    for sa in report.ike_sas:
        verdict = sa["verdict"]
        for prefix, code, sev in _VERDICT_CODES:
            if verdict.startswith(prefix):
                retrans = sum(1 for e in sa["timeline"] if e["retransmission"])
                evidence = [f"IKEv{sa['version']} SA {sa['spi_i']}: {verdict}",
                            f"{len(sa['messages'])} messages (frames "
                            f"{', '.join(str(f) for f in sa['messages'][:10])}), "
                            f"{retrans} retransmissions"]  # fmt: skip
                out.append(Finding(
                    code=code, severity=sev, device=device, peer=peer,  # type: ignore[arg-type]
                    summary=f"IKE with {peer or sa.get('initiator')}: {verdict} (seen in the "
                            "capture)",
                    evidence=evidence,
                    next_steps=[f"ipsecctl diag ike CAPTURE   (the timeline of SA {sa['spi_i']})"],
                    extra={"spi_i": sa["spi_i"], "spi_r": sa["spi_r"], "source": "capture"},
                ))  # fmt: skip
                break
    return out
