"""The ASA exec CLI of a lab firewall: its command tree and command handlers.

ASA differs from IOS where operators notice: errors start with ``ERROR:``, paging is
``terminal pager 0`` with a ``<--- More --->`` prompt, IKEv1 is ``show crypto ikev1 sa``, a
tunnel is bounced with ``vpn-sessiondb logoff ipaddress X`` (which asks for confirmation unless
``noconfirm``) or ``clear crypto ipsec sa peer X``, and ``ping`` takes the interface name
(``ping inside 10.2.2.1``) rather than a source option.
"""

from __future__ import annotations

import ipaddress
from typing import ClassVar

from ipsecctl.lab import views_asa as asa
from ipsecctl.lab.capture_cli import AsaCaptureCommands, add_asa_capture
from ipsecctl.lab.cli_session import DeviceSession
from ipsecctl.lab.cli_tree import ASA, PARAM_ADDR, PARAM_NUM, PARAM_WORD, Dialect, Match, Node
from ipsecctl.lab.views_config import display
from ipsecctl.lab.views_logs import show_logging

MORE = "<--- More --->"
SECTIONS = ("crypto", "tunnel-group", "access-list", "interface")


def build_tree() -> Node:
    root = Node()
    show = root.kw("show")
    show.kw("version", action="show_version")
    show.kw("clock", action="show_clock")
    run = show.kw("running-config", priv=15, action="show_run")
    for word in SECTIONS:
        sect = run.kw(word, priv=15, action="show_run")
        sect.param(PARAM_WORD, "s1", "show_run").param(PARAM_WORD, "s2", "show_run")
    show.kw("logging", action="show_logging")
    show.kw("interface").kw("ip").kw("brief", action="show_int_brief")
    crypto = show.kw("crypto")
    for version in ("ikev1", "isakmp"):
        sa = crypto.kw(version).kw("sa", action=f"show_{version}_sa")
        sa.kw("detail", action=f"show_{version}_sa_detail")
    v2 = crypto.kw("ikev2").kw("sa", action="show_ikev2_sa")
    v2.kw("detail", action="show_ikev2_sa_detail")
    isa = crypto.kw("ipsec").kw("sa", action="show_ipsec_sa")
    isa.kw("detail", action="show_ipsec_sa_detail")
    peer = isa.kw("peer").param(PARAM_ADDR, "peer", "show_ipsec_sa")
    peer.kw("detail", action="show_ipsec_sa_detail")
    db = show.kw("vpn-sessiondb")
    db.kw("l2l", action="show_l2l")
    db.kw("detail").kw("l2l", action="show_l2l_detail")

    root.kw("configure", priv=15).kw("terminal", priv=15, action="configure")
    wr = root.kw("write", priv=15)
    wr.kw("memory", priv=15, action="write_memory")
    root.kw("enable", action="enable")
    root.kw("disable", priv=15, action="disable")
    for word in ("exit", "logout", "quit"):
        root.kw(word, action="exit")
    pager = root.kw("terminal").kw("pager")
    pager.param(PARAM_NUM, "lines", "term_pager")
    pager.kw("lines").param(PARAM_NUM, "lines", "term_pager")

    ping = root.kw("ping")
    ping.param(PARAM_ADDR, "dest", "ping")
    ping.param(PARAM_WORD, "iface").param(PARAM_ADDR, "dest", "ping")

    clear = root.kw("clear", priv=15)
    cc = clear.kw("crypto")
    ipsec = cc.kw("ipsec").kw("sa", priv=15, action="clear_ipsec")
    ipsec.kw("peer").param(PARAM_ADDR, "peer", "clear_ipsec")
    ipsec.kw("counters", action="noop")
    for version in ("ikev1", "ikev2", "isakmp"):
        sa = cc.kw(version).kw("sa", priv=15, action=f"clear_{version}")
        sa.param(PARAM_ADDR, "peer", f"clear_{version}")
    clear.kw("logging").kw("buffer", action="clear_logging")
    logoff = root.kw("vpn-sessiondb", priv=15).kw("logoff", priv=15)
    ip = logoff.kw("ipaddress").param(PARAM_ADDR, "peer", "logoff")
    ip.kw("noconfirm", action="logoff_now")
    logoff.kw("l2l", action="logoff")
    logoff.kw("l2l").kw("noconfirm", action="logoff_now")
    add_asa_capture(root, show)  # packet captures (lab/capture_cli.py)
    return root


TREE = build_tree()


