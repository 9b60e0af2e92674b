"""Raw command outputs of one device -> one :class:`DeviceState` (pure, no I/O).

This is where the platforms' different views are merged into one vocabulary: IKE SAs come
from the ISAKMP / IKEv2 tables, tunnels from the IPsec SA database, and each tunnel learns the
state of the IKE SA to its peer. Tunnel ``state`` is decided here, once, for every platform and
for both the CLI and the dashboard.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

import parsers
from ipsecctl.models import CommandError, DeviceState, IkeSa, Tunnel, trusted

_STATUS_RANK = {"up": 2, "negotiating": 1, "down": 0}
_M = TypeVar("_M", IkeSa, Tunnel)


#: an IPv4 address already in its canonical form (no leading zeros): returned as it is
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_CANONICAL_V4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


@functools.lru_cache(maxsize=1 << 16)  # pure; a hub names its own address in every SA
def _norm_addr(addr: str | None) -> str | None:
    if not addr:
        return None
    if _CANONICAL_V4.fullmatch(addr):
        return addr
    try:
        return str(ipaddress.ip_address(addr.split("/")[0].strip("[]")))
    except ValueError:
        return addr


def expected_up_for(expected: Any, peer: str | None) -> bool | None:
    """Inventory ``expected_up``: true/false for the whole device, or a list of peers."""
    if expected is None:
        return None
    if isinstance(expected, bool):
        return expected
    if isinstance(expected, str):
        expected = [expected]
    if isinstance(expected, Iterable):
        peers = {_norm_addr(str(p)) for p in expected}
        return _norm_addr(peer) in peers
    return None


def ike_by_peer(ike_sas: Iterable[IkeSa], local_addrs: set[str]) -> dict[str, IkeSa]:
    """Best IKE SA per peer address (an up SA wins over one still negotiating)."""
    best: dict[str, IkeSa] = {}
    for sa in ike_sas:
        peer = _norm_addr(sa.remote)
        if peer is None:
            src, dst = _norm_addr(sa.src), _norm_addr(sa.dst)
            peer = src if dst in local_addrs and src not in local_addrs else dst
        if peer is None:
            continue
        current = best.get(peer)
        if current is None or _STATUS_RANK[sa.status] > _STATUS_RANK[current.status]:
            best[peer] = sa
    return best


def _session_uptimes(sessions: Iterable[dict[str, Any]]) -> dict[tuple[str | None, Any], int]:
    """Per (peer, ivrf): how long the crypto session has been up (``show crypto session``)."""
    out: dict[tuple[str | None, Any], int] = {}
    for session in sessions:
        if session.get("uptime_s") is not None and str(session.get("status", "")).startswith("UP"):
            out[(_norm_addr(session.get("peer")), session.get("ivrf"))] = session["uptime_s"]
    return out


_IKE_FIELDS = tuple(name for name in IkeSa.model_fields if name != "extra")
#: what the join decides from both views (the state table's state wins)
_JOINED = ("state", "status", "extra")


def merge_ikev1_views(ike_sas: list[IkeSa]) -> list[IkeSa]:
    """Join the IKEv1 table (which has the MM_/QM_ state) with its ``detail`` form.

    IOS prints the state only in ``show crypto isakmp sa`` and the algorithms, lifetime and
    local/remote only in ``... detail``; both list the same SAs, keyed by conn-id and the
    address pair, so one SA comes out with everything either view knew.
    """
    merged: dict[tuple[frozenset[str | None], int | None], IkeSa] = {}
    out: list[IkeSa] = []
    for sa in ike_sas:
        if sa.version == 2:
            out.append(sa)
            continue
        pair = frozenset({_norm_addr(sa.local or sa.src), _norm_addr(sa.remote or sa.dst)})
        key = (pair, sa.conn_id)
        seen = merged.get(key)
        if seen is None:
            merged[key] = sa
            out.append(sa)
            continue
        with_state, other = (seen, sa) if seen.state else (sa, seen)
        # the fields only ``sa`` knows, written as pydantic's own (unvalidated) assignment
        # writes them, without its per-attribute hooks (a hub merges 10,000 pairs)
        mine, theirs = seen.__dict__, sa.__dict__
        filled = [n for n in _IKE_FIELDS if mine[n] is None and theirs[n] is not None]
        for name in filled:
            mine[name] = theirs[name]
        mine["state"] = with_state.state
        mine["status"] = with_state.status if with_state.state else other.status
        mine["extra"] = {**other.extra, **with_state.extra}
        seen.__pydantic_fields_set__.update(filled, _JOINED)
    return out


def merge_same_identity(tunnels: list[Tunnel]) -> list[Tunnel]:
    """One tunnel per identity: a strongSwan CHILD_SA being replaced is listed beside its
    successor with the same selectors; its SAs join the successor's (as Cisco lists old and new
    SPIs under one ident during a rekey), so rows keyed by ``id`` stay unique."""
    by_id: dict[str, Tunnel] = {}
    out: list[Tunnel] = []
    for tunnel in tunnels:
        first = by_id.get(tunnel.id)
        if first is None:
            by_id[tunnel.id] = tunnel
            out.append(tunnel)
            continue
        live, dying = (
            (tunnel, first) if tunnel.state == "up" and first.state != "up" else (first, tunnel)
        )
        live.sas = live.sas + dying.sas
        live.extra = {
            **live.extra,
            "superseded": [*live.extra.get("superseded", []), dying.extra.get("unique_id")],
        }
        if live is not first:
            out[out.index(first)] = live
            by_id[tunnel.id] = live
    return out


def tunnel_state(tunnel: Tunnel) -> str:
    """``up`` with SAs both ways; otherwise what the IKE SA and the expectation say.

    ``idle`` means configured, no SA, nothing failing and not expected up (an on-demand crypto
    map entry nobody has sent traffic to): it is not a fault.
    """
    has_in = any(sa.direction == "in" and sa.live for sa in tunnel.sas)
    has_out = any(sa.direction == "out" and sa.live for sa in tunnel.sas)
    if has_in and has_out:
        return "up"
    if tunnel.ike_status == "negotiating":
        return "negotiating"
    if tunnel.expected_up or tunnel.ike_status == "up" or tunnel.sas:
        return "down"  # includes SAs in one direction only, or only SAs on their way out
    return "idle"


def _validated(model: type[_M], record: dict[str, Any], problems: list[str]) -> _M | None:
    """The model of one record, or ``None`` with the reason in ``problems``: a value outside
    the model (an unknown protocol, ``IKEv3``) costs that record, never the device's others.

    The parser typed the values already: the model is built without revalidating them, and
    only a record whose shape does not fit is validated (which says what is wrong)."""
    try:
        return model.trusted(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        value = repr(first.get("input"))[:80]
        who = record.get("peer") or record.get("remote") or record.get("dst") or "?"
        problems.append(
            f"{model.__name__} record (peer {who}) left out: {where} = {value}: {first['msg']}"
        )
        return None


def _stream_tunnels(
    device: str,
    platform: str,
    command: str,
    text: str,
    tunnels: list[Tunnel],
    state_errors: list[CommandError],
) -> None:
    """``show crypto ipsec sa`` parsed and turned into models record by record; the same
    errors, warnings and order as parsing it whole, and nothing kept from an output that
    failed."""
    warnings: list[parsers.ParseWarning] = []
    problems: list[str] = []
    built: list[Tunnel] = []
    try:
        for rec in parsers.iter_parse(platform, command, text, warnings):
            tunnel = _validated(Tunnel, {**rec, "device": device, "platform": platform}, problems)
            if tunnel is not None:
                built.append(tunnel)
    except parsers.ParseError as exc:
        state_errors.append(CommandError(command=command, kind="parse", message=str(exc)))
        return
    except Exception as exc:  # a parser bug must not lose the other commands' data
        state_errors.append(
            CommandError(command=command, kind="parse", message=f"parser failed: {exc!r}")
        )
        return
    tunnels += built
    state_errors += [
        CommandError(command=command, kind="parse_warning", message=m)
        for m in [*(str(w) for w in warnings), *problems]
    ]


#: record kinds of which a blank output simply holds none (the parsers say the same, after
#: loading their grammar); other kinds are parsed as they are, blank or not
_NOTHING_IF_BLANK = frozenset({"ike_sas", "tunnels", "sessions"})


def assemble(
    device: str,
    platform: str,
    outputs: Mapping[str, str],
    *,
    errors: Iterable[CommandError] = (),
    expected_up: Any = None,
    polled_at: datetime | None = None,
    keep_raw: bool = False,
    parsed: Mapping[str, parsers.ParseResult] | None = None,
) -> DeviceState:
    """Parse every output and merge.

    A command whose output has nothing recognisable becomes an error of kind ``parse``; lines
    or records a parser could not read become ``parse_warning`` entries, and everything else
    of that output is kept (the device stays reachable). ``parsed`` gives results the caller
    already has (by command), so that an output is never parsed twice.
    """
    state_errors = list(errors)
    ike_sas: list[IkeSa] = []
    tunnels: list[Tunnel] = []
    extra: dict[str, Any] = {}
    for command, text in outputs.items():
        try:
            slug, kind = parsers.resolve_command(command)
        except ValueError:
            continue  # an extra command with no parser (show logging): kept in ``raw`` only
        given = (parsed or {}).get(command)
        if given is None and kind in _NOTHING_IF_BLANK and (not text or text.isspace()):
            continue  # no SAs of that kind (an IKEv1-only hub's IKEv2 table): no grammar to load
        if given is None and slug == "show_crypto_ipsec_sa":
            # a hub's IPsec SAs: each record becomes its model as it comes, so the records
            # of 10,000 tunnels are never all alive at once beside their models
            _stream_tunnels(device, platform, command, text, tunnels, state_errors)
            continue
        try:
            records = given or parsers.parse(platform, command, text)
        except parsers.ParseError as exc:
            state_errors.append(CommandError(command=command, kind="parse", message=str(exc)))
            continue
        except Exception as exc:  # a parser bug must not lose the other commands' data
            state_errors.append(
                CommandError(command=command, kind="parse", message=f"parser failed: {exc!r}")
            )
            continue
        problems = [str(w) for w in records.warnings]
        for rec in records.get("ike_sas", []):
            sa = _validated(IkeSa, {**rec, "device": device}, problems)
            if sa is not None:
                ike_sas.append(sa)
        for rec in records.get("tunnels", []):
            tunnel = _validated(Tunnel, {**rec, "device": device, "platform": platform}, problems)
            if tunnel is not None:
                tunnels.append(tunnel)
        for kind, recs in records.items():
            if kind not in ("ike_sas", "tunnels"):
                extra.setdefault(kind, []).extend(recs)
        state_errors += [
            CommandError(command=command, kind="parse_warning", message=m) for m in problems
        ]

    sessions = extra.pop("sessions", [])
    ike_sas = merge_ikev1_views(ike_sas)
    for sa in ike_sas:
        for name in ("local", "remote", "src", "dst"):
            value = getattr(sa, name)
            norm = _norm_addr(value)
            if norm != value:  # most addresses are already canonical: no model write
                setattr(sa, name, norm)
    uptime = _session_uptimes(sessions)
    local_addrs = {a for t in tunnels if (a := _norm_addr(t.local_addr))}
    for sa in ike_sas:
        if sa.local:
            local_addrs.add(_norm_addr(sa.local) or sa.local)
    ike_map = ike_by_peer(ike_sas, local_addrs)
    # the same address in two VRFs is two peers: match those by VRF first
    ike_vrf_map = {
        (peer, vrf): sa
        for vrf in {sa.fvrf or sa.ivrf for sa in ike_sas} - {None}
        for peer, sa in ike_by_peer(
            [x for x in ike_sas if (x.fvrf or x.ivrf) == vrf], local_addrs
        ).items()
    }
    for tunnel in tunnels:
        # the models' own fields, written as pydantic's assignment writes them (its
        # __setattr__ per field, ~1 us each, was most of this loop on a 10,000-tunnel hub)
        fields = tunnel.__dict__
        written = ["expected_up", "state"]
        peer, local = _norm_addr(fields["peer"]), _norm_addr(fields["local_addr"])
        if peer != fields["peer"]:
            fields["peer"] = peer
            written.append("peer")
        if local != fields["local_addr"]:
            fields["local_addr"] = local
            written.append("local_addr")
        if fields["uptime_s"] is None and fields["sas"]:
            fields["uptime_s"] = uptime.get((peer, fields["vrf"] or None))
            written.append("uptime_s")
        ike = ike_vrf_map.get((peer or "", fields["vrf"])) or ike_map.get(peer or "")
        if ike is not None:
            fields["ike_state"] = ike.state
            fields["ike_status"] = ike.status
            written += ("ike_state", "ike_status")
        fields["expected_up"] = expected_up_for(expected_up, peer)
        fields["state"] = tunnel_state(tunnel)
        tunnel.__pydantic_fields_set__.update(written)
        tunnel.with_identity()
    tunnels = merge_same_identity(tunnels)
    # every part is a model or a value built here: no second validation of 10,000 tunnels
    return trusted(
        DeviceState,
        {
            "device": device,
            "platform": platform,
            "polled_at": polled_at or datetime.now(UTC),
            "reachable": True,
            "ike_sas": ike_sas,
            "tunnels": tunnels,
            "errors": state_errors,
            "raw": dict(outputs) if keep_raw else None,
            "extra": extra,
        },
    )
