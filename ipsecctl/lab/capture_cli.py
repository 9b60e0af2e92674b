"""Packet capture commands of the lab's routers and firewalls, answered from the lab's state.

IOS-XE Embedded Packet Capture (``monitor capture NAME interface|match|buffer|limit|start|
stop``, ``show monitor capture [NAME [buffer dump|parameter]]``, ``no monitor capture NAME``),
classic IOS EPC (``monitor capture buffer ...`` / ``monitor capture point ...``) and ASA
captures (``capture NAME interface IF ... match ip host A host B``, ``show capture [NAME
[dump]]``, ``no capture NAME``). A capture point lives on the device, not in the SSH session
that made it, so a point left behind is still listed after a reconnect.

The packets come from :mod:`~ipsecctl.lab.capture_packets` and are printed in the layouts
real devices print (the layouts the printed-capture readers of ``diag capture --from`` take:
IOS-XE 16 ``buffer dump``, classic IOS ``dump``, ASA ``dump``), so the product reads a lab
router's capture exactly as it reads a real one.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ipsecctl.lab.capture_packets import Filter, Packet, router_packets
from ipsecctl.lab.cli_tree import PARAM_ADDR, PARAM_IFACE, PARAM_NUM, PARAM_WORD, Match, Node

if TYPE_CHECKING:
    from ipsecctl.lab.state import Fleet

DIRECTIONS = ("both", "in", "out")


@dataclass
class CapturePoint:
    """One capture on one device (an IOS-XE capture, a classic IOS buffer with its point, or
    an ASA capture)."""

    name: str
    kind: str  # xe | ios | asa
    interface: str | None = None
    direction: str = "both"
    filt: Filter = field(default_factory=Filter)
    match_text: list[str] = field(default_factory=list)
    buffer_bytes: int = 10 * 1_000_000
    max_size: int = 0
    limit_duration: int = 0
    limit_packets: int = 0
    started: float | None = None
    stopped: float | None = None
    point: str | None = None  # classic IOS: the capture point associated with this buffer

    def active(self, now: float) -> bool:
        if self.started is None or self.stopped is not None:
            return False
        return not (self.limit_duration and now >= self.started + self.limit_duration)

    def running(self, fleet: Fleet, router: str, now: float) -> bool:
        """Active and not yet full: a point stops by itself at its packet limit."""
        if not self.active(now):
            return False
        return not (self.limit_packets and len(self.packets(fleet, router)) >= self.limit_packets)

    def packets(self, fleet: Fleet, router: str) -> list[Packet]:
        if self.started is None:
            return []
        now = fleet.now()
        end = self.stopped if self.stopped is not None else now
        if self.limit_duration:
            end = min(end, self.started + self.limit_duration)
        pkts = router_packets(fleet, router, self.filt, self.started, end,
                              self.limit_packets or None)  # fmt: skip
        kept, used = [], 0
        for p in pkts:  # a linear buffer stops taking packets when it is full
            used += len(p.data) + 40
            if used > self.buffer_bytes:
                break
            kept.append(p)
        return kept


_TABLES: weakref.WeakKeyDictionary[Any, dict[str, dict[str, CapturePoint]]] = (
    weakref.WeakKeyDictionary()
)
_TABLES_LOCK = threading.Lock()


def points(fleet: Fleet, router: str) -> dict[str, CapturePoint]:
    """The capture points of ``router`` (shared by every session to it)."""
    with _TABLES_LOCK:
        return _TABLES.setdefault(fleet, {}).setdefault(router, {})


# ------------------------------------------------------------------------ command trees
def add_ios_capture(root: Node, show: Node) -> None:
    """IOS-XE and classic IOS EPC commands (each family answers only its own syntax)."""
    mon = root.kw("monitor", priv=15).kw("capture", priv=15)
    # classic IOS
    buf = mon.kw("buffer", priv=15)
    bname = buf.param(PARAM_WORD, "name")
    size = bname.kw("size").param(PARAM_NUM, "size", "epc_ios_buffer")
    msize = size.kw("max-size").param(PARAM_NUM, "max_size", "epc_ios_buffer")
    for word in ("linear", "circular"):
        size.kw(word, action="epc_ios_buffer")
        msize.kw(word, action="epc_ios_buffer")
    blim = bname.kw("limit")
    blim.kw("duration").param(PARAM_NUM, "duration", "epc_ios_limit")
    blim.kw("packet-count").param(PARAM_NUM, "packets", "epc_ios_limit")
    pt = mon.kw("point", priv=15)
    cef = pt.kw("ip").kw("cef").param(PARAM_WORD, "name").param(PARAM_IFACE, "iface")
    for word in DIRECTIONS:
        cef.kw(word, action="epc_ios_point")
    pt.kw("associate").param(PARAM_WORD, "name").param(PARAM_WORD, "buffer", "epc_ios_assoc")
    pt.kw("start").param(PARAM_WORD, "name", "epc_ios_start")
    pt.kw("stop").param(PARAM_WORD, "name", "epc_ios_stop")
    # IOS-XE
    cap = mon.param(PARAM_WORD, "name")
    iface = cap.kw("interface").param(PARAM_IFACE, "iface")
    for word in DIRECTIONS:
        iface.kw(word, action="epc_xe_interface")
        cap.kw("control-plane").kw(word, action="epc_xe_interface")
    m = cap.kw("match")
    m.kw("any", action="epc_xe_match")
    for ipv in ("ipv4", "ipv6"):
        v = m.kw(ipv)
        v.kw("any").kw("any", action="epc_xe_match")
        src = v.kw("host").param(PARAM_ADDR, "src")
        src.kw("any", action="epc_xe_match").kw("bidirectional", action="epc_xe_match")
        dst = src.kw("host").param(PARAM_ADDR, "dst", "epc_xe_match")
        dst.kw("bidirectional", action="epc_xe_match")
    cap.kw("buffer").kw("size").param(PARAM_NUM, "size", "epc_xe_buffer")
    lim = cap.kw("limit")
    lim.kw("duration").param(PARAM_NUM, "duration", "epc_xe_limit")
    lim.kw("packets").param(PARAM_NUM, "packets", "epc_xe_limit")
    lim.kw("pps").param(PARAM_NUM, "pps", "epc_xe_limit")
    cap.kw("start", action="epc_xe_start")
    cap.kw("stop", action="epc_xe_stop")
    no = root.kw("no", priv=15).kw("monitor", priv=15).kw("capture", priv=15)
    no.param(PARAM_WORD, "name", "epc_xe_no")
    nocef = no.kw("point").kw("ip").kw("cef").param(PARAM_WORD, "name").param(PARAM_IFACE, "iface")
    for word in DIRECTIONS:
        nocef.kw(word, action="epc_ios_no_point")
    no.kw("buffer").param(PARAM_WORD, "name", "epc_ios_no_buffer")
    smon = show.kw("monitor").kw("capture", action="epc_xe_show")
    sb = smon.kw("buffer")
    sb.kw("all").kw("parameters", action="epc_ios_show")
    sb.param(PARAM_WORD, "name").kw("dump", action="epc_ios_dump")
    one = smon.param(PARAM_WORD, "name", "epc_xe_show")
    one.kw("parameter", action="epc_xe_parameter")
    one.kw("buffer").kw("dump", action="epc_xe_dump")


def add_asa_capture(root: Node, show: Node) -> None:
    """ASA ``capture`` commands."""
    cap = root.kw("capture", priv=15).param(PARAM_WORD, "name")
    iface = cap.kw("interface").param(PARAM_WORD, "iface")

    def matcher(node: Node) -> None:
        host = node.kw("match").kw("ip").kw("host").param(PARAM_ADDR, "src")
        host.kw("host").param(PARAM_ADDR, "dst", "asa_capture")
        host.kw("any", action="asa_capture")

    matcher(iface)
    buf = iface.kw("buffer").param(PARAM_NUM, "buffer", "asa_capture")
    matcher(buf)
    plen = buf.kw("packet-length").param(PARAM_NUM, "plen", "asa_capture")
    matcher(plen)
    root.kw("no", priv=15).kw("capture", priv=15).param(PARAM_WORD, "name", "asa_no_capture")
    sc = show.kw("capture", action="asa_show_capture")
    one = sc.param(PARAM_WORD, "name", "asa_show_one")
    one.kw("dump", action="asa_capture_dump")


# ------------------------------------------------------------------------ printing
def _ascii(data: bytes, mask: bool = False) -> str:
    out = []
    for b in data:
        c = b & 0x7F if mask else b
        out.append(chr(c) if 32 <= c < 127 else ".")
    return "".join(out)


def xe_dump(packets: list[Packet]) -> str:
    """IOS-XE 16 ``show monitor capture NAME buffer dump``: the packet number alone, then
    ``  OFFS:  8-digit groups   ascii`` lines, a blank line after each packet."""
    lines: list[str] = []
    for i, p in enumerate(packets):
        lines.append(str(i))
        data = p.data
        for off in range(0, len(data), 16):
            chunk = data[off : off + 16]
            groups = " ".join(chunk[g : g + 4].hex().upper() for g in range(0, len(chunk), 4))
            lines.append(f"  {off:04X}:  {groups.ljust(35)}   {_ascii(chunk)}")
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def ios_dump(packets: list[Packet], fleet: Fleet, iface: str) -> str:
    """Classic IOS ``show monitor capture buffer NAME dump``: a time header per packet, then
    16 bytes per line at the packet's buffer address (ASCII with the high bit dropped)."""
    short = iface.replace("GigabitEthernet", "Gi").replace("FastEthernet", "Fa")
    lines: list[str] = []
    base = 0x0F1A2C00
    for i, p in enumerate(packets):
        dt = fleet.clock.wall(p.time)
        lines.append(f"{dt:%H:%M:%S}.{dt.microsecond // 1000:03d} UTC {dt:%b} {dt.day} {dt:%Y}"
                     f" : IPv4 LES CEF    : {short} None")  # fmt: skip
        lines.append("")
        addr0 = base + i * 0x800
        data = p.data
        for off in range(0, len(data), 16):
            chunk = data[off : off + 16]
            groups = [chunk[g : g + 4].hex().upper().ljust(8) for g in range(0, 16, 4)]
            lines.append(f"{addr0 + off:08X}: {' '.join(groups)}  {_ascii(chunk, True)}")
        lines.append("")
    return "\n".join(lines) + ("\n" if lines else "")


