"""What every rule needs around one device's poll, and the one way findings are built.

A :class:`Scope` holds the device's current and previous poll, its own addresses, the other
devices of the same poll (to name a peer that was polled too, and give steps for it), the
platform's facts and the history. :meth:`Scope.finding` attaches to each finding what front
ends need to place it without guessing (``extra.vrf``, ``extra.tunnels`` with ``Tunnel.id``s,
``extra.platform``) and renders its next steps for the device's own platform.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ipsecctl.diag.health.codes import step_keys
from ipsecctl.diag.history import TunnelHistories
from ipsecctl.diag.rules import PlatformFacts, platform_facts
from ipsecctl.diag.steps import Step, render
from ipsecctl.models import DeviceState, Finding, IkeSa, Severity, Tunnel, trusted


def norm_state(state: str | None) -> str:
    return (state or "").strip().upper()


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
#: an IPv4 address in the form ``ipaddress`` prints (no leading zeros)
_CANONICAL_V4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}", re.ASCII)


@functools.lru_cache(maxsize=1 << 16)  # pure; the rules ask it about every tunnel, often
def norm_addr(addr: str | None) -> str | None:
    """One spelling per address (IPv6 compressed, lower case) so lookups match."""
    if not addr:
        return None
    if _CANONICAL_V4.fullmatch(addr):
        return addr  # already the one spelling (most addresses: no parse needed)
    try:
        return str(ipaddress.ip_address(addr.split("/")[0].strip("[]")))
    except ValueError:
        return addr.lower()


def local_addresses(dev: DeviceState) -> set[str]:
    """Our own addresses: tunnel endpoints, IKE ``local``, and any address every IKEv1 row has.

    IOS prints IKEv1 rows as ``dst src`` in the first packet's direction, so with no tunnel
    data the address common to all rows (two or more) is ours: every SA has us at one end.
    """
    addrs = {t.local_addr for t in dev.tunnels if t.local_addr}
    addrs |= {sa.local for sa in dev.ike_sas if sa.local}
    for v6 in (False, True):
        # the intersection of the rows' {src, dst}, narrowed row by row (a hub has 10,000)
        common: set[str] = set()
        rows = 0
        for sa in dev.ike_sas:
            first = sa.src or sa.dst
            if not first or (":" in first) != v6:
                continue
            if rows:
                common.intersection_update((sa.src, sa.dst))  # None is never in common
            else:
                common = {a for a in (sa.src, sa.dst) if a}
            rows += 1
        if rows >= 2:
            addrs |= common
    return {a.lower() for a in addrs}


def ike_peer(sa: IkeSa, local: set[str]) -> str | None:
    """The far end of an IKE SA: ``remote``, else whichever IKEv1 column is not ours.

    IOS prints ``dst src`` in the direction of the first packet, so the peer is ``dst`` only
    when we initiated; knowing our own addresses (from the tunnels) settles it.
    """
    if sa.remote:
        return sa.remote
    for cand in (sa.dst, sa.src):
        if cand and cand.lower() not in local:
            return cand
    return sa.dst or sa.src


def tunnel_evidence(t: Tunnel) -> list[str]:
    ev = [
        f"tunnel {t.key()} state={t.state} peer={t.peer}" + (f" vrf={t.vrf}" if t.vrf else ""),
        f"local_ts={t.local_ts} remote_ts={t.remote_ts}",
    ]
    if t.counters:
        keys = ("pkts_encaps", "pkts_decaps", "send_errors", "recv_errors")
        ev.append(", ".join(f"{k}={t.counters[k]}" for k in keys if k in t.counters))
    out = t.spis("out")
    ev.append(f"outbound esp spi: {', '.join(f'0x{s:08X}' for s in out) or '0x0 (none)'}")
    return ev


def raw_lines(dev: DeviceState, needle: str | None, limit: int = 3) -> list[str]:
    """Raw output lines that mention ``needle`` (the peer), to quote as evidence."""
    if not dev.raw or not needle:
        return []
    hits: list[str] = []
    for command, text in dev.raw.items():
        for line in text.splitlines():
            if needle in line:
                hits.append(f"{command}: {line.strip()}")
                if len(hits) >= limit:
                    return hits
    return hits


def _first_host(prefix: str | None) -> str | None:
    """An address inside a selector to send test traffic to or from; none for any/any."""
    if not prefix:
        return None
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return None
    if net.prefixlen == 0:
        return None  # any: no address to aim at (a VTI or a catch-all selector)
    if net.num_addresses <= 2:
        return str(net.network_address)
    return str(next(net.hosts()))


def _af(addr: str | None) -> str | None:
    if not addr:
        return None
    return "ipv6" if ":" in addr else "ipv4"


class Fleet:
    """The devices of one poll, found by any of their own addresses."""

    def __init__(self, devices: Iterable[DeviceState]) -> None:
        self._by_addr: dict[str, DeviceState | None] = {}
        for dev in devices:
            for addr in local_addresses(dev):
                key = norm_addr(addr) or addr
                seen = self._by_addr.get(key, dev)
                # an address two devices claim (overlapping VRFs) names neither
                self._by_addr[key] = dev if seen is dev else None

    def device_at(self, addr: str | None) -> DeviceState | None:
        key = norm_addr(addr)
        return self._by_addr.get(key) if key else None


_IKE_RANK = {"up": 2, "negotiating": 1, "down": 0}


def best_ike_by_peer(dev: DeviceState, local: set[str]) -> dict[str, IkeSa]:
    """Per peer (normalised), the IKE SA that says most about its tunnels: an up one if there
    is one, else the first of the best status. Built in one pass over the device's SAs:
    :meth:`Scope.best_ike` asks it for every finding, and a hub has thousands of each."""
    best: dict[str, IkeSa] = {}
    for sa in dev.ike_sas:
        key = norm_addr(ike_peer(sa, local))
        if key is None:
            continue
        held = best.get(key)
        if held is None or _IKE_RANK.get(sa.status, 0) > _IKE_RANK.get(held.status, 0):
            best[key] = sa
    return best


def _ike_values(sa: IkeSa | None) -> dict[str, Any]:
    """Placeholders an IKE SA fills: version, front-door VRF, Cisco conn-id, strongSwan
    unique id and IKE_SA (connection) name."""
    if sa is None:
        return {}
    out: dict[str, Any] = {
        "ike_version": sa.version,
        "fvrf": sa.fvrf,
        "conn_id": sa.conn_id if sa.version == 1 else None,
        "ike_id": sa.extra.get("unique_id"),
        "conn": sa.extra.get("name"),
    }
    return {k: v for k, v in out.items() if v not in (None, "")}


def tunnel_values(t: Tunnel) -> dict[str, Any]:
    """Placeholders a tunnel fills: addresses, VRF, selectors, SA names and ids."""
    ts_local = _first_host(t.local_ts.prefix if t.local_ts else None)
    ts_remote = _first_host(t.remote_ts.prefix if t.remote_ts else None)
    out: dict[str, Any] = {
        "peer": t.peer,
        "local": t.local_addr,
        "vrf": t.vrf,
        "peer_af": _af(t.peer),
        "interface": t.interface,
        "crypto_map": t.crypto_map,
        "child": t.extra.get("name"),
        "child_id": t.extra.get("unique_id"),
        "conn": t.extra.get("ike_name") or t.extra.get("conn"),
        "ike_id": t.extra.get("ike_unique_id"),
    }
    if ts_local and ts_remote and _af(ts_local) == _af(ts_remote):
        out.update(ts_local=ts_local, ts_remote=ts_remote, ts_af=_af(ts_remote))
    return {k: v for k, v in out.items() if v not in (None, "")}


@dataclass
class Scope:
    """One device's poll and what the rules need around it (see the module docstring)."""

    dev: DeviceState
    prev: DeviceState | None = None
    fleet: Fleet | None = None
    history: TunnelHistories = field(default_factory=dict)
    local: set[str] = field(default_factory=set)
    facts: PlatformFacts = field(init=False)
    #: per device asked about (by id, with the device kept alive): its best IKE SA per peer
    _ike_index: dict[int, tuple[DeviceState, dict[str, IkeSa]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        if not self.local:
            self.local = local_addresses(self.dev)
        self.facts = platform_facts(self.dev.platform)

    @property
    def device(self) -> str:
        return self.dev.device

    @property
    def elapsed_s(self) -> float | None:
        if self.prev is None:
            return None
        return (self.dev.polled_at - self.prev.polled_at).total_seconds()

    def best_ike(self, dev: DeviceState, peer: str | None) -> IkeSa | None:
        """The IKE SA of ``dev`` (this poll, the previous one or a far end) to ``peer`` that
        says most about the tunnel. Our own addresses tell the IKEv1 columns apart for this
        device's polls, the far end's own for a far end; each device is indexed once."""
        key = norm_addr(peer)
        if key is None:
            return None
        entry = self._ike_index.get(id(dev))
        if entry is None or entry[0] is not dev:
            local = self.local if dev is self.dev or dev is self.prev else local_addresses(dev)
            entry = (dev, best_ike_by_peer(dev, local))
            self._ike_index[id(dev)] = entry
        return entry[1].get(key)

    def context(
        self, peer: str | None, tunnels: Sequence[Tunnel] = (), ike: IkeSa | None = None
    ) -> dict[str, Any]:
        """Placeholder values for a finding about ``peer`` (and these tunnels / IKE SA)."""
        ike = ike or self.best_ike(self.dev, peer)
        ctx: dict[str, Any] = {"device": self.device, "peer_af": _af(peer)}
        ctx.update(_ike_values(ike))
        if tunnels:
            ctx.update(tunnel_values(tunnels[0]))
        if ike is not None and "local" not in ctx:
            local = ike.local or next(
                (a for a in (ike.src, ike.dst) if a and a.lower() in self.local), None
            )
            if local:
                ctx["local"] = local
        if peer:
            ctx["peer"] = peer
        far = self.fleet.device_at(peer) if self.fleet else None
        if far is not None and far is not self.dev:
            ctx["peer_device"] = far.device
        return {k: v for k, v in ctx.items() if v not in (None, "")}

    def far_steps(self, keys: Sequence[str], ctx: Mapping[str, Any]) -> list[Step]:
        """The steps for the far end, from its own platform table, when it was polled too."""
        far = self.fleet.device_at(ctx.get("peer")) if self.fleet else None
        mine = ctx.get("local")
        if far is None or far is self.dev or not mine:
            return []
        mirror = [t for t in far.tunnels if norm_addr(t.peer) == norm_addr(mine)]
        ike = self.best_ike(far, mine)
        far_ctx: dict[str, Any] = {"device": far.device, "peer_device": self.device}
        far_ctx.update(_ike_values(ike))
        if mirror:
            far_ctx.update(tunnel_values(_mirror_of(mirror, ctx)))
        far_ctx.update(peer=mine, peer_af=_af(mine), local=ctx.get("peer"))
        peer_keys = [f"{k}@peer" for k in keys]
        return render(far.platform, peer_keys, far_ctx, device=far.device)

    def finding(
        self,
        code: str,
        severity: Severity,
        summary: str,
        *,
        peer: str | None,
        evidence: list[str],
        causes: Sequence[str],
        tunnels: Sequence[Tunnel] = (),
        ike: IkeSa | None = None,
        vrf: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Finding:
        """A finding with its context for front ends and its next steps for this platform."""
        ctx = self.context(peer, tunnels, ike)
        keys = step_keys(code)
        steps = render(self.dev.platform, keys, ctx) + self.far_steps(keys, ctx)
        vrf = vrf if vrf is not None else next((t.vrf for t in tunnels if t.vrf), None)
        info: dict[str, Any] = {
            "platform": self.dev.platform,
            "vrf": vrf,
            "tunnels": [t.key() for t in tunnels],
        }
        if ctx.get("peer_device"):
            info["peer_device"] = ctx["peer_device"]
        info["steps"] = [s.as_dict() for s in steps]
        info.update(extra or {})
        # typed here, so built without the validator (a severity outside the enumeration is
        # still validated, and raises): building it was ~15 ms of the first finding of a run
        return trusted(
            Finding,
            {
                "code": code,
                "severity": severity,
                "device": self.device,
                "peer": peer,
                "summary": summary,
                "evidence": list(evidence),
                "causes": list(causes),
                "next_steps": [s.text() for s in steps],
                "extra": info,
            },
        )


def _mirror_of(candidates: list[Tunnel], ctx: Mapping[str, Any]) -> Tunnel:
    """Of the far end's tunnels back to us, the one whose selectors mirror ours."""
    mine_local, mine_remote = ctx.get("ts_local"), ctx.get("ts_remote")
    for t in candidates:
        values = tunnel_values(t)
        if values.get("ts_local") == mine_remote and values.get("ts_remote") == mine_local:
            return t
    return candidates[0]
