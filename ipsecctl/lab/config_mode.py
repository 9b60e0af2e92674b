"""Global configuration mode of lab devices (IOS / IOS-XE and ASA): enough for crypto.

The sub-modes a crypto configuration enters, the words each accepts, and the IOS rule that a
line a sub-mode does not know is tried one level up (so ``crypto map ...`` after a policy block
simply starts a new block). Lines land in the device's running configuration; when the operator
leaves configuration mode the fleet reads the configuration again and the tunnels follow it
(:meth:`ipsecctl.lab.state.Fleet.reconcile`).

Typing an attribute that a block holds once (``set transform-set``, ``hash``, ``crypto map`` on
an interface, an ASA ``crypto map NAME SEQ set peer``) replaces it, as on the devices.
"""

from __future__ import annotations

import re

from ipsecctl.lab.state import RouterState

INVALID = "% Invalid input detected at '^' marker."

# (header pattern, prompt mode, words a child line may start with)
IOS_SUBMODES: tuple[tuple[re.Pattern[str], str, frozenset[str]], ...] = tuple(
    (re.compile(rx, re.I), mode, frozenset(words.split()))
    for rx, mode, words in (
        (
            r"^crypto isakmp policy \d+$",
            "config-isakmp",
            "encryption encr hash authentication group lifetime",
        ),
        (
            r"^crypto map \S+ \d+ ipsec-isakmp( dynamic \S+)?$",
            "config-crypto-map",
            "set match description reverse-route",
        ),
        (r"^crypto ipsec transform-set \S+ \S.*$", "cfg-crypto-trans", "mode"),
        (r"^crypto ipsec profile \S+$", "ipsec-profile", "set description"),
        (r"^crypto ikev2 proposal \S+$", "config-ikev2-proposal", "encryption integrity group prf"),
        (r"^crypto ikev2 policy \S+$", "config-ikev2-policy", "proposal match"),
        (r"^crypto ikev2 keyring \S+$", "config-ikev2-keyring", "peer"),
        (r"^peer \S+$", "config-ikev2-keyring-peer", "address pre-shared-key description identity"),
        (
            r"^crypto ikev2 profile \S+$",
            "config-ikev2-profile",
            "match identity authentication keyring dpd lifetime description",
        ),
        (r"^crypto keyring \S+( vrf \S+)?$", "conf-keyring", "pre-shared-key description"),
        (r"^crypto isakmp profile \S+$", "conf-isa-prof", "vrf keyring match description"),
        (
            r"^interface [A-Za-z][\w\-]*\d+(/\d+)*(\.\d+)?$",
            "config-if",
            "ip ipv6 description crypto tunnel shutdown negotiation no vrf",
        ),
        (r"^ip access-list extended \S+$", "config-ext-nacl", "permit deny remark"),
    )
)
IOS_LEAVES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(rx, re.I)
    for rx in (
        r"^crypto isakmp key (?:[067] )?\S+ address \S+(?: \S+)?(?: no-xauth)?$",
        r"^crypto isakmp keepalive \d+(?: \d+)?(?: periodic| on-demand)?$",
        r"^crypto isakmp aggressive-mode disable$",
        r"^crypto ipsec security-association (?:lifetime (?:seconds|kilobytes) \d+"
        r"|replay window-size \d+)$",
        r"^ip route \S+ \S+ \S+(?: \d+)?$",
        r"^access-list \d+ (?:permit|deny) .+$",
    )
)
ASA_SUBMODES: tuple[tuple[re.Pattern[str], str, frozenset[str]], ...] = tuple(
    (re.compile(rx, re.I), mode, frozenset(words.split()))
    for rx, mode, words in (
        (
            r"^crypto ikev1 policy \d+$",
            "config-ikev1-policy",
            "authentication encryption hash group lifetime",
        ),
        (
            r"^crypto ikev2 policy \d+$",
            "config-ikev2-policy",
            "encryption integrity group prf lifetime",
        ),
        (r"^crypto ipsec ikev2 ipsec-proposal \S+$", "config-ipsec-proposal", "protocol"),
        (r"^tunnel-group \S+ ipsec-attributes$", "config-tunnel-ipsec", "ikev1 ikev2 isakmp"),
        (r"^tunnel-group \S+ general-attributes$", "config-tunnel-general", "default-group-policy"),
        (r"^group-policy \S+ attributes$", "config-group-policy", "vpn-tunnel-protocol"),
        (
            r"^interface [A-Za-z][\w\-]*\d+(/\d+)*(\.\d+)?$",
            "config-if",
            "nameif security-level ip description shutdown no",
        ),
    )
)
ASA_LEAVES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(rx, re.I)
    for rx in (
        r"^crypto map \S+ \d+ (?:match address \S+|set peer \S+(?: \S+)*"
        r"|set ikev1 transform-set \S+(?: \S+)*|set ikev2 ipsec-proposal \S+(?: \S+)*"
        r"|set pfs(?: group\d+)?|set security-association lifetime (?:seconds|kilobytes) "
        r"(?:\d+|unlimited)|set nat-t-disable|set reverse-route)$",
        r"^crypto map \S+ interface \S+$",
        r"^crypto ipsec ikev1 transform-set \S+ \S.*$",
        r"^crypto ipsec security-association pmtu-aging \S+$",
        r"^crypto ikev[12] enable \S+$",
        r"^tunnel-group \S+ type (?:ipsec-l2l|remote-access)$",
        r"^access-list \S+ extended (?:permit|deny) .+$",
        r"^group-policy \S+ internal$",
    )
)
# children a block holds once: typing one again replaces it
_ONCE = (
    "crypto map ",
    "ip address ",
    "description ",
    "set transform-set ",
    "match address ",
    "set pfs",
    "set ikev2-profile ",
    "set isakmp-profile ",
    "encr ",
    "encryption ",
    "hash ",
    "authentication remote ",
    "authentication local ",
    "authentication ",
    "group ",
    "lifetime ",
    "integrity ",
    "prf ",
    "nameif ",
    "security-level ",
    "ikev1 pre-shared-key ",
    "tunnel destination ",
    "tunnel source ",
    "tunnel protection ",
    "ikev2 remote-authentication ",
    "ikev2 local-authentication ",
    "protocol esp encryption ",
    "protocol esp integrity ",
    "keyring ",
    "vrf ",
    "address ",
    "pre-shared-key ",
    "set security-association lifetime seconds ",
    "set security-association lifetime kilobytes ",
)
# ASA one-line attributes replace their earlier value: the words that name the attribute
_ASA_ONE_LINE = re.compile(
    r"^(crypto map \S+ \d+ (?:match address|set peer|set ikev1 "
    r"transform-set|set ikev2 ipsec-proposal|set pfs|set "
    r"security-association lifetime (?:seconds|kilobytes)))\b",
    re.I,
)


