"""Health rules: why is a tunnel down, one stable finding code per reason.

Everything here is a pure function over :class:`DeviceState` snapshots so the same rules run on
a live poll, a saved ``ipsecctl show --json`` document, or the lab. A rule that needs movement
(counters that grow, a state that does not change) compares two polls; given one poll it either
stays silent or says, in the evidence, that the conclusion rests on one poll only.

Sources are the rule numbers of shared/knowledge/cisco-ipsec-semantics.md (section 1.3 for the
IKE states, 4.A for the counter patterns, 4.1-4.5 for SPI/replay). Tags there: [T] rules are
used as written; [K] rules that this module depends on were checked again and say so where used.

Codes (stable; scripts match on them):

IKE_STUCK_MM_NO_STATE, IKE_STUCK_MM_SA_SETUP, IKE_STUCK_MM_KEY_EXCH, IKE_STUCK_AG_NO_STATE,
IKE_STUCK_AG_INIT_EXCH, IKE_STUCK_MM_WAIT_MSG2 (ASA), IKE_STUCK_MM_WAIT_MSG3 (ASA),
IKE_STUCK_MM_WAIT_MSG4..6 (ASA), IKE_STUCK_IKEV2_IN_NEG, IKE_UP_NO_IPSEC, IKE_SA_WITHOUT_TUNNELS,
ONE_WAY_TRAFFIC, ONE_WAY_TRAFFIC_INBOUND, DECRYPT_FAILURES, VERIFY_FAILURES, REPLAY_FAILURES,
INVALID_SPI, SEND_ERRORS, RECV_ERRORS, SA_EXPIRING_NO_SUCCESSOR, TUNNEL_DOWN_EXPECTED_UP,
TUNNEL_IDLE_ON_DEMAND, FLAPPING, and the cross-device codes of :mod:`ipsecctl.diag.crosscheck`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ipsecctl.models import SEVERITY_ORDER, DeviceState, Finding, IkeSa, Severity, Tunnel

# Thresholds. Deliberately conservative: a false alarm costs an operator's night.
ONE_WAY_MIN_DELTA = 5  # encaps growth between polls that counts as "traffic was sent"
ONE_WAY_MIN_SINGLE = 100  # with one poll: encaps needed (decaps 0) before we say anything
REKEY_MARGIN_S = 30  # IOS starts phase 2 rekey 30 s before the seconds lifetime ends [K, checked]
SEND_ERRORS_TOLERATED = 10  # first packets dropped while the SA is negotiated
# One poll only: an error total is a warning when it is at least this many packets and at least
# this share of the traffic; below that it is history (e.g. 1 replay drop in 12 million).
SINGLE_POLL_MIN = 10
SINGLE_POLL_RATIO = 1e-5
INVALID_SPI_KEYS = ("invalid_spi", "pkts_invalid_sa_rcv")
FLAP_MIN_DOWNS = 2  # DOWN transitions (UP between) of one peer in the log that make a flap


@dataclass(frozen=True)
class _Stuck:
    severity: Severity
    summary: str
    causes: tuple[str, ...]
    extra_steps: tuple[str, ...] = ()


_NO_REPLY = (
    "no reply from the peer: UDP 500 (or 4500) blocked on the path",
    "wrong peer address in 'set peer', or no route to the peer",
    "the peer has no crypto map on the receiving interface, or no matching ISAKMP policy",
)
_PSK = (
    "pre-shared key mismatch: the peer cannot decrypt message 5",
    "identity or certificate problem (auth rsa-sig)",
    "UDP 4500 blocked after the NAT-T port float",
)

# Knowledge file 1.3 (IOS) and the ASA table; meanings [T].
STUCK_STATES: dict[str, _Stuck] = {
    "MM_NO_STATE": _Stuck("error", "phase 1 never got past the first exchange", _NO_REPLY),
    "MM_SA_SETUP": _Stuck(
        "error",
        "phase 1 policy agreed but the Diffie-Hellman exchange (messages 3/4) never completed",
        (
            "messages 3/4 lost: NAT or a firewall drops the larger packets or one direction",
            "the peer cannot compute the DH group",
        ),
    ),
    "MM_KEY_EXCH": _Stuck(
        "error", "phase 1 keys exchanged but authentication never completed", _PSK
    ),
    "AG_NO_STATE": _Stuck("error", "aggressive mode never got past the first message", _NO_REPLY),
    "AG_INIT_EXCH": _Stuck(
        "error",
        "aggressive mode first exchange done but not authenticated",
        ("pre-shared key or group name mismatch (EzVPN)", "DH group mismatch"),
    ),
    "MM_WAIT_MSG2": _Stuck(
        "error",
        "ASA sent main mode message 1 and got no reply",
        ("peer unreachable or UDP 500 blocked", "ISAKMP not enabled on the peer's interface"),
    ),
    "MM_WAIT_MSG3": _Stuck(
        "error", "ASA agreed the policy but the key exchange did not continue", _NO_REPLY[:1]
    ),
    "MM_WAIT_MSG4": _Stuck("error", "ASA main mode stalled at message 4", _PSK),
    "MM_WAIT_MSG5": _Stuck("error", "ASA main mode stalled at message 5", _PSK),
    "MM_WAIT_MSG6": _Stuck(
        "error",
        "ASA main mode stalled at message 6 (if it resets after MSG6, phase 2 failed)",
        (*_PSK, "phase 2 rejected right after phase 1 (transform set, ACL)"),
    ),
    "IN-NEG": _Stuck(
        "error",
        "IKEv2 SA stays in negotiation",
        (
            "no reply from the peer (UDP 500/4500 blocked, wrong address)",
            "no common IKEv2 proposal (NO_PROPOSAL_CHOSEN)",
            "authentication failure (PSK or identity mismatch, AUTHENTICATION_FAILED)",
        ),
        ("debug crypto ikev2",),
    ),
}


def _code_for_state(state: str) -> str:
    return "IKE_STUCK_IKEV2_IN_NEG" if state == "IN-NEG" else f"IKE_STUCK_{state}"


def _norm_state(state: str | None) -> str:
    return (state or "").strip().upper()


def _local_addresses(dev: DeviceState) -> set[str]:
    """Our own addresses: tunnel endpoints, IKE ``local``, and any address every IKEv1 row has.

    IOS prints IKEv1 rows as ``dst src`` in the first packet's direction, so with no tunnel
    data the address common to all rows (two or more) is ours: every SA has us at one end.
    """
    addrs = {t.local_addr for t in dev.tunnels if t.local_addr}
    addrs |= {sa.local for sa in dev.ike_sas if sa.local}
    for v6 in (False, True):
        rows = [
            {a for a in (sa.src, sa.dst) if a}
            for sa in dev.ike_sas
            if (sa.src or sa.dst) and (":" in (sa.src or sa.dst or "")) == v6
        ]
        if len(rows) >= 2:
            addrs |= set.intersection(*rows)
    return {a.lower() for a in addrs}


def ike_peer(sa: IkeSa, local: set[str]) -> str | None:
    """The far end of an IKE SA: ``remote``, else whichever IKEv1 column is not ours.

    IOS prints ``dst src`` in the direction of the first packet, so the peer is ``dst`` only
    when we initiated; knowing our own addresses (from the tunnels) settles it.
    """
    if sa.remote:
        return sa.remote
    for cand in (sa.dst, sa.src):
        if cand and cand.lower() not in local:
            return cand
    return sa.dst or sa.src


def _tunnel_evidence(t: Tunnel) -> list[str]:
    ev = [
        f"tunnel {t.id or t.identity()} state={t.state} peer={t.peer}",
        f"local_ts={t.local_ts} remote_ts={t.remote_ts}",
    ]
    if t.counters:
        keys = ("pkts_encaps", "pkts_decaps", "send_errors", "recv_errors")
        ev.append(", ".join(f"{k}={t.counters[k]}" for k in keys if k in t.counters))
    out = t.spis("out")
    ev.append(f"outbound esp spi: {', '.join(f'0x{s:08X}' for s in out) or '0x0 (none)'}")
    return ev


def _raw_lines(dev: DeviceState, needle: str | None, limit: int = 3) -> list[str]:
    """Raw output lines that mention ``needle`` (the peer), to quote as evidence."""
    if not dev.raw or not needle:
        return []
    hits: list[str] = []
    for command, text in dev.raw.items():
        for line in text.splitlines():
            if needle in line:
                hits.append(f"{command}: {line.strip()}")
                if len(hits) >= limit:
                    return hits
    return hits


# ---------------------------------------------------------------------------------------------
# IKE rules


def _ike_findings(dev: DeviceState, prev: DeviceState | None, local: set[str]) -> Iterable[Finding]:
    prev_states: dict[str, str] = {}
    if prev is not None:
        prev_local = _local_addresses(prev) | local
        for sa in prev.ike_sas:
            peer = ike_peer(sa, prev_local)
            if peer:
                prev_states[peer] = _norm_state(sa.state)
    up_peers = {ike_peer(sa, local) for sa in dev.ike_sas if sa.status == "up"}
    seen: set[tuple[str, str | None]] = set()
    candidates: list[tuple[str, str | None, list[str], int | None]] = []
    for sa in dev.ike_sas:
        peer = ike_peer(sa, local)
        ev = [
            f"IKEv{sa.version or '?'} SA src={sa.src or sa.local} dst={sa.dst or sa.remote} "
            f"state={sa.state} status={sa.status} conn_id={sa.conn_id}"
        ]
        candidates.append((_norm_state(sa.state), peer, ev, sa.version))
    for t in dev.tunnels:
        if t.ike_state:
            ev = [f"tunnel {t.id or t.identity()} ike_state={t.ike_state}"]
            candidates.append((_norm_state(t.ike_state), t.peer, ev, None))
    for state, peer, ev, version in candidates:
        stuck = STUCK_STATES.get(state)
        if stuck is None or (dev.device, peer) in seen:
            continue
        if peer in up_peers:
            continue  # a newer SA to the same peer is up: this one is a leftover
        seen.add((dev.device, peer))
        evidence = list(ev)
        if prev is None:
            evidence.append("seen in one poll; a second poll (--previous) shows whether it moves")
        elif prev_states.get(peer or "") == state:
            evidence.append(f"same state at the previous poll ({prev.polled_at.isoformat()})")
        elif peer in prev_states:
            evidence.append(f"previous poll: {prev_states[peer or '']}")
        evidence += _raw_lines(dev, peer)
        v2 = state == "IN-NEG" or version == 2
        steps = [
            f"show crypto {'ikev2 sa detailed' if v2 else 'isakmp sa detail'}",
            *stuck.extra_steps,
            *(() if v2 else ("debug crypto isakmp",)),
            "show run | section crypto",
        ]
        if state in ("MM_NO_STATE", "AG_NO_STATE", "MM_WAIT_MSG2"):
            steps.append(f"ping {peer}" if peer else "ping <peer>")
        if state in ("MM_KEY_EXCH", "AG_INIT_EXCH") or state.startswith("MM_WAIT_MSG"):
            steps.append("show run | include crypto isakmp key|pre-shared-key")
        if peer:
            steps.append(f"clear crypto session remote {peer}")
        yield Finding(
            code=_code_for_state(state),
            severity=stuck.severity,
            device=dev.device,
            peer=peer,
            summary=f"IKE SA to {peer} stuck in {state}: {stuck.summary}",
            evidence=evidence,
            causes=list(stuck.causes),
            next_steps=steps,
            extra={"state": state},
        )


def _ike_up_rules(dev: DeviceState, local: set[str]) -> Iterable[Finding]:
    by_peer: dict[str, list[Tunnel]] = {}
    for t in dev.tunnels:
        if t.peer:
            by_peer.setdefault(t.peer, []).append(t)
    for sa in dev.ike_sas:
        if sa.status != "up":
            continue
        peer = ike_peer(sa, local)
        if not peer:
            continue
        tunnels = by_peer.get(peer, [])
        ev = [f"IKE SA to {peer} state={sa.state} status=up conn_id={sa.conn_id}"]
        if not tunnels:
            if not dev.tunnels:
                continue  # no IPsec data collected: nothing to compare with
            yield Finding(
                code="IKE_SA_WITHOUT_TUNNELS",
                severity="warning",
                device=dev.device,
                peer=peer,
                summary=f"IKE SA to {peer} is up but no IPsec flow is defined for that peer",
                evidence=ev,
                causes=[
                    "no crypto map entry / tunnel protection names this peer ('set peer')",
                    "the peer initiates with an address this router does not expect (NAT)",
                    "a leftover IKE SA after the tunnel was removed",
                ],
                next_steps=[
                    "show crypto map",
                    "show run | section crypto map",
                    f"show crypto isakmp sa detail | include {peer}",
                    f"clear crypto session remote {peer}",
                ],
            )
            continue
        if any(t.spis("out") or t.spis("in") for t in tunnels):
            continue
        expected = any(t.expected_up for t in tunnels)
        evidence = ev + [line for t in tunnels[:3] for line in _tunnel_evidence(t)]
        yield Finding(
            code="IKE_UP_NO_IPSEC",
            severity="error" if expected else "warning",
            device=dev.device,
            peer=peer,
            summary=(
                f"phase 1 to {peer} is up but no IPsec SA exists: quick mode fails or "
                "no interesting traffic has arrived yet"
            ),
            evidence=evidence,
            causes=[
                "transform set mismatch (protocol, algorithms or mode)",
                "crypto ACLs are not mirror images (proxy identities rejected)",
                "PFS group set on one side only or different",
                "no interesting traffic yet (test from an inside address)",
            ],
            next_steps=[
                "debug crypto ipsec",
                "debug crypto isakmp",
                "show crypto map",
                "show run | section crypto",
                f"show crypto ipsec sa peer {peer}",
                f"clear crypto session remote {peer}",
            ],
        )


# ---------------------------------------------------------------------------------------------
# counter rules


def _delta(cur: Tunnel, prev: Tunnel | None, key: str) -> int | None:
    """Growth of one counter between polls; ``None`` without a comparable previous value."""
    if prev is None or key not in cur.counters or key not in prev.counters:
        return None
    d = cur.counters[key] - prev.counters[key]
    return d if d >= 0 else None  # counters were cleared: no movement can be inferred


_ERROR_COUNTERS: tuple[tuple[str, str, str, list[str], list[str]], ...] = (
    (
        "decrypt_failed",
        "DECRYPT_FAILURES",
        "packets failed decryption",
        ["SA keys out of sync after a race or one-sided rekey", "crypto engine fault"],
        ["show crypto engine accelerator statistic", "show logging | include CRYPTO"],
    ),
    (
        "verify_failed",
        "VERIFY_FAILURES",
        "packets failed HMAC/ICV verification",
        [
            "corruption on the path",
            "crypto engine fault",
            "keys out of sync (%CRYPTO-4-RECVD_PKT_MAC_ERR)",
        ],
        ["show logging | include MAC_ERR", "show interfaces | include errors"],
    ),
    (
        "replay_failed",
        "REPLAY_FAILURES",
        "packets failed the anti-replay check",
        [
            "reordering on the path (QoS/LLQ, load balancing, parallel links)",
            "reordering in the router (process vs CEF switching, crypto engine queues)",
            "a real replay",
        ],
        [
            "show logging | include REPLAY",
            "crypto ipsec security-association replay window-size 1024",
        ],
    ),
    (
        "recv_errors",
        "RECV_ERRORS",
        "inbound IPsec errors (replay, invalid SPI or decrypt)",
        ["replay window drops", "packets for an SPI this router no longer has", "decrypt errors"],
        ["show logging | include CRYPTO-4", "show crypto ipsec sa detail"],
    ),
    (
        "send_errors",
        "SEND_ERRORS",
        "outbound encapsulation failures",
        [
            "packets dropped while the SA was being negotiated",
            "crypto engine queue full",
            "MTU/DF drops of packets too big after encapsulation",
        ],
        ["show crypto ipsec sa detail", "show crypto engine accelerator statistic"],
    ),
)


def _counter_findings(dev: DeviceState, prev_by_id: dict[str, Tunnel]) -> Iterable[Finding]:
    for t in dev.tunnels:
        p = prev_by_id.get(t.identity())
        c = t.counters
        peer = t.peer
        clear = [f"clear crypto sa peer {peer}"] if peer else []
        # One-way traffic (knowledge 4.A).
        d_enc, d_dec = _delta(t, p, "pkts_encaps"), _delta(t, p, "pkts_decaps")
        one_way: tuple[str, str] | None = None
        weak = False
        if d_enc is not None and d_dec is not None:
            if d_enc >= ONE_WAY_MIN_DELTA and d_dec == 0:
                one_way = ("ONE_WAY_TRAFFIC", "out")
            elif d_dec >= ONE_WAY_MIN_DELTA and d_enc == 0:
                one_way = ("ONE_WAY_TRAFFIC_INBOUND", "in")
        elif p is None and t.sas:
            enc, dec = c.get("pkts_encaps", 0), c.get("pkts_decaps", 0)
            if enc >= ONE_WAY_MIN_SINGLE and dec == 0 and "pkts_decaps" in c:
                one_way, weak = ("ONE_WAY_TRAFFIC", "out"), True
            elif dec >= ONE_WAY_MIN_SINGLE and enc == 0 and "pkts_encaps" in c:
                one_way, weak = ("ONE_WAY_TRAFFIC_INBOUND", "in"), True
        if one_way:
            code, direction = one_way
            ev = _tunnel_evidence(t)
            if weak:
                ev.append("one poll only: totals, not movement (give --previous to confirm)")
            else:
                ev.append(f"between polls: encaps +{d_enc}, decaps +{d_dec}")
            if direction == "out":
                summary = f"traffic to {peer} is encrypted but nothing comes back"
                causes = [
                    "the peer has no route back into the tunnel",
                    "the peer NATs its return traffic before encryption (no NAT exemption)",
                    "the peer's crypto ACL is not a mirror image",
                    "ESP (IP 50) or UDP 4500 blocked towards this router",
                    "the peer's SA is stale (it logs %CRYPTO-4-RECVD_PKT_INV_SPI)",
                ]
                steps = [
                    "show crypto ipsec sa peer " + (peer or "<peer>") + "   (on the peer)",
                    "show logging | include RECVD_PKT_INV_SPI   (on the peer)",
                    "show ip nat translations",
                    *clear,
                ]
            else:
                summary = f"{peer} sends and we decrypt, but our replies are not encrypted"
                causes = [
                    "return traffic is not routed out the crypto-map interface",
                    "local NAT before crypto (no NAT exemption)",
                    "the local crypto ACL does not match the return flow",
                    "the traffic really is one-way",
                ]
                steps = [
                    "show ip route",
                    "show ip nat translations",
                    "show crypto map",
                    "show access-lists",
                ]
            yield Finding(
                code=code,
                severity="warning" if weak else "error",
                device=dev.device,
                peer=peer,
                summary=summary,
                evidence=ev,
                causes=causes,
                next_steps=steps,
                extra={"direction": direction, "tunnel": t.id or t.identity()},
            )
        # Error counters.
        for key, code, what, causes, steps in _ERROR_COUNTERS:
            value = c.get(key)
            if not value:
                continue
            d = _delta(t, p, key)
            sev: Severity
            if d is None:
                if p is not None:
                    continue  # cleared between polls: nothing to say
                traffic = max(c.get("pkts_decaps", 0), c.get("pkts_encaps", 0))
                sev = "warning"
                if value < SINGLE_POLL_MIN or value < SINGLE_POLL_RATIO * traffic:
                    sev = "info"
                if key == "send_errors" and value <= SEND_ERRORS_TOLERATED:
                    sev = "info"
                note = f"{key}={value} (one poll: may be old; --previous shows movement)"
            elif d == 0:
                sev, note = "info", f"{key}={value}, unchanged since the previous poll"
            else:
                sev, note = "error", f"{key}={value}, +{d} since the previous poll"
            yield Finding(
                code=code,
                severity=sev,
                device=dev.device,
                peer=peer,
                summary=f"{what} on the tunnel to {peer}",
                evidence=[note, *_tunnel_evidence(t)],
                causes=causes,
                next_steps=[*steps, "clear crypto sa counters", *clear],
                extra={"counter": key, "value": value, "delta": d},
            )
        for key in INVALID_SPI_KEYS:
            value = c.get(key)
            if not value:
                continue
            d = _delta(t, p, key)
            if d == 0 or (d is None and p is not None):
                continue  # not moving: an old total
            ev = [f"{key}={value}" + (f", +{d} since the previous poll" if d else " (one poll)")]
            yield _invalid_spi(dev.device, peer, ev + _tunnel_evidence(t), d is not None)


def _invalid_spi(device: str, peer: str | None, evidence: list[str], moving: bool) -> Finding:
    # Knowledge 4.1 [V]: SPIs out of sync; clear on the SENDING side.
    return Finding(
        code="INVALID_SPI",
        severity="error" if moving else "warning",
        device=device,
        peer=peer,
        summary=f"packets from {peer} carry an SPI this router does not have (SAs out of sync)",
        evidence=evidence,
        causes=[
            "the peer still uses an SA this router deleted (reboot, one-sided clear, "
            "lifetime skew)",
            "no IKE SA to send an INVALID_SPI notify (IPsec black hole)",
        ],
        next_steps=[
            f"clear crypto sa peer {device}   (on {peer}, the sending side)"
            if peer
            else "clear crypto sa peer <this router>   (on the sending side)",
            "crypto isakmp invalid-spi-recovery",
            "show logging | include RECVD_PKT_INV_SPI",
        ],
    )


_CONN_ID = re.compile(r"connection\s+id=\s*(\d+)")
# Session state lines, IKEv1 and IKEv2, whose DOWN/UP sequence per peer reveals a flap.
_SESSION_STATE = {
    "CRYPTO-5-SESSION_STATUS_DOWN": "down",
    "CRYPTO-5-SESSION_STATUS_UP": "up",
    "IKEV2-5-SA_DOWN": "down",
    "IKEV2-5-SA_UP": "up",
}


def _new_lines(text: str, prev: DeviceState | None) -> set[str] | None:
    """Log lines absent from the previous poll's log; ``None`` without a previous log."""
    before = (prev.raw or {}).get("show logging") if prev is not None else None
    if before is None:
        return None
    old = {ln.strip() for ln in before.splitlines()}
    return {ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() not in old}