class AsaSession(AsaCaptureCommands, DeviceSession):
    """An ASA exec session."""

    tree: ClassVar[Node] = TREE
    dialect: ClassVar[Dialect] = ASA
    more: ClassVar[str] = MORE
    _confirm: Match | None = None

    @property
    def prompt(self) -> str:
        if self._confirm is not None:
            return ""
        return super().prompt

    def run(self, line: str) -> str:
        if self._confirm is not None:
            m, self._confirm = self._confirm, None
            if line.strip().lower() in ("", "y", "yes"):
                return self._logoff(m)
            return ""
        return super().run(line)

    def config_banner(self) -> str:
        return ""

    def do_term_pager(self, m: Match) -> str:
        n = int(m.args["lines"])
        if n > 2147483647:
            return ASA.invalid + "\n"
        self.length = n
        return ""

    def do_write_memory(self, m: Match) -> str:
        return (
            "Building configuration...\nCryptochecksum: 4c3e0a2b 1f6d8e90 7a5b3c21 "
            "9e8f7d6c \n\n8231 bytes copied in 0.310 secs\n[OK]\n"
        )

    def do_show_version(self, m: Match) -> str:
        return self._show(asa.show_version)

    def do_show_clock(self, m: Match) -> str:
        with self.fleet.lock:
            dt = self.fleet.clock.wall(self.fleet.advance())
        return f"{dt:%H:%M:%S}.{dt.microsecond // 1000:03d} UTC {dt:%a %b} {dt.day} {dt.year}\n"

    def do_show_run(self, m: Match) -> str:
        # the words after "running-config": the section keyword (maybe abbreviated) and its
        # own words as typed ("show run crypto map")
        words = self.line.split()[2:]
        section: list[str] = []
        if words:
            section = [next(w for w in SECTIONS if w.startswith(words[0].lower())), *words[1:]]
        with self.fleet.lock:
            return display(self.fleet, self.name, section or None)

    def do_show_logging(self, m: Match) -> str:
        return self._show(show_logging)

    def do_show_int_brief(self, m: Match) -> str:
        return self._show(asa.show_interface_ip_brief)

    def do_show_ikev1_sa(self, m: Match) -> str:
        return self._show(asa.show_crypto_ikev1_sa)

    def do_show_ikev1_sa_detail(self, m: Match) -> str:
        return self._show(asa.show_crypto_ikev1_sa, detail=True)

    def do_show_isakmp_sa(self, m: Match) -> str:
        return self._show(asa.show_crypto_isakmp_sa)

    def do_show_isakmp_sa_detail(self, m: Match) -> str:
        return self._show(asa.show_crypto_isakmp_sa, detail=True)

    def do_show_ikev2_sa(self, m: Match) -> str:
        return self._show(asa.show_crypto_ikev2_sa)

    def do_show_ikev2_sa_detail(self, m: Match) -> str:
        return self._show(asa.show_crypto_ikev2_sa, detail=True)

    def do_show_ipsec_sa(self, m: Match) -> str:
        return self._show(asa.show_crypto_ipsec_sa, peer=m.args.get("peer"))

    def do_show_ipsec_sa_detail(self, m: Match) -> str:
        return self._show(asa.show_crypto_ipsec_sa, detail=True, peer=m.args.get("peer"))

    def do_show_l2l(self, m: Match) -> str:
        return self._show(asa.show_vpn_sessiondb_l2l)

    def do_show_l2l_detail(self, m: Match) -> str:
        return self._show(asa.show_vpn_sessiondb_l2l, detail=True)

    # -------------------------------------------------------------- actions
    def _peer(self, m: Match) -> str | None:
        peer = m.args.get("peer")
        return str(ipaddress.ip_address(peer)) if peer is not None else None

    def do_clear_ipsec(self, m: Match) -> str:
        self.clear_peer("sa", self._peer(m))
        return ""

    def do_clear_ikev1(self, m: Match) -> str:
        self.clear_peer("isakmp", self._peer(m))
        return ""

    do_clear_isakmp = do_clear_ikev1

    def do_clear_ikev2(self, m: Match) -> str:
        self.clear_peer("ikev2", self._peer(m))
        return ""

    def do_logoff(self, m: Match) -> str:
        self._confirm = m
        return "Do you want to logoff the VPN session(s)? [confirm]"

    def do_logoff_now(self, m: Match) -> str:
        return self._logoff(m)

    def _logoff(self, m: Match) -> str:
        peer = self._peer(m)
        n = self.clear_peer("session", peer)
        if not n:
            return "INFO: There are presently no active sessions of the type specified\n"
        what = f"IP address of {peer}" if peer else "L2L"
        return f"INFO: Number of sessions with {what} logged off : {n}\n"

    def do_ping(self, m: Match) -> str:
        dest = m.args["dest"]
        iface = m.args.get("iface")
        spec = self.fleet.routers[self.name].spec
        source: str | None = None
        if iface is not None:
            if iface == spec.lan_if:
                source = spec.inside_host
            elif iface == spec.wan_if:
                source = spec.address
            else:
                return f"ERROR: % Invalid interface name {iface}\n"
        repeat, timeout = 5, 2.0
        rest = list(m.rest)
        i = 0
        while i + 1 < len(rest):
            word = rest[i].lower()
            if "repeat".startswith(word) and rest[i + 1].isdigit():
                repeat = max(1, min(int(rest[i + 1]), 100))
            elif "timeout".startswith(word) and rest[i + 1].isdigit():
                timeout = float(int(rest[i + 1]))
            elif not ("size".startswith(word) or "data".startswith(word)):
                return ASA.invalid + "\n"
            i += 2
        if i < len(rest):
            return ASA.incomplete + "\n"
        marks, duration = self.fleet.ping(self.name, dest, source, repeat, timeout)
        if self.sleep is not None and duration > 0:
            self.sleep(min(duration / self.fleet.clock.scale, 5.0))
        ok = marks.count("!")
        tail = f"Success rate is {ok * 100 // repeat} percent ({ok}/{repeat})"
        if ok:
            tail += ", round-trip min/avg/max = 1/1/1 ms"
        return (
            "\n".join(
                [
                    "Type escape sequence to abort.",
                    f"Sending {repeat}, 100-byte ICMP Echos to {dest}, "
                    f"timeout is {int(timeout)} seconds:",
                    marks,
                    tail,
                ]
            )
            + "\n"
        )
