"""Log rules: what the device's own log, brought back with the poll, proves.

Which raw outputs are a log is platform data (rules/platforms.yaml ``logs``); which lines mean
what is signature data (diag/signatures.yaml): a signature's ``finding`` makes its lines
evidence for that finding code (rules/log_findings.yaml), its ``session`` (down/up) makes
them transitions for the flap rule. With a previous poll, lines already seen then are
history: the finding is a warning unless new lines arrived in between.

%CRYPTO-4-RECVD_PKT_INV_SPI names the sender (srcaddr); %CRYPTO-4-PKT_REPLAY_ERR names only
the inbound SA's connection id, which the IPsec SA table ties to a tunnel and so to a peer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from ipsecctl.diag.health.context import Scope, norm_addr
from ipsecctl.diag.health.rules_counters import invalid_spi
from ipsecctl.diag.rules import log_findings as log_findings_table
from ipsecctl.models import SEVERITY_ORDER, Finding, Severity, Tunnel

_CONN_ID = re.compile(r"connection\s+id=\s*(\d+)")


@dataclass
class LogEvidence:
    """What one device's log says, per peer: finding lines and session transitions."""

    lines: dict[tuple[str, str | None], list[str]] = field(default_factory=dict)
    fresh: dict[tuple[str, str | None], bool] = field(default_factory=dict)
    severity: dict[tuple[str, str | None], Severity] = field(default_factory=dict)
    sessions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def _new_lines(command: str, text: str, scope: Scope) -> set[str] | None:
    """Log lines absent from the previous poll's log; ``None`` without a previous log."""
    before = (scope.prev.raw or {}).get(command) if scope.prev is not None else None
    if before is None:
        return None
    old = {ln.strip() for ln in before.splitlines()}
    return {ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() not in old}


def read_logs(scope: Scope) -> LogEvidence:
    """Classify every log the poll brought back (pure; logs.analyse does the matching)."""
    out = LogEvidence()
    texts = scope.facts.log_texts(scope.dev.raw)
    if not texts:
        return out  # most polls carry no logs: the signatures are not even compiled
    from ipsecctl.diag.logs import analyse, signatures  # local: signatures load lazily

    by_code = {s.code: s for s in signatures()}
    by_conn = {
        sa.conn_id: t.peer for t in scope.dev.tunnels for sa in t.sas if sa.conn_id is not None
    }
    for command, text in texts:
        fresh = _new_lines(command, text, scope)
        for ev in analyse(text).events:
            sig = by_code.get(ev.code or "")
            if sig is None:
                continue
            quote = f"{command}:{ev.line}: {ev.text.strip()}"
            peer = ev.peer
            if peer is None:
                m = _CONN_ID.search(ev.text)
                peer = by_conn.get(int(m.group(1))) if m else None
            if sig.session and peer:
                out.sessions.setdefault(norm_addr(peer) or peer, []).append((sig.session, quote))
            if not sig.finding:
                continue
            key = (sig.finding, peer)
            out.lines.setdefault(key, []).append(quote)
            new = fresh is None or ev.text.strip() in fresh
            out.fresh[key] = out.fresh.get(key, False) or new
            sev = cast(Severity, sig.severity)
            seen = out.severity.get(key)
            if seen is None or SEVERITY_ORDER[sev] > SEVERITY_ORDER[seen]:
                out.severity[key] = sev
    return out


def log_findings(scope: Scope, logs: LogEvidence) -> Iterable[Finding]:
    table = log_findings_table()
    tunnels_by_peer: dict[str | None, list[Tunnel]] = {}
    for t in scope.dev.tunnels:
        tunnels_by_peer.setdefault(norm_addr(t.peer), []).append(t)
    for (code, peer), lines in logs.lines.items():
        tunnels = tunnels_by_peer.get(norm_addr(peer), []) if peer else []
        new = logs.fresh.get((code, peer), True)
        quoted = lines[-5:]
        if code == "INVALID_SPI":
            yield invalid_spi(scope, peer, quoted, new, tunnels)
            continue
        info = table.get(code)
        if info is None:
            continue  # a signature names a code this release has no rule text for
        worst = logs.severity.get((code, peer), "error")
        severity: Severity = worst if new else "warning"
        if SEVERITY_ORDER[severity] < SEVERITY_ORDER["warning"]:
            severity = "warning"
        yield scope.finding(
            code,
            severity,
            info["summary"].format(peer=peer or "an unnamed peer"),
            peer=peer,
            evidence=[f"{len(lines)} matching line(s) in the log", *quoted],
            causes=info["causes"],
            tunnels=tunnels,
            extra={"source": "log", "lines": len(lines)},
        )
