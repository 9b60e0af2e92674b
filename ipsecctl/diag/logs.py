"""Recognise IPsec syslog and debug lines, and lay them out per peer as a timeline.

The signatures are data (``signatures.yaml`` beside this module) so adding one never means
touching code; each carries its source. Lines that look crypto-related but match no signature
are kept with ``code: null`` (so an operator sees what we could not explain); everything else
(interface flaps, config messages) is noise and is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ipsecctl.models import SEVERITY_ORDER

SIGNATURES_FILE = Path(__file__).with_name("signatures.yaml")

_ADDR = r"(?P<peer>\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})"
# Generic "who is the peer" patterns, tried in order after a signature's own one.
_PEER_PATTERNS = [
    re.compile(p.replace("ADDR", _ADDR))
    for p in (
        r"srcaddr=\s*ADDR",
        r"\bIP = ADDR",
        r"Remote:\s*ADDR",
        r"[Pp]eer(?: at| address)?\s+ADDR",
        r"remote peer\s+ADDR",
        r"\bremote\s+ADDR",
        r"\bremote=\s*ADDR",
        r"\b[Ff]rom\s+ADDR",
        r"notify to\s+ADDR",
        r"\bwith\s+ADDR",
        r"\bfor\s+ADDR",
        r"\bdst=\s*ADDR",
    )
]
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_TIME = re.compile(
    r"(?P<time>"
    rf"{_MONTH}\s+\d{{1,2}}(?:\s+\d{{4}})?\s+\d{{2}}:\d{{2}}:\d{{2}}(?:\.\d+)?(?:\s+[A-Z]{{3,4}})?"
    r"|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
    r")"
)
_CRYPTOISH = re.compile(
    r"%(?:CRYPTO|IKEV2|IPSEC|ISAKMP)-|%(?:ASA|PIX|FTD)-\d-(?:402|713|750|751|752)\d{3}"
    r"|ISAKMP|IKEv2|IPSEC\(|IKEV2",
)


@dataclass(frozen=True)
class Signature:
    code: str
    pattern: re.Pattern[str]
    severity: str
    summary: str
    fix: str
    peer: re.Pattern[str] | None
    source: str
    tag: str


@dataclass
class Event:
    line: int
    time: str | None
    peer: str | None
    code: str | None
    severity: str | None
    summary: str | None
    fix: str | None
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "time": self.time,
            "peer": self.peer,
            "code": self.code,
            "severity": self.severity,
            "summary": self.summary,
            "fix": self.fix,
            "text": self.text,
        }


@dataclass
class LogReport:
    events: list[Event] = field(default_factory=list)

    def peers(self) -> dict[str, list[dict[str, Any]]]:
        """Recognised events grouped per peer, in line order (the timeline)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for ev in self.events:
            if ev.peer and ev.code:
                out.setdefault(ev.peer, []).append(
                    {
                        "line": ev.line,
                        "time": ev.time,
                        "code": ev.code,
                        "severity": ev.severity,
                        "summary": ev.summary,
                    }
                )
        return out

    def worst(self) -> str | None:
        sev = [e.severity for e in self.events if e.severity]
        return max(sev, key=lambda s: SEVERITY_ORDER[s]) if sev else None

    def has_errors(self) -> bool:
        return any(SEVERITY_ORDER.get(e.severity or "", -1) >= 2 for e in self.events)


@lru_cache(maxsize=1)
def signatures() -> tuple[Signature, ...]:
    """Load and compile the signature data once per process."""
    raw = yaml.safe_load(SIGNATURES_FILE.read_text())
    out = []
    for item in raw:
        out.append(
            Signature(
                code=item["code"],
                pattern=re.compile(item["match"]),
                severity=item["severity"],
                summary=item["summary"],
                fix=item.get("fix") or "",
                peer=re.compile(item["peer"]) if item.get("peer") else None,
                source=item.get("source", ""),
                tag=item.get("tag", "K"),
            )
        )
    return tuple(out)


def _peer(text: str, sig: Signature | None) -> str | None:
    patterns = ([sig.peer] if sig and sig.peer else []) + _PEER_PATTERNS
    for pat in patterns:
        m = pat.search(text)
        if m:
            addr = m.group("peer").rstrip(".,:;!")
            v4_port = re.fullmatch(r"(\d{1,3}(?:\.\d{1,3}){3}):\d+", addr)
            if v4_port:
                return v4_port.group(1)
            if "." in addr or addr.count(":") >= 2:
                return addr
    return None


def _time(text: str) -> str | None:
    m = _TIME.search(text[:80])
    return m.group("time") if m else None


def analyse(text: str) -> LogReport:
    """Recognise every line of a log or debug capture (pure; no I/O)."""
    sigs = signatures()
    report = LogReport()
    lines = text.splitlines()
    for idx, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        # Wrapped syslog lines: the continuation carries fields (srcaddr=...) we want.
        joined = stripped
        j = idx + 1
        while j < len(lines) and lines[j][:1] in (" ", "\t") and not _TIME.search(lines[j][:40]):
            joined += " " + lines[j].strip()
            j += 1
        sig = next((s for s in sigs if s.pattern.search(joined)), None)
        if sig is None:
            if line[:1] in (" ", "\t") and idx > 0:
                continue  # a continuation already read with the line above
            if not _CRYPTOISH.search(stripped):
                continue  # noise: not an IPsec line
        report.events.append(
            Event(
                line=idx + 1,
                time=_time(stripped),
                peer=_peer(joined, sig),
                code=sig.code if sig else None,
                severity=sig.severity if sig else None,
                summary=sig.summary if sig else None,
                fix=(sig.fix or None) if sig else None,
                text=line.rstrip(),
            )
        )
    return report
