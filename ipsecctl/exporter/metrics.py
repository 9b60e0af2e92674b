"""The exporter's metrics: per-tunnel gauges and counters from the last poll.

Counters must only grow, and device counters do not: a clear resets them, a strongSwan
CHILD_SA starts its own at zero when it is rekeyed, a device reboots. :class:`CounterBank`
keeps, per tunnel and counter, a running total that adds what each poll added: the
difference since the last poll, or the whole new value when the counter went back (a reset:
everything since the reset is new). A ``child_sa`` record's counters belong to that CHILD_SA
(its SPIs are part of the key, so a rekeyed CHILD_SA starts a new count that is added, not
compared with the old one); Cisco records (``crypto_map``, ``vti``, ``dmvpn``) count per
flow across rekeys, so their SPIs are not.

:func:`render` turns a :class:`Snapshot` into the Prometheus text format with
prometheus_client's metric families and encoder. It runs once per poll; a scrape serves the
bytes it made (see :mod:`ipsecctl.exporter.server`), so scraping costs the same whatever
the fleet's size and never polls a device.

Series of a device that could not be polled are left out until it answers again (its
``ipsecctl_device_up`` is 0); its running totals are kept, so a device that comes back
continues its counters.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry

from ipsecctl.models import DeviceState, Tunnel
from ipsecctl.transitions import ERROR_COUNTERS, is_complete

TUNNEL_LABELS = ("device", "peer", "vrf", "tunnel")
#: counter name -> (metric, label value)
TRAFFIC = {
    "pkts_decaps": ("packets", "in"),
    "pkts_encaps": ("packets", "out"),
    "bytes_in": ("bytes", "in"),
    "bytes_out": ("bytes", "out"),
}
COUNTED = (*TRAFFIC, *ERROR_COUNTERS)


#: complete polls without a tunnel after which its totals are forgotten (memory stays bounded
#: by the tunnels seen recently; Prometheus has long marked the series stale by then)
FORGET_AFTER_POLLS = 360


def _record(t: Tunnel) -> tuple[int, ...]:
    """What a counter belongs to within its tunnel (see the module docstring)."""
    return tuple(sorted(t.spis())) if t.kind == "child_sa" else ()


@dataclass
class _Counts:
    """One tunnel's running totals, and the last value of each (record, counter)."""

    totals: dict[str, float] = field(default_factory=dict)
    last: dict[tuple[tuple[int, ...], str], int] = field(default_factory=dict)
    missing: int = 0  # complete polls in a row that did not show the tunnel


@dataclass
class CounterBank:
    """Running totals per (tunnel, counter) that only grow. Not thread-safe: the poll loop
    alone updates it. Work per poll is proportional to the device's own tunnels."""

    devices: dict[str, dict[str, _Counts]] = field(default_factory=dict)

    def update(self, state: DeviceState) -> None:
        """Add one poll of a device (an unreachable one changes nothing)."""
        if not state.reachable:
            return
        known = self.devices.setdefault(state.device, {})
        fresh: dict[str, dict[tuple[tuple[int, ...], str], int]] = {}
        for t in state.tunnels:
            tid = t.key()
            counts = known.setdefault(tid, _Counts())
            seen = fresh.setdefault(tid, {})
            record = _record(t)
            for name in COUNTED:
                value = t.counters.get(name)
                if value is None:
                    continue
                before = counts.last.get((record, name))
                grew = value if before is None or value < before else value - before
                counts.totals[name] = counts.totals.get(name, 0.0) + grew
                seen[(record, name)] = value
        for tid, seen in fresh.items():
            known[tid].last = seen  # records (CHILD_SAs) not seen again are gone
            known[tid].missing = 0
        if is_complete(state):  # a partial poll removes nothing it could not see
            # a tunnel that leaves the output for a while (torn down, flapping) keeps its
            # totals: when it comes back its counters go on from there, never backwards
            for tid in [tid for tid in known if tid not in fresh]:
                counts = known[tid]
                counts.last = {}
                counts.missing += 1
                if counts.missing > FORGET_AFTER_POLLS:
                    del known[tid]

    def total(self, t: Tunnel, name: str) -> float | None:
        counts = self.devices.get(t.device, {}).get(t.key())
        return None if counts is None else counts.totals.get(name)


@dataclass
class Snapshot:
    """What the last round saw (``states``), with the poll's duration and round count."""

    states: Sequence[DeviceState] = ()
    poll_duration_s: float | None = None
    rounds: int = 0


def _labels(t: Tunnel) -> list[str]:
    return [t.device, t.peer or "", t.vrf or "", t.key()]


def _remaining(t: Tunnel, direction: str) -> int | None:
    values = [
        sa.remaining_s
        for sa in t.sas
        if sa.direction == direction
        and sa.protocol == "esp"
        and sa.live
        and sa.remaining_s is not None
    ]
    return max(values) if values else None


