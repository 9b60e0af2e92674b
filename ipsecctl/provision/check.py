"""Is a rendered pair ready? The same checks an operator would run on two live configs.

Why reuse ``diag pair`` instead of trusting the generator: the templates are code too, and the
pair check is the independent model of what IOS negotiates. A generated pair is "ready" only
when both ends parse back through :func:`ipsecctl.diag.config.parse_config`, ``diag pair``
passes in both directions, and the crypto audit finds nothing of warning severity or worse.

What the pair check does not model is said in the verdict, never silently passed:

* static VTIs (``diag pair`` follows crypto maps): a VTI pair is checked here on the parsed
  configs: IKEv2 proposals intersect, transform sets equal, PFS equal, each tunnel destination
  is the other end's outside address, both keyrings hold a key for the other end;
* ASA and strongSwan ends (``parse_config`` reads IOS): those are checked at spec level
  (validated algorithms, mirrored selectors by construction) and the check says so.

The generated text carries the PSK placeholder, the same word on both ends, so the PSK step
proves both ends reference the same key without the key being present.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ipsecctl.diag.audit_crypto import audit_config
from ipsecctl.diag.config import CryptoConfig, parse_config, same_key
from ipsecctl.diag.pair import check_pair
from ipsecctl.models import Finding
from ipsecctl.provision.model import CISCO_IOS, TunnelSpec
from ipsecctl.provision.render import Rendered

BLOCKING = ("warning", "error", "critical")


@dataclass
class CheckResult:
    """The verdict shown with a render: ``ok`` only when nothing blocks."""

    ok: bool
    method: str  # "diag pair" | "vti" | "spec"
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


def with_outside_address(text: str, interface: str, address: str) -> str:
    """The rendered text plus `` ip address`` on the outside interface, for the check only.

    The generator never types an address onto the outside interface (it is already there and
    carries the management path), but ``diag pair`` learns an end's address from it.
    """
    line = f"interface {interface}"
    out: list[str] = []
    done = False
    for ln in text.splitlines():
        out.append(ln)
        if ln.strip() == line and not done:
            out.append(f" ip address {address} 255.255.255.255")
            done = True
    if not done:
        out += [line, f" ip address {address} 255.255.255.255", "!"]
    return "\n".join(out) + "\n"


def parse_rendered(r: Rendered) -> CryptoConfig:
    """One IOS end's generated text as the diagnostics see a running-config."""
    text = f"hostname {r.end.name}\n!\n" + with_outside_address(
        r.text, r.end.outside_interface, r.end.outside_address
    )
    return parse_config(text, source=f"generated config of {r.end.name}")


def _audit(cfg: CryptoConfig, device: str) -> list[Finding]:
    # IKEV1_IN_USE and AGGRESSIVE_MODE_ALLOWED are about the device as a whole (info level);
    # they are kept in the list for the operator but never block.
    return audit_config(cfg, device)


def _vti_problems(spec: TunnelSpec, ca: CryptoConfig, cb: CryptoConfig) -> list[str]:
    problems: list[str] = []
    ends = ((spec.a, ca, spec.b), (spec.b, cb, spec.a))
    for end, cfg, peer in ends:
        tun = [i for i in cfg.interfaces if i.tunnel_destination]
        if not tun:
            problems.append(f"{end.name}: no tunnel interface with a destination")
            continue
        if tun[0].tunnel_destination != peer.outside_address:
            problems.append(
                f"{end.name}: tunnel destination {tun[0].tunnel_destination} is not "
                f"{peer.name}'s outside address {peer.outside_address}"
            )
        if cfg.key_for(peer.outside_address, 2) is None:
            problems.append(f"{end.name}: no IKEv2 key for {peer.outside_address}")
    ka, kb = ca.key_for(spec.b.outside_address, 2), cb.key_for(spec.a.outside_address, 2)
    if ka is not None and kb is not None and same_key(ka, kb) is False:
        problems.append("pre-shared keys differ")
    pa = {(tuple(p.encryption), tuple(p.integrity), tuple(p.groups)) for p in ca.ikev2_proposals}
    common = False
    for p in cb.ikev2_proposals:
        for e, i, g in pa:
            if set(e) & set(p.encryption) and set(i) & set(p.integrity) and set(g) & set(
                    p.groups):
                common = True
    if not common:
        problems.append("no common IKEv2 proposal")
    tsa = {t.key() for t in ca.transform_sets.values()}
    tsb = {t.key() for t in cb.transform_sets.values()}
    if not tsa & tsb:
        problems.append("no common transform set")
    pfs = [{str(p.get("pfs")) for p in c.ipsec_profiles} for c in (ca, cb)]
    if pfs[0] != pfs[1]:
        problems.append(f"PFS differs: {sorted(pfs[0])} vs {sorted(pfs[1])}")
    return problems


def check_rendered(spec: TunnelSpec, a: Rendered, b: Rendered, *,
                   allow_weak: bool = False) -> CheckResult:
    """Run the pair check (both directions) and the crypto audit on a generated pair.

    Audit findings of warning or worse block, except under ``allow_weak``: the operator has
    then asked for legacy crypto on purpose (an old peer), so the findings are shown, not fatal.
    """
    blocking_levels = () if allow_weak else BLOCKING
    if a.platform not in CISCO_IOS or b.platform not in CISCO_IOS:
        others = sorted({r.platform for r in (a, b) if r.platform not in CISCO_IOS})
        findings: list[Finding] = []
        for r in (a, b):
            if r.platform in CISCO_IOS:
                findings += _audit(parse_rendered(r), r.end.name)
        blocking = [f for f in findings if f.severity in blocking_levels]
        return CheckResult(
            ok=not blocking,
            method="spec",
            findings=findings,
            problems=[f"{f.device}: {f.summary}" for f in blocking],
            notes=[
                f"{', '.join(others)} configuration is not modelled by diag pair: checked at "
                "spec level (allowed algorithms, one proposal/transform/PFS/lifetime set for "
                "both ends, selectors mirrored by construction)"
            ],
        )
    ca, cb = parse_rendered(a), parse_rendered(b)
    findings = _audit(ca, a.end.name) + _audit(cb, b.end.name)
    blocking = [f for f in findings if f.severity in blocking_levels]
    problems = [f"{f.device}: {f.summary}" for f in blocking]
    if spec.mode == "vti":
        problems = _vti_problems(spec, ca, cb) + problems
        return CheckResult(
            ok=not problems, method="vti", findings=findings, problems=problems,
            notes=["diag pair follows crypto maps; the VTI pair was checked on the parsed "
                   "configs (proposals, transform set, PFS, keys, tunnel destinations)"],
        )
    pair = check_pair(ca, cb, name_a=a.end.name, name_b=b.end.name)
    if pair["verdict"] != "ok":
        for d in pair["directions"]:
            for s in d["steps"]:
                if not s["ok"]:
                    problems.insert(0, f"{d['initiator']} -> {d['responder']} {s['step']}: "
                                       f"{s['reason']}")
    return CheckResult(ok=not problems, method="diag pair", pair=pair, findings=findings,
                       problems=problems)