# IOS one-line settings that replace an earlier one for the same address
_IOS_KEY = re.compile(r"^crypto isakmp key (?:[067] )?\S+ address (\S+)", re.I)


def _once_prefix(child: str) -> str | None:
    text = child.strip()
    return next((p for p in _ONCE if text.startswith(p) or text == p.strip()), None)


class ConfigMode:
    """One ``configure terminal`` session: a stack of sub-modes over the device's blocks."""

    def __init__(self, router: RouterState) -> None:
        self.router = router
        self.asa = router.spec.asa
        self.submodes = ASA_SUBMODES if self.asa else IOS_SUBMODES
        self.leaves = ASA_LEAVES if self.asa else IOS_LEAVES
        self.stack: list[tuple[str, frozenset[str], list[str], int]] = []  # mode, words, block
        self.changed = False
        self._base: dict[str, list[str]] | None = None

    @property
    def mode(self) -> str:
        return self.stack[-1][0] if self.stack else "config"

    def _base_blocks(self) -> dict[str, list[str]]:
        if self._base is None:
            self._base = {}
            cur: list[str] | None = None
            for ln in self.router.base_config.split("\n"):
                if ln and not ln.startswith(" "):
                    cur = self._base.setdefault(ln.rstrip(), [])
                elif ln.startswith(" ") and cur is not None:
                    cur.append(ln.rstrip())
        return self._base

    def _block(self, header: str) -> list[str]:
        blocks = self.router.config
        for block in blocks:
            if block[0] == header:
                return block
        block = [header]
        blocks.append(block)
        self.router.removed.discard(header)
        return block

    def _replace_one_line(self, line: str) -> None:
        """ASA ``crypto map M 10 set peer X`` replaces the entry's earlier ``set peer``; IOS
        ``crypto isakmp key K address A`` replaces the key for A."""
        m = _ASA_ONE_LINE.match(line)
        key = _IOS_KEY.match(line)
        if m is not None:
            prefix = m.group(1).lower()

            def same(head: str) -> bool:
                return head.lower().startswith(prefix)
        elif key is not None:
            addr = key.group(1)

            def same(head: str) -> bool:
                k = _IOS_KEY.match(head)
                return k is not None and k.group(1) == addr
        else:
            return
        blocks = self.router.config
        blocks[:] = [b for b in blocks if not same(b[0]) or b[0] == line]
        for head in self._base_blocks():
            if same(head) and head != line:
                self.router.removed.add(head)

    def _set_child(self, block: list[str], at: int, line: str) -> int:
        """Add ``line`` under ``block[at]``; a once-only attribute replaces its old value."""
        once = _once_prefix(line)
        if once is not None:
            indent = line[: len(line) - len(line.lstrip())]
            base_kids = self._base_blocks().get(block[0], []) if at == 0 else []
            for kid in base_kids:
                if kid.strip().startswith(once.strip()) and kid != line:
                    self.router.removed.add(f"{block[0]}\n{kid}")
            i = at + 1
            while i < len(block) and len(block[i]) - len(block[i].lstrip()) >= len(indent):
                if (
                    len(block[i]) - len(block[i].lstrip()) == len(indent)
                    and block[i].strip().startswith(once.strip())
                    and block[i] != line
                ):
                    del block[i]
                    continue
                i += 1
        self.router.removed.discard(f"{block[0]}\n{line}")
        return _child(block, at, line)

    def _no_child(self, block: list[str], at: int, target: str, depth: int) -> None:
        line = " " * depth + target
        if line in block:
            i = block.index(line)
            end = i + 1  # a removed sub-block takes its nested lines with it (IOS "no peer X")
            while end < len(block) and len(block[end]) - len(block[end].lstrip()) > depth:
                end += 1
            del block[i:end]
        for kid in self._base_blocks().get(block[0], []):
            if kid.strip() == target.strip() or (kid.strip().startswith(target.strip() + " ")):
                self.router.removed.add(f"{block[0]}\n{kid}")

    def line(self, text: str, prompt_len: int) -> tuple[str, bool]:
        """(output, leave config mode?) for one typed line."""
        stripped = " ".join(text.split())
        low = stripped.lower()
        if not stripped or stripped.startswith("!") or stripped.startswith(":"):
            return "", False
        if low == "end":
            return "", True
        if low == "exit":
            if not self.stack:
                return "", True
            self.stack.pop()
            return "", False
        while self.stack:
            mode, words, block, at = self.stack[-1]
            first = low.split()[0]
            depth = len(self.stack)
            if first == "no" and len(low.split()) > 1 and low.split()[1] in words:
                self._no_child(block, at, stripped[3:], depth)
                self.changed = True
                return "", False
            if first in words:
                self.changed = True
                if mode == "config-ikev2-keyring" and first == "peer":
                    idx = self._set_child(block, at, " " * depth + stripped)
                    sub = next(s for s in self.submodes if s[1] == "config-ikev2-keyring-peer")
                    self.stack.append((sub[1], sub[2], block, idx))
                    return "", False
                self._set_child(block, at, " " * depth + stripped)
                return "", False
            self.stack.pop()
        for pattern, mode, words in self.submodes:
            if pattern.match(stripped) and mode != "config-ikev2-keyring-peer":
                self.stack.append((mode, words, self._block(stripped), 0))
                self.changed = True
                return "", False
        if any(p.match(stripped) for p in self.leaves):
            self._replace_one_line(stripped)
            self._block(stripped)
            self.changed = True
            return "", False
        if self.asa and low.startswith("clear configure tunnel-group ") and len(low.split()) == 4:
            # ASA: removes every line of that tunnel group (its type and attribute blocks)
            prefix = f"tunnel-group {stripped.split()[3]} "
            self.router.config[:] = [b for b in self.router.config if not b[0].startswith(prefix)]
            self.router.removed |= {h for h in self._base_blocks() if h.startswith(prefix)}
            self.changed = True
            return "", False
        if low.startswith("no ") and len(stripped) > 3:
            target = stripped[3:]
            blocks = self.router.config
            kept = [b for b in blocks if b[0] != target]
            if len(kept) == len(blocks) or target in self._base_blocks():
                self.router.removed.add(target)
            blocks[:] = kept
            self.changed = True
            return "", False
        pos = len(text) - len(text.lstrip())
        error = ("ERROR: " if self.asa else "") + INVALID
        return " " * (prompt_len + pos) + "^\n" + error + "\n", False


