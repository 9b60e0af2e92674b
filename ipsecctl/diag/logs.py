"""Recognise IPsec syslog and debug lines, and lay them out per peer as a timeline.

The signatures are data (``signatures.yaml`` beside this module) so adding one never means
touching code; each carries its source. Lines that look crypto-related but match no signature
are kept with ``code: null`` (so an operator sees what we could not explain); everything else
(interface flaps, config messages) is noise and is dropped.

Debug output names the peer on few lines: most carry only a connection id (``ISAKMP:(1001):``,
``ISAKMP (0:1001):``, ``IKEv2:(SESSION ID = 3,...)``, ``sa_conn_id= 2002``, strongSwan's
``<conn|7>`` / ``IKE_SA conn[7]``) that another line of the same capture binds to an
address. The file is read twice: first to learn those bindings, then each peerless line takes
the peer its connection id had nearest before it (or, before the first binding, the first one
after). Connection id 0 is shared by every SA still in MM_NO_STATE,
so it never binds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ipsecctl.data_files import load_yaml
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
        r"sending packet to\s+ADDR",
        r"\[To ADDR:\d+/",
        r"\[From ADDR:\d+/",
    )
]
# Connection ids that tie a debug line to an SA (namespace, id).
_CONN_IDS = (
    ("ike", re.compile(r"\bISAKMP\s*:?\s*\((?:\d+:)?(?P<id>\d+)\)")),
    ("ikev2", re.compile(r"IKEv2:\(SESSION ID = (?P<id>\d+)")),
    ("ipsec", re.compile(r"\b(?:sa_conn_id|conn_id|connection id)\s*=?\s*(?P<id>\d+)")),
    # strongSwan charon: the IKE_SA's unique id, as the "<conn|id>" prefix or "IKE_SA conn[id]"
    ("charon", re.compile(r"<[^|<>\s]+\|(?P<id>\d+)>")),
    ("charon", re.compile(r"\bIKE_SA [^\s\[\]]+\[(?P<id>\d+)\]")),
)
# Addresses a line names as *ours*: never a peer (IPSEC(create_sa) prints the inbound SA with
# sa_dest = the local address, the outbound one with sa_dest = the peer).
_LOCAL_PATTERNS = [
    re.compile(p.replace("ADDR", _ADDR))
    for p in (
        r"\blocal=\s*ADDR",
        r"\(local\s+ADDR",
        r"\bLocal:?\s*ADDR[/:]",
        r"\bdestaddr=\s*ADDR",
        r"/From ADDR:\d+",
        r"/To ADDR:\d+",
    )
]
_SA_DEST = re.compile(r"\(sa\)\s*sa_dest=\s*" + _ADDR)
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
    session: str | None = None  # "down" | "up": the line marks a tunnel going down / coming up
    finding: str | None = None  # the health finding code the line is evidence for


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
    peer_via: str | None = None  # how a peer not on the line was found (conn-id binding)

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
            "peer_via": self.peer_via,
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
                        "fix": ev.fix,
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
    raw = load_yaml(SIGNATURES_FILE)
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
                session=item.get("session"),
                finding=item.get("finding"),
            )
        )
    return tuple(out)


def _peer(text: str, sig: Signature | None, local: frozenset[str] = frozenset()) -> str | None:
    """The first address a peer pattern finds that is not one of the router's own."""
    patterns = ([sig.peer] if sig and sig.peer else []) + _PEER_PATTERNS
    for pat in patterns:
        for m in pat.finditer(text):
            addr = _clean(m.group("peer"))
            if addr in local:
                continue
            if "." in addr or addr.count(":") >= 2:
                return addr
    return None


def _time(text: str) -> str | None:
    m = _TIME.search(text[:80])
    return m.group("time") if m else None


def _clean(addr: str) -> str:
    addr = addr.rstrip(".,:;!")
    v4_port = re.fullmatch(r"(\d{1,3}(?:\.\d{1,3}){3}):\d+", addr)
    return v4_port.group(1) if v4_port else addr


def _locals(lines: list[str]) -> set[str]:
    """Addresses the capture names as this router's own."""
    out: set[str] = set()
    for line in lines:
        for pat in _LOCAL_PATTERNS:
            out.update(_clean(m.group("peer")) for m in pat.finditer(line))
    return out


def _conn_keys(text: str) -> list[tuple[str, int]]:
    keys = []
    for space, pat in _CONN_IDS:
        for m in pat.finditer(text):
            cid = int(m.group("id"))
            if cid:
                keys.append((space, cid))
    return keys


def _fill_from_bindings(events: list[Event], keys: dict[int, list[tuple[str, int]]]) -> None:
    """Give peerless events the peer their connection id is bound to elsewhere in the file."""
    bindings: dict[tuple[str, int], list[tuple[int, str]]] = {}
    for ev in events:
        if ev.peer:
            for key in keys.get(ev.line, []):
                bindings.setdefault(key, []).append((ev.line, ev.peer))
    for ev in events:
        if ev.peer:
            continue
        for key in keys.get(ev.line, []):
            seen = bindings.get(key)
            if not seen:
                continue
            before = [b for b in seen if b[0] <= ev.line]
            line, peer = before[-1] if before else seen[0]
            ev.peer = peer
            ev.peer_via = f"{key[0]} conn-id {key[1]} bound to {peer} on line {line}"
            break


def analyse(text: str) -> LogReport:
    """Recognise every line of a log or debug capture (pure; no I/O)."""
    sigs = signatures()
    report = LogReport()
    lines = text.splitlines()
    local = frozenset(_locals(lines))
    keys: dict[int, list[tuple[str, int]]] = {}
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
        peer = _peer(joined, sig, local)
        if peer is None:
            dests = [_clean(m.group("peer")) for m in _SA_DEST.finditer(joined)]
            peer = next((d for d in dests if d not in local), None)
        keys[idx + 1] = _conn_keys(joined)
        report.events.append(
            Event(
                line=idx + 1,
                time=_time(stripped),
                peer=peer,
                code=sig.code if sig else None,
                severity=sig.severity if sig else None,
                summary=sig.summary if sig else None,
                fix=(sig.fix or None) if sig else None,
                text=line.rstrip(),
            )
        )
    _fill_from_bindings(report.events, keys)
    return report
