"""Plan one device's push from its live configuration: exact lines, conflicts, the way back.

Pure functions over two texts (the rendered configuration, the running configuration): what
to type, what would be overwritten (refused: a push never silently repoints an existing crypto
map entry or swaps the map on an interface), and the inverse lines that remove exactly what
the push adds. Comparison is on redacted text (:func:`ipsecctl.redact.redact_text`) so keys
never need to be shown; a key line is sent whenever its block or parent is sent.

Lines are chosen by *index* into the rendered configuration's lines: the same device rendered
with placeholders (shown, audited) and with the keys (sent) has the same lines in the same
order, so the plan shown is exactly the plan sent, key words aside.

Rollback is the inverse of the plan (``no <header>`` for each block the push created, ``no
<child>`` under each block it extended, newest first). IOS ``configure replace`` from an
archive would restore the whole file instead; the inverse lines touch only what this push
added, which is also what an operator reviewing the confirmation can read line by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ipsecctl.provision.model import CISCO_IOS
from ipsecctl.redact import redact_text

RollbackStep = tuple[str, int | None]  # (text, or a prefix for the rendered line at index)


@dataclass
class LinePlan:
    """What to send to one Cisco device, as indices into its rendered lines."""

    send: list[int] = field(default_factory=list)
    rollback: list[RollbackStep] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unchanged: int = 0

    def lines(self, rendered: list[str]) -> list[str]:
        return [rendered[i] for i in self.send]

    def rollback_lines(self, rendered: list[str]) -> list[str]:
        return [text + (rendered[i].strip() if i is not None else "") for text, i in self.rollback]


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def running_blocks(running: str) -> dict[str, list[str]]:
    """header -> children (redacted, as printed) of a running configuration."""
    out: dict[str, list[str]] = {}
    cur: list[str] | None = None
    for raw in redact_text(running.replace("\r\n", "\n")).split("\n"):
        line = raw.rstrip()
        if not line.strip() or line.strip() == "!" or line.startswith("!"):
            continue
        if line.startswith(" "):
            if cur is not None:
                cur.append(line)
            continue
        cur = out.setdefault(line, [])
    return out


def _rendered_blocks(lines: list[str]) -> list[tuple[int, list[int]]]:
    """(header index, child indices) in rendered order."""
    out: list[tuple[int, list[int]]] = []
    for i, line in enumerate(lines):
        if line.startswith(" "):
            if out:
                out[-1][1].append(i)
        else:
            out.append((i, []))
    return out


_MAP_ENTRY = re.compile(r"^crypto map (\S+) (\d+) ipsec-(isakmp|manual)")
_ASA_MAP_LINE = re.compile(r"^crypto map (\S+) (\d+) (set peer|match address) (.+)$")


def _cisco_conflicts(
    platform: str, lines: list[str], masked: list[str], current: dict[str, list[str]]
) -> list[str]:
    """Lines that would overwrite something that is not this network's."""
    out: list[str] = []
    for h, kids in _rendered_blocks(masked):
        head = masked[h]
        if head.startswith("interface "):
            have = [c.strip() for c in current.get(head, []) if c.strip().startswith("crypto map ")]
            want = [masked[k].strip() for k in kids if masked[k].strip().startswith("crypto map ")]
            if have and want and have[0] != want[0]:
                out.append(
                    f"{head} already has '{have[0]}' (an interface takes one crypto "
                    f"map): set crypto_map: {have[0].split()[-1]} for this device"
                )
        m = _MAP_ENTRY.match(head)
        if m and head in current:
            mine = {masked[k].strip() for k in kids}
            theirs = {c.strip() for c in current[head]}
            peer_mine = {x for x in mine if x.startswith("set peer ")}
            peer_theirs = {x for x in theirs if x.startswith("set peer ")}
            if peer_theirs and peer_mine != peer_theirs:
                out.append(
                    f"'{head}' already exists with {', '.join(sorted(peer_theirs))}: "
                    "choose another map sequence number"
                )
        a = _ASA_MAP_LINE.match(head)
        if a and platform == "cisco_asa":
            prefix = f"crypto map {a.group(1)} {a.group(2)} {a.group(3)} "
            other = [h2 for h2 in current if h2.startswith(prefix) and h2 != head]
            if other:
                out.append(
                    f"'{other[0]}' exists: '{head}' would replace it; choose another "
                    "map sequence number"
                )
        if (
            platform == "cisco_asa"
            and head.startswith("crypto map ")
            and head.split()[3:4] == ["interface"]
        ):
            iface = head.split()[-1]
            other = [
                h2
                for h2 in current
                if h2.startswith("crypto map ")
                and h2.endswith(f" interface {iface}")
                and h2 != head
            ]
            if other:
                out.append(
                    f"'{other[0]}' is applied: set crypto_map: {other[0].split()[2]} "
                    "for this device"
                )
    return out


