"""What changed between two polls of one device, as typed events.

The same events feed ``watch --json`` (one JSON line each), the history store and the views
built on it (flaps, last down, uptime across restarts, rekeys seen). Everything here is pure:
two :class:`DeviceState` snapshots in, a list of :class:`Event` out, so a poll replayed from a
saved file, a live poll and a migration of old snapshots all give the same history.

Event kinds and what ``from`` / ``to`` hold:

``tunnel_up`` / ``tunnel_down``
    Tunnel state (``up``, ``down``, ``idle``, ``negotiating``). A tunnel seen up at both polls
    but rebuilt in between (every SPI new *and* its packet counters restarted or its uptime went
    back) gives a ``tunnel_down`` then a ``tunnel_up``, both with ``detail.between_polls``: a flap
    the polls did not see directly still counts.
``one_way``
    Traffic sent on the tunnel and nothing received between the two polls: ``two_way`` ->
    ``one_way``; detail gives the packet deltas.
``ike_state``
    The raw state of the IKE SA to the tunnel's peer (``QM_IDLE``, ``MM_KEY_EXCH``...).
``rekey``
    A new ESP SPI appeared on a tunnel up at both polls. Detail gives old and new SPIs per
    direction as integers: ``{"in": {"old": [...], "new": [...]}, "out": {...}}``.
``errors_rising``
    Error counters grew: ``from`` / ``to`` are the totals of the counters that grew; detail
    names each counter with its old and new value. A counter that went down was reset (the SA
    was rebuilt or the counters cleared), which is not an error.
``unreachable`` / ``reachable``
    The device itself (no tunnel): ``reachable`` -> ``unreachable`` and back.
``tunnel_added`` / ``tunnel_removed``
    A tunnel absent from the previous poll (``from`` null, ``to`` its state), or gone from a
    complete poll (one without command errors: a failed command is not a removal). A device's
    first poll adds every tunnel it has, with the device's own uptime in detail when known.
``action``
    Not computed here: an operator action (clear, rekey, capture) as the store recorded it.

Tunnels are matched by :attr:`Tunnel.id` (stable across rekeys; the identity when unset).

Conditions that last (``one_way``, ``errors_rising``) are reported by :func:`diff` for every
interval they hold, which is what a watcher wants; :func:`settle` turns them into a start and an
end event with totals, which is what a history wants (a tunnel stuck one-way for a week is two
rows, not twenty thousand).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_serializer

from ipsecctl.models import SCHEMA, DeviceState, Tunnel

EventKind = Literal[
    "tunnel_up",
    "tunnel_down",
    "one_way",
    "ike_state",
    "rekey",
    "errors_rising",
    "unreachable",
    "reachable",
    "tunnel_added",
    "tunnel_removed",
    "action",
]
EVENT_KINDS: tuple[str, ...] = EventKind.__args__  # type: ignore[attr-defined]

# Encapsulated packets between two polls, with none decapsulated, that make "one way": a few
# packets can be the first of a flow whose reply is still on its way.
ONE_WAY_MIN_PKTS = 5
ERROR_COUNTERS = (
    "send_errors",
    "recv_errors",
    "replay_failed",
    "decrypt_failed",
    "verify_failed",
    "invalid_spi",
    "pkts_invalid_sa_rcv",
)
# Conditions that :func:`settle` folds into start / end events.
CONDITIONS = ("one_way", "errors_rising")


def iso(value: datetime) -> str:
    """ISO-8601 UTC with a ``Z``, as every ipsecctl document writes times."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Event(BaseModel):
    """One change seen between two polls (or one operator action).

    Serialises to the ``watch --json`` line; ``tunnel`` is the tunnel's id (null for device
    events) so a script can follow one tunnel across peers that share an address.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    time: datetime
    device: str
    peer: str | None = None
    vrf: str | None = None
    tunnel: str | None = None
    event: EventKind
    from_: Any = Field(
        default=None, validation_alias=AliasChoices("from", "from_"), serialization_alias="from"
    )
    to: Any = None
    detail: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("time")
    def _iso(self, value: datetime) -> str:
        return iso(value)

    def line(self) -> dict[str, Any]:
        """The ``watch --json`` object: schema and kind first, then the event's fields."""
        body = self.model_dump(mode="json", by_alias=True)
        return {"schema": SCHEMA, "kind": "event", **body}