def _asa_time(fleet: Fleet, t: float) -> str:
    dt: datetime = fleet.clock.wall(t)
    return f"{dt:%H:%M:%S}.{dt.microsecond:06d}"


def _asa_summary(p: Packet) -> str:
    if p.summary.startswith("udp"):
        ports = p.summary.split()[1:4:2]
        return f"{p.src}.{ports[0]} > {p.dst}.{ports[1]}:  udp {len(p.data) - 42}"
    return f"{p.src} > {p.dst} {p.summary}"


def asa_dump(packets: list[Packet], fleet: Fleet, dump: bool) -> str:
    """ASA ``show capture NAME [dump]``: a count, each packet's time and summary, and with
    ``dump`` its bytes as ``0x0000 4-digit groups ascii`` lines."""
    n = len(packets)
    word = "packet" if n == 1 else "packets"
    lines = [f"{n} {word} captured", ""]
    for i, p in enumerate(packets, 1):
        lines.append(f"{i:4d}: {_asa_time(fleet, p.time)}       {_asa_summary(p)}")
        if dump:
            for off in range(0, len(p.data), 16):
                chunk = p.data[off : off + 16]
                groups = " ".join(chunk[g : g + 2].hex() for g in range(0, len(chunk), 2))
                lines.append(f"0x{off:04x} {groups.ljust(39)} {_ascii(chunk)}")
    lines.append(f"{n} {word} shown")
    return "\n".join(lines) + "\n"


