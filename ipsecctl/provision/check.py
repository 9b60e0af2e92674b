"""Is a rendered single-tunnel pair ready? The network check (:mod:`.pairs`) on two ends.

Kept for callers that hold a :class:`~ipsecctl.provision.model.TunnelSpec` and its two
:class:`~ipsecctl.provision.device_configs.Rendered` ends (possibly edited by hand): the texts are
checked as they are, through the same engine as every generated network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ipsecctl.diag.config import CryptoConfig
from ipsecctl.models import Finding
from ipsecctl.provision.device_configs import DeviceRender, Rendered
from ipsecctl.provision.pairs import check_network, parse_device
from ipsecctl.provision.topology import from_tunnel

BLOCKING = ("warning", "error", "critical")


@dataclass
class CheckResult:
    """The verdict shown with a render: ``ok`` only when nothing blocks."""

    ok: bool
    method: str  # "diag pair" | "vti" | "spec" | ...
    pair: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "method": self.method,
            "problems": self.problems,
            "notes": self.notes,
            "pair": self.pair,
            "findings": [f.model_dump(mode="json") for f in self.findings],
        }


def _device(r: Rendered, net_name: str, links: tuple[Any, ...]) -> DeviceRender:
    return DeviceRender(r.end, r.platform, r.text, links, net_name)


def parse_rendered(r: Rendered) -> CryptoConfig:
    """One IOS end's text as the diagnostics see a running-config."""
    return parse_device(_device(r, "", ()))


def check_rendered(spec: Any, a: Rendered, b: Rendered, *, allow_weak: bool = False) -> CheckResult:
    """``diag pair`` both ways (or the VTI / spec-level checks) and the crypto audit.

    Audit findings of warning or worse block, except under ``allow_weak``: the operator has
    then asked for legacy crypto on purpose (an old peer), so they are shown, not fatal.
    """
    net = from_tunnel(spec)
    links = tuple(net.links)
    check = check_network(
        net, [_device(a, net.name, links), _device(b, net.name, links)], allow_weak=allow_weak
    )
    (verdict,) = check.pairs
    notes = []
    if verdict.method == "spec":
        notes.append(
            "ASA and strongSwan configuration is not modelled by diag pair: checked "
            "at spec level (allowed algorithms, one proposal/transform/PFS/lifetime "
            "set for both ends, selectors mirrored by construction)"
        )
    pair = (
        {
            "verdict": verdict.verdict,
            "first_failure": verdict.first_failure,
            "directions": verdict.directions,
        }
        if verdict.directions
        else None
    )
    return CheckResult(
        ok=verdict.ok,
        method=verdict.method,
        pair=pair,
        findings=check.findings,
        problems=verdict.problems,
        notes=notes,
    )
