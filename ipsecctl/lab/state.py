"""Shared, time-driven crypto state of the whole lab fleet.

One :class:`Fleet` holds every tunnel once (a :class:`Link`), and each router sees it from its own
end, so the two ends of a lab tunnel can never disagree: one side's inbound SPI *is* the other
side's outbound SPI. Simulated time runs at ``time_scale`` simulated seconds per real second;
discrete changes (rekeys, flaps, re-negotiations) are events on a heap that :meth:`Fleet.advance`
replays up to "now" whenever a router is asked something, and continuous values (counters,
remaining lifetimes) are computed from the time they started, so nothing ticks in the
background.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from ipsecctl.lab.topology import LinkSpec, Plan, RouterSpec

IPSEC_LIFETIME_S = 3600
IPSEC_LIFETIME_KB = 4608000
IKE_LIFETIME_S = 86400
NEGOTIATION_S = 1.5
FLAP_UP_S = 150.0
FLAP_DOWN_S = 30.0
LOG_KEEP = 400


class Clock:
    """Simulated seconds since the lab started; wall time for log stamps."""

    def __init__(self, time_scale: float = 1.0) -> None:
        self.scale = time_scale
        self._real0 = time.monotonic()
        self.wall0 = datetime.now(UTC).replace(microsecond=0)

    def now(self) -> float:
        return (time.monotonic() - self._real0) * self.scale

    def wall(self, t: float) -> datetime:
        return self.wall0 + timedelta(seconds=t)


@dataclass(eq=False)
class SaPair:
    """One IPsec SA bundle: the inbound SPI of each end (the outbound of the other)."""

    spi_a: int
    spi_b: int
    conn_a: int
    conn_b: int
    born: float
    lifetime_s: int = IPSEC_LIFETIME_S

    def spi_in(self, side: str) -> int:
        return self.spi_a if side == "a" else self.spi_b

    def spi_out(self, side: str) -> int:
        return self.spi_b if side == "a" else self.spi_a

    def conn(self, side: str) -> int:
        return self.conn_a if side == "a" else self.conn_b

    def remaining(self, t: float) -> int:
        return max(0, int(self.born + self.lifetime_s - t))


@dataclass(eq=False)
class IkeSa:
    """The IKE SA of a link; ``state`` is the raw device state at end ``a``."""

    state: str
    born: float
    conn_a: int
    conn_b: int
    spi_i: str
    spi_r: str
    initiator: str  # "a" | "b"
    lifetime_s: int = IKE_LIFETIME_S

    def conn(self, side: str) -> int:
        return self.conn_a if side == "a" else self.conn_b

    @property
    def established(self) -> bool:
        return self.state in ("QM_IDLE", "READY")


@dataclass(eq=False)
class Link:
    spec: LinkSpec
    ike: IkeSa | None = None
    sas: list[SaPair] = field(default_factory=list)
    flow_since: float | None = None
    pending_up: float | None = None
    up_since: float | None = None

    @property
    def behaviour(self) -> str:
        return self.spec.behaviour


@dataclass
class LogLine:
    t: float
    text: str


@dataclass
class RouterState:
    spec: RouterSpec
    ends: list[tuple[Link, str]] = field(default_factory=list)
    log: deque[LogLine] = field(default_factory=lambda: deque(maxlen=LOG_KEEP))
    next_ike_conn: int = 1001
    next_ipsec_conn: int = 2001
    next_tunnel_id: int = 1
    used_spis: set[int] = field(default_factory=set)
    # configuration typed in config mode (blocks of header + indented children) and base
    # top-level lines removed with ``no``: show running-config merges them in
    config: list[list[str]] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)

    def ike_conn(self) -> int:
        self.next_ike_conn += 1
        return self.next_ike_conn - 1

    def ipsec_conn(self) -> int:
        self.next_ipsec_conn += 2
        return self.next_ipsec_conn - 2

    def tunnel_id(self) -> int:
        self.next_tunnel_id += 1
        return self.next_tunnel_id - 1


def counters(link: Link, side: str, t: float) -> dict[str, int]:
    """Flow counters of one end at simulated time ``t`` (zero when no SA is up)."""
    zero = {
        "encaps": 0, "decaps": 0, "replay": 0, "invalid_spi": 0,
        "send_errors": 0, "recv_errors": 0, "bytes_out": 0, "bytes_in": 0,
    }
    if link.flow_since is None or not link.sas:
        return zero
    dt = max(0.0, t - link.flow_since)
    spec = link.spec
    if side == "a":
        out_rate, in_rate = spec.rate_ab, spec.rate_ba
    else:
        out_rate, in_rate = spec.rate_ba, spec.rate_ab
    enc = int(out_rate * dt)
    dec = int(in_rate * dt)
    replay = invalid = 0
    if link.behaviour == "one_way" and side == "a":
        dec = 0
    elif link.behaviour == "replay_spi_errors" and side == "a":
        replay = int(in_rate * dt * 0.03)
        invalid = int(dt / 7.0)
    zero.update(
        encaps=enc, decaps=dec, replay=replay, invalid_spi=invalid,
        recv_errors=replay + invalid,
        bytes_out=enc * spec.pkt_size, bytes_in=dec * spec.pkt_size,
    )
    return zero


class Fleet:
    """All routers and links, their events and logs; thread-safe through one lock."""

    def __init__(self, plan: Plan, seed: int = 1, time_scale: float = 1.0) -> None:
        self.plan = plan
        self.clock = Clock(time_scale)
        self.lock = threading.RLock()
        self.rng = random.Random(seed * 7919 + 17)
        self.t = 0.0
        self._events: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()
        self.routers: dict[str, RouterState] = {r.name: RouterState(r) for r in plan.routers}
        self.links: list[Link] = [Link(spec) for spec in plan.links]
        for link in self.links:
            self.routers[link.spec.a].ends.append((link, "a"))
            if link.spec.b is not None:
                self.routers[link.spec.b].ends.append((link, "b"))
        for link in self.links:
            self._initial(link)

    # ----------------------------------------------------------------- time & events
    def now(self) -> float:
        return self.clock.now()

    def advance(self, t: float | None = None) -> float:
        """Replay every event due by ``t`` (default: now) and return that time."""
        with self.lock:
            t = self.clock.now() if t is None else t
            while self._events and self._events[0][0] <= t:
                when, _, fn = heapq.heappop(self._events)
                self.t = when
                fn(when)
            self.t = max(self.t, t)
            return self.t

    def schedule(self, when: float, fn: Callable[[float], None]) -> None:
        heapq.heappush(self._events, (when, next(self._seq), fn))

    # ----------------------------------------------------------------- helpers
    def _spi(self, router: str | None) -> int:
        used = self.routers[router].used_spis if router else set()
        while True:
            spi = self.rng.randrange(0x10000000, 0xFFFFFFFF)
            if spi not in used:
                used.add(spi)
                return spi

    def _cookie(self) -> str:
        return f"{self.rng.getrandbits(64):016X}"

    def _ike_conn(self, link: Link, side: str) -> int:
        name = link.spec.a if side == "a" else link.spec.b
        if name is None:
            return 0
        router = self.routers[name]
        return router.tunnel_id() if link.spec.ike_version == 2 else router.ike_conn()

    def _ipsec_conn(self, link: Link, side: str) -> int:
        name = link.spec.a if side == "a" else link.spec.b
        return self.routers[name].ipsec_conn() if name else 0

    def log(self, name: str | None, t: float, text: str) -> None:
        if name is not None:
            self.routers[name].log.append(LogLine(t, text))

    def _log_both(self, link: Link, t: float, text_for: Callable[[str], str]) -> None:
        self.log(link.spec.a, t, text_for("a"))
        if link.spec.b is not None:
            self.log(link.spec.b, t, text_for("b"))

    @staticmethod
    def peer_addr(link: Link, side: str) -> str:
        return link.spec.b_addr if side == "a" else link.spec.a_addr

    @staticmethod
    def local_addr(link: Link, side: str) -> str:
        return link.spec.a_addr if side == "a" else link.spec.b_addr

    # ----------------------------------------------------------------- lifecycle
    def _new_ike(self, link: Link, t: float, state: str, initiator: str = "a") -> IkeSa:
        v2 = link.spec.ike_version == 2
        conn_a = 0 if state == "MM_NO_STATE" else self._ike_conn(link, "a")
        conn_b = 0 if state == "MM_NO_STATE" else self._ike_conn(link, "b")
        return IkeSa(
            state=state,
            born=t,
            conn_a=conn_a,
            conn_b=conn_b,
            spi_i=self._cookie(),
            spi_r=self._cookie() if state not in ("MM_NO_STATE",) or v2 else "0" * 16,
            initiator=initiator,
        )

    def _new_pair(self, link: Link, t: float) -> SaPair:
        pair = SaPair(
            spi_a=self._spi(link.spec.a),
            spi_b=self._spi(link.spec.b),
            conn_a=self._ipsec_conn(link, "a"),
            conn_b=self._ipsec_conn(link, "b"),
            born=t,
        )
        link.sas.append(pair)
        soft = pair.born + pair.lifetime_s - self.rng.uniform(30.0, 60.0)
        self.schedule(soft, partial(self._rekey, link, pair))
        self.schedule(pair.born + pair.lifetime_s, partial(self._expire, link, pair))
        return pair

    def _schedule_ike_rekey(self, link: Link, ike: IkeSa) -> None:
        def rekey(when: float, lk: Link = link, old: IkeSa = ike) -> None:
            if lk.ike is old:
                lk.ike = self._new_ike(lk, when, old.state, old.initiator)
                self._schedule_ike_rekey(lk, lk.ike)

        self.schedule(ike.born + ike.lifetime_s - 60.0, rekey)

    def _initial(self, link: Link) -> None:
        beh = link.behaviour
        if beh == "idle":
            return
        if beh == "ike_no_response":
            link.ike = self._new_ike(link, -self.rng.uniform(1, 20), "MM_NO_STATE")
            return
        if beh == "psk_mismatch":
            link.ike = self._new_ike(link, -self.rng.uniform(1, 20), "MM_KEY_EXCH")
            return
        state = "READY" if link.spec.ike_version == 2 else "QM_IDLE"
        ike_age = self.rng.uniform(4000, 80000)
        link.ike = self._new_ike(link, -ike_age, state, self.rng.choice("ab"))
        self._schedule_ike_rekey(link, link.ike)
        if beh == "p2_mismatch":
            return
        sa_age = self.rng.uniform(60, IPSEC_LIFETIME_S - 70)
        self._new_pair(link, -sa_age)
        link.flow_since = -min(ike_age, sa_age + self.rng.uniform(0, 20000))
        link.up_since = link.flow_since
        if beh == "flapping":
            first = self.rng.uniform(20, FLAP_UP_S)
            self.schedule(first, partial(self._flap_down, link))

    def _rekey(self, link: Link, old: SaPair, t: float) -> None:
        if old not in link.sas or link.sas[-1] is not old:
            return
        if link.ike is None:  # phase 1 was cleared: rekeying builds a new one first
            state = "READY" if link.spec.ike_version == 2 else "QM_IDLE"
            link.ike = self._new_ike(link, t, state)
            self._schedule_ike_rekey(link, link.ike)
        self._new_pair(link, t)

    def _expire(self, link: Link, pair: SaPair, t: float) -> None:
        if pair in link.sas:
            link.sas.remove(pair)
            if not link.sas:
                self._down(link, t, "expired")

    def _up(self, link: Link, t: float, initiator: str = "a") -> None:
        """Complete a negotiation: IKE (if needed) then a fresh SA pair."""
        link.pending_up = None
        beh = link.behaviour
        if beh in ("idle", "ike_no_response"):
            return
        if beh == "psk_mismatch":
            if link.ike is None:
                link.ike = self._new_ike(link, t, "MM_KEY_EXCH", initiator)
            return
        if link.ike is None or not link.ike.established:
            state = "READY" if link.spec.ike_version == 2 else "QM_IDLE"
            link.ike = self._new_ike(link, t, state, initiator)
            self._schedule_ike_rekey(link, link.ike)
        if beh == "p2_mismatch":
            self.log(link.spec.a, t, f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode "
                     f"failed with peer at {link.spec.b_addr}")
            return
        if link.sas:
            return
        self._new_pair(link, t)
        link.flow_since = t
        link.up_since = t
        self._log_both(link, t, lambda s: self._session_msg(link, s, "UP"))
        if beh == "flapping":
            self.schedule(t + FLAP_UP_S, partial(self._flap_down, link))

    def _session_msg(self, link: Link, side: str, what: str) -> str:
        peer = self.peer_addr(link, side)
        port = 500
        if link.spec.ike_version == 2:
            # IOS-XE names both ends (address/port) and the VRFs on this line.
            local = self.local_addr(link, side)
            return (f"%IKEV2-5-SA_{what}: SA {what}: Local {local}/{port} "
                    f"Remote {peer}/{port} FVRF: none IVRF: none")
        return (f"%CRYPTO-5-SESSION_STATUS: Crypto tunnel is {what}  .  "
                f"Peer {peer}:{port}       Id: {peer}")

    def _down(self, link: Link, t: float, why: str) -> None:
        link.sas.clear()
        link.flow_since = None
        link.up_since = None
        self._log_both(link, t, lambda s: self._session_msg(link, s, "DOWN"))

    def _flap_down(self, link: Link, t: float) -> None:
        if not link.sas:
            return
        link.ike = None
        self._down(link, t, "flap")
        self.log(link.spec.a, t, "%CRYPTO-4-IKMP_NO_SA: IKE message from "
                 f"{link.spec.b_addr} has no SA and is not an initialization offer")
        self.schedule(t + FLAP_DOWN_S, partial(self._up, link, initiator="b"))

    def _recover(self, link: Link, t: float) -> None:
        """After a clear: what brings the tunnel back on its own (or the broken state)."""
        beh = link.behaviour
        if beh == "idle" or link.pending_up is not None:
            return
        if beh in ("ike_no_response", "psk_mismatch"):
            state = "MM_NO_STATE" if beh == "ike_no_response" else "MM_KEY_EXCH"

            def again(w: float, lk: Link = link, st: str = state) -> None:
                if lk.ike is None:
                    lk.ike = self._new_ike(lk, w, st)

            self.schedule(t + self.rng.uniform(2, 5), again)
            return
        delay = self.rng.uniform(3, 6) if link.spec.kind == "vti" else self.rng.uniform(20, 40)
        link.pending_up = t + delay
        self.schedule(link.pending_up, partial(self._up, link, initiator="b"))

    # ----------------------------------------------------------------- operator actions
    def ends_of(self, router: str) -> list[tuple[Link, str]]:
        return self.routers[router].ends

    def clear(self, router: str, what: str, peer: str | None = None,
              conn_id: int | None = None, vrf: str | None = None) -> int:
        """``what``: session | sa | isakmp | ikev2. Returns the number of links touched.

        As on IOS, a clear naming a peer reaches that address in one front-door VRF only:
        ``vrf`` None is the global table, so overlapping addresses in VRFs stay untouched.
        """
        with self.lock:
            t = self.advance()
            touched = 0
            for link, side in self.ends_of(router):
                if peer is not None and self.peer_addr(link, side) != peer:
                    continue
                if peer is not None and link.spec.vrf != vrf:
                    continue
                if what == "isakmp":
                    if link.spec.ike_version != 1 or link.ike is None:
                        continue
                    if conn_id is not None and link.ike.conn(side) != conn_id:
                        continue
                    link.ike = None
                    touched += 1
                    if not link.sas:
                        self._recover(link, t)
                    continue
                if what == "ikev2" and link.spec.ike_version != 2:
                    continue
                had = bool(link.sas) or link.ike is not None
                if what in ("session", "ikev2"):
                    link.ike = None
                if link.sas:
                    self._down(link, t, "cleared")
                if had:
                    touched += 1
                    self._recover(link, t)
            return touched

    def ping(self, router: str, dest: str, source: str | None, repeat: int,
             timeout: float, vrf: str | None = None) -> tuple[str, float]:
        """Run a ping in simulated time: ``(result marks, simulated duration)``.

        Traffic that matches a tunnel's selectors triggers negotiation when no SA exists; the
        first packets are lost while it runs, as on a real router. Only the tunnels of the
        ping's VRF (None: the global table) can carry it.
        """
        import ipaddress

        with self.lock:
            t0 = self.advance()
            r = self.routers[router]
            try:
                dst = ipaddress.ip_address(dest)
            except ValueError:
                return "", 0.0
            wan_targets = {x.address for x in self.plan.routers} | {
                x.address6 for x in self.plan.routers
            }
            link: Link | None = None
            for lk, side in r.ends:
                if lk.spec.vrf != vrf:
                    continue
                local_lan = lk.spec.a_lan if side == "a" else lk.spec.b_lan
                remote_lan = lk.spec.b_lan if side == "a" else lk.spec.a_lan
                if dst.version == 4 and dst in remote_lan:
                    if source is None:
                        link = None
                        break
                    try:
                        src_ok = ipaddress.ip_address(source) in local_lan
                    except ValueError:
                        src_ok = False
                    link = lk if src_ok else None
                    break
            marks = []
            t = t0
            if link is None:
                ok = vrf is None and (dest in wan_targets or dest == r.spec.inside_host)
                for _ in range(repeat):
                    marks.append("!" if ok else ".")
                    t += 0.001 if ok else timeout
                return "".join(marks), t - t0
            side = "a" if link.spec.a == router else "b"
            soon = t0 + NEGOTIATION_S
            if not link.sas and (link.pending_up is None or link.pending_up > soon) and (
                link.behaviour not in
                ("idle", "ike_no_response", "psk_mismatch")
            ):
                link.pending_up = soon
                self.schedule(link.pending_up, partial(self._up, link, initiator=side))
            if not link.sas and link.ike is None and link.behaviour in (
                "ike_no_response", "psk_mismatch"
            ):
                state = "MM_NO_STATE" if link.behaviour == "ike_no_response" else "MM_KEY_EXCH"
                link.ike = self._new_ike(link, t0, state)
            for _ in range(repeat):
                self.advance(t)
                up = bool(link.sas) and link.behaviour != "one_way"
                marks.append("!" if up else ".")
                t += 0.002 if up else timeout
            return "".join(marks), t - t0
