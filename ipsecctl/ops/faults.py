"""The one definition of a fault, shared by ``tunnels --faults``, the dashboard's ``f``,
``diag health``, ``status``'s exit code and the monitoring commands.

A tunnel is a fault when
- it is expected up and is not (down or negotiating, or idle while the inventory says up), or
- a diagnosis of severity warning or worse concerns it: traffic one way only, error counters
  rising, flapping (from the device's log or the history store), IKE stuck, a proposal or
  PSK mismatch, an SA about to expire without a successor.

Findings come from :func:`ipsecctl.diag.health.evaluate` over the current poll, the previous
one and the history; this module only attaches them to tunnels. A finding names its tunnels
in ``extra.tunnels`` when the rule knows them; otherwise it concerns every tunnel of its
device to its peer (and VRF, when ``extra.vrf`` says).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ipsecctl.diag.history import TunnelHistories
from ipsecctl.models import SEVERITY_ORDER, DeviceState, Finding, Tunnel

DOWN = "TUNNEL_DOWN_EXPECTED_UP"  # the code diag health gives the same condition
_WARNING = SEVERITY_ORDER["warning"]


def expected_up_and_not_up(t: Tunnel) -> bool:
    if t.state in ("down", "negotiating"):
        return t.expected_up is not False
    return t.state == "idle" and t.expected_up is True


def _finding_vrf(f: Finding) -> str | None:
    vrf = f.extra.get("vrf")
    return str(vrf) if vrf else None


def _concerns(f: Finding, t: Tunnel) -> bool:
    named = f.extra.get("tunnels")
    if isinstance(named, list) and named:
        return t.id in named
    if f.device is not None and f.device != t.device:
        return False
    if f.peer is None or f.peer != t.peer:
        return False
    vrf = _finding_vrf(f)
    return vrf is None or vrf == (t.vrf or None)


@dataclass(frozen=True)
class Assessment:
    """Findings of one evaluation and the faults they make, keyed by tunnel id."""

    findings: list[Finding]
    faults: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    by_tunnel: Mapping[str, tuple[Finding, ...]] = field(default_factory=dict)

    def is_fault(self, t: Tunnel) -> bool:
        return t.id in self.faults

    def reasons(self, t: Tunnel) -> tuple[str, ...]:
        return self.faults.get(t.id, ())

    def findings_for(self, t: Tunnel) -> tuple[Finding, ...]:
        return self.by_tunnel.get(t.id, ())

    def fault_tunnels(self, states: Iterable[DeviceState]) -> list[Tunnel]:
        return [t for s in states for t in s.tunnels if t.id in self.faults]

    @property
    def worst(self) -> str | None:
        if not self.findings:
            return None
        return max(self.findings, key=lambda f: SEVERITY_ORDER[f.severity]).severity


def attach(states: Sequence[DeviceState], findings: list[Finding]) -> Assessment:
    """Faults of ``states`` given ``findings`` (pure; no rule is evaluated here)."""
    faults: dict[str, tuple[str, ...]] = {}
    by_tunnel: dict[str, tuple[Finding, ...]] = {}
    by_device: dict[str, list[Finding]] = {}
    for f in findings:
        by_device.setdefault(f.device or "", []).append(f)
    for s in states:
        candidates = by_device.get(s.device, []) + by_device.get("", [])
        # index the findings by the tunnel ids and peers they name, so that each tunnel
        # looks at its own few (a hub: thousands of tunnels, hundreds of findings)
        named: dict[str, list[int]] = {}
        by_peer: dict[str, list[int]] = {}
        for i, f in enumerate(candidates):
            ids = f.extra.get("tunnels")
            if isinstance(ids, list) and ids:
                for tid in ids:
                    named.setdefault(str(tid), []).append(i)
            elif f.peer is not None:
                by_peer.setdefault(f.peer, []).append(i)
        for t in s.tunnels:
            near = sorted({*named.get(t.id, ()), *by_peer.get(t.peer or "", ())})
            mine = tuple(candidates[i] for i in near if _concerns(candidates[i], t))
            if mine:
                by_tunnel[t.id] = mine
            reasons = [DOWN] if expected_up_and_not_up(t) else []
            reasons += [
                f.code
                for f in mine
                if SEVERITY_ORDER[f.severity] >= _WARNING and f.code not in reasons
            ]
            if reasons:
                faults[t.id] = tuple(reasons)
    return Assessment(findings=findings, faults=faults, by_tunnel=by_tunnel)


def assess(
    current: Sequence[DeviceState],
    previous: Sequence[DeviceState] | None = None,
    *,
    history: TunnelHistories | None = None,
) -> Assessment:
    """Evaluate the health rules (with the flaps the history saw) and attach their findings
    to tunnels."""
    from ipsecctl.diag.health import evaluate

    findings = evaluate(list(current), list(previous) if previous else None, history=history)
    return attach(current, findings)


def problem_summary(
    states: Sequence[DeviceState], assessment: Assessment, limit: int = 5
) -> str | None:
    """One line saying which tunnels make the exit code 3, or None when none do."""
    bad = assessment.fault_tunnels(states)
    if not bad:
        return None
    shown = []
    for t in bad[:limit]:
        where = f"{t.device} -> {t.peer or '?'}" + (f" vrf {t.vrf}" if t.vrf else "")
        shown.append(f"{where} ({', '.join(r.lower() for r in assessment.reasons(t))})")
    more = f", and {len(bad) - limit} more" if len(bad) > limit else ""
    return f"{len(bad)} tunnel(s) with a fault: " + "; ".join(shown) + more
