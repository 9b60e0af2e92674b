"""The IOS exec CLI of a lab router: abbreviations, error markers, privilege, commands.

A small command tree is matched the way IOS matches it: every keyword may be abbreviated to a
unique prefix, an unknown word gets the ``^`` marker under it, a prefix that fits two keywords
is ``% Ambiguous command``, and a line that stops early is ``% Incomplete command.``. The tree
knows nothing about SSH: :class:`CliSession` turns one input line into output text, and
``sshd`` moves bytes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from ipsecctl.lab import render
from ipsecctl.lab.state import Fleet, RouterState

INVALID = "% Invalid input detected at '^' marker."
INCOMPLETE = "% Incomplete command."

# parameter kinds accepted where a keyword is not
PARAM_IP = "A.B.C.D"
PARAM_IPV6 = "X:X:X:X::X"
PARAM_ADDR = "ADDR"  # IPv4 or IPv6
PARAM_WORD = "WORD"
PARAM_NUM = "NUM"
PARAM_IFACE = "IFACE"


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


def _valid(kind: str, token: str) -> bool:
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


def _peer_arg(node: Node, action: str) -> None:
    node.param(PARAM_ADDR, "peer", action)


def build_tree() -> Node:
    root = Node()
    show = root.kw("show")
    show.kw("version", action="show_version")
    show.kw("clock", action="show_clock")
    show.kw("running-config", priv=15, action="show_run")
    show.kw("logging", action="show_logging")
    show.kw("users", action="show_users")
    show.kw("ip").kw("interface").kw("brief", action="show_ip_int_brief")
    crypto = show.kw("crypto")
    isakmp = crypto.kw("isakmp")
    sa = isakmp.kw("sa", action="show_isakmp_sa")
    sa.kw("detail", action="show_isakmp_sa_detail")
    ikev2 = crypto.kw("ikev2")
    v2sa = ikev2.kw("sa", action="show_ikev2_sa")
    v2sa.kw("detailed", action="show_ikev2_sa_detailed")
    _peer_arg(v2sa.kw("remote"), "show_ikev2_sa")
    ipsec = crypto.kw("ipsec")
    isa = ipsec.kw("sa", action="show_ipsec_sa")
    isa.kw("detail", action="show_ipsec_sa_detail")
    peer = isa.kw("peer")
    peer.param(PARAM_ADDR, "peer", "show_ipsec_sa").kw("detail", action="show_ipsec_sa_detail")
    isa.kw("interface").param(PARAM_IFACE, "interface", "show_ipsec_sa")
    sess = crypto.kw("session", action="show_session")
    sess.kw("detail", action="show_session_detail")
    _peer_arg(sess.kw("remote"), "show_session")
    crypto.kw("map", action="show_crypto_map")

    conf = root.kw("configure", priv=15)
    conf.kw("terminal", priv=15, action="configure")
    root.kw("write", priv=15).kw("memory", priv=15, action="write_memory")
    root.kw("enable", action="enable")
    root.kw("disable", priv=15, action="disable")
    for word in ("exit", "logout", "quit"):
        root.kw(word, action="exit")
    term = root.kw("terminal")
    term.kw("length").param(PARAM_NUM, "length", "term_length")
    term.kw("width").param(PARAM_NUM, "width", "term_width")
    term.kw("monitor", action="noop")

    ping = root.kw("ping")
    ping.kw("vrf").param(PARAM_WORD, "vrf").param(PARAM_ADDR, "dest", "ping")
    ping.param(PARAM_ADDR, "dest", "ping")

    clear = root.kw("clear", priv=15)
    cc = clear.kw("crypto")
    cs = cc.kw("session", action="clear_session")
    rem = cs.kw("remote").param(PARAM_ADDR, "peer", "clear_session")
    rem.kw("fvrf").param(PARAM_WORD, "vrf", "clear_session")
    csa = cc.kw("sa", action="clear_sa")
    p = csa.kw("peer")
    p.param(PARAM_ADDR, "peer", "clear_sa")
    p.kw("vrf").param(PARAM_WORD, "vrf").param(PARAM_ADDR, "peer", "clear_sa")
    csa.kw("counters", action="noop")
    ci = cc.kw("isakmp", action="clear_isakmp")
    ci.param(PARAM_NUM, "conn_id", "clear_isakmp")
    cv2 = cc.kw("ikev2").kw("sa", action="clear_ikev2")
    r2 = cv2.kw("remote").param(PARAM_ADDR, "peer", "clear_ikev2")
    r2.kw("fvrf").param(PARAM_WORD, "vrf", "clear_ikev2")
    clear.kw("logging", action="clear_logging")
    return root


TREE = build_tree()


@dataclass
class Match:
    action: str | None = None
    args: dict[str, str] = field(default_factory=dict)
    error: list[str] | None = None  # lines to print instead
    rest: list[str] = field(default_factory=list)  # tokens after a ping destination


def _tokens(line: str) -> list[tuple[int, str]]:
    return [(m.start(), m.group()) for m in re.finditer(r"\S+", line)]


def match(line: str, priv: int, prompt_len: int) -> Match:
    """Walk the tree for ``line``; errors carry the exact IOS text (caret aligned)."""
    toks = _tokens(line)
    node = TREE
    args: dict[str, str] = {}
    for i, (pos, tok) in enumerate(toks):
        if node.action == "ping" and "dest" in args:
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
            return Match(error=[f'% Ambiguous command:  "{typed}"'])
        for kind, name, nxt in node.params:
            if _valid(kind, tok):
                args[name] = tok
                node = nxt
                break
        else:
            if i == 0 and len(toks) == 1:
                return Match(error=[
                    f'Translating "{tok}"',
                    "% Unknown command or computer name, or unable to find computer address",
                ])
            return Match(error=[" " * (prompt_len + pos) + "^", INVALID])
    if node.action is None:
        return Match(error=[INCOMPLETE])
    return Match(node.action, args)


@dataclass
class CliSession:
    """Per-connection state: privilege, terminal length/width, and the command handlers."""

    fleet: Fleet
    name: str
    enable_secret: str
    priv: int = 1
    length: int = 24
    width: int = 80
    closed: bool = False
    sleep: Callable[[float], None] | None = None
    config: ConfigMode | None = None  # set while in configuration mode

    @property
    def prompt(self) -> str:
        if self.config is not None:
            return f"{self.name}({self.config.mode})#"
        return f"{self.name}{'#' if self.priv >= 15 else '>'}"

    def run(self, line: str) -> str:
        """Output of one command line (without the trailing prompt)."""
        if not line.strip():
            return ""
        if self.config is not None:
            words = line.split()
            if words[0].lower() == "do" and len(words) > 1:
                cfg, self.config = self.config, None
                try:
                    return self.run(line.split(None, 1)[1])
                finally:
                    self.config = cfg
            with self.fleet.lock:
                out, leave = self.config.line(line, len(self.prompt))
            if leave:
                self.config = None
            return out
        m = match(line, self.priv, len(self.prompt))
        if m.error:
            return "\n".join(m.error) + "\n"
        assert m.action is not None
        handler = getattr(self, f"do_{m.action}")
        text: str = handler(m)
        return text

    # -------------------------------------------------------------- simple commands
    def _show(self, fn: Callable[..., str], **kw: object) -> str:
        with self.fleet.lock:
            t = self.fleet.advance()
            text = fn(self.fleet, self.name, t, **kw)
        return text + ("\n" if text and not text.endswith("\n") else "")

    def do_noop(self, m: Match) -> str:
        return ""

    def do_exit(self, m: Match) -> str:
        self.closed = True
        return ""

    def do_enable(self, m: Match) -> str:
        return ""  # the shell handles the password dialogue

    def do_disable(self, m: Match) -> str:
        self.priv = 1
        return ""

    def do_term_length(self, m: Match) -> str:
        n = int(m.args["length"])
        if n > 512:
            return " " * (len(self.prompt) + len("terminal length ")) + "^\n" + INVALID + "\n"
        self.length = n
        return ""

    def do_term_width(self, m: Match) -> str:
        n = int(m.args["width"])
        if n > 512 or (n < 40 and n != 0):
            return " " * (len(self.prompt) + len("terminal width ")) + "^\n" + INVALID + "\n"
        self.width = n
        return ""

    def do_show_version(self, m: Match) -> str:
        return self._show(render.show_version)

    def do_show_clock(self, m: Match) -> str:
        with self.fleet.lock:
            dt = self.fleet.clock.wall(self.fleet.advance())
        return f"*{dt:%H:%M:%S}.{dt.microsecond // 1000:03d} UTC {dt:%a %b} {dt.day} {dt.year}\n"

    def do_show_users(self, m: Match) -> str:
        return ("    Line       User       Host(s)              Idle       Location\n"
                "*  2 vty 0     admin      idle                 00:00:00 127.0.0.1\n\n"
                "  Interface    User               Mode         Idle     Peer Address\n\n")

    def do_show_run(self, m: Match) -> str:
        with self.fleet.lock:
            base = render.running_config(
                self.fleet, self.name, "FLgBaJHXdYY_AVH]SKSY_YCOMTRaEcE", "$9$lab$7xkLj3Pq1Zr"
            )
            router = self.fleet.routers[self.name]
            return merge_config(base, router.config, router.removed)

    def do_configure(self, m: Match) -> str:
        self.config = ConfigMode(self.fleet.routers[self.name])
        return "Enter configuration commands, one per line.  End with CNTL/Z.\n"

    def do_write_memory(self, m: Match) -> str:
        return "Building configuration...\n[OK]\n"

    def do_show_logging(self, m: Match) -> str:
        return self._show(render.show_logging)

    def do_show_ip_int_brief(self, m: Match) -> str:
        return self._show(render.show_ip_interface_brief)

    def do_show_isakmp_sa(self, m: Match) -> str:
        return self._show(render.show_isakmp_sa)

    def do_show_isakmp_sa_detail(self, m: Match) -> str:
        return self._show(render.show_isakmp_sa_detail)

    def do_show_ikev2_sa(self, m: Match) -> str:
        return self._show(render.show_ikev2_sa)

    def do_show_ikev2_sa_detailed(self, m: Match) -> str:
        return self._show(render.show_ikev2_sa, detailed=True)

    def do_show_ipsec_sa(self, m: Match) -> str:
        return self._show(render.show_ipsec_sa, peer=m.args.get("peer"),
                          interface=m.args.get("interface"))

    def do_show_ipsec_sa_detail(self, m: Match) -> str:
        return self._show(render.show_ipsec_sa, detail=True, peer=m.args.get("peer"))

    def do_show_session(self, m: Match) -> str:
        return self._show(render.show_crypto_session)

    def do_show_session_detail(self, m: Match) -> str:
        return self._show(render.show_crypto_session, detail=True)

    def do_show_crypto_map(self, m: Match) -> str:
        return self._show(render.show_crypto_map)

    # -------------------------------------------------------------- actions
    def _peer(self, m: Match) -> str | None:
        peer = m.args.get("peer")
        if peer is None:
            return None
        return str(ipaddress.ip_address(peer))

    def _vrfs(self) -> set[str]:
        return {lk.spec.vrf for lk, _ in self.fleet.ends_of(self.name) if lk.spec.vrf}

    def _vrf_ok(self, m: Match) -> str:
        vrf = m.args.get("vrf")
        if vrf is not None and vrf not in self._vrfs():
            return f"% VRF {vrf} does not exist\n"
        return ""

    def _norm_clear(self, what: str, m: Match, conn: int | None = None) -> str:
        bad = self._vrf_ok(m)
        if bad:
            return bad
        peer = self._peer(m)
        with self.fleet.lock:
            self._clear_peer(what, peer, conn, m.args.get("vrf"))
        return ""

    def _clear_peer(self, what: str, peer: str | None, conn: int | None,
                    vrf: str | None = None) -> None:
        if peer is not None:
            # match on the normalised address; lab addresses are stored normalised
            for link, side in self.fleet.ends_of(self.name):
                addr = self.fleet.peer_addr(link, side)
                if ipaddress.ip_address(addr) == ipaddress.ip_address(peer):
                    peer = addr
                    break
        self.fleet.clear(self.name, what, peer, conn, vrf=vrf)

    def do_clear_session(self, m: Match) -> str:
        return self._norm_clear("session", m)

    def do_clear_sa(self, m: Match) -> str:
        return self._norm_clear("sa", m)

    def do_clear_isakmp(self, m: Match) -> str:
        conn = m.args.get("conn_id")
        return self._norm_clear("isakmp", m, int(conn) if conn is not None else None)

    def do_clear_ikev2(self, m: Match) -> str:
        return self._norm_clear("ikev2", m)

    def do_clear_logging(self, m: Match) -> str:
        with self.fleet.lock:
            self.fleet.routers[self.name].log.clear()
        return ""

    def do_ping(self, m: Match) -> str:
        vrf = m.args.get("vrf")
        if vrf is not None and vrf not in self._vrfs():
            return f"% VRF {vrf} does not have a usable source address\n"
        dest = m.args["dest"]
        repeat, timeout, source = 5, 2.0, None
        rest = list(m.rest)
        head = f"ping vrf {vrf}" if vrf else "ping"  # where the caret counts from
        opts: dict[str, str | None] = dict.fromkeys(("source", "repeat", "timeout", "size"))
        i = 0
        while i < len(rest):
            word = rest[i].lower()
            keys = [k for k in opts if k.startswith(word)]
            pos = len(self.prompt) + len(head) + 1 + len(dest) + 1 + sum(
                len(x) + 1 for x in rest[:i]
            )
            if len(keys) != 1 or i + 1 >= len(rest):
                if len(keys) == 1:
                    return INCOMPLETE + "\n"
                return " " * pos + "^\n" + INVALID + "\n"
            opts[keys[0]] = rest[i + 1]
            i += 2
        try:
            if opts["repeat"] is not None:
                repeat = max(1, min(int(opts["repeat"]), 2147483647))
            if opts["timeout"] is not None:
                timeout = float(int(opts["timeout"]))
        except ValueError:
            return INVALID + "\n"
        if opts["source"] is not None:
            source = self._source_addr(str(opts["source"]))
            if source is None:
                return f"% Invalid source interface - {opts['source']}\n"
        repeat = min(repeat, 100)
        marks, duration = self.fleet.ping(self.name, dest, source, repeat, timeout, vrf=vrf)
        if self.sleep is not None and duration > 0:
            self.sleep(min(duration / self.fleet.clock.scale, 5.0))
        ok = marks.count("!")
        lines = [
            "Type escape sequence to abort.",
            f"Sending {repeat}, 100-byte ICMP Echos to {dest}, timeout is {int(timeout)} seconds:",
        ]
        if source is not None:
            lines.append(f"Packet sent with a source address of {source} ")
        lines.append(marks)
        rate = ok * 100 // repeat
        tail = f"Success rate is {rate} percent ({ok}/{repeat})"
        if ok:
            tail += ", round-trip min/avg/max = 1/1/2 ms"
        lines.append(tail)
        return "\n".join(lines) + "\n"

    def _source_addr(self, token: str) -> str | None:
        spec = self.fleet.routers[self.name].spec
        try:
            return str(ipaddress.ip_address(token))
        except ValueError:
            pass
        low = token.lower()
        for iface, addr in ((spec.lan_if, spec.inside_host), (spec.wan_if, spec.address)):
            full = iface.lower()
            m = re.match(r"^([a-z\-]+)([\d/]+)$", low)
            if low == full or (m and full.startswith(m.group(1)) and full.endswith(m.group(2))
                               and full[len(full) - len(m.group(2)) - 1].isalpha()):
                return addr
        return None


# ------------------------------------------------------------------ configuration mode
# Enough of IOS global configuration for provisioning crypto: the sub-modes a crypto
# configuration enters, the words each accepts, and IOS's rule that a line a sub-mode does not
# know is tried one level up (so "crypto map ..." after a policy block simply starts a new
# block). Lines land in the router's running-config text; they do not (yet) create tunnels.

# (header pattern, prompt mode, words a child line may start with)
SUBMODES: tuple[tuple[re.Pattern[str], str, frozenset[str]], ...] = tuple(
    (re.compile(rx, re.I), mode, frozenset(words.split()))
    for rx, mode, words in (
        (r"^crypto isakmp policy \d+$", "config-isakmp",
         "encryption encr hash authentication group lifetime"),
        (r"^crypto map \S+ \d+ ipsec-isakmp( dynamic \S+)?$", "config-crypto-map",
         "set match description reverse-route"),
        (r"^crypto ipsec transform-set \S+ \S.*$", "cfg-crypto-trans", "mode"),
        (r"^crypto ipsec profile \S+$", "ipsec-profile", "set description"),
        (r"^crypto ikev2 proposal \S+$", "config-ikev2-proposal",
         "encryption integrity group prf"),
        (r"^crypto ikev2 policy \S+$", "config-ikev2-policy", "proposal match"),
        (r"^crypto ikev2 keyring \S+$", "config-ikev2-keyring", "peer"),
        (r"^peer \S+$", "config-ikev2-keyring-peer",
         "address pre-shared-key description identity"),
        (r"^crypto ikev2 profile \S+$", "config-ikev2-profile",
         "match identity authentication keyring dpd lifetime description"),
        (r"^interface [A-Za-z][\w\-]*\d+(/\d+)*(\.\d+)?$", "config-if",
         "ip ipv6 description crypto tunnel shutdown negotiation no"),
        (r"^ip access-list extended \S+$", "config-ext-nacl", "permit deny remark"),
    )
)
LEAVES: tuple[re.Pattern[str], ...] = tuple(
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


class ConfigMode:
    """One ``configure terminal`` session: a stack of sub-modes over the router's blocks."""

    def __init__(self, router: RouterState) -> None:
        self.router = router
        self.stack: list[tuple[str, frozenset[str], list[str], int]] = []  # mode, words, block, at

    @property
    def mode(self) -> str:
        return self.stack[-1][0] if self.stack else "config"

    def _block(self, header: str) -> list[str]:
        blocks = self.router.config
        for block in blocks:
            if block[0] == header:
                return block
        block = [header]
        blocks.append(block)
        self.router.removed.discard(header)
        return block

    def line(self, text: str, prompt_len: int) -> tuple[str, bool]:
        """(output, leave config mode?) for one typed line."""
        stripped = " ".join(text.split())
        low = stripped.lower()
        if not stripped or stripped.startswith("!"):
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
            if first in words:
                depth = len(self.stack)
                if mode == "config-ikev2-keyring" and first == "peer":
                    idx = _child(block, at, " " * depth + stripped)
                    _, sub, sub_words = SUBMODES[7]
                    self.stack.append((sub, sub_words, block, idx))
                    return "", False
                _child(block, at, " " * depth + stripped)
                return "", False
            self.stack.pop()
        for pattern, mode, words in SUBMODES:
            if pattern.match(stripped) and mode != "config-ikev2-keyring-peer":
                self.stack.append((mode, words, self._block(stripped), 0))
                return "", False
        if any(p.match(stripped) for p in LEAVES):
            self._block(stripped)
            return "", False
        if low.startswith("no ") and len(stripped) > 3:
            target = stripped[3:]
            blocks = self.router.config
            kept = [b for b in blocks if b[0] != target]
            if len(kept) == len(blocks):
                self.router.removed.add(target)
            blocks[:] = kept
            return "", False
        pos = len(text) - len(text.lstrip())
        return " " * (prompt_len + pos) + "^\n" + INVALID + "\n", False


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
        return ("interface ", "ip route", "ip access-list", "line con")
    if header.startswith("interface "):
        return ("ip route", "ip access-list", "access-list", "line con")
    if header.startswith("ip route"):
        return ("ip access-list", "access-list", "line con")
    return ("line con",)


def merge_config(base: str, blocks: list[list[str]], removed: set[str]) -> str:
    """The rendered running-config with the configured blocks merged in (pure)."""
    if not blocks and not removed:
        return base
    lines = base.split("\n")
    # drop removed top-level blocks (header and its indented children)
    out: list[str] = []
    skip = False
    for ln in lines:
        if ln and not ln.startswith(" "):
            skip = ln in removed
        elif not ln:
            skip = False
        if not skip:
            out.append(ln)
    lines = out
    for block in blocks:
        header, children = block[0], block[1:]
        if header in lines:
            at = lines.index(header) + 1
            end = at
            while end < len(lines) and lines[end].startswith(" "):
                end += 1
            present = set(lines[at:end])
            new = [c for c in children if c not in present]
            lines[end:end] = new
            continue
        anchors = _anchor(header)
        pos = next((i for i, ln in enumerate(lines) if ln.startswith(anchors)), None)
        if pos is None:
            pos = next((i for i, ln in enumerate(lines) if ln == "end"), len(lines))
        lines[pos:pos] = [header, *children, "!"]
    return "\n".join(lines)