def _log_findings(dev: DeviceState, prev: DeviceState | None) -> Iterable[Finding]:
    """Syslog evidence the poll brought back (``show logging`` in ``raw``).

    %CRYPTO-4-RECVD_PKT_INV_SPI names the sender (srcaddr); %CRYPTO-4-PKT_REPLAY_ERR names
    only the inbound SA's connection id, which the IPsec SA table ties to a tunnel and so to a
    peer. With a previous poll, lines already seen then are history: the finding is a warning
    unless new lines arrived in between. Session state lines (%CRYPTO-5-SESSION_STATUS, and
    %IKEV2-5-SA_DOWN/UP whose peer is the ``Remote a/port`` field) give FLAPPING from one poll,
    so a flap is found whatever moment the two polls happen to see.
    """
    if not dev.raw:
        return
    text = dev.raw.get("show logging")
    if not text:
        return
    from ipsecctl.diag.logs import analyse  # local: logs loads its signature data lazily

    fresh = _new_lines(text, prev)
    by_conn = {sa.conn_id: t.peer for t in dev.tunnels for sa in t.sas if sa.conn_id is not None}
    inv: dict[str | None, list[str]] = {}
    replay: dict[str | None, list[str]] = {}
    downs: dict[str, list[tuple[str, str]]] = {}
    moving: dict[tuple[str, str | None], bool] = {}
    for ev in analyse(text).events:
        quote = f"show logging:{ev.line}: {ev.text.strip()}"
        peer = ev.peer
        if ev.code == "CRYPTO-4-RECVD_PKT_INV_SPI":
            bucket = inv
        elif ev.code in ("CRYPTO-4-PKT_REPLAY_ERR", "IPSEC-3-REPLAY_ERROR"):
            bucket = replay
            m = _CONN_ID.search(ev.text)
            if peer is None and m:
                peer = by_conn.get(int(m.group(1)))
        elif ev.code in _SESSION_STATE and peer:
            downs.setdefault(peer, []).append((_SESSION_STATE[ev.code], quote))
            continue
        else:
            continue
        bucket.setdefault(peer, []).append(quote)
        key = (ev.code or "", peer)
        moving[key] = moving.get(key, False) or fresh is None or ev.text.strip() in fresh
    for peer, lines in inv.items():
        new = moving.get(("CRYPTO-4-RECVD_PKT_INV_SPI", peer), True)
        yield _invalid_spi(dev.device, peer, lines[-5:], new)
    for peer, lines in replay.items():
        new = any(v for (code, p), v in moving.items() if p == peer and "REPLAY" in code)
        yield Finding(
            code="REPLAY_FAILURES",
            severity="error" if new else "warning",
            device=dev.device,
            peer=peer,
            summary=f"packets failed the anti-replay check on the tunnel to {peer}",
            evidence=[f"{len(lines)} anti-replay drop(s) in the log", *lines[-5:]],
            causes=list(_ERROR_COUNTERS[2][3]),
            next_steps=[*_ERROR_COUNTERS[2][4], "show crypto ipsec sa detail"],
            extra={"source": "log", "lines": len(lines)},
        )
    for peer, session in downs.items():
        went_down = _down_transitions(session)
        if went_down >= FLAP_MIN_DOWNS:
            quotes = [q for _state, q in session]
            yield _flapping(
                dev.device,
                peer,
                [
                    f"the log shows the session to {peer} going down {went_down} times "
                    f"and coming back ({len(quotes)} DOWN/UP lines)",
                    *quotes[-4:],
                ],
            )


