"""Shared, time-driven crypto state of the whole lab fleet, driven by its configuration.

One :class:`Fleet` holds every tunnel once (a :class:`Link`) and each device sees it from its
own end, so the two ends of a lab tunnel can never disagree: one side's inbound SPI *is* the
other side's outbound SPI.

Tunnels come from configuration. Each device's running configuration (rendered from the plan,
then changed by whatever is typed in configuration mode) is read into intents
(:mod:`~ipsecctl.lab.device_config`); two intents that point at each other are one link, and
:func:`~ipsecctl.lab.negotiation.negotiate` decides what that link does (up, or stuck where a
real negotiation would stick). A link to an address no lab device owns plays the scenario the
plan gave that outside peer (or, for one nobody planned, no answer at all).

Time: simulated seconds at ``time_scale`` per real second. The fleet starts ``history_s``
(an hour) in the past and replays that hour before anyone can connect, so every device has the
uptime, counters and log buffer of a device that has been running: the flapping router's
previous downs and ups, the PSK-mismatch router's retransmissions. Discrete changes (rekeys,
flaps, negotiations) are events on a heap replayed up to "now" whenever a device is asked
something; continuous values (counters, lifetimes) are computed from when they started.
"""

from __future__ import annotations

import heapq
import ipaddress
import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial

from ipsecctl.lab import log_messages as msgs
from ipsecctl.lab.device_config import Intent, intents
from ipsecctl.lab.negotiation import Agreed, Outcome, negotiate, offered
from ipsecctl.lab.topology import LinkSpec, Plan, RouterSpec

IPSEC_LIFETIME_S = 3600
IPSEC_LIFETIME_KB = 4608000
RETIRED_KEPT = 2  # re-keyed pairs a capture may still reach (see Link.retired)
IKE_LIFETIME_S = 86400
NEGOTIATION_S = 1.5
FLAP_UP_S = 150.0
FLAP_DOWN_S = 30.0
HISTORY_S = 3600.0
LOG_KEEP = 600
#: behaviours whose IKE SA never gets past phase 1
STUCK_P1 = frozenset({"ike_no_response", "p1_mismatch"})
#: behaviours with IKE up and phase 2 failing
STUCK_P2 = frozenset({"p2_mismatch", "proxy_mismatch"})
#: behaviours that never have an IPsec SA
NO_SA = STUCK_P1 | STUCK_P2 | {"psk_mismatch", "idle"}
DEFAULT_RATE = 5.0


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
    """The IKE SA of a link; ``state`` is the raw IOS state (QM_IDLE, MM_KEY_EXCH, READY,
    IN-NEG); an ASA renders its own names for it."""

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
    intents: dict[str, Intent] = field(default_factory=dict)
    agreed: Agreed | None = None
    reason: str = ""
    key: tuple[object, ...] = ()
    ike: IkeSa | None = None
    sas: list[SaPair] = field(default_factory=list)
    #: the last pairs a re-key replaced and their lifetime then ended: gone from the device,
    #: but a capture window that began while they carried traffic still holds their packets
    retired: list[SaPair] = field(default_factory=list)
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
    # the configuration this device starts with (rendered once), and what configuration mode
    # changed: blocks of header + indented children, and top-level lines removed with "no"
    base_config: str = ""
    config: list[list[str]] = field(default_factory=list)
    removed: set[str] = field(default_factory=set)
    intents: list[Intent] = field(default_factory=list)
    log_since: float = float("-inf")  # "clear logging" empties the buffer from then on

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
        "encaps": 0,
        "decaps": 0,
        "replay": 0,
        "invalid_spi": 0,
        "send_errors": 0,
        "recv_errors": 0,
        "bytes_out": 0,
        "bytes_in": 0,
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
        encaps=enc,
        decaps=dec,
        replay=replay,
        invalid_spi=invalid,
        recv_errors=replay + invalid,
        bytes_out=enc * spec.pkt_size,
        bytes_in=dec * spec.pkt_size,
    )
    return zero


def _norm(addr: str) -> str:
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return addr