def is_complete(state: DeviceState) -> bool:
    """A poll that saw every tunnel: reachable, and no command failed. Parse warnings and an
    extra command the device would not give (its log) are not failures
    (:attr:`CommandError.fatal`): the tunnels were all read."""
    return state.reachable and not any(e.fatal for e in state.errors)


def _event(t: Tunnel, kind: str, when: datetime, frm: Any, to: Any, **detail: Any) -> Event:
    return Event(
        time=when,
        device=t.device,
        peer=t.peer,
        vrf=t.vrf,
        tunnel=t.key(),
        event=kind,  # type: ignore[arg-type]
        from_=frm,
        to=to,
        detail=detail,
    )


def _spis(t: Tunnel) -> dict[str, list[int]]:
    return {d: sorted(t.spis(d, live_only=True)) for d in ("in", "out")}


def _rebuilt(p: Tunnel, c: Tunnel) -> list[str]:
    """Why a tunnel up at both polls must have gone down in between (empty: it did not).

    Every SPI new is also what a rekey looks like; what a rekey keeps is the tunnel's packet
    counters and its session uptime, which a rebuilt tunnel starts again.
    """
    old, new = set(p.spis()), set(c.spis())
    if not old or not new or old & new:
        return []
    why = [
        f"{k} {p.counters[k]} -> {c.counters[k]}"
        for k in ("pkts_encaps", "pkts_decaps")
        if k in c.counters and k in p.counters and c.counters[k] < p.counters[k]
    ]
    if p.uptime_s is not None and c.uptime_s is not None and c.uptime_s < p.uptime_s:
        why.append(f"uptime {p.uptime_s} s -> {c.uptime_s} s")
    return why


def _tunnel_events(p: Tunnel, c: Tunnel, when: datetime, interval_s: float) -> list[Event]:
    out: list[Event] = []
    if p.state != "up" and c.state == "up":
        out.append(_event(c, "tunnel_up", when, p.state, "up", spis=_spis(c)))
    elif p.state == "up" and c.state != "up":
        out.append(_event(c, "tunnel_down", when, "up", c.state, ike_state=c.ike_state))
    if p.ike_state != c.ike_state and (p.ike_state or c.ike_state):
        out.append(_event(c, "ike_state", when, p.ike_state, c.ike_state))
    if p.state != "up" or c.state != "up":
        return out
    why = _rebuilt(p, c)
    if why:
        between = {"between_polls": True, "evidence": why}
        out.append(_event(c, "tunnel_down", when, "up", "down", **between))
        out.append(_event(c, "tunnel_up", when, "down", "up", spis=_spis(c), **between))
        return out  # counters restarted: no traffic or error deltas to speak of
    old, new = _spis(p), _spis(c)
    if any(set(new[d]) - set(old[d]) for d in ("in", "out")):
        out.append(
            _event(
                c,
                "rekey",
                when,
                None,
                None,
                **{d: {"old": old[d], "new": new[d]} for d in ("in", "out")},
            )
        )
    out += _traffic_events(p, c, when, interval_s)
    return out


def _traffic_events(p: Tunnel, c: Tunnel, when: datetime, interval_s: float) -> list[Event]:
    out: list[Event] = []
    enc = _delta(p, c, "pkts_encaps")
    dec = _delta(p, c, "pkts_decaps")
    if enc is not None and dec == 0 and enc >= ONE_WAY_MIN_PKTS:
        out.append(
            _event(
                c,
                "one_way",
                when,
                "two_way",
                "one_way",
                pkts_out=enc,
                pkts_in=0,
                interval_s=interval_s,
            )
        )
    rising = {}
    for name in ERROR_COUNTERS:
        grew = _delta(p, c, name)
        if grew:
            rising[name] = {"from": p.counters[name], "to": c.counters[name], "delta": grew}
    if rising:
        before = sum(r["from"] for r in rising.values())
        after = sum(r["to"] for r in rising.values())
        out.append(_event(c, "errors_rising", when, before, after, counters=rising))
    return out