def _down_transitions(session: list[tuple[str, str]]) -> int:
    """How often a peer's session went DOWN, counting runs, not lines.

    IOS-XE logs both %IKEV2-5-SA_DOWN and %CRYPTO-5-SESSION_STATUS for one IKEv2 event, and a
    message may repeat: consecutive lines of the same state are one transition. One DOWN then
    UP is an operator's clear or a single rekey failure; two DOWNs with an UP between is a flap.
    """
    runs = 0
    last: str | None = None
    for state, _quote in session:
        if state != last and state == "down":
            runs += 1
        last = state
    return runs


def _flapping(device: str, peer: str | None, evidence: list[str]) -> Finding:
    return Finding(
        code="FLAPPING",
        severity="warning",
        device=device,
        peer=peer,
        summary=f"the tunnel to {peer} goes down and comes back (flapping)",
        evidence=evidence,
        causes=[
            "the peer's IKE SA is deleted and renegotiated (DPD timeouts, peer reboots)",
            "an unstable path: loss of UDP 500/4500 or ESP for longer than DPD allows",
            "lifetime or rekey mismatch between the ends (one side deletes the SA early)",
            "two peers fighting over the same selectors (duplicate configuration)",
        ],
        next_steps=[
            "show logging | include CRYPTO-5-SESSION_STATUS|IKEV2-5-SA",
            f"show crypto session remote {peer} detail" if peer else "show crypto session detail",
            "show crypto isakmp sa detail",
            "debug crypto isakmp",
        ],
    )


