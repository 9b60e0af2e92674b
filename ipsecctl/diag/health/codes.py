"""Every finding code the health rules and the cross-checks can emit, with the shared next-step
keys each falls back to when a platform's step table has no entry for the code itself.

The codes that come from data (stuck IKE states, counters, log findings) are read from the
rule tables, so a state added there is known here too; the rest are the rules' own.
"""

from __future__ import annotations

from functools import cache

from ipsecctl.diag.rules import counter_rules, log_findings, stuck_states

# Codes of the rules themselves (not from a table), with their fallback step keys.
_RULE_CODES: dict[str, tuple[str, ...]] = {
    "IKE_UP_NO_IPSEC": ("IKE_STUCK.phase2",),
    "IKE_SA_WITHOUT_TUNNELS": (),
    "FLAPPING": (),
    "SA_EXPIRING_NO_SUCCESSOR": (),
    "TUNNEL_DOWN_EXPECTED_UP": (),
    "TUNNEL_IDLE_ON_DEMAND": (),
    # cross-device (diag.crosscheck)
    "SPI_MISMATCH": (),
    "SELECTOR_NOT_MIRRORED": (),
    "TRANSFORM_MISMATCH": (),
}


@cache
def finding_codes() -> dict[str, tuple[str, ...]]:
    """code -> fallback step keys, for every code that can be emitted."""
    out = dict(_RULE_CODES)
    for stuck in stuck_states().values():
        out[stuck.code] = (f"IKE_STUCK.{stuck.kind}",)
    rules = counter_rules()
    for one_way in rules.one_way:
        out.setdefault(one_way.code, ())
    for err in rules.errors:
        out.setdefault(err.code, ())
    out.setdefault(rules.invalid_spi_code, ())
    for code, info in log_findings().items():
        keys = tuple(info.get("keys") or ())
        out[code] = tuple(dict.fromkeys(out.get(code, ()) + keys))
    return out


def step_keys(code: str) -> list[str]:
    """The keys a finding's next steps are looked up with, most specific first."""
    return [code, *finding_codes().get(code, ())]
