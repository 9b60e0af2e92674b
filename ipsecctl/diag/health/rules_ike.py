"""IKE rules: negotiations stuck in a state (rules/stuck_states.yaml), IKE up without IPsec.

Stuck states are data: each state the platforms print names its code, what failed (``kind``,
which also picks the shared next steps) and its causes. Given one poll the finding says so in
its evidence; with a previous poll it says whether the state moved.
"""

from __future__ import annotations

from collections.abc import Iterable

from ipsecctl.diag.health.context import (
    Scope,
    ike_peer,
    local_addresses,
    norm_addr,
    norm_state,
    raw_lines,
    tunnel_evidence,
)
from ipsecctl.diag.rules import stuck_states
from ipsecctl.models import Finding, IkeSa, Tunnel


def stuck_findings(scope: Scope) -> Iterable[Finding]:
    dev, prev, local = scope.dev, scope.prev, scope.local
    table = stuck_states()
    prev_states: dict[str, str] = {}
    if prev is not None:
        prev_local = local_addresses(prev) | local
        for old in prev.ike_sas:
            peer = ike_peer(old, prev_local)
            if peer:
                prev_states[norm_addr(peer) or peer] = norm_state(old.state)
    up_peers = {norm_addr(ike_peer(x, local)) for x in dev.ike_sas if x.status == "up"}
    seen: set[str | None] = set()
    candidates: list[tuple[str, str | None, list[str], IkeSa | None, list[Tunnel]]] = []
    by_peer: dict[str | None, list[Tunnel]] | None = None  # one pass, when first needed
    for ike in dev.ike_sas:
        state = norm_state(ike.state)
        if state not in table:
            continue  # a state nobody gets stuck in (a hub's thousand QM_IDLE): no evidence
        if by_peer is None:
            by_peer = {}
            for t in dev.tunnels:
                by_peer.setdefault(norm_addr(t.peer), []).append(t)
        peer = ike_peer(ike, local)
        ev = [
            f"IKEv{ike.version or '?'} SA src={ike.src or ike.local} "
            f"dst={ike.dst or ike.remote} state={ike.state} status={ike.status} "
            f"conn_id={ike.conn_id}"
        ]
        tunnels = list(by_peer.get(norm_addr(peer), ()))
        candidates.append((state, peer, ev, ike, tunnels))
    for t in dev.tunnels:
        if t.ike_state and norm_state(t.ike_state) in table:
            ev = [f"tunnel {t.key()} ike_state={t.ike_state}"]
            candidates.append((norm_state(t.ike_state), t.peer, ev, None, [t]))
    for state, peer, ev, sa, tunnels in candidates:
        stuck = table.get(state)
        key = norm_addr(peer)
        if stuck is None or key in seen:
            continue
        if key in up_peers:
            continue  # a newer SA to the same peer is up: this one is a leftover
        seen.add(key)
        evidence = list(ev)
        if prev is None:
            evidence.append("seen in one poll; a second poll (--previous) shows whether it moves")
        elif prev_states.get(key or "") == state:
            evidence.append(f"same state at the previous poll ({prev.polled_at.isoformat()})")
        elif key in prev_states:
            evidence.append(f"previous poll: {prev_states[key or '']}")
        evidence += raw_lines(dev, peer)
        version = (sa.version if sa else None) or stuck.ike
        yield scope.finding(
            stuck.code,
            stuck.severity,
            f"IKE SA to {peer} stuck in {state}: {stuck.summary}",
            peer=peer,
            evidence=evidence,
            causes=stuck.causes,
            tunnels=tunnels,
            ike=sa,
            extra={"state": state, "ike_version": version},
        )


def ike_up_findings(scope: Scope) -> Iterable[Finding]:
    """IKE up with no IPsec SA, or with no flow defined for that peer at all."""
    dev, local = scope.dev, scope.local
    by_peer: dict[str | None, list[Tunnel]] = {}
    for t in dev.tunnels:
        if t.peer:
            by_peer.setdefault(norm_addr(t.peer), []).append(t)
    for sa in dev.ike_sas:
        if sa.status != "up":
            continue
        peer = ike_peer(sa, local)
        if not peer:
            continue
        tunnels = by_peer.get(norm_addr(peer), [])
        ev = [f"IKE SA to {peer} state={sa.state} status=up conn_id={sa.conn_id}"]
        if not tunnels and not scope.facts.children:
            if not dev.tunnels:
                continue  # no IPsec data collected: nothing to compare with
            yield scope.finding(
                "IKE_SA_WITHOUT_TUNNELS",
                "warning",
                f"IKE SA to {peer} is up but no IPsec flow is defined for that peer",
                peer=peer,
                evidence=ev,
                causes=[
                    "no crypto map entry / tunnel protection names this peer ('set peer')",
                    "the peer initiates with an address this router does not expect (NAT)",
                    "a leftover IKE SA after the tunnel was removed",
                ],
                ike=sa,
            )
            continue
        if any(t.spis("out") or t.spis("in") for t in tunnels):
            continue
        # Here either the configured flows have no SA, or (a platform that lists only the
        # CHILD_SAs of live IKE SAs) the IKE SA has no CHILD_SA at all.
        expected = any(t.expected_up for t in tunnels)
        evidence = ev + [line for t in tunnels[:3] for line in tunnel_evidence(t)]
        if not tunnels:
            evidence.append("the IKE SA carries no CHILD_SA")
        yield scope.finding(
            "IKE_UP_NO_IPSEC",
            "error" if expected else "warning",
            f"phase 1 to {peer} is up but no IPsec SA exists: quick mode / CHILD_SA "
            "negotiation fails or no traffic has asked for it yet",
            peer=peer,
            evidence=evidence,
            causes=[
                "transform set / ESP proposal mismatch (protocol, algorithms or mode)",
                "selectors (crypto ACLs / traffic selectors) are not mirror images",
                "PFS group set on one side only or different",
                "no interesting traffic yet (test from an inside address)",
            ],
            tunnels=tunnels,
            ike=sa,
        )