def _flap_findings(dev: DeviceState, prev_by_id: dict[str, Tunnel]) -> Iterable[Finding]:
    """A tunnel that changed state, or was rebuilt, between two polls.

    Rebuilt = every SPI new *and* the packet counters went back: a rekey also brings new SPIs
    but keeps the ident's counters, while a tunnel that went down and came back starts again
    from zero (IOS resets the ident's counters when its SAs are deleted).
    """
    for t in dev.tunnels:
        p = prev_by_id.get(t.identity())
        if p is None:
            continue
        ev: list[str] = []
        if p.state == "up" and t.state != "up":
            ev.append(f"was up at the previous poll, now {t.state}")
        elif p.state in ("down", "negotiating") and t.state == "up" and t.expected_up:
            ev.append(f"was {p.state} at the previous poll, now up again")
        elif p.state == "up" and t.state == "up":
            old = set(p.spis())
            new = set(t.spis())
            reset = [
                k
                for k in ("pkts_encaps", "pkts_decaps")
                if k in t.counters and k in p.counters and t.counters[k] < p.counters[k]
            ]
            if old and new and not (old & new) and reset:
                ev.append(
                    "re-established between polls: all SPIs new and counters restarted ("
                    + ", ".join(f"{k} {p.counters[k]} -> {t.counters[k]}" for k in reset)
                    + ")"
                )
        if ev:
            yield _flapping(dev.device, t.peer, ev + _tunnel_evidence(t))


