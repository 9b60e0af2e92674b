"""Lifetime and expectation rules: SAs about to expire with no successor, tunnels that the
inventory expects up and are not, on-demand tunnels that are idle (and fine)."""

from __future__ import annotations

from collections.abc import Iterable

from ipsecctl.diag.health.context import Scope, tunnel_evidence
from ipsecctl.diag.rules import timing
from ipsecctl.models import Finding


def lifetime_findings(scope: Scope, had_findings: set[str | None]) -> Iterable[Finding]:
    """``had_findings``: peers another rule already explained (warning or worse)."""
    margin = timing().rekey_margin_s
    for t in scope.dev.tunnels:
        out = [sa for sa in t.sas if sa.direction == "out"]
        if len(out) == 1 and out[0].remaining_s is not None and out[0].remaining_s < margin:
            sa = out[0]
            yield scope.finding(
                "SA_EXPIRING_NO_SUCCESSOR",
                "warning",
                f"outbound SA {sa.spi_hex} to {t.peer} expires in {sa.remaining_s} s "
                "and no new SA has been negotiated",
                peer=t.peer,
                evidence=[
                    f"remaining_s={sa.remaining_s} remaining_kb={sa.remaining_kb}",
                    *tunnel_evidence(t),
                ],
                causes=[
                    "phase 2 rekey is failing (proposal or selectors changed on one side)",
                    "the IKE SA to the peer is down, so the rekey cannot be negotiated",
                    "no traffic on the SA: an idle SA is allowed to expire",
                ],
                tunnels=[t],
            )
        if t.state == "up":
            continue
        if t.expected_up:
            yield scope.finding(
                "TUNNEL_DOWN_EXPECTED_UP",
                "error",
                f"tunnel to {t.peer} is {t.state} but the inventory expects it up",
                peer=t.peer,
                evidence=tunnel_evidence(t),
                causes=["see the other findings for this peer"]
                if t.peer in had_findings
                else [
                    "no interesting traffic (on-demand tunnel): generate traffic from an "
                    "inside address",
                    "phase 1 or phase 2 failing (run 'ipsecctl diag pair')",
                ],
                tunnels=[t],
            )
        elif t.expected_up is False and t.peer not in had_findings:
            yield scope.finding(
                "TUNNEL_IDLE_ON_DEMAND",
                "info",
                f"tunnel to {t.peer} is {t.state}: on-demand, nothing is failing",
                peer=t.peer,
                evidence=tunnel_evidence(t),
                causes=["on-demand tunnels come up only when interesting traffic arrives"],
                tunnels=[t],
            )