def _delta(p: Tunnel, c: Tunnel, name: str) -> int | None:
    """Growth of a counter between the polls; None when unknown or reset (it went down)."""
    if name not in p.counters or name not in c.counters:
        return None
    grew = c.counters[name] - p.counters[name]
    return grew if grew >= 0 else None


def diff(
    prev: DeviceState | None,
    cur: DeviceState,
    *,
    now: datetime | None = None,
    baseline: DeviceState | None = None,
) -> list[Event]:
    """Events between ``prev`` (None: the device's first poll) and ``cur``.

    ``baseline`` is what tunnels are compared with when it is not ``prev``: the last poll that
    reached the device (after an unreachable one, tunnels are compared with what was seen
    before, not reported all new). ``now`` stamps the events (default: ``cur.polled_at``).
    """
    when = now or cur.polled_at
    out: list[Event] = []
    if not cur.reachable:
        if prev is None or prev.reachable:
            why = [e.message for e in cur.errors]
            out.append(
                Event(
                    time=when,
                    device=cur.device,
                    event="unreachable",
                    from_="reachable" if prev is not None else None,
                    to="unreachable",
                    detail={"errors": why} if why else {},
                )
            )
        return out
    if prev is not None and not prev.reachable:
        out.append(
            Event(
                time=when, device=cur.device, event="reachable", from_="unreachable", to="reachable"
            )
        )
    base = baseline if baseline is not None else prev
    if base is None or (not base.reachable and not base.tunnels):
        for t in cur.tunnels:
            extra = {"uptime_s": t.uptime_s} if t.uptime_s is not None else {}
            out.append(_event(t, "tunnel_added", when, None, t.state, **extra))
        return out
    interval = max((cur.polled_at - base.polled_at).total_seconds(), 0.0)
    before = {t.key(): t for t in base.tunnels}
    for t in cur.tunnels:
        p = before.pop(t.key(), None)
        if p is None:
            out.append(_event(t, "tunnel_added", when, None, t.state))
        else:
            out += _tunnel_events(p, t, when, interval)
    if is_complete(cur):
        for p in before.values():
            out.append(_event(p, "tunnel_removed", when, p.state, None))
    return out


def next_baseline(baseline: DeviceState | None, cur: DeviceState) -> DeviceState | None:
    """What the next poll's tunnels are compared with, after ``cur``.

    A complete poll replaces the baseline (None is returned: ``cur`` itself is the baseline).
    An unreachable poll keeps the old one. A partial poll (a command failed) keeps the tunnels
    it could not see from the old baseline, so they are neither removed now nor added later.
    """
    if is_complete(cur):
        return None
    if baseline is None:
        return None if cur.reachable else baseline
    if not cur.reachable:
        return baseline
    seen = {t.key() for t in cur.tunnels}
    kept = [t for t in baseline.tunnels if t.key() not in seen]
    return cur.model_copy(update={"tunnels": [*cur.tunnels, *kept], "raw": None})


Ongoing = dict[str, dict[str, Any]]


