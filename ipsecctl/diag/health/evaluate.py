"""Run every rule family over one poll (and the poll before it, and the history)."""

from __future__ import annotations

from datetime import datetime

from ipsecctl.diag.health.context import Fleet, Scope, norm_addr
from ipsecctl.diag.health.rules_counters import counter_findings
from ipsecctl.diag.health.rules_flaps import history_flaps, log_flaps, poll_flaps
from ipsecctl.diag.health.rules_ike import ike_up_findings, stuck_findings
from ipsecctl.diag.health.rules_lifetime import lifetime_findings
from ipsecctl.diag.health.rules_logs import log_findings, read_logs
from ipsecctl.diag.history import TunnelHistories
from ipsecctl.models import SEVERITY_ORDER, DeviceState, Finding


def evaluate(
    current: list[DeviceState],
    previous: list[DeviceState] | None = None,
    now: datetime | None = None,
    *,
    history: TunnelHistories | None = None,
) -> list[Finding]:
    """All findings for one poll (and, for movement rules, the poll before it).

    ``history`` maps ``(device, peer, vrf)`` to what earlier polls saw of that tunnel, so a
    flap that happened between polls, or before this process started, is still recognised.
    ``now`` is accepted for rules that compare with wall-clock time; the current rules use
    the devices' own ``polled_at`` and remaining lifetimes, so it is unused today.
    """
    del now
    from ipsecctl.diag.crosscheck import crosscheck  # it builds on this package: import late

    prev_dev = {d.device: d for d in previous or []}
    fleet = Fleet(d for d in current if d.reachable)
    findings: list[Finding] = []
    for dev in current:
        if not dev.reachable:
            continue  # the poll's own errors say why; no diagnosis on missing data
        prev = prev_dev.get(dev.device)
        scope = Scope(dev, prev, fleet, _for_device(history, dev.device))
        prev_by_id = {t.key(): t for t in prev.tunnels} if prev else {}
        logs = read_logs(scope)
        dev_findings: list[Finding] = []
        dev_findings += stuck_findings(scope)
        dev_findings += ike_up_findings(scope)
        dev_findings += counter_findings(scope, prev_by_id)
        dev_findings += log_findings(scope, logs)
        dev_findings += log_flaps(scope, logs)
        dev_findings += history_flaps(scope)
        dev_findings += poll_flaps(scope, prev_by_id)
        dev_findings = merge(dev_findings)
        bad_peers = {f.peer for f in dev_findings if SEVERITY_ORDER[f.severity] >= 1}
        dev_findings += lifetime_findings(scope, bad_peers)
        findings += dev_findings
    findings += crosscheck(current)
    findings.sort(key=lambda f: (-SEVERITY_ORDER[f.severity], f.device or "", f.peer or "", f.code))
    return findings


def _for_device(history: TunnelHistories | None, device: str) -> TunnelHistories:
    return {k: v for k, v in (history or {}).items() if k[0] == device}


def merge(findings: list[Finding]) -> list[Finding]:
    """One finding per (device, peer, vrf, code): counter, log and history evidence together.

    The worse finding keeps its text and steps; the other adds its evidence, tunnels and
    sources.
    """
    out: dict[tuple[str | None, str | None, str | None, str], Finding] = {}
    for f in findings:
        key = (f.device, norm_addr(f.peer), f.extra.get("vrf"), f.code)
        seen = out.get(key)
        if seen is None:
            out[key] = f
            continue
        worse = SEVERITY_ORDER[f.severity] > SEVERITY_ORDER[seen.severity]
        keep, other = (f, seen) if worse else (seen, f)
        keep.evidence = keep.evidence + [e for e in other.evidence if e not in keep.evidence]
        for name in ("tunnels", "sources"):
            if name in other.extra or name in keep.extra:
                mine = list(keep.extra.get(name) or [])
                keep.extra[name] = mine + [x for x in other.extra.get(name) or [] if x not in mine]
        out[key] = keep
    return list(out.values())


def worst(findings: list[Finding]) -> int:
    """Exit code contract: 3 when any finding is a warning or worse, else 0."""
    return 3 if any(SEVERITY_ORDER[f.severity] >= 1 for f in findings) else 0