def families(snapshot: Snapshot, bank: CounterBank) -> list[Metric]:
    """Every metric family of one snapshot (pure, given the bank's totals)."""
    up = GaugeMetricFamily(
        "ipsecctl_tunnel_up",
        "1 when the tunnel has live SAs (state up), 0 otherwise",
        labels=TUNNEL_LABELS,
    )
    packets = CounterMetricFamily(
        "ipsecctl_tunnel_packets",
        "Packets through the tunnel "
        "(in: decapsulated, out: encapsulated), kept monotonic across "
        "rekeys and counter resets",
        labels=(*TUNNEL_LABELS, "direction"),
    )
    nbytes = CounterMetricFamily(
        "ipsecctl_tunnel_bytes",
        "Bytes through the tunnel where the "
        "device counts them, kept monotonic across rekeys and resets",
        labels=(*TUNNEL_LABELS, "direction"),
    )
    errs = CounterMetricFamily(
        "ipsecctl_tunnel_errors",
        "Error counters of the tunnel by kind (the device's counter name), kept monotonic",
        labels=(*TUNNEL_LABELS, "kind"),
    )
    remaining = GaugeMetricFamily(
        "ipsecctl_sa_remaining_seconds",
        "Lifetime left of the newest live ESP SA of the tunnel, per direction",
        labels=(*TUNNEL_LABELS, "direction"),
    )
    ike = GaugeMetricFamily(
        "ipsecctl_ike_sa_up",
        "1 when an IKE SA to the peer is up (established), 0 when none is",
        labels=("device", "peer", "vrf"),
    )
    device_up = GaugeMetricFamily(
        "ipsecctl_device_up",
        "1 when the last poll of the device succeeded, 0 when it failed",
        labels=("device", "platform"),
    )
    polled = GaugeMetricFamily(
        "ipsecctl_device_last_poll_timestamp_seconds",
        "When the device's state was polled (Unix time)",
        labels=("device",),
    )
    duration = GaugeMetricFamily(
        "ipsecctl_poll_duration_seconds", "How long the last poll of the whole selection took"
    )
    rounds = CounterMetricFamily(
        "ipsecctl_polls", "Polls of the selection since the exporter started"
    )
    for s in snapshot.states:
        ok = s.reachable and not any(e.fatal for e in s.errors)
        device_up.add_metric([s.device, s.platform], 1.0 if ok else 0.0)
        polled.add_metric([s.device], s.polled_at.timestamp())
        if not s.reachable:
            continue
        ike_up: dict[tuple[str, str], float] = {}
        for sa in s.ike_sas:
            peer = sa.peer_address() or ""
            key = (peer, sa.fvrf or "")
            ike_up[key] = max(ike_up.get(key, 0.0), 1.0 if sa.status == "up" else 0.0)
        for (peer, vrf), value in ike_up.items():
            ike.add_metric([s.device, peer, vrf], value)
        seen: set[str] = set()
        for t in _merged(s.tunnels):
            tid = t.key()
            if tid in seen:
                continue
            seen.add(tid)
            labels = _labels(t)
            up.add_metric(labels, 1.0 if t.state == "up" else 0.0)
            for name, (metric, direction) in TRAFFIC.items():
                total = bank.total(t, name)
                if total is None:
                    continue
                target = packets if metric == "packets" else nbytes
                target.add_metric([*labels, direction], total)
            for name in ERROR_COUNTERS:
                total = bank.total(t, name)
                if total is not None:
                    errs.add_metric([*labels, name], total)
            for direction in ("in", "out"):
                left = _remaining(t, direction)
                if left is not None:
                    remaining.add_metric([*labels, direction], float(left))
    if snapshot.poll_duration_s is not None:
        duration.add_metric([], snapshot.poll_duration_s)
    rounds.add_metric([], float(snapshot.rounds))
    return [up, packets, nbytes, errs, remaining, ike, device_up, polled, duration, rounds]


def _merged(tunnels: Iterable[Tunnel]) -> Iterator[Tunnel]:
    """One record per tunnel id: several records of one id (a CHILD_SA and its rekeyed
    successor, side by side for a moment) become one, up when either is, with every SA."""
    by_id: dict[str, Tunnel] = {}
    order: list[str] = []
    for t in tunnels:
        tid = t.key()
        held = by_id.get(tid)
        if held is None:
            by_id[tid] = t
            order.append(tid)
            continue
        by_id[tid] = held.model_copy(
            update={
                "state": "up" if "up" in (held.state, t.state) else held.state,
                "sas": [*held.sas, *t.sas],
            }
        )
    for tid in order:
        yield by_id[tid]


class _Frozen(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def render(snapshot: Snapshot, bank: CounterBank) -> bytes:
    """The Prometheus text format (0.0.4) of one snapshot."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Frozen(families(snapshot, bank)))
    return generate_latest(registry)