def _child(block: list[str], parent: int, line: str) -> int:
    """Add ``line`` at the end of ``block[parent]``'s subtree unless it is there; its index."""
    indent = len(block[parent]) - len(block[parent].lstrip())
    end = parent + 1
    while end < len(block) and len(block[end]) - len(block[end].lstrip()) > indent:
        if block[end] == line:
            return end
        end += 1
    block.insert(end, line)
    return end


def _anchor(header: str) -> tuple[str, ...]:
    """Top-level lines a new block goes before (IOS prints sections in a fixed order)."""
    if header.startswith("crypto "):
        return (
            "interface ",
            "ip route",
            "ip access-list",
            "line con",
            "telnet timeout",
            "tunnel-group ",
            ": end",
        )
    if header.startswith("interface "):
        return ("ip route", "ip access-list", "access-list", "line con", "ftp mode")
    if header.startswith("ip route"):
        return ("ip access-list", "access-list", "line con")
    if header.startswith("access-list "):
        return ("pager lines", "line con")
    return ("line con", ": end")


def merge_config(base: str, blocks: list[list[str]], removed: set[str]) -> str:
    """The rendered running-config with the configured blocks merged in (pure).

    ``removed`` holds top-level lines removed with ``no`` (with their children) and, as
    ``"header\\nchild"``, single children a replacing attribute or a ``no`` took away.
    """
    if not blocks and not removed:
        return base
    lines = base.split("\n")
    gone_kids: dict[str, set[str]] = {}
    for r in removed:
        if "\n" in r:
            head, kid = r.split("\n", 1)
            gone_kids.setdefault(head, set()).add(kid)
    out: list[str] = []
    skip = False
    head = ""
    for ln in lines:
        if ln and not ln.startswith(" "):
            head = ln.rstrip()
            skip = head in removed
        elif not ln:
            skip = False
        if skip or (ln.startswith(" ") and ln.rstrip() in gone_kids.get(head, ())):
            continue
        out.append(ln)
    lines = out
    stripped = [ln.rstrip() for ln in lines]
    for block in blocks:
        header, children = block[0], block[1:]
        if header in stripped:
            at = stripped.index(header) + 1
            end = at
            while end < len(lines) and lines[end].startswith(" "):
                end += 1
            present = set(lines[at:end])
            new = [c for c in children if c not in present]
            lines[end:end] = new
            stripped[end:end] = new
            continue
        anchors = _anchor(header)
        pos = next((i for i, ln in enumerate(lines) if ln.startswith(anchors)), None)
        if pos is None:
            pos = next((i for i, ln in enumerate(lines) if ln in ("end", ": end")), len(lines))
        new_lines = [
            header,
            *children,
            *(
                []
                if header.startswith(("crypto map ", "access-list ", "tunnel-group "))
                and not children
                else ["!"]
            ),
        ]
        lines[pos:pos] = new_lines
        stripped[pos:pos] = new_lines
    return "\n".join(lines)
