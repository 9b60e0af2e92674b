"""Plan one device's push from its live configuration: exact lines, conflicts, the way back.

Pure functions over two texts (the rendered configuration, the running configuration): what
to type, what would be overwritten (refused: a push never silently repoints an existing crypto
map entry, swaps the map on an interface or replaces a key something else uses), and the
inverse lines that remove exactly what the push adds. Comparison is on redacted text
(:func:`ipsecctl.redact.redact_text`) so keys never need to be shown; with the keys at hand
(a real push), a key line is compared in clear against the device's own line, in memory only.

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


_TYPE0 = re.compile(r"\b(key|pre-shared-key)((?:\s+(?:local|remote))?)\s+0\s+(?=\S)")


def norm(line: str) -> str:
    """A key line without its ``0`` (clear text) type marker: devices may print it or not."""
    return _TYPE0.sub(r"\1\2 ", line)


def running_blocks(running: str, *, redact: bool = True) -> dict[str, list[str]]:
    """header -> children (redacted unless asked, as printed) of a running configuration."""
    out: dict[str, list[str]] = {}
    cur: list[str] | None = None
    text = running.replace("\r\n", "\n")
    for raw in text.split("\n"):
        raw = rkey(raw) if redact else norm(raw)
        line = raw.rstrip()
        if not line.strip() or line.strip() == "!" or line.startswith("!"):
            continue
        if line.startswith(" "):
            if cur is not None:
                cur.append(line)
            continue
        cur = out.setdefault(line, [])
    return out


_TYPE_ANY = re.compile(r"\b(key|pre-shared-key)((?:\s+(?:local|remote))?)\s+[0678]\s+(?=\S)")


def rkey(line: str) -> str:
    """How a line is matched with the running configuration: redacted, no key type marker
    (a key stored encrypted is still the key of that place)."""
    return redact_text(_TYPE_ANY.sub(r"\1\2 ", line)).rstrip()


def paths(children: list[str], *, redact: bool = True) -> list[tuple[str, ...]]:
    """Each child line with the lines it is nested under (redacted, type-0 markers dropped):
    ``  address A`` under `` peer a`` is not the same line as under `` peer b``."""
    out: list[tuple[str, ...]] = []
    stack: list[tuple[int, str]] = []
    for line in children:
        depth = _depth(line)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        text = rkey(line) if redact else norm(line).rstrip()
        out.append((*(t for _, t in stack), text))
        stack.append((depth, text))
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
            have = [
                c.strip()
                for c in current.get(rkey(head), [])
                if c.strip().startswith("crypto map ")
            ]
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


_STORED_ENCRYPTED = re.compile(r"(?:key|pre-shared-key|secret)\s+[678]\s+\S")


def _key_conflicts(
    masked: list[str], real: list[str], running: str, current: dict[str, list[str]]
) -> tuple[list[str], set[int]]:
    """Key lines this push would send into a place that already holds a key.

    A device keeps one key per peer in many places (``crypto isakmp key ... address A``, an
    ASA ``tunnel-group A ipsec-attributes``): when the place exists with another clear-text
    key, the push would silently re-key whatever uses it (another network, an operator's
    tunnel): a conflict. A key stored encrypted (type 6/7/8) cannot be compared: it is sent
    again (returned as indices to send), which is harmless when it is the same key.
    """
    raw = running_blocks(running, redact=False)
    conflicts: list[str] = []
    resend: set[int] = set()
    for h, kids in _rendered_blocks(masked):
        head = rkey(masked[h])
        have = set(paths(current[head])) if head in current else set()
        mine = dict(zip(kids, paths([masked[k] for k in kids]), strict=True))
        raw_have = set(paths(raw.get(norm(real[h]), []), redact=False))
        raw_mine = dict(zip(kids, paths([real[k] for k in kids], redact=False), strict=True))
        for i in [h, *kids]:
            if redact_text(real[i]) == real[i]:
                continue  # no secret on this line
            shown = masked[i].strip()
            if head not in current:
                continue  # a new block: nothing there to replace
            if i != h and mine[i] not in have:
                continue  # a new child line
            if (i == h and norm(real[h]) in raw) or (i != h and raw_mine[i] in raw_have):
                continue  # the same key is already there
            where = masked[h] if i != h else shown
            siblings = raw.get(norm(real[h]), []) if i != h else list(raw)
            if any(
                _STORED_ENCRYPTED.search(x)
                for x in siblings
                if rkey(x).strip() == rkey(real[i]).strip()
            ):
                resend.add(i)
                continue
            conflicts.append(
                f"'{where}' already holds another key ('{shown}'): one key per "
                "peer fits there, and this push would replace it for whatever "
                "uses it now"
            )
    return conflicts, resend


def plan_cisco(
    platform: str, masked_lines: list[str], running: str, real_lines: list[str] | None = None
) -> LinePlan:
    """The lines of ``masked_lines`` that the running configuration lacks, and their inverse.

    A block whose header is missing is sent whole and removed whole on rollback; a block that
    exists gets only its missing children (with the parent line of a nested child), removed
    one by one on rollback.
    """
    current = running_blocks(running)
    plan = LinePlan()
    plan.conflicts = _cisco_conflicts(platform, masked_lines, masked_lines, current)
    resend: set[int] = set()
    if real_lines is not None:
        keyed, resend = _key_conflicts(masked_lines, real_lines, running, current)
        plan.conflicts += keyed
    asa = platform == "cisco_asa"
    undo: list[list[RollbackStep]] = []
    for h, kids in _rendered_blocks(masked_lines):
        head = masked_lines[h]
        key = rkey(head)
        if key not in current:
            plan.send += [h, *kids]
            undo.append([_remove_block(head, h, asa)])
            continue
        if h in resend and not kids:  # a one-line key stored encrypted: typed again
            plan.send.append(h)
            continue
        have = set(paths(current[key]))
        mine = dict(zip(kids, paths([masked_lines[k] for k in kids]), strict=True))
        missing = [k for k in kids if mine[k] not in have or k in resend]
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
        for step in steps:
            if step[1] is None and step in plan.rollback:
                continue  # e.g. one "clear configure tunnel-group" for all its lines
            plan.rollback.append(step)
    return plan


def _remove_block(head: str, index: int, asa: bool) -> RollbackStep:
    words = head.split()
    if asa and head.startswith("tunnel-group "):
        return (f"clear configure tunnel-group {words[1]}", None)
    return ("no ", index)
