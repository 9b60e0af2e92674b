"""Clear and re-key on one device: plan the exact commands, send them, re-poll, verify.

Planning is pure (a :class:`Plan` built from the device's last :class:`DeviceState`), so the CLI
and the dashboard show operators exactly what will be typed and how many SAs it touches before
anything happens. :func:`execute` sends the commands and re-polls until the effect is seen.

``ok`` is true only for an effect observed on the device: a re-poll that succeeded and shows
the old SAs gone (and, for a re-key, new SAs in both directions). A re-poll that failed, a
device that refused a command, or a connection lost mid-action is ``ok: false`` with the
reason, never "no old SPI seen, so it worked". Policy, confirmation, locking and the audit
trail are the operations layer's (:mod:`ipsecctl.ops.actions`); this module never asks anyone.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from ipsecctl import errors
from ipsecctl.models import DeviceState, IkeSa, Tunnel
from ipsecctl.platforms import Platform, get_platform

if TYPE_CHECKING:
    from ipsecctl.transport.base import CommandRunner

ActionKind = Literal["clear", "rekey"]
Scope = Literal["session", "ike", "ipsec"]


def _same_addr(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def _first_host(prefix: str) -> str:
    net = ipaddress.ip_network(prefix, strict=False)
    if net.num_addresses <= 2:
        return str(net.network_address)
    return str(next(net.hosts()))


def _any_any(tunnel: Tunnel) -> bool:
    prefixes = [ts.prefix for ts in (tunnel.local_ts, tunnel.remote_ts) if ts is not None]
    return tunnel.kind == "vti" or any(
        ipaddress.ip_network(p, strict=False).prefixlen == 0 for p in prefixes
    )


@dataclass
class Plan:
    """Everything an operator must see before confirming, and what the runner will send."""

    action: ActionKind
    scope: Scope
    device: str
    platform: str
    peer: str
    vrf: str | None
    commands: list[str]
    bring_up: list[str]
    tunnels: list[Tunnel]
    old_spis: list[int]
    old_ike: list[str] = field(default_factory=list)

    @property
    def sa_count(self) -> int:
        return sum(len(t.sas) for t in self.tunnels)

    @property
    def tunnel_count(self) -> int:
        return len(self.tunnels)

    @property
    def all_commands(self) -> list[str]:
        """Everything that may be typed on the device, in order (what the operator confirms)."""
        return self.commands + self.bring_up

    @property
    def old_spis_by_direction(self) -> dict[str, list[int]]:
        return {d: sorted({s for t in self.tunnels for s in t.spis(d)}) for d in ("in", "out")}

    def describe(self) -> str:
        return (
            f"{self.action} {self.scope} on {self.device} for peer {self.peer}"
            f"{' vrf ' + self.vrf if self.vrf else ''}: {len(self.tunnels)} tunnel(s), "
            f"{self.sa_count} SA(s)"
        )


@dataclass
class Result:
    """The ``clear``/``rekey`` JSON document (``ok`` semantics in the module docstring)."""

    device: str
    peer: str
    action: str
    commands: list[str]
    old_spis: list[int]
    new_spis: list[int] = field(default_factory=list)
    ok: bool = False
    message: str = ""
    vrf: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    old_by_direction: dict[str, list[int]] = field(default_factory=dict)
    new_by_direction: dict[str, list[int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "device": self.device,
            "peer": self.peer,
            "vrf": self.vrf,
            "action": self.action,
            "commands": self.commands,
            "sent": self.sent,
            "old_spis": self.old_spis,
            "new_spis": self.new_spis,
            "spis": {
                d: {
                    "old": self.old_by_direction.get(d, []),
                    "new": self.new_by_direction.get(d, []),
                }
                for d in ("in", "out")
            },
            "ok": self.ok,
            "dry_run": self.dry_run,
            "message": self.message,
            "warnings": sorted(set(self.warnings)),
        }


def tunnels_to(state: DeviceState, peer: str, vrf: str | None = None) -> list[Tunnel]:
    return [
        t
        for t in state.tunnels
        if _same_addr(t.peer, peer) and (vrf is None or (t.vrf or None) == vrf)
    ]


def plan(
    state: DeviceState,
    peer: str,
    *,
    action: ActionKind = "clear",
    scope: Scope = "session",
    vrf: str | None = None,
    source: str | None = None,
) -> Plan:
    """Exact device commands for clearing (or re-keying) everything to ``peer``."""
    try:
        ipaddress.ip_address(peer)
    except ValueError:
        raise errors.UsageError(f"--peer {peer!r} is not an IP address") from None
    platform = get_platform(state.platform)
    tunnels = tunnels_to(state, peer, vrf)
    ike = ike_to(state, peer, vrf)
    if not tunnels and not ike:
        if vrf is not None and (tunnels_to(state, peer) or ike_to(state, peer)):
            vrfs = sorted({t.vrf or "(global)" for t in tunnels_to(state, peer)})
            raise errors.UsageError(
                f"{state.device} has peer {peer} but not in vrf {vrf}"
                + (f" (its tunnels are in: {', '.join(vrfs)})" if vrfs else "")
            )
        known = sorted({t.peer for t in state.tunnels if t.peer})
        raise errors.UsageError(
            f"{state.device} has no tunnel or IKE SA to peer {peer}"
            + (f" (known peers: {', '.join(known)})" if known else "")
        )
    values: dict[str, object] = {"peer": peer, "vrf": vrf or ""}
    effective = "session" if action == "rekey" else scope
    if action == "rekey" and "rekey" in platform.actions:
        # the platform re-keys in place (make-before-break): no clear, no traffic needed
        commands = _render_by_vrf(platform, "rekey", values, ike, tunnels)
        return Plan(
            action,
            effective,
            state.device,
            state.platform,
            peer,
            vrf,
            commands,
            [],
            tunnels,
            sorted({spi for t in tunnels for spi in t.spis()}),
            [_ike_key(sa) for sa in ike],
        )
    if effective == "session":
        commands = _render_by_vrf(platform, "clear_session", values, ike, tunnels)
    elif effective == "ipsec":
        commands = _render_by_vrf(platform, "clear_ipsec", values, ike, tunnels)
    else:
        commands = []
        for version, name in ((1, "clear_ike_v1"), (2, "clear_ike_v2")):
            subset = [sa for sa in ike if sa.version == version]
            if subset:
                # only the VRFs these IKE SAs live in (tunnels would add VRFs without them)
                commands += [
                    c
                    for c in _render_by_vrf(platform, name, values, subset, [])
                    if c not in commands
                ]
    bring_up: list[str] = []
    if action == "rekey":
        for t in tunnels:
            if t.local_ts is None or t.remote_ts is None or _any_any(t):
                # a VTI (any/any selectors) renegotiates by itself: no traffic needed
                continue
            local_host = source or _first_host(t.local_ts.prefix)
            remote_host = _first_host(t.remote_ts.prefix)
            for cmd in platform.action(
                "bring_up", remote_host=remote_host, local_host=local_host, ivrf=t.vrf or ""
            ):
                if cmd not in bring_up:
                    bring_up.append(cmd)
    old = sorted({spi for t in tunnels for spi in t.spis()})
    return Plan(
        action,
        effective,
        state.device,
        state.platform,
        peer,
        vrf,
        commands,
        bring_up,
        tunnels,
        old,
        [_ike_key(sa) for sa in ike],
    )


_PER_TUNNEL = {"child_id", "child"}
_PER_IKE = {"ike_id", "conn_id"}


def _render(
    platform: Platform,
    name: str,
    values: dict[str, object],
    ike: list[IkeSa],
    tunnels: list[Tunnel],
) -> list[str]:
    """Render an action template once, per IKE SA or per tunnel, as its placeholders ask.

    Cisco clears by peer address (one command); strongSwan terminates by IKE or CHILD_SA id
    (one command each). Which it is, is read from the platform's template, not coded here.
    """
    placeholders = set(re.findall(r"{(\w+)}", " ".join(platform.actions.get(name, []))))
    if placeholders & _PER_TUNNEL:
        contexts = [
            {**values, "child_id": t.extra.get("unique_id"), "child": t.extra.get("name")}
            for t in tunnels
            if t.extra.get("unique_id") is not None or t.extra.get("name")
        ]
    elif placeholders & _PER_IKE:
        contexts = [
            {**values, "ike_id": sa.conn_id, "conn_id": sa.conn_id}
            for sa in ike
            if sa.conn_id is not None
        ]
    else:
        contexts = [values]
    if not contexts:
        if name != "clear_session":  # no ids shown: the session clear is the narrowest safe
            return _render(platform, "clear_session", values, ike, tunnels)
        raise errors.UsageError(
            f"cannot build {name!r}: the device showed no SA ids for peer {values['peer']}"
        )
    out: list[str] = []
    for context in contexts:
        out += [c for c in platform.action(name, **context) if c not in out]
    return out


def _ike_key(sa: IkeSa) -> str:
    """Identity of one IKE SA instance: a re-negotiated SA gets a new conn-id or SPIs."""
    return f"{sa.version}:{sa.conn_id}:{sa.spi_i}:{sa.spi_r}:{sa.state}"


def _ike_vrf(sa: IkeSa) -> str | None:
    """The VRF an IKE SA belongs to: IOS shows fvrf or only the ivrf column, depending."""
    return sa.fvrf or sa.ivrf or None


def ike_to(state: DeviceState, peer: str, vrf: str | None = None) -> list[IkeSa]:
    return [
        sa
        for sa in state.ike_sas
        if _same_addr(sa.peer_address(), peer) and (vrf is None or _ike_vrf(sa) == vrf)
    ]


def _render_by_vrf(
    platform: Platform,
    name: str,
    values: dict[str, object],
    ike: list[IkeSa],
    tunnels: list[Tunnel],
) -> list[str]:
    """One rendering per VRF: the same peer address in two VRFs is two peers to IOS, and a
    clear without ``vrf`` reaches only the global one."""
    if values.get("vrf"):
        return _render(platform, name, values, ike, tunnels)
    groups = sorted({t.vrf or "" for t in tunnels} | {_ike_vrf(sa) or "" for sa in ike})
    out: list[str] = []
    for group in groups or [""]:
        rendered = _render(
            platform,
            name,
            {**values, "vrf": group},
            [sa for sa in ike if (_ike_vrf(sa) or "") == group],
            [t for t in tunnels if (t.vrf or "") == group],
        )
        out += [c for c in rendered if c not in out]
    return out


Poller = Callable[[], DeviceState]

Stage = Literal["sending", "refused", "lost", "bring_up", "polling", "repoll_failed", "done"]


@dataclass(frozen=True)
class Progress:
    """One step of :func:`execute`, reported before it happens (``sending``) or as it ends.

    The operations layer audits every ``sending`` event before the command leaves, and the
    front ends show every event (the dashboard's events pane, the CLI's stderr).
    """

    stage: Stage
    text: str
    command: str | None = None


ProgressFn = Callable[[Progress], None]


def _noop(_event: Progress) -> None:
    return None


def _poll_failure(state: DeviceState) -> str | None:
    """Why a re-poll cannot prove anything, or None when it can.

    A poll that lost the device, or in which a command failed (not a mere unknown line), may
    show no old SPI simply because the device did not show anything.
    """
    if not state.reachable:
        reasons = "; ".join(e.message for e in state.errors) or "device unreachable"
        return f"re-poll failed: {reasons}"
    failed = [e for e in state.errors if e.fatal]
    if failed:
        return "re-poll failed: " + "; ".join(
            f"{e.command}: {e.message}" if e.command else e.message for e in failed
        )
    return None


def _split(state: DeviceState, plan_: Plan) -> dict[str, list[int]]:
    tunnels = tunnels_to(state, plan_.peer, plan_.vrf)
    return {
        d: sorted({s for t in tunnels for s in t.spis(d, live_only=True)}) for d in ("in", "out")
    }


def execute(
    plan_: Plan,
    runner: CommandRunner,
    repoll: Poller,
    *,
    wait_s: float | None = None,
    interval: float = 1.0,
    progress: ProgressFn | None = None,
) -> Result:
    """Send the plan's commands, then re-poll until the effect is seen or ``wait_s`` runs out.

    ``progress`` hears every step; a ``sending`` event comes before its command is sent, so a
    caller that records it (the audit trail) knows what may have reached the device even if
    the process dies during the send. Exceptions from ``progress`` stop the action before
    the command goes out.
    """
    say = progress or _noop
    result = Result(
        device=plan_.device,
        peer=plan_.peer,
        action=f"{plan_.action}",
        vrf=plan_.vrf,
        commands=plan_.all_commands,
        old_spis=plan_.old_spis,
        old_by_direction=plan_.old_spis_by_direction,
    )
    for command in plan_.commands:
        say(Progress("sending", f"sending {command}", command))
        try:
            result.outputs[command] = runner.send(command)
        except errors.CommandRejected as exc:
            result.sent.append(command)
            result.message = f"the device refused {command!r}: {exc}"
            say(Progress("refused", result.message, command))
            return _finish(result)
        except errors.TransportError as exc:
            result.sent.append(command)
            result.message = (
                f"connection lost while sending {command!r} ({exc}); the device may or may "
                "not have applied it"
            )
            say(Progress("lost", result.message, command))
            _report_after_loss(result, plan_, repoll)
            return _finish(result)
        result.sent.append(command)
    budget = wait_s if wait_s is not None else get_platform(plan_.platform).rekey_wait_s
    deadline = time.monotonic() + budget
    old = set(plan_.old_spis)
    # the clear is asynchronous on real devices: give it a moment before bringing traffic
    if plan_.bring_up:
        time.sleep(min(interval, 0.5))
    sent_bring_up = False
    last_failure: str | None = None
    stale: list[int] = []
    announced = False
    while True:
        if plan_.bring_up and not sent_bring_up:
            _bring_up(plan_, runner, result, say)
            sent_bring_up = True
        if not announced:
            what = "new SAs both ways" if plan_.action == "rekey" else "the old SAs to go"
            say(Progress("polling", f"waiting for {what} (re-polling)"))
            announced = True
        state = repoll()
        last_failure = _poll_failure(state)
        if last_failure is not None:
            say(Progress("repoll_failed", last_failure))
        else:
            if _verified(plan_, state, old, result):
                break
            stale = [s for d in result.new_by_direction.values() for s in d if s in old]
        if time.monotonic() >= deadline:
            result.message = _timeout_message(plan_, budget, last_failure, stale, result)
            break
        time.sleep(interval)
        if plan_.bring_up:
            sent_bring_up = False  # keep offering traffic, as an operator would re-ping
    return _finish(result, say)


def _verified(plan_: Plan, state: DeviceState, old: set[int], result: Result) -> bool:
    """Whether this (successful) re-poll shows the action's effect; fills the new SPIs."""
    current = _split(state, plan_)
    fresh = {d: [s for s in spis if s not in old] for d, spis in current.items()}
    result.new_by_direction = fresh
    result.new_spis = sorted({s for spis in fresh.values() for s in spis})
    stale = [s for spis in current.values() for s in spis if s in old]
    if plan_.action == "rekey":
        if not stale and fresh["in"] and fresh["out"]:
            result.ok = True
            result.message = "new SAs replaced the old ones"
            return True
        return False
    if plan_.scope == "ike":
        remaining = [
            k for k in map(_ike_key, ike_to(state, plan_.peer, plan_.vrf)) if k in plan_.old_ike
        ]
        if not remaining:
            result.ok = True
            result.message = "IKE SA cleared (IPsec SAs are kept until they expire)"
            return True
        return False
    if not stale:
        result.ok = True
        result.message = "SAs cleared" + ("; new SAs are already up" if result.new_spis else "")
        return True
    return False