class Fleet:
    """All devices and links, their events and logs; thread-safe through one lock."""

    def __init__(
        self, plan: Plan, seed: int = 1, time_scale: float = 1.0, history_s: float = HISTORY_S
    ) -> None:
        from ipsecctl.lab.views_config import render_startup_config

        self.plan = plan
        self.clock = Clock(time_scale)
        self.lock = threading.RLock()
        self.rng = random.Random(seed * 7919 + 17)
        self.history_s = history_s
        self.t = -history_s
        self._events: list[tuple[float, int, Callable[[float], None]]] = []
        self._seq = itertools.count()
        self._ids = itertools.count(len(plan.links))
        self.routers: dict[str, RouterState] = {r.name: RouterState(r) for r in plan.routers}
        self.links: list[Link] = []
        self._owner: dict[str, str] = {}
        for r in plan.routers:
            self._owner[_norm(r.address)] = r.name
            self._owner[_norm(r.address6)] = r.name
        for spec in plan.links:
            if spec.vrf:  # a front-door VRF address of end a
                self._owner[_norm(spec.a_addr)] = spec.a
        planned = [Link(spec) for spec in plan.links]
        for lk in planned:
            self.routers[lk.spec.a].ends.append((lk, "a"))
            if lk.spec.b is not None:
                self.routers[lk.spec.b].ends.append((lk, "b"))
        for r in plan.routers:
            self.routers[r.name].base_config = render_startup_config(self, r.name)
        self._planned_keys = self._keys_of(planned)
        for st in self.routers.values():
            st.ends = []
        self.reconcile(initial=True)
        self.advance(0.0)

    # ----------------------------------------------------------------- configuration
    def running_config(self, name: str) -> str:
        """The device's configuration as it runs now, keys included (never shown as is)."""
        from ipsecctl.lab.config_mode import merge_config

        st = self.routers[name]
        return merge_config(st.base_config, st.config, st.removed)

    def _keys_of(
        self, planned: list[Link]
    ) -> dict[int, tuple[tuple[object, ...], tuple[object, ...] | None]]:
        """The intent keys the plan's links are written under (by the same names the
        configuration renderer used)."""
        from ipsecctl.lab.tunnel_end import End

        out: dict[int, tuple[tuple[object, ...], tuple[object, ...] | None]] = {}
        for lk in planned:
            spec = lk.spec
            keys: list[tuple[object, ...] | None] = []
            for side, name in (("a", spec.a), ("b", spec.b)):
                if name is None:
                    keys.append(None)
                    continue
                e = End(lk, side, self.routers[name].spec)
                if e.vti:
                    keys.append((name, "vti", e.tunnel_if))
                else:
                    keys.append((name, "map", e.map_tag, str(e.seq)))
            assert keys[0] is not None
            out[spec.id] = (keys[0], keys[1])
        return out

    def reconcile(self, routers: Iterable[str] | None = None, initial: bool = False) -> None:
        """Re-read the configuration of ``routers`` (default: all) and make the links what
        the configurations ask for: new tunnels negotiate, removed ones go down, changed ones
        renegotiate when their SAs are next built."""
        with self.lock:
            names = list(routers) if routers is not None else list(self.routers)
            for name in names:
                st = self.routers[name]
                st.intents = intents(name, self.running_config(name), st.spec.platform)
            desired = self._pairs()
            existing = {lk.key: lk for lk in self.links}
            kept: list[Link] = []
            created: list[Link] = []
            for key, (ia, ib, spec) in desired.items():
                lk = existing.pop(key, None)
                if lk is None:
                    lk = self._new_link(key, ia, ib, spec)
                    created.append(lk)
                else:
                    self._update_link(lk, ia, ib, spec)
                kept.append(lk)
            for lk in existing.values():
                self._remove(lk, self.t)
            self.links = sorted(kept, key=lambda lk: lk.spec.id)
            for st in self.routers.values():
                st.ends = []
            for lk in self.links:
                self.routers[lk.spec.a].ends.append((lk, "a"))
                if lk.spec.b is not None:
                    self.routers[lk.spec.b].ends.append((lk, "b"))
            for lk in created:
                if initial:
                    self._initial(lk)
                else:
                    self._start(lk, self.t)

    def _pairs(self) -> dict[tuple[object, ...], tuple[Intent, Intent | None, LinkSpec | None]]:
        """Link key -> (initiating intent, responding intent or None, planned spec or None).
        Planned links pair first, in the plan's orientation; then every other intent pairs
        with a mirrored (else the first unpaired) intent of the device owning its peer."""
        by_key: dict[tuple[object, ...], Intent] = {
            it.key: it for st in self.routers.values() for it in st.intents
        }
        used: set[tuple[object, ...]] = set()
        out: dict[tuple[object, ...], tuple[Intent, Intent | None, LinkSpec | None]] = {}
        for spec in self.plan.links:
            ka, kb = self._planned_keys[spec.id]
            ia = by_key.get(ka)
            if ia is None or ka in used or _norm(ia.peer_addr) != _norm(spec.b_addr):
                continue
            if kb is None:
                out[(ka, None)] = (ia, None, spec)
                used.add(ka)
                continue
            ib = by_key.get(kb)
            if ib is not None and kb not in used and _norm(ib.peer_addr) == _norm(ia.local_addr):
                out[(ka, kb)] = (ia, ib, spec)
                used |= {ka, kb}
        for r in self.plan.routers:
            for it in self.routers[r.name].intents:
                if it.key in used:
                    continue
                used.add(it.key)
                owner = self._owner.get(_norm(it.peer_addr))
                if owner is None or owner == it.router:
                    out[(it.key, None)] = (it, None, None)
                    continue
                cands = [
                    j
                    for j in self.routers[owner].intents
                    if j.key not in used
                    and j.kind == it.kind
                    and _norm(j.peer_addr) == _norm(it.local_addr)
                ]
                j = next((c for c in cands if it.mirrors(c)), cands[0] if cands else None)
                if j is None:
                    out[(it.key, ("none", owner))] = (it, None, None)
                else:
                    used.add(j.key)
                    out[(it.key, j.key)] = (it, j, None)
        return out

    def _outcome(
        self, key: tuple[object, ...], ia: Intent, ib: Intent | None, spec: LinkSpec | None
    ) -> tuple[str, Agreed, str]:
        """(behaviour, what was agreed, why) for a link."""
        if ib is not None or key[1] is not None:
            o: Outcome = negotiate(ia, ib)
            return o.behaviour, o.agreed or offered(ia), o.reason
        # a peer outside the lab: it plays the plan's scenario (or is not there at all)
        if ia.psk is None or not (ia.p1 or ia.v2) or not ia.transforms:
            return "ike_no_response", offered(ia), "incomplete configuration"
        if spec is not None:
            return spec.behaviour, offered(ia), "outside peer"
        return "ike_no_response", offered(ia), "nothing answers at that address"

    def _new_link(
        self, key: tuple[object, ...], ia: Intent, ib: Intent | None, spec: LinkSpec | None
    ) -> Link:
        behaviour, agreed, reason = self._outcome(key, ia, ib, spec)
        a_lan, b_lan = self._lans(ia, spec)
        seq: dict[str, int] = {}
        tun: dict[str, int] = {}
        for it in (ia, ib):
            if it is None:
                continue
            if it.kind == "vti":
                digits = "".join(ch for ch in it.interface if ch.isdigit())
                tun[it.router] = int(digits or 0)
            elif it.seq is not None:
                seq[it.router] = it.seq
        base = (
            spec
            if spec is not None
            else LinkSpec(
                id=next(self._ids),
                a=ia.router,
                b=None,
                a_addr=ia.local_addr,
                b_addr=ia.peer_addr,
                a_lan=a_lan,
                b_lan=b_lan,
                ike_version=ia.ike_version,
                kind=ia.kind,
                behaviour=behaviour,
                expected_up=True,
                transform=("esp-256-aes", "esp-sha-hmac"),
                pfs_group=agreed.pfs,
                rate_ab=DEFAULT_RATE,
                rate_ba=DEFAULT_RATE,
                pkt_size=400,
            )
        )
        new = replace(
            base,
            a=ia.router,
            b=ib.router if ib is not None else None,
            a_addr=ia.local_addr,
            b_addr=ia.peer_addr,
            a_lan=a_lan,
            b_lan=b_lan,
            ike_version=ia.ike_version,
            kind=ia.kind,
            behaviour=behaviour,
            pfs_group=agreed.pfs,
            seq=seq or dict(base.seq),
            tunnel_no=tun or dict(base.tunnel_no),
            vrf=ia.vrf,
            a_if=ia.interface if ia.vrf else base.a_if,
        )
        return Link(new, {"a": ia, **({"b": ib} if ib is not None else {})}, agreed, reason, key)

    def _lans(
        self, ia: Intent, spec: LinkSpec | None
    ) -> tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]:
        for src, dst in ia.selectors:
            if (
                isinstance(src, ipaddress.IPv4Network)
                and isinstance(dst, ipaddress.IPv4Network)
                and src.prefixlen
                and dst.prefixlen
            ):
                return src, dst
        if spec is not None:
            return spec.a_lan, spec.b_lan
        mine = self.routers[ia.router].spec.lan
        owner = self._owner.get(_norm(ia.peer_addr))
        theirs = self.routers[owner].spec.lan if owner else ipaddress.IPv4Network("0.0.0.0/0")
        return mine, theirs

    def _update_link(self, lk: Link, ia: Intent, ib: Intent | None, spec: LinkSpec | None) -> None:
        behaviour, agreed, reason = self._outcome(lk.key, ia, ib, spec)
        lk.intents = {"a": ia, **({"b": ib} if ib is not None else {})}
        lk.agreed, lk.reason = agreed, reason
        a_lan, b_lan = self._lans(ia, spec)
        lk.spec.a_lan, lk.spec.b_lan, lk.spec.pfs_group = a_lan, b_lan, agreed.pfs
        if behaviour == lk.spec.behaviour:
            return
        lk.spec.behaviour = behaviour
        # running SAs stay until they are rebuilt (a real change applies to new SAs only);
        # a link that was failing tries again with the new configuration
        if not lk.sas:
            lk.ike = None
            self._start(lk, self.t)

    def _remove(self, lk: Link, t: float) -> None:
        if lk.sas:
            self._down(lk, t, "removed")
        lk.ike = None
        lk.pending_up = None

    def _start(self, lk: Link, t: float) -> None:
        """A link that appeared (or changed) at run time: traffic starts its negotiation."""
        if lk.behaviour == "idle":
            return
        lk.pending_up = t + NEGOTIATION_S
        self.schedule(lk.pending_up, partial(self._up, lk, initiator="a"))

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

    def platform(self, name: str | None) -> str:
        return self.routers[name].spec.platform if name else "cisco_ios"

    @staticmethod
    def peer_addr(link: Link, side: str) -> str:
        return link.spec.b_addr if side == "a" else link.spec.a_addr

    @staticmethod
    def local_addr(link: Link, side: str) -> str:
        return link.spec.a_addr if side == "a" else link.spec.b_addr

    def _session_log(self, link: Link, t: float, up: bool) -> None:
        for side, name in (("a", link.spec.a), ("b", link.spec.b)):
            if name is None:
                continue
            pair = link.sas[-1] if link.sas else None
            local_lan = link.spec.a_lan if side == "a" else link.spec.b_lan
            remote_lan = link.spec.b_lan if side == "a" else link.spec.a_lan
            since = link.up_since if link.up_since is not None else t
            d = max(0, int(t - since))
            for text in msgs.session(
                self.platform(name),
                link.spec.ike_version == 2,
                self.local_addr(link, side),
                self.peer_addr(link, side),
                up,
                spi_in=pair.spi_in(side) if pair else 0,
                spi_out=pair.spi_out(side) if pair else 0,
                local_proxy=str(local_lan.network_address),
                remote_proxy=str(remote_lan.network_address),
                duration=f"{d // 3600}h:{d % 3600 // 60:02d}m:{d % 60:02d}s",
            ):
                self.log(name, t, text)

    # ----------------------------------------------------------------- lifecycle
    def _fail_state(self, link: Link) -> str:
        if link.spec.ike_version == 2:
            return "IN-NEG"
        return "MM_KEY_EXCH" if link.behaviour == "psk_mismatch" else "MM_NO_STATE"

    def _new_ike(self, link: Link, t: float, state: str, initiator: str = "a") -> IkeSa:
        v2 = link.spec.ike_version == 2
        stuck = state in ("MM_NO_STATE", "IN-NEG")
        conn_a = 0 if state == "MM_NO_STATE" else self._ike_conn(link, "a")
        conn_b = 0 if stuck or link.spec.b is None else self._ike_conn(link, "b")
        lifetime = link.agreed.ike_lifetime if link.agreed else IKE_LIFETIME_S
        return IkeSa(
            state=state,
            born=t,
            conn_a=conn_a,
            conn_b=conn_b,
            spi_i=self._cookie(),
            spi_r=self._cookie() if state != "MM_NO_STATE" or v2 else "0" * 16,
            initiator=initiator,
            lifetime_s=lifetime,
        )

    def _established(self, link: Link) -> str:
        return "READY" if link.spec.ike_version == 2 else "QM_IDLE"

    def _new_pair(self, link: Link, t: float) -> SaPair:
        life = link.agreed.lifetime_s if link.agreed else IPSEC_LIFETIME_S
        pair = SaPair(
            spi_a=self._spi(link.spec.a),
            spi_b=self._spi(link.spec.b),
            conn_a=self._ipsec_conn(link, "a"),
            conn_b=self._ipsec_conn(link, "b"),
            born=t,
            lifetime_s=life,
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
        """The state an hour before the lab opens; the replay of that hour does the rest."""
        t0 = self.t
        beh = link.behaviour
        if beh == "idle":
            return
        if beh in STUCK_P1 or beh == "psk_mismatch":
            link.ike = self._new_ike(link, t0 - self.rng.uniform(1, 20), self._fail_state(link))
            return
        ike_age = self.rng.uniform(4000, 80000)
        link.ike = self._new_ike(link, t0 - ike_age, self._established(link), self.rng.choice("ab"))
        self._schedule_ike_rekey(link, link.ike)
        if beh in STUCK_P2:
            return
        life = link.agreed.lifetime_s if link.agreed else IPSEC_LIFETIME_S
        sa_age = self.rng.uniform(60, max(120.0, life - 70))
        self._new_pair(link, t0 - sa_age)
        link.flow_since = t0 - min(ike_age, sa_age + self.rng.uniform(0, 20000))
        link.up_since = link.flow_since
        if beh == "flapping":
            first = self.rng.uniform(20, FLAP_UP_S)
            self.schedule(t0 + first, partial(self._flap_down, link))

    def _rekey(self, link: Link, old: SaPair, t: float) -> None:
        if old not in link.sas or link.sas[-1] is not old or link not in self.links:
            return
        if link.behaviour in NO_SA:
            return  # the configuration changed: the new negotiation fails, the SA runs out
        if link.ike is None:  # phase 1 was cleared: rekeying builds a new one first
            link.ike = self._new_ike(link, t, self._established(link))
            self._schedule_ike_rekey(link, link.ike)
        self._new_pair(link, t)

    def _expire(self, link: Link, pair: SaPair, t: float) -> None:
        if pair in link.sas:
            link.sas.remove(pair)
            if link.sas:  # replaced by a re-key
                link.retired = [*link.retired[-(RETIRED_KEPT - 1) :], pair]
            else:
                self._down(link, t, "expired")
                if link.behaviour in NO_SA and link in self.links:
                    link.ike = None
                    self._recover(link, t)

    def _up(self, link: Link, t: float, initiator: str = "a") -> None:
        """Complete a negotiation: what it gives depends on the link's behaviour."""
        link.pending_up = None
        if link not in self.links:
            return
        beh = link.behaviour
        if beh == "idle":
            return
        if beh in STUCK_P1 or beh == "psk_mismatch":
            if link.ike is None:
                link.ike = self._new_ike(link, t, self._fail_state(link), initiator)
            return
        if link.ike is None or not link.ike.established:
            link.ike = self._new_ike(link, t, self._established(link), initiator)
            self._schedule_ike_rekey(link, link.ike)
        if beh in STUCK_P2:
            return
        if link.sas:
            return
        self._new_pair(link, t)
        link.flow_since = t
        link.up_since = t
        self._session_log(link, t, up=True)
        if beh == "flapping":
            self.schedule(t + FLAP_UP_S, partial(self._flap_down, link))

    def _down(self, link: Link, t: float, why: str) -> None:
        self._session_log(link, t, up=False)
        link.sas.clear()
        link.retired.clear()
        link.flow_since = None
        link.up_since = None

    def _flap_down(self, link: Link, t: float) -> None:
        if not link.sas or link not in self.links:
            return
        link.ike = None
        self._down(link, t, "flap")
        for text in msgs.no_sa(self.platform(link.spec.a), link.spec.b_addr):
            self.log(link.spec.a, t, text)
        self.schedule(t + FLAP_DOWN_S, partial(self._up, link, initiator="b"))

    def _recover(self, link: Link, t: float) -> None:
        """After a clear: what brings the tunnel back on its own (or the broken state)."""
        beh = link.behaviour
        if beh == "idle" or link.pending_up is not None:
            return
        if beh in STUCK_P1 or beh == "psk_mismatch":
            state = self._fail_state(link)

            def again(w: float, lk: Link = link, st: str = state) -> None:
                if lk.ike is None and lk in self.links:
                    lk.ike = self._new_ike(lk, w, st)

            self.schedule(t + self.rng.uniform(2, 5), again)
            return
        delay = self.rng.uniform(3, 6) if link.spec.kind == "vti" else self.rng.uniform(20, 40)
        link.pending_up = t + delay
        self.schedule(link.pending_up, partial(self._up, link, initiator="b"))

    # ----------------------------------------------------------------- operator actions
    def ends_of(self, router: str) -> list[tuple[Link, str]]:
        return self.routers[router].ends

    def clear(
        self,
        router: str,
        what: str,
        peer: str | None = None,
        conn_id: int | None = None,
        vrf: str | None = None,
    ) -> int:
        """``what``: session | sa | isakmp | ikev2. Returns the number of links touched.

        As on IOS, a clear naming a peer reaches that address in one front-door VRF only:
        ``vrf`` None is the global table, so overlapping addresses in VRFs stay untouched.
        """
        with self.lock:
            t = self.advance()
            touched = 0
            for link, side in list(self.ends_of(router)):
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

    def ping(
        self,
        router: str,
        dest: str,
        source: str | None,
        repeat: int,
        timeout: float,
        vrf: str | None = None,
    ) -> tuple[str, float]:
        """Run a ping in simulated time: ``(result marks, simulated duration)``.

        Traffic that matches a tunnel's selectors triggers negotiation when no SA exists; the
        first packets are lost while it runs, as on a real router. Only the tunnels of the
        ping's VRF (None: the global table) can carry it.
        """
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
            if (
                not link.sas
                and (link.pending_up is None or link.pending_up > soon)
                and (
                    link.behaviour not in ("idle", "psk_mismatch")
                    and link.behaviour not in STUCK_P1
                )
            ):
                link.pending_up = soon
                self.schedule(link.pending_up, partial(self._up, link, initiator=side))
            if (
                not link.sas
                and link.ike is None
                and (link.behaviour in STUCK_P1 or link.behaviour == "psk_mismatch")
            ):
                link.ike = self._new_ike(link, t0, self._fail_state(link))
            for _ in range(repeat):
                self.advance(t)
                up = bool(link.sas) and link.behaviour != "one_way"
                marks.append("!" if up else ".")
                t += 0.002 if up else timeout
            return "".join(marks), t - t0