def xe_status(pt: CapturePoint, running: bool) -> str:
    """One ``Status Information for Capture`` block (layout of real IOS-XE 16/17 output)."""
    lines = [f"Status Information for Capture {pt.name}", "  Target Type: "]
    if pt.interface is None:
        lines.append("   Interface unattached ")
    elif pt.interface == "control-plane":
        lines.append(f"   Interface: Control Plane, Direction : {pt.direction}")
    else:
        lines.append(f"   Interface: {pt.interface}, Direction: {pt.direction}")
    lines.append(f"   Status : {'Active' if running else 'Inactive'}")
    lines.append("  Filter Details: ")
    if pt.match_text:
        lines += pt.match_text
    else:
        lines.append("    Capture all packets")
    lines += ["  Buffer Details: ", "   Buffer Type: LINEAR (default)",
              f"   Buffer Size (in MB): {pt.buffer_bytes // 1_000_000}", "  Limit Details: ",
              "   Number of Packets to capture: "
              + (str(pt.limit_packets) if pt.limit_packets else "0 (no limit)"),
              "   Packet Capture duration: "
              + (str(pt.limit_duration) if pt.limit_duration else "0 (no limit)"),
              "   Packet Size to capture: 0 (no limit)",
              "   Maximum number of packets to capture per second: 1000",
              "   Packet sampling rate: 0 (no sampling)"]  # fmt: skip
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ the handlers
class _Base:
    fleet: Fleet
    name: str
    line: str

    def _points(self) -> dict[str, CapturePoint]:
        return points(self.fleet, self.name)

    def _platform(self) -> str:
        return self.fleet.routers[self.name].spec.platform

    def _invalid_at(self, word: str, invalid: str) -> str:
        pos = self.line.lower().find(word.lower())
        prompt = str(getattr(self, "prompt", ""))  # the session class's
        return " " * (len(prompt) + max(pos, 0)) + "^\n" + invalid + "\n"

    def _now(self) -> float:
        with self.fleet.lock:
            return self.fleet.advance()

    def _interfaces(self) -> set[str]:
        st = self.fleet.routers[self.name]
        spec = st.spec
        names = {spec.wan_if, spec.lan_if, spec.wan_port, spec.lan_port}
        for link, side in self.fleet.ends_of(self.name):
            if side == "a" and link.spec.a_if:
                names.add(link.spec.a_if)
            no = link.spec.tunnel_no.get(self.name)
            if no is not None:
                names.add(f"Tunnel{no}")
        return {n.lower() for n in names}


