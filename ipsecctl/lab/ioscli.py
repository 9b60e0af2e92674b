"""The IOS / IOS-XE exec CLI of a lab router: its command tree and command handlers.

Matching (abbreviations, ``^`` markers, ambiguous and incomplete commands) is
:mod:`~ipsecctl.lab.cli_tree`'s, with IOS wording; what every family shares (privilege,
terminal, configuration mode) is :class:`~ipsecctl.lab.cli_session.DeviceSession`'s.
"""

from __future__ import annotations

import ipaddress
import re
from typing import ClassVar

from ipsecctl.lab import views_ios_crypto as crypto
from ipsecctl.lab import views_ios_system as system
from ipsecctl.lab.capture_cli import IosCaptureCommands, add_ios_capture
from ipsecctl.lab.cli_session import DeviceSession
from ipsecctl.lab.cli_tree import (
    IOS,
    PARAM_ADDR,
    PARAM_IFACE,
    PARAM_NUM,
    PARAM_WORD,
    Dialect,
    Match,
    Node,
)
from ipsecctl.lab.config_mode import merge_config
from ipsecctl.lab.views_config import display
from ipsecctl.lab.views_logs import show_logging

__all__ = ["TREE", "CliSession", "merge_config"]

INVALID = IOS.invalid
INCOMPLETE = IOS.incomplete


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
    add_ios_capture(root, show)  # packet captures (lab/capture_cli.py)
    return root


TREE = build_tree()


class CliSession(IosCaptureCommands, DeviceSession):
    """An IOS exec session."""

    tree: ClassVar[Node] = TREE
    dialect: ClassVar[Dialect] = IOS

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
        return self._show(system.show_version)

    def do_show_clock(self, m: Match) -> str:
        with self.fleet.lock:
            dt = self.fleet.clock.wall(self.fleet.advance())
        return f"*{dt:%H:%M:%S}.{dt.microsecond // 1000:03d} UTC {dt:%a %b} {dt.day} {dt.year}\n"

    def do_show_users(self, m: Match) -> str:
        return (
            "    Line       User       Host(s)              Idle       Location\n"
            "*  2 vty 0     admin      idle                 00:00:00 127.0.0.1\n\n"
            "  Interface    User               Mode         Idle     Peer Address\n\n"
        )

    def do_show_run(self, m: Match) -> str:
        with self.fleet.lock:
            return display(self.fleet, self.name)

    def do_write_memory(self, m: Match) -> str:
        return "Building configuration...\n[OK]\n"

    def do_show_logging(self, m: Match) -> str:
        return self._show(show_logging)

    def do_show_ip_int_brief(self, m: Match) -> str:
        return self._show(system.show_ip_interface_brief)

    def do_show_isakmp_sa(self, m: Match) -> str:
        return self._show(crypto.show_isakmp_sa)

    def do_show_isakmp_sa_detail(self, m: Match) -> str:
        return self._show(crypto.show_isakmp_sa_detail)

    def do_show_ikev2_sa(self, m: Match) -> str:
        return self._show(crypto.show_ikev2_sa)

    def do_show_ikev2_sa_detailed(self, m: Match) -> str:
        return self._show(crypto.show_ikev2_sa, detailed=True)

    def do_show_ipsec_sa(self, m: Match) -> str:
        return self._show(
            crypto.show_ipsec_sa, peer=m.args.get("peer"), interface=m.args.get("interface")
        )

    def do_show_ipsec_sa_detail(self, m: Match) -> str:
        return self._show(crypto.show_ipsec_sa, detail=True, peer=m.args.get("peer"))

    def do_show_session(self, m: Match) -> str:
        return self._show(crypto.show_crypto_session)

    def do_show_session_detail(self, m: Match) -> str:
        return self._show(crypto.show_crypto_session, detail=True)

    def do_show_crypto_map(self, m: Match) -> str:
        return self._show(crypto.show_crypto_map)

    # -------------------------------------------------------------- actions
    def _peer(self, m: Match) -> str | None:
        peer = m.args.get("peer")
        if peer is None:
            return None
        return str(ipaddress.ip_address(peer))

    def _vrf_ok(self, m: Match) -> str:
        vrf = m.args.get("vrf")
        if vrf is not None and vrf not in self._vrfs():
            return f"% VRF {vrf} does not exist\n"
        return ""

    def _norm_clear(self, what: str, m: Match, conn: int | None = None) -> str:
        bad = self._vrf_ok(m)
        if bad:
            return bad
        self.clear_peer(what, self._peer(m), conn, m.args.get("vrf"))
        return ""

    def do_clear_session(self, m: Match) -> str:
        return self._norm_clear("session", m)

    def do_clear_sa(self, m: Match) -> str:
        return self._norm_clear("sa", m)

    def do_clear_isakmp(self, m: Match) -> str:
        conn = m.args.get("conn_id")
        return self._norm_clear("isakmp", m, int(conn) if conn is not None else None)

    def do_clear_ikev2(self, m: Match) -> str:
        return self._norm_clear("ikev2", m)

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
            pos = (
                len(self.prompt) + len(head) + 1 + len(dest) + 1 + sum(len(x) + 1 for x in rest[:i])
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
            if low == full or (
                m
                and full.startswith(m.group(1))
                and full.endswith(m.group(2))
                and full[len(full) - len(m.group(2)) - 1].isalpha()
            ):
                return addr
        return None