def plan_cisco(platform: str, masked_lines: list[str], running: str) -> LinePlan:
    """The lines of ``masked_lines`` that the running configuration lacks, and their inverse.

    A block whose header is missing is sent whole and removed whole on rollback; a block that
    exists gets only its missing children (with the parent line of a nested child), removed
    one by one on rollback.
    """
    current = running_blocks(running)
    plan = LinePlan()
    plan.conflicts = _cisco_conflicts(platform, masked_lines, masked_lines, current)
    asa = platform == "cisco_asa"
    undo: list[list[RollbackStep]] = []
    for h, kids in _rendered_blocks(masked_lines):
        head = masked_lines[h]
        if head not in current:
            plan.send += [h, *kids]
            undo.append([_remove_block(head, h, asa)])
            continue
        have = {redact_text(c) for c in current[head]}
        missing = [k for k in kids if redact_text(masked_lines[k]) not in have]
        if not missing:
            plan.unchanged += 1 + len(kids)
            continue
        chosen: list[int] = [h]
        steps: list[RollbackStep] = []
        for k in missing:
            depth = _depth(masked_lines[k])
            if depth > 1:  # send the parent line first (e.g. " peer X" for "  address A")
                parent = next(
                    (j for j in range(k - 1, h, -1) if _depth(masked_lines[j]) < depth), None
                )
                if parent is not None and parent not in chosen:
                    chosen.append(parent)
                    if parent in missing:
                        continue
            if k not in chosen:
                chosen.append(k)
        chosen_set = set(chosen)
        ordered = [h] + [k for k in kids if k in chosen_set]
        plan.send += ordered
        # inverse: the header, then "no <child>" for each added depth-1 child (a removed
        # parent takes its nested children with it)
        added_top = [k for k in kids if k in missing and _depth(masked_lines[k]) == 1]
        if added_top:
            steps.append(("", h))
            steps += [(" no ", k) for k in reversed(added_top)]
        for k in kids:
            if k in missing and _depth(masked_lines[k]) > 1:
                parent = next(
                    (
                        j
                        for j in range(k - 1, h, -1)
                        if _depth(masked_lines[j]) < _depth(masked_lines[k])
                    ),
                    None,
                )
                if parent is not None and parent in missing:
                    continue  # goes with its parent
                steps += (
                    [("", h)]
                    + ([("", parent)] if parent is not None else [])
                    + [(" " * _depth(masked_lines[k]) + "no ", k)]
                )
        if steps:
            undo.append(steps)
        plan.unchanged += 1 + len(kids) - len(chosen)
    for steps in reversed(undo):
        plan.rollback += steps
    return plan


def _remove_block(head: str, index: int, asa: bool) -> RollbackStep:
    words = head.split()
    if asa and head.startswith("tunnel-group "):
        return (f"clear configure tunnel-group {words[1]}", None)
    return ("no ", index)


def is_cisco(platform: str) -> bool:
    return platform in CISCO_IOS or platform == "cisco_asa"