class IosCaptureCommands(_Base):
    """EPC handlers for the IOS session class (IOS-XE and classic IOS syntaxes)."""

    _INVALID = "% Invalid input detected at '^' marker."

    def _xe(self, word: str = "capture") -> str | None:
        if self._platform() != "cisco_iosxe":
            return self._invalid_at(word, self._INVALID)
        return None

    def _classic(self, word: str) -> str | None:
        if self._platform() != "cisco_ios":
            return self._invalid_at(word, self._INVALID)
        return None

    def _xe_point(self, m: Match, create: bool = True) -> CapturePoint | None:
        pts = self._points()
        name = m.args["name"]
        if name not in pts and create:
            pts[name] = CapturePoint(name, "xe")
        return pts.get(name)

    # -- IOS-XE
    def do_epc_xe_interface(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        words = self.line.split()
        direction = words[-1].lower()
        if "iface" in m.args:
            if m.args["iface"].lower() not in self._interfaces():
                return self._invalid_at(m.args["iface"], self._INVALID)
            iface = m.args["iface"]
        else:
            iface = "control-plane"
        with self.fleet.lock:
            pt = self._xe_point(m)
            assert pt is not None
            pt.interface, pt.direction = iface, direction
            pt.filt.interface = None if iface == "control-plane" else iface
        return ""

    def do_epc_xe_match(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        words = [w.lower() for w in self.line.split()]
        with self.fleet.lock:
            pt = self._xe_point(m)
            assert pt is not None
            replacing = bool(pt.match_text)
            src, dst = m.args.get("src"), m.args.get("dst")
            pt.filt = Filter(pt.filt.interface, src, dst, bidirectional="bidirectional" in words)
            if words[-1] == "any" and len(words) == 4:
                pt.match_text = []
            else:
                fam = "IPv6" if "ipv6" in words else "IPv4"
                pt.match_text = [f"   {fam} ",
                                 f"    Source IP:  {'host ' + src if src else 'any'}",
                                 f"    Destination IP:  {'host ' + dst if dst else 'any'}",
                                 "   Protocol: any"]  # fmt: skip
        if replacing:
            return ("A filter is already attached to the capture . Replace with specified "
                    "filter?[confirm]\n")  # fmt: skip
        return ""

    def do_epc_xe_buffer(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        with self.fleet.lock:
            pt = self._xe_point(m)
            assert pt is not None
            pt.buffer_bytes = max(1, min(int(m.args["size"]), 100)) * 1_000_000
        return ""

    def do_epc_xe_limit(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        with self.fleet.lock:
            pt = self._xe_point(m)
            assert pt is not None
            if "duration" in m.args:
                pt.limit_duration = int(m.args["duration"])
            if "packets" in m.args:
                pt.limit_packets = int(m.args["packets"])
        return ""

    def _syslog(self, text: str) -> str:
        t = self._now()
        dt = self.fleet.clock.wall(t)
        with self.fleet.lock:
            self.fleet.log(self.name, t, text)
        return f"*{dt:%b} {dt.day:2d} {dt:%H:%M:%S}.{dt.microsecond // 1000:03d}: {text}\n"

    def do_epc_xe_start(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        now = self._now()
        with self.fleet.lock:
            pt = self._points().get(m.args["name"])
            if pt is None or pt.interface is None:
                return f"Capture point {m.args['name']} is not attached to any interface\n"
            pt.started, pt.stopped = now, None
        return self._syslog(f"%BUFCAP-6-ENABLE: Capture Point {m.args['name']} enabled.")

    def do_epc_xe_stop(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        now = self._now()
        with self.fleet.lock:
            pt = self._points().get(m.args["name"])
            if pt is None:
                return f"Capture point {m.args['name']} does not exist\n"
            if pt.active(now):
                pt.stopped = now
        return f"Stopped capture point : {m.args['name']}\n"

    def do_epc_xe_no(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        now = self._now()
        with self.fleet.lock:
            pt = self._points().pop(m.args["name"], None)
        if pt is not None and pt.active(now):
            return self._syslog(f"%BUFCAP-6-DISABLE: Capture Point {pt.name} disabled.")
        return ""

    def do_epc_xe_show(self, m: Match) -> str:
        if self._platform() != "cisco_iosxe":
            return self._invalid_at(m.args.get("name", "capture"), self._INVALID)
        now = self._now()
        with self.fleet.lock:
            pts = [p for p in self._points().values() if p.kind == "xe"]
            if "name" in m.args:
                pts = [p for p in pts if p.name == m.args["name"]]
                if not pts:
                    return f"Capture point {m.args['name']} does not exist\n"
            return "\n".join(xe_status(p, p.running(self.fleet, self.name, now)) for p in pts)

    def do_epc_xe_parameter(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        with self.fleet.lock:
            pt = self._points().get(m.args["name"])
            if pt is None:
                return f"Capture point {m.args['name']} does not exist\n"
            n = pt.name
            lines = []
            if pt.interface:
                lines.append(f"   monitor capture {n} interface {pt.interface} "
                             f"{pt.direction.upper()}")  # fmt: skip
            f = pt.filt
            if f.src or f.dst:
                ipv = "ipv6" if ":" in (f.src or f.dst or "") else "ipv4"
                lines.append(f"   monitor capture {n} match {ipv} "
                             f"{'host ' + f.src if f.src else 'any'} "
                             f"{'host ' + f.dst if f.dst else 'any'}"
                             + (" bidirectional" if f.bidirectional else ""))  # fmt: skip
            else:
                lines.append(f"   monitor capture {n} match any")
            lines.append(f"   monitor capture {n} buffer size {pt.buffer_bytes // 1_000_000}")
            if pt.limit_duration:
                lines.append(f"   monitor capture {n} limit duration {pt.limit_duration}")
            if pt.limit_packets:
                lines.append(f"   monitor capture {n} limit packets {pt.limit_packets}")
            lines.append(f"   monitor capture {n} limit pps 1000")
        return "\n".join(lines) + "\n"

    def do_epc_xe_dump(self, m: Match) -> str:
        bad = self._xe(m.args["name"])
        if bad:
            return bad
        self._now()
        with self.fleet.lock:
            pt = self._points().get(m.args["name"])
            if pt is None:
                return f"Capture point {m.args['name']} does not exist\n"
            return xe_dump(pt.packets(self.fleet, self.name))

    # -- classic IOS
    def do_epc_ios_buffer(self, m: Match) -> str:
        bad = self._classic("buffer")
        if bad:
            return bad
        with self.fleet.lock:
            pts = self._points()
            pt = pts.setdefault(m.args["name"], CapturePoint(m.args["name"], "ios"))
            pt.buffer_bytes = max(256, min(int(m.args["size"]), 102_400)) * 1024
            pt.max_size = int(m.args.get("max_size", 68))
        return ""

    def do_epc_ios_limit(self, m: Match) -> str:
        bad = self._classic("buffer")
        if bad:
            return bad
        with self.fleet.lock:
            pt = self._points().get(m.args["name"])
            if pt is None:
                return f"Capture Buffer {m.args['name']} does not exist\n"
            if "duration" in m.args:
                pt.limit_duration = int(m.args["duration"])
            if "packets" in m.args:
                pt.limit_packets = int(m.args["packets"])
        return ""

    def _classic_points(self) -> dict[str, CapturePoint]:
        with _TABLES_LOCK:
            return _TABLES.setdefault(self.fleet, {}).setdefault(f"{self.name}#points", {})

    def do_epc_ios_point(self, m: Match) -> str:
        bad = self._classic("point")
        if bad:
            return bad
        if m.args["iface"].lower() not in self._interfaces():
            return self._invalid_at(m.args["iface"], self._INVALID)
        with self.fleet.lock:
            cps = self._classic_points()
            cps[m.args["name"]] = CapturePoint(m.args["name"], "ios-point",
                                               interface=m.args["iface"],
                                               direction=self.line.split()[-1].lower())  # fmt: skip
        return ""

    def do_epc_ios_assoc(self, m: Match) -> str:
        bad = self._classic("point")
        if bad:
            return bad
        with self.fleet.lock:
            cp = self._classic_points().get(m.args["name"])
            buf = self._points().get(m.args["buffer"])
            if cp is None:
                return f"Capture Point {m.args['name']} does not exist\n"
            if buf is None:
                return f"Capture Buffer {m.args['buffer']} does not exist\n"
            buf.point = cp.name
            buf.interface = cp.interface
            buf.filt = Filter(cp.interface)
        return ""

    def _buffer_of(self, point: str) -> CapturePoint | None:
        return next((b for b in self._points().values() if b.point == point), None)

    def do_epc_ios_start(self, m: Match) -> str:
        bad = self._classic("point")
        if bad:
            return bad
        now = self._now()
        with self.fleet.lock:
            buf = self._buffer_of(m.args["name"])
            if buf is None:
                return f"Capture Point {m.args['name']} is not associated with any buffer\n"
            buf.started, buf.stopped = now, None
        return self._syslog(f"%BUFCAP-6-ENABLE: Capture Point {m.args['name']} enabled.")

    def do_epc_ios_stop(self, m: Match) -> str:
        bad = self._classic("point")
        if bad:
            return bad
        now = self._now()
        with self.fleet.lock:
            buf = self._buffer_of(m.args["name"])
            if buf is None or not buf.active(now):
                return ""
            buf.stopped = now
        return self._syslog(f"%BUFCAP-6-DISABLE: Capture Point {m.args['name']} disabled.")

    def do_epc_ios_no_point(self, m: Match) -> str:
        bad = self._classic("point")
        if bad:
            return bad
        now = self._now()
        with self.fleet.lock:
            self._classic_points().pop(m.args["name"], None)
            buf = self._buffer_of(m.args["name"])
            if buf is not None:
                if buf.active(now):
                    buf.stopped = now
                buf.point = None
        return ""

    def do_epc_ios_no_buffer(self, m: Match) -> str:
        bad = self._classic("buffer")
        if bad:
            return bad
        with self.fleet.lock:
            self._points().pop(m.args["name"], None)
        return ""

    def do_epc_ios_show(self, m: Match) -> str:
        bad = self._classic("buffer")
        if bad:
            return bad
        now = self._now()
        out = []
        with self.fleet.lock:
            for b in self._points().values():
                n = len(b.packets(self.fleet, self.name))
                out += [f"Capture buffer {b.name} (linear buffer)",
                        f"Buffer Size : {b.buffer_bytes} bytes, Max Element Size : "
                        f"{b.max_size} bytes, Packets : {n}",
                        f"Allow-nth-pak : 0, Duration : {b.limit_duration} (seconds), "
                        f"Max packets : {b.limit_packets}, pps : 0",
                        "Associated Capture Points:"]  # fmt: skip
                if b.point:
                    state = "Active" if b.running(self.fleet, self.name, now) else "Inactive"
                    out.append(f"Name : {b.point}, Status : {state}")
                out += ["Configuration:", f"monitor capture buffer {b.name} linear"]
                if b.point:
                    out.append(f"monitor capture point associate {b.point} {b.name}")
        return "\n".join(out) + ("\n" if out else "")

    def do_epc_ios_dump(self, m: Match) -> str:
        bad = self._classic("buffer")
        if bad:
            return bad
        self._now()
        with self.fleet.lock:
            buf = self._points().get(m.args["name"])
            if buf is None:
                return f"Capture Buffer {m.args['name']} does not exist\n"
            return ios_dump(buf.packets(self.fleet, self.name), self.fleet,
                            buf.interface or "Gi0/0")  # fmt: skip


class AsaCaptureCommands(_Base):
    """``capture`` handlers for the ASA session class."""

    def do_asa_capture(self, m: Match) -> str:
        iface = m.args["iface"]
        if iface.lower() not in self._interfaces():
            return f"ERROR: Capture interface '{iface}' is not valid\n"
        now = self._now()
        with self.fleet.lock:
            pts = self._points()
            if m.args["name"] in pts:
                pt = pts[m.args["name"]]
            else:
                pt = pts[m.args["name"]] = CapturePoint(m.args["name"], "asa", started=now,
                                                        buffer_bytes=512 * 1024)  # fmt: skip
            pt.interface = iface
            if "buffer" in m.args:
                pt.buffer_bytes = max(1534, min(int(m.args["buffer"]), 33_554_432))
            src, dst = m.args.get("src"), m.args.get("dst")
            pt.filt = Filter(iface, src, dst, bidirectional=True)
            pt.match_text = [f"  match ip host {src} " + (f"host {dst}" if dst else "any")]
        return ""

    def do_asa_no_capture(self, m: Match) -> str:
        with self.fleet.lock:
            if self._points().pop(m.args["name"], None) is None:
                return f"ERROR: Capture <{m.args['name']}> does not exist\n"
        return ""

    def do_asa_show_capture(self, m: Match) -> str:
        self._now()
        out = []
        with self.fleet.lock:
            for pt in self._points().values():
                used = sum(len(p.data) for p in pt.packets(self.fleet, self.name))
                out.append(f"capture {pt.name} type raw-data interface {pt.interface} "
                           f"[Capturing - {used} bytes] ")  # fmt: skip
                out += pt.match_text
        return "\n".join(out) + ("\n" if out else "")

    def _asa_packets(self, m: Match, dump: bool) -> str:
        self._now()
        with self.fleet.lock:
            pt = self._points().get(m.args["name"])
            if pt is None:
                return f"ERROR: Capture <{m.args['name']}> does not exist\n"
            return asa_dump(pt.packets(self.fleet, self.name), self.fleet, dump)

    def do_asa_show_one(self, m: Match) -> str:
        return self._asa_packets(m, dump=False)

    def do_asa_capture_dump(self, m: Match) -> str:
        return self._asa_packets(m, dump=True)