def _merge(findings: list[Finding]) -> list[Finding]:
    """One finding per (device, peer, code): counter and log evidence for the same fault."""
    out: dict[tuple[str | None, str | None, str], Finding] = {}
    for f in findings:
        key = (f.device, f.peer, f.code)
        seen = out.get(key)
        if seen is None:
            out[key] = f
            continue
        if SEVERITY_ORDER[f.severity] > SEVERITY_ORDER[seen.severity]:
            f.evidence = f.evidence + [e for e in seen.evidence if e not in f.evidence]
            out[key] = f
        else:
            seen.evidence += [e for e in f.evidence if e not in seen.evidence]
    return list(out.values())


# ---------------------------------------------------------------------------------------------
# lifetime and expectation rules


def _lifetime_and_state(dev: DeviceState, had_findings: set[str | None]) -> Iterable[Finding]:
    for t in dev.tunnels:
        out = [sa for sa in t.sas if sa.direction == "out"]
        if (
            out
            and all(sa.remaining_s is not None and sa.remaining_s < REKEY_MARGIN_S for sa in out)
            and len(out) == 1
        ):
            sa = out[0]
            yield Finding(
                code="SA_EXPIRING_NO_SUCCESSOR",
                severity="warning",
                device=dev.device,
                peer=t.peer,
                summary=(
                    f"outbound SA {sa.spi_hex} to {t.peer} expires in {sa.remaining_s} s "
                    "and no new SA has been negotiated"
                ),
                evidence=[
                    f"remaining_s={sa.remaining_s} remaining_kb={sa.remaining_kb}",
                    *_tunnel_evidence(t),
                ],
                causes=[
                    "phase 2 rekey is failing (proposal or ACL changed on one side)",
                    "the IKE SA to the peer is down, so quick mode cannot run",
                    "no traffic on the SA: an idle SA is allowed to expire",
                ],
                next_steps=[
                    f"show crypto isakmp sa | include {t.peer}",
                    "debug crypto ipsec",
                    f"show crypto ipsec sa peer {t.peer}",
                ],
            )
        if t.state == "up":
            continue
        if t.expected_up:
            yield Finding(
                code="TUNNEL_DOWN_EXPECTED_UP",
                severity="error",
                device=dev.device,
                peer=t.peer,
                summary=f"tunnel to {t.peer} is {t.state} but the inventory expects it up",
                evidence=_tunnel_evidence(t),
                causes=["see the other findings for this peer"]
                if t.peer in had_findings
                else [
                    "no interesting traffic (on-demand crypto map): generate traffic from an "
                    "inside address",
                    "phase 1 or phase 2 failing (run 'ipsecctl diag pair')",
                ],
                next_steps=[
                    f"show crypto session remote {t.peer} detail",
                    "ping <remote inside address> source <inside interface>",
                    "show crypto isakmp sa",
                ],
            )
        elif t.expected_up is False and t.peer not in had_findings:
            yield Finding(
                code="TUNNEL_IDLE_ON_DEMAND",
                severity="info",
                device=dev.device,
                peer=t.peer,
                summary=f"tunnel to {t.peer} is {t.state}: on-demand, nothing is failing",
                evidence=_tunnel_evidence(t),
                causes=["crypto map tunnels come up only when interesting traffic arrives"],
                next_steps=[f"show crypto session remote {t.peer}"],
            )


