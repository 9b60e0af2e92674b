"""Cisco-style command matching shared by the IOS and ASA lab CLIs.

A small command tree is matched the way Cisco parsers match it: every keyword may be
abbreviated to a unique prefix, an unknown word gets the ``^`` marker under it, a prefix that
fits two keywords is ambiguous, and a line that stops early is incomplete. The wording of the
errors is the family's (:class:`Dialect`): IOS prints ``% Invalid input ...``, an ASA prefixes
its errors with ``ERROR:``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

PARAM_IP = "A.B.C.D"
PARAM_IPV6 = "X:X:X:X::X"
PARAM_ADDR = "ADDR"  # IPv4 or IPv6
PARAM_WORD = "WORD"
PARAM_NUM = "NUM"
PARAM_IFACE = "IFACE"


@dataclass(frozen=True)
class Dialect:
    invalid: str
    incomplete: str
    ambiguous: str  # format with {typed}
    unknown_word: tuple[str, ...] | None  # lines for a lone unknown word (IOS: DNS lookup)


IOS = Dialect(
    invalid="% Invalid input detected at '^' marker.",
    incomplete="% Incomplete command.",
    ambiguous='% Ambiguous command:  "{typed}"',
    unknown_word=(
        'Translating "{tok}"',
        "% Unknown command or computer name, or unable to find computer address",
    ),
)
ASA = Dialect(
    invalid="ERROR: % Invalid input detected at '^' marker.",
    incomplete="ERROR: % Incomplete command",
    ambiguous='ERROR: % Ambiguous command:  "{typed}"',
    unknown_word=None,
)


@dataclass
class Node:
    """One position in the command tree."""

    children: dict[str, Node] = field(default_factory=dict)
    params: list[tuple[str, str, Node]] = field(default_factory=list)  # (kind, arg name, next)
    action: str | None = None
    priv: int = 1

    def kw(self, word: str, priv: int = 1, action: str | None = None) -> Node:
        node = self.children.get(word)
        if node is None:
            node = Node(priv=priv, action=action)
            self.children[word] = node
        return node

    def param(self, kind: str, name: str, action: str | None = None) -> Node:
        node = Node(action=action)
        self.params.append((kind, name, node))
        return node


def valid(kind: str, token: str) -> bool:
    if kind == PARAM_WORD:
        return True
    if kind == PARAM_NUM:
        return token.isdigit()
    if kind == PARAM_IFACE:
        return bool(re.match(r"^[A-Za-z][A-Za-z\-]*\d+(/\d+)*$", token))
    try:
        addr = ipaddress.ip_address(token)
    except ValueError:
        return False
    if kind == PARAM_IP:
        return addr.version == 4
    if kind == PARAM_IPV6:
        return addr.version == 6
    return True


@dataclass
class Match:
    action: str | None = None
    args: dict[str, str] = field(default_factory=dict)
    error: list[str] | None = None  # lines to print instead
    rest: list[str] = field(default_factory=list)  # tokens after an open-ended command


def _tokens(line: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in re.finditer(r"\S+", line)]


def match(
    tree: Node,
    line: str,
    priv: int,
    prompt_len: int,
    dialect: Dialect = IOS,
    open_ended: frozenset[str] = frozenset({"ping"}),
) -> Match:
    """Walk ``tree`` for ``line``; errors carry the family's exact text (caret aligned).
    Actions in ``open_ended`` take the rest of the line as options once their last
    parameter is read (``ping X repeat 5 ...``)."""
    toks = _tokens(line)
    node = tree
    args: dict[str, str] = {}
    for i, (pos, tok) in enumerate(toks):
        if node.action in open_ended and "dest" in args:
            return Match(node.action, args, rest=[t for _, t in toks[i:]])
        low = tok.lower()
        visible = {k: v for k, v in node.children.items() if v.priv <= priv}
        if low in visible:
            node = visible[low]
            continue
        cands = [k for k in visible if k.startswith(low)]
        if len(cands) == 1:
            node = visible[cands[0]]
            continue
        if len(cands) > 1:
            typed = " ".join(t for _, t in toks[: i + 1])
            return Match(error=[dialect.ambiguous.format(typed=typed)])
        for kind, name, nxt in node.params:
            if valid(kind, tok):
                args[name] = tok
                node = nxt
                break
        else:
            if i == 0 and len(toks) == 1 and dialect.unknown_word is not None:
                return Match(error=[x.format(tok=tok) for x in dialect.unknown_word])
            return Match(error=[" " * (prompt_len + pos) + "^", dialect.invalid])
    if node.action is None:
        return Match(error=[dialect.incomplete])
    return Match(node.action, args)