def _timeout_message(
    plan_: Plan, budget: float, failure: str | None, stale: list[int], result: Result
) -> str:
    if failure is not None:
        return f"not verified within {budget:.0f} s: {failure}"
    if plan_.action == "rekey":
        missing = [d for d in ("in", "out") if not result.new_by_direction.get(d)]
        parts = []
        if missing:
            parts.append("no new " + " or ".join(f"{d}bound" for d in missing) + " SA")
        if stale:
            parts.append(f"{len(stale)} old SPI(s) still present")
        return f"not verified within {budget:.0f} s: " + ("; ".join(parts) or "no new SAs")
    if plan_.scope == "ike":
        return f"not verified within {budget:.0f} s: the old IKE SA is still present"
    return f"not verified within {budget:.0f} s: {len(stale)} old SA(s) still present"


def _bring_up(plan_: Plan, runner: CommandRunner, result: Result, say: ProgressFn) -> None:
    for command in plan_.bring_up:
        say(Progress("sending", f"bring-up traffic: {command}", command))
        try:
            output = runner.send(command)
        except errors.CommandRejected as exc:
            result.warnings.append(f"bring-up traffic failed: {exc}")
            output = ""
        except errors.TransportError as exc:
            result.warnings.append(f"bring-up traffic not sent: {exc}")
            output = ""
        if command not in result.sent:
            result.sent.append(command)
        result.outputs[command] = output
        # `% Invalid source interface` and friends are not failure indicators of the CLI,
        # but the traffic never left: say so instead of staying silent
        refusal = next(
            (ln.strip() for ln in output.splitlines() if ln.strip().startswith("%")), None
        )
        if refusal:
            result.warnings.append(f"{command!r}: {refusal}")
        say(Progress("bring_up", f"bring-up traffic sent ({command})", command))


def _report_after_loss(result: Result, plan_: Plan, repoll: Poller) -> None:
    """After a lost connection, one re-poll tells the operator where things stand (the
    action stays unverified: the device may have cleared, or not)."""
    try:
        state = repoll()
    except errors.IpsecctlError:
        return
    if _poll_failure(state) is None:
        current = _split(state, plan_)
        result.new_by_direction = {
            d: [s for s in spis if s not in set(plan_.old_spis)] for d, spis in current.items()
        }
        result.new_spis = sorted({s for v in result.new_by_direction.values() for s in v})
        still = sorted({s for v in current.values() for s in v} & set(plan_.old_spis))
        result.message += (
            f"; a re-poll shows {len(still)} old SPI(s) still present"
            if still
            else "; a re-poll shows the old SPIs gone"
        )


def _finish(result: Result, say: ProgressFn = _noop) -> Result:
    if result.warnings:
        result.message = "; ".join([result.message, *sorted(set(result.warnings))])
    say(Progress("done", result.message))
    return result
