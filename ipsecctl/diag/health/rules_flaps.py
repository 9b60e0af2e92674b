"""Flap rules: a tunnel that goes down and comes back, whenever the polls happen to look.

Three sources, each enough on its own:

* the device's log: DOWN/UP lines per peer (signatures with ``session``), counted as runs;
* the history of earlier polls (:class:`~ipsecctl.diag.history.TunnelHistory`): transitions
  seen before this poll, or before this process started;
* the two polls themselves: a state change, or a tunnel rebuilt in between (every SPI new and
  its counters or uptime restarted, outside a window in which a rekey was due).
"""

from __future__ import annotations

from collections.abc import Iterable

from ipsecctl.diag.health.context import Scope, norm_addr, tunnel_evidence
from ipsecctl.diag.health.rules_logs import LogEvidence
from ipsecctl.diag.history import TunnelHistory
from ipsecctl.diag.rules import timing
from ipsecctl.models import Finding, Tunnel

CAUSES = (
    "the peer's IKE SA is deleted and renegotiated (DPD timeouts, peer reboots)",
    "an unstable path: loss of UDP 500/4500 or ESP for longer than DPD allows",
    "lifetime or rekey mismatch between the ends (one side deletes the SA early)",
    "two peers fighting over the same selectors (duplicate configuration)",
)


def down_transitions(session: list[tuple[str, str]]) -> int:
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


def flapping(
    scope: Scope,
    peer: str | None,
    evidence: list[str],
    tunnels: list[Tunnel],
    *,
    vrf: str | None = None,
    source: str,
) -> Finding:
    return scope.finding(
        "FLAPPING",
        "warning",
        f"the tunnel to {peer} goes down and comes back (flapping)",
        peer=peer,
        evidence=evidence,
        causes=CAUSES,
        tunnels=tunnels,
        vrf=vrf,
        extra={"sources": [source]},
    )


def _tunnels_to(scope: Scope, peer: str | None) -> list[Tunnel]:
    key = norm_addr(peer)
    return [t for t in scope.dev.tunnels if norm_addr(t.peer) == key]


def log_flaps(scope: Scope, logs: LogEvidence) -> Iterable[Finding]:
    """FLAPPING from one poll: the log holds two or more DOWNs of the same peer."""
    for peer, session in logs.sessions.items():
        went_down = down_transitions(session)
        if went_down < timing().flap_min_downs:
            continue
        quotes = [q for _state, q in session]
        evidence = [
            f"the log shows the session to {peer} going down {went_down} times "
            f"and coming back ({len(quotes)} DOWN/UP lines)",
            *quotes[-4:],
        ]
        yield flapping(scope, peer, evidence, _tunnels_to(scope, peer), source="log")


def history_flaps(scope: Scope) -> Iterable[Finding]:
    """FLAPPING from the history: downs seen by earlier polls within its window."""
    for (device, peer, vrf), h in scope.history.items():
        if device != scope.device or h.downs < timing().flap_min_downs:
            continue
        yield flapping(
            scope,
            peer,
            [_history_line(peer, h)],
            [t for t in _tunnels_to(scope, peer) if (t.vrf or None) == vrf],
            vrf=vrf,
            source=h.source,
        )


def _history_line(peer: str, h: TunnelHistory) -> str:
    text = (
        f"{h.source}: the tunnel to {peer} went down {h.downs} times and came back "
        f"{h.ups} times in the last {h.window_s:g} s"
    )
    if h.last_down is not None:
        text += f" (last down {h.last_down.isoformat()})"
    return text


def _rekey_due(scope: Scope, p: Tunnel) -> bool:
    """Whether a rekey (or reauthentication) of this tunnel was due between the two polls.

    Timers are those of the previous poll: an SA's remaining lifetime, strongSwan's scheduled
    CHILD_SA rekey, and the IKE SA's rekey/reauth/expiry. A timer the device did not show is
    a rekey not scheduled (strongSwan prints none when rekeying is off).
    """
    elapsed = scope.elapsed_s
    if elapsed is None or scope.prev is None:
        return True
    horizon = max(elapsed, 0.0) + timing().rekey_margin_s
    timers: list[int | None] = [sa.remaining_s for sa in p.sas if sa.live]
    timers.append(p.extra.get("rekey_s"))
    ike = scope.best_ike(scope.prev, p.peer)
    if ike is not None:
        timers += [ike.remaining_s, ike.extra.get("rekey_s"), ike.extra.get("reauth_s")]
    return any(isinstance(x, int) and x <= horizon for x in timers)


def poll_flaps(scope: Scope, prev_by_id: dict[str, Tunnel]) -> Iterable[Finding]:
    """A tunnel that changed state, or was rebuilt, between two polls.

    Rebuilt = every SPI new *and* the tunnel started again: its packet counters went back or
    its uptime restarted. Where counters belong to the flow (Cisco idents) a rekey keeps them,
    so counters that went back are a rebuild whatever the timers say; where they belong to one
    SA (strongSwan, libreswan) a rekey restarts them too, and only a rebuild outside a window
    in which a rekey was due counts.
    """
    for t in scope.dev.tunnels:
        p = prev_by_id.get(t.key()) if prev_by_id else None
        if p is None:
            continue
        ev: list[str] = []
        if p.state == "up" and t.state != "up":
            ev.append(f"was up at the previous poll, now {t.state}")
        elif p.state in ("down", "negotiating") and t.state == "up" and t.expected_up:
            ev.append(f"was {p.state} at the previous poll, now up again")
        elif p.state == "up" and t.state == "up":
            ev += _rebuilt(scope, t, p)
        if ev:
            yield flapping(scope, t.peer, ev + tunnel_evidence(t), [t], source="polls")


def _rebuilt(scope: Scope, t: Tunnel, p: Tunnel) -> list[str]:
    # the counters and uptime first: in a refresh of a quiet fleet they rule out nearly every
    # tunnel before its SPIs are gathered
    reset = [
        k
        for k in ("pkts_encaps", "pkts_decaps")
        if k in t.counters and k in p.counters and t.counters[k] < p.counters[k]
    ]
    restarted = t.uptime_s is not None and p.uptime_s is not None and t.uptime_s < p.uptime_s
    if not (reset or restarted):
        return []
    old, new = set(p.spis()), set(t.spis())
    if not (old and new and not (old & new)):
        return []
    survives_rekey = scope.facts.counters == "per_ident"
    if not (survives_rekey and reset) and _rekey_due(scope, p):
        return []  # what a rekey would also have done: not evidence of a flap
    what = []
    if reset:
        what.append(", ".join(f"{k} {p.counters[k]} -> {t.counters[k]}" for k in reset))
    if restarted:
        what.append(f"uptime {p.uptime_s} s -> {t.uptime_s} s")
    why = "counters restarted" if reset else "uptime restarted"
    return [f"re-established between polls: all SPIs new and {why} ({'; '.join(what)})"]