def settle(
    events: Iterable[Event], ongoing: Mapping[str, dict[str, Any]], cur: DeviceState
) -> tuple[list[Event], Ongoing]:
    """Fold lasting conditions into start and end events, for the history.

    ``ongoing`` holds the conditions of ``cur.device`` that were true at the previous poll
    (returned by the previous call; start with ``{}``). A condition still true is not repeated;
    its totals grow. One that stopped (the tunnel carries traffic both ways again, its errors
    stopped, it went down or away) gives an end event with ``detail.ended``, the start time and
    the totals. An unreachable or partial poll ends nothing it could not see.
    """
    state: Ongoing = {k: dict(v) for k, v in ongoing.items()}
    kept: list[Event] = []
    true_now: set[str] = set()
    for ev in events:
        if ev.event not in CONDITIONS:
            kept.append(ev)
            continue
        key = f"{ev.event}|{ev.tunnel}"
        true_now.add(key)
        held = state.get(key)
        if held is None:
            kept.append(ev)
            state[key] = _condition_start(ev)
        else:
            _condition_grow(held, ev)
    if not cur.reachable:
        return kept, state
    tunnels = {t.key(): t for t in cur.tunnels}
    complete = is_complete(cur)
    for key in sorted(state):
        if key in true_now:
            continue
        kind, tunnel = key.split("|", 1)
        t = tunnels.get(tunnel)
        if t is None and not complete:
            continue
        kept.append(_condition_end(kind, state.pop(key), t, cur.polled_at))
    return kept, state


def _condition_start(ev: Event) -> dict[str, Any]:
    held: dict[str, Any] = {
        "since": iso(ev.time),
        "tunnel": ev.tunnel,
        "device": ev.device,
        "peer": ev.peer,
        "vrf": ev.vrf,
    }
    if ev.event == "one_way":
        held["pkts_out"] = ev.detail.get("pkts_out", 0)
    else:
        held["counters"] = {
            name: {"from": c["from"], "to": c["to"]} for name, c in ev.detail["counters"].items()
        }
    return held


def _condition_grow(held: dict[str, Any], ev: Event) -> None:
    if ev.event == "one_way":
        held["pkts_out"] = held.get("pkts_out", 0) + ev.detail.get("pkts_out", 0)
        return
    counters = held.setdefault("counters", {})
    for name, c in ev.detail["counters"].items():
        seen = counters.setdefault(name, {"from": c["from"]})
        seen["to"] = c["to"]


def _condition_end(kind: str, held: dict[str, Any], t: Tunnel | None, when: datetime) -> Event:
    detail: dict[str, Any] = {"ended": True, "since": held["since"]}
    if kind == "one_way":
        detail["pkts_out"] = held.get("pkts_out", 0)
        frm: Any = "one_way"
        to: Any = (
            "two_way"
            if t is not None and t.state == "up"
            else (t.state if t is not None else "removed")
        )
    else:
        counters = {
            name: {**c, "delta": c["to"] - c["from"]} for name, c in held["counters"].items()
        }
        detail["counters"] = counters
        frm = sum(c["from"] for c in counters.values())
        to = sum(c["to"] for c in counters.values())
    return Event(
        time=when,
        device=held["device"],
        peer=held["peer"],
        vrf=held["vrf"],
        tunnel=held["tunnel"],
        event=kind,  # type: ignore[arg-type]
        from_=frm,
        to=to,
        detail=detail,
    )


# -- reading a history ------------------------------------------------------------------------


def flap_count(events: Iterable[Event]) -> int:
    """How many times the tunnels went down: one per poll time, however many selector pairs
    to the same peer went down together."""
    return len({ev.time for ev in events if ev.event == "tunnel_down"})


def up_since(events: Iterable[Event]) -> datetime | None:
    """When a tunnel came up for good: its first ``tunnel_up`` after its last ``tunnel_down``
    (across restarts of ipsecctl). None when it is not up now or nothing shows it came up.

    ``events`` are one tunnel's, oldest first. A first sighting already up is counted from the
    device's own uptime when it gave one.
    """
    since: datetime | None = None
    for ev in events:
        if ev.event in ("tunnel_down", "tunnel_removed"):
            since = None
        elif ev.event == "tunnel_up" and since is None:
            since = ev.time
        elif ev.event == "tunnel_added":
            since = None
            if ev.to == "up":
                uptime = ev.detail.get("uptime_s")
                since = ev.time if uptime is None else _minus(ev.time, uptime)
    return since


def _minus(when: datetime, seconds: float) -> datetime:
    return when - timedelta(seconds=float(seconds))
