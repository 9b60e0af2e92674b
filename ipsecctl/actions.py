"""Clear and re-key workflows: plan the exact commands, confirm, run, re-poll, verify, audit.

Planning is pure (a :class:`Plan` built from the device's last :class:`DeviceState`), so the CLI
and the dashboard show operators exactly what will be typed and how many SAs it touches before
anything happens. Execution re-polls the device and reports old and new SPIs; ``ok`` is true
only when the action was carried out and, for a re-key, new SAs replaced the old ones.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ipsecctl import errors
from ipsecctl.models import DeviceState, IkeSa, Tunnel
from ipsecctl.platforms import get_platform

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

    def as_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "peer": self.peer,
            "vrf": self.vrf,
            "action": self.action,
            "commands": self.commands,
            "old_spis": self.old_spis,
            "new_spis": self.new_spis,
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
    values: dict[str, Any] = {"peer": peer, "vrf": vrf or ""}
    effective = "session" if action == "rekey" else scope
    if action == "rekey" and "rekey" in platform.actions:
        # the platform re-keys in place (make-before-break): no clear, no traffic needed
        commands = _render_by_vrf(platform, "rekey", values, ike, tunnels)
        return Plan(action, effective, state.device, state.platform, peer, vrf, commands, [],
                    tunnels, sorted({spi for t in tunnels for spi in t.spis()}),
                    [_ike_key(sa) for sa in ike])
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
                commands += [c for c in _render_by_vrf(platform, name, values, subset, [])
                             if c not in commands]
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
    return Plan(action, effective, state.device, state.platform, peer, vrf, commands,
                bring_up, tunnels, old, [_ike_key(sa) for sa in ike])


_PER_TUNNEL = {"child_id", "child"}
_PER_IKE = {"ike_id", "conn_id"}


def _render(
    platform: Any, name: str, values: dict[str, Any], ike: list[IkeSa], tunnels: list[Tunnel]
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
        contexts = [{**values, "ike_id": sa.conn_id, "conn_id": sa.conn_id}
                    for sa in ike if sa.conn_id is not None]
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
        sa for sa in state.ike_sas
        if _same_addr(sa.peer_address(), peer) and (vrf is None or _ike_vrf(sa) == vrf)
    ]


def _render_by_vrf(
    platform: Any, name: str, values: dict[str, Any], ike: list[IkeSa], tunnels: list[Tunnel]
) -> list[str]:
    """One rendering per VRF: the same peer address in two VRFs is two peers to IOS, and a
    clear without ``vrf`` reaches only the global one."""
    if values.get("vrf"):
        return _render(platform, name, values, ike, tunnels)
    groups = sorted({t.vrf or "" for t in tunnels} | {_ike_vrf(sa) or "" for sa in ike})
    out: list[str] = []
    for group in groups or [""]:
        rendered = _render(
            platform, name, {**values, "vrf": group},
            [sa for sa in ike if (_ike_vrf(sa) or "") == group],
            [t for t in tunnels if (t.vrf or "") == group],
        )
        out += [c for c in rendered if c not in out]
    return out


Poller = Callable[[], DeviceState]


def execute(
    plan_: Plan,
    runner: Any,
    repoll: Poller,
    *,
    wait_s: float | None = None,
    interval: float = 1.0,
) -> Result:
    """Send the plan's commands, then re-poll until it verifies or ``wait_s`` runs out."""
    result = Result(
        device=plan_.device, peer=plan_.peer, action=f"{plan_.action}", vrf=plan_.vrf,
        commands=plan_.commands + plan_.bring_up, old_spis=plan_.old_spis,
    )
    for command in plan_.commands:
        result.outputs[command] = runner.send(command)
    budget = wait_s if wait_s is not None else get_platform(plan_.platform).rekey_wait_s
    deadline = time.monotonic() + budget
    old = set(plan_.old_spis)
    # the clear is asynchronous on real devices: give it a moment before bringing traffic
    if plan_.bring_up:
        time.sleep(min(interval, 0.5))
    sent_bring_up = False
    while True:
        if plan_.bring_up and not sent_bring_up:
            for command in plan_.bring_up:
                try:
                    output = runner.send(command)
                    result.outputs[command] = output
                    # `% Invalid source interface` and friends are not failure indicators of
                    # the CLI, but the traffic never left: say so instead of staying silent
                    refusal = next((ln.strip() for ln in output.splitlines()
                                    if ln.strip().startswith("%")), None)
                    if refusal:
                        result.warnings.append(f"{command!r}: {refusal}")
                except errors.CommandRejected as exc:
                    result.warnings.append(f"bring-up traffic failed: {exc}")
            sent_bring_up = True
        state = repoll()
        current = sorted({spi for t in tunnels_to(state, plan_.peer, plan_.vrf)
                          for spi in t.spis(live_only=True)})
        fresh = [s for s in current if s not in old]
        stale = [s for s in current if s in old]
        result.new_spis = fresh
        if plan_.action == "rekey":
            directions = {
                sa.direction
                for t in tunnels_to(state, plan_.peer, plan_.vrf)
                for sa in t.sas
                if sa.spi in fresh and sa.live
            }
            if not stale and directions >= {"in", "out"}:
                result.ok = True
                result.message = result.message or "new SAs replaced the old ones"
                break
        elif plan_.scope == "ike":
            remaining = [k for k in map(_ike_key, ike_to(state, plan_.peer, plan_.vrf))
                         if k in plan_.old_ike]
            if not remaining:
                result.ok = True
                result.message = "IKE SA cleared (IPsec SAs are kept until they expire)"
                break
        else:
            if not stale:
                result.ok = True
                result.message = (
                    "SAs cleared" + ("; new SAs are already up" if fresh else "")
                )
                break
        if time.monotonic() >= deadline:
            if plan_.action == "rekey":
                result.message = (
                    f"no new SAs both ways within {budget:.0f} s"
                    + (f"; old SPIs still present: {len(stale)}" if stale else "")
                )
            else:
                result.message = f"{len(stale)} old SA(s) still present after {budget:.0f} s"
            break
        time.sleep(interval)
        if plan_.bring_up:
            sent_bring_up = False  # keep offering traffic, as an operator would re-ping
    if result.warnings:
        result.message = "; ".join([result.message, *sorted(set(result.warnings))])
    return result
