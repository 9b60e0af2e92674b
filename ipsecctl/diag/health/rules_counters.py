"""Counter rules: one-way traffic, growing error counters, invalid SPIs (rules/counters.yaml).

Movement needs two polls; with one poll a total is reported only when it is large enough to
matter, and the evidence says the conclusion rests on one poll.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ipsecctl.diag.health.context import Scope, tunnel_evidence
from ipsecctl.diag.rules import OneWay, counter_rules
from ipsecctl.models import Finding, Severity, Tunnel


def delta(cur: Mapping[str, int], prev: Mapping[str, int] | None, key: str) -> int | None:
    """Growth of one counter between two polls' counters; ``None`` without a comparable
    previous value. (Counter dicts, not tunnels: a refresh asks this of every tunnel.)"""
    if prev is None:
        return None
    now, before = cur.get(key), prev.get(key)
    if now is None or before is None:
        return None
    d = now - before
    return d if d >= 0 else None  # counters were cleared: no movement can be inferred


def _one_way(t: Tunnel, p: Tunnel | None) -> tuple[OneWay, bool, str] | None:
    """(rule, weak, note) when the tunnel carries traffic in one direction only."""
    rules = counter_rules()
    c, pc = t.counters, (p.counters if p is not None else None)
    for rule in rules.one_way:
        d_moving, d_quiet = delta(c, pc, rule.counter), delta(c, pc, rule.quiet)
        if d_moving is not None and d_quiet is not None:
            if d_moving >= rules.one_way_min_delta and d_quiet == 0:
                return rule, False, f"between polls: {rule.counter} +{d_moving}, {rule.quiet} +0"
        elif p is None and t.sas:
            moving, quiet = t.counters.get(rule.counter, 0), t.counters.get(rule.quiet)
            if moving >= rules.one_way_min_single and quiet == 0:
                note = "one poll only: totals, not movement (give --previous to confirm)"
                return rule, True, note
    return None


def counter_findings(scope: Scope, prev_by_id: dict[str, Tunnel]) -> Iterable[Finding]:
    rules = counter_rules()
    for t in scope.dev.tunnels:
        p = prev_by_id.get(t.key()) if prev_by_id else None
        c = t.counters
        pc = p.counters if p is not None else None
        peer = t.peer
        found = _one_way(t, p)
        if found:
            rule, weak, note = found
            yield scope.finding(
                rule.code,
                "warning" if weak else "error",
                rule.summary.format(peer=peer),
                peer=peer,
                evidence=[*tunnel_evidence(t), note],
                causes=rule.causes,
                tunnels=[t],
                extra={"direction": rule.direction, "tunnel": t.key()},
            )
        for err in rules.errors:
            value = c.get(err.counter)
            if not value:
                continue
            d = delta(c, pc, err.counter)
            sev: Severity
            if d is None:
                if p is not None:
                    continue  # cleared between polls: nothing to say
                traffic = max(c.get("pkts_decaps", 0), c.get("pkts_encaps", 0))
                sev = "warning"
                if value < rules.single_poll_min or value < rules.single_poll_ratio * traffic:
                    sev = "info"
                if value <= err.tolerated:
                    sev = "info"
                note = f"{err.counter}={value} (one poll: may be old; --previous shows movement)"
            elif d == 0:
                sev, note = "info", f"{err.counter}={value}, unchanged since the previous poll"
            else:
                sev, note = "error", f"{err.counter}={value}, +{d} since the previous poll"
            yield scope.finding(
                err.code,
                sev,
                f"{err.what} on the tunnel to {peer}",
                peer=peer,
                evidence=[note, *tunnel_evidence(t)],
                causes=err.causes,
                tunnels=[t],
                extra={"counter": err.counter, "value": value, "delta": d},
            )
        for key in rules.invalid_spi_counters:
            value = c.get(key)
            if not value:
                continue
            d = delta(c, pc, key)
            if d == 0 or (d is None and p is not None):
                continue  # not moving: an old total
            ev = [f"{key}={value}" + (f", +{d} since the previous poll" if d else " (one poll)")]
            yield invalid_spi(scope, peer, ev + tunnel_evidence(t), d is not None, [t])


def invalid_spi(
    scope: Scope, peer: str | None, evidence: list[str], moving: bool, tunnels: list[Tunnel]
) -> Finding:
    """SAs out of sync: the peer sends with an SPI we do not have (clear on the SENDING side)."""
    rules = counter_rules()
    return scope.finding(
        rules.invalid_spi_code,
        "error" if moving else "warning",
        rules.invalid_spi_summary.format(peer=peer),
        peer=peer,
        evidence=evidence,
        causes=rules.invalid_spi_causes,
        tunnels=tunnels,
    )