# ---------------------------------------------------------------------------------------------


def evaluate(
    current: list[DeviceState],
    previous: list[DeviceState] | None = None,
    now: datetime | None = None,
) -> list[Finding]:
    """All findings for one poll (and, for movement rules, the poll before it).

    ``now`` is accepted for rules that compare with wall-clock time; the current rules use the
    devices' own ``polled_at`` and remaining lifetimes, so it is unused today.
    """
    del now
    from ipsecctl.diag.crosscheck import crosscheck  # sibling module; avoids an import cycle

    prev_dev = {d.device: d for d in previous or []}
    findings: list[Finding] = []
    for dev in current:
        if not dev.reachable:
            continue  # the poll's own errors say why; no diagnosis on missing data
        prev = prev_dev.get(dev.device)
        prev_by_id = {t.identity(): t for t in prev.tunnels} if prev else {}
        local = _local_addresses(dev)
        dev_findings: list[Finding] = []
        dev_findings += _ike_findings(dev, prev, local)
        dev_findings += _ike_up_rules(dev, local)
        dev_findings += _counter_findings(dev, prev_by_id)
        dev_findings += _log_findings(dev, prev)
        dev_findings += _flap_findings(dev, prev_by_id)
        dev_findings = _merge(dev_findings)
        bad_peers = {f.peer for f in dev_findings if SEVERITY_ORDER[f.severity] >= 1}
        dev_findings += _lifetime_and_state(dev, bad_peers)
        findings += dev_findings
    findings += crosscheck(current)
    findings.sort(key=lambda f: (-SEVERITY_ORDER[f.severity], f.device or "", f.peer or "", f.code))
    return findings


def worst(findings: list[Finding]) -> int:
    """Exit code contract: 3 when any finding is a warning or worse, else 0."""
    return 3 if any(SEVERITY_ORDER[f.severity] >= 1 for f in findings) else 0
