"""Configuration pushes through the action workflow: one device at a time, verified, undone.

A push is an action like a clear: its exact lines are shown and confirmed (with the rollback
lines that failure would send), it is refused in read-only mode, every line is audited before
it is sent, and it runs under the device's lock. Each device is one plan through
:meth:`Workflow.run` (``stop_on_failure``), in the network's order (hubs first), a canary
group first. ``ok`` for a device means every line was accepted *and* the device verified:

* its tunnels of this network towards devices already configured come up on a re-poll within
  ``wait`` seconds;
* nothing that was up before the push is down after it.

The first device that does not verify stops the rollout; what was pushed is rolled back (the
failed device, or every device of this run newest first with ``rollback="all"``), each
rollback being an audited action of its own ("provision rollback"), and the report says why,
with ``diag pair`` on the live configurations of the failing pair.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ipsecctl import errors
from ipsecctl.actions import Progress, ProgressFn
from ipsecctl.models import DeviceState
from ipsecctl.ops.fleet import Fleet
from ipsecctl.ops.workflow import ActionRequest, Confirm, PlanProgress, Workflow
from ipsecctl.provision.device_configs import DeviceRender, connection_name
from ipsecctl.provision.push import swanctl_load
from ipsecctl.provision.topology import Link
from ipsecctl.redact import redact_text


@dataclass
class DevicePushPlan:
    """One device of a network: the exact lines (key words masked) and the way back."""

    device: str
    node: str
    platform: str
    network: str
    stage: str  # canary | rollout
    commands: list[str]
    rollback_commands: list[str]
    links: list[Link]
    render: DeviceRender
    real_commands: list[str] | None = None  # the same lines with keys; None for a dry run
    real_rollback: list[str] | None = None
    warnings: list[str] = field(default_factory=list)
    predicted: list[dict[str, Any]] = field(default_factory=list)
    action: str = "provision push"
    vrf: str | None = None
    swanctl: dict[str, Any] | None = None  # strongSwan: path, previous (kept, never shown)

    @property
    def peer(self) -> str | None:
        peers = self.peer_addresses()
        return peers[0] if len(peers) == 1 else None

    def peer_addresses(self) -> list[str]:
        return [lk.side(self.render.node)[1].node.outside_address for lk in self.links]

    @property
    def all_commands(self) -> list[str]:
        return self.commands

    @property
    def tunnel_count(self) -> int:
        return len(self.links)

    @property
    def sa_count(self) -> int:
        return 0

    @property
    def changes(self) -> bool:
        return bool(self.commands)

    def describe(self) -> str:
        what = f"{len(self.links)} tunnel(s)" if len(self.links) != 1 else f"tunnel to {self.peer}"
        return (
            f"[{self.stage}] {self.device} ({self.node}, {self.platform}): {what}, "
            f"{len(self.commands)} command(s); on failure {len(self.rollback_commands)} "
            "rollback command(s)"
        )


@dataclass
class RollbackPlan:
    """The inverse of one device's push, run as an audited action of its own."""

    device: str
    peer: str | None
    commands: list[str]
    real_commands: list[str]
    reason: str
    action: str = "provision rollback"
    vrf: str | None = None
    swanctl: dict[str, Any] | None = None

    @property
    def all_commands(self) -> list[str]:
        return self.commands

    @property
    def tunnel_count(self) -> int:
        return 0

    @property
    def sa_count(self) -> int:
        return 0

    def describe(self) -> str:
        return f"roll back {self.device}: {len(self.commands)} command(s) ({self.reason})"


@dataclass
class PushResult:
    device: str
    peer: str | None
    commands: list[str]
    node: str = ""
    stage: str = ""
    ok: bool = False
    message: str = ""
    sent: list[str] = field(default_factory=list)
    pushed: bool = False
    dry_run: bool = False
    verified: bool | None = None
    tunnels: list[dict[str, Any]] = field(default_factory=list)
    went_down: list[str] = field(default_factory=list)
    diagnosis: list[dict[str, Any]] = field(default_factory=list)
    rollback: dict[str, Any] | None = None
    rollback_commands: list[str] = field(default_factory=list)
    predicted: list[dict[str, Any]] = field(default_factory=list)

    @property
    def tunnel_state(self) -> str | None:
        if not self.tunnels:
            return None
        states = {t["state"] for t in self.tunnels}
        return "up" if states == {"up"} else ",".join(sorted(states))

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "device": self.device,
            "node": self.node,
            "stage": self.stage,
            "peer": self.peer,
            "commands": self.commands,
            "pushed": self.pushed,
            "ok": self.ok,
            "verified": self.verified,
            "dry_run": self.dry_run,
            "message": self.message,
            "tunnels": self.tunnels,
            "went_down": self.went_down,
            "rollback_commands": self.rollback_commands,
            "predicted": self.predicted,
        }
        if self.tunnel_state is not None:
            body["tunnel_state"] = self.tunnel_state
        if self.diagnosis:
            body["diagnosis"] = self.diagnosis
        if self.rollback is not None:
            body["rollback"] = self.rollback
        if not self.ok and not self.dry_run and self.message:
            body["error"] = self.message
        return body


@dataclass
class RollbackResult:
    device: str
    peer: str | None
    commands: list[str]
    ok: bool = False
    message: str = ""
    sent: list[str] = field(default_factory=list)
    dry_run: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "commands": self.commands,
            "ok": self.ok,
            "message": self.message,
            "sent": self.sent,
        }


# ------------------------------------------------------------------------------ sending
def _send(runner: Any, command: str, progress: ProgressFn, shown: str | None = None) -> str:
    label = shown or redact_text(command)
    progress(Progress("sending", f"sending {label}", label))  # audited before it leaves
    try:
        return str(runner.send(command))
    except errors.CommandRejected as exc:
        raise errors.CommandRejected(
            redact_text(f"{runner.device} rejected {label!r}: {exc.message}"),
            device=exc.device,
            command=label,
        ) from None


def send_config(
    runner: Any, shown: Sequence[str], real: Sequence[str], progress: ProgressFn
) -> list[str]:
    """``configure terminal`` + lines + ``end`` on a Cisco device (shown[i] is real[i] with
    keys masked); configuration mode is always left, even after a rejected line."""
    sent: list[str] = []
    body = [
        (s, r)
        for s, r in zip(shown, real, strict=True)
        if s not in ("configure terminal", "end", "write memory")
    ]
    save = "write memory" in shown
    _send(runner, "configure terminal", progress)
    sent.append("configure terminal")
    try:
        for s, r in body:
            _send(runner, r, progress, shown=s)
            sent.append(s)
    finally:
        with contextlib.suppress(Exception):
            progress(Progress("sending", "sending end", "end"))
        with contextlib.suppress(errors.TransportError):
            runner.send("end")
        sent.append("end")
    if save:
        _send(runner, "write memory", progress)
        sent.append("write memory")
    return sent


def send_swanctl(runner: Any, path: str, text: str | None, progress: ProgressFn) -> list[str]:
    """Write (or, ``text`` None, remove) a swanctl.conf snippet 0600 and reload."""
    if text is None:
        _send(runner, f"rm -f {path}", progress)
    else:
        body = text if text.endswith("\n") else text + "\n"
        if "IPSECCTL_EOF" in body:
            raise errors.UsageError("swanctl text contains the here-document marker")
        command = (
            f"umask 077 && mkdir -p {path.rsplit('/', 1)[0]} && "
            f"cat > {path} <<'IPSECCTL_EOF'\n{body}IPSECCTL_EOF"
        )
        _send(runner, command, progress, shown=f"cat > {path}")
    load = swanctl_load(path)
    _send(runner, load, progress)
    return [f"cat > {path}" if text is not None else f"rm -f {path}", load]


# ------------------------------------------------------------------------------ verifying
def tunnel_state(state: DeviceState, render: DeviceRender, link: Link) -> str:
    """State of *this* link's tunnel on the device: same peer and, for a crypto map, the
    spec's own selectors (an older tunnel to the same peer must not count as the new one); a
    strongSwan child by its name."""
    _mine, other = link.side(render.node)
    peer = other.node
    local, remote = set(render.node.inside_networks), set(peer.inside_networks)
    if render.platform == "strongswan":  # its children are named: this link's own name
        child = connection_name(render.network, peer.name, len(render.links) > 1)
        states = [
            t.state
            for t in state.tunnels
            if t.peer == peer.outside_address and t.extra.get("name") == child
        ]
        if not states:
            return "no SA for its selectors yet"
        return "up" if "up" in states else ",".join(sorted({str(s) for s in states}))
    states = [
        t.state
        for t in state.tunnels
        if t.peer == peer.outside_address
        and (
            t.kind in ("vti", "dmvpn")
            if link.mode != "crypto_map"
            else (
                t.local_ts is not None
                and t.remote_ts is not None
                and t.local_ts.prefix in local
                and t.remote_ts.prefix in remote
            )
        )
    ]
    if not states:
        return "no SA for its selectors yet"
    return "up" if "up" in states else ",".join(sorted({str(s) for s in states}))


def _up_ids(state: DeviceState) -> set[str]:
    return {t.id for t in state.tunnels if t.state == "up" and t.id}


@dataclass
class Verifier:
    """Re-polls a device after its push (see the module docstring for what must hold)."""

    fleet: Fleet
    wait: float = 10.0
    interval: float = 1.0
    ready: set[str] = field(default_factory=set)  # nodes configured (pushed, or unchanged)
    sleep: Callable[[float], None] = time.sleep

    def baseline(self, plan: DevicePushPlan) -> set[str]:
        state = self.fleet.poll_one(plan.device)
        if not state.reachable:
            raise errors.ConnectError(
                f"{plan.device}: unreachable before the push: {_errors(state)}; nothing was sent"
            )
        return _up_ids(state)

    def verify(self, plan: DevicePushPlan, before: set[str], result: PushResult) -> None:
        required = [lk for lk in plan.links if lk.side(plan.render.node)[1].node.name in self.ready]
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            state = self.fleet.poll_one(plan.device)
            if state.reachable:
                result.tunnels = [
                    {
                        "peer": lk.side(plan.render.node)[1].node.outside_address,
                        "peer_name": lk.side(plan.render.node)[1].node.name,
                        "state": tunnel_state(state, plan.render, lk),
                        "required": lk in required,
                    }
                    for lk in plan.links
                ]
                by_id = {t.id: t for t in state.tunnels}
                result.went_down = sorted(i for i in before - _up_ids(state))
                down_desc = [
                    f"{by_id[i].peer} ({by_id[i].state})" if i in by_id else i
                    for i in result.went_down
                ]
                missing = [t for t in result.tunnels if t["required"] and t["state"] != "up"]
                if not missing and not result.went_down:
                    result.verified = True
                    n = len([t for t in result.tunnels if t["required"]])
                    result.message = (
                        f"every line accepted; {n} tunnel(s) of this network "
                        "up, nothing that was up went down"
                    )
                    return
            if time.monotonic() >= deadline:
                result.verified = False
                if not state.reachable:
                    result.message = f"unreachable after the push: {_errors(state)}"
                    return
                parts = []
                if missing:
                    parts.append(
                        f"not up within {self.wait:g}s: "
                        + ", ".join(
                            f"tunnel to {t['peer_name']} ({t['peer']}): {t['state']}"
                            for t in missing
                        )
                    )
                if result.went_down:
                    parts.append("went down after the push: " + ", ".join(down_desc))
                result.message = "; ".join(parts)
                return
            self.sleep(self.interval)

    def settle(self, plan: DevicePushPlan, result: PushResult) -> None:
        """After the whole rollout: the device's tunnels to every configured peer, re-polled
        until up or ``wait`` runs out (reported; the device already verified)."""
        deadline = time.monotonic() + max(self.wait, 0.0)
        while True:
            state = self.fleet.poll_one(plan.device)
            if state.reachable:
                result.tunnels = [
                    {
                        "peer": lk.side(plan.render.node)[1].node.outside_address,
                        "peer_name": lk.side(plan.render.node)[1].node.name,
                        "state": tunnel_state(state, plan.render, lk),
                        "required": lk.side(plan.render.node)[1].node.name in self.ready,
                    }
                    for lk in plan.links
                ]
                if all(t["state"] == "up" for t in result.tunnels if t["required"]):
                    return
            if time.monotonic() >= deadline:
                return
            self.sleep(self.interval)


def _errors(state: DeviceState) -> str:
    return "; ".join(e.message for e in state.errors) or "no answer"


# ------------------------------------------------------------------------------ specs
@dataclass
class ConfigPushSpec:
    """Push one device's plan, then verify it (the workflow audits around it)."""

    fleet: Fleet
    verifier: Verifier
    diagnose: Callable[[DevicePushPlan, PushResult], list[dict[str, Any]]] | None = None

    def execute(self, plan: DevicePushPlan, progress: ProgressFn) -> PushResult:
        result = PushResult(
            plan.device,
            plan.peer,
            plan.commands,
            plan.node,
            plan.stage,
            rollback_commands=plan.rollback_commands,
            predicted=plan.predicted,
        )
        if not plan.commands:
            result.pushed = False
            result.message = "already configured: nothing to send"
            before = self.verifier.baseline(plan)
            self.verifier.verify(plan, before, result)
            result.ok = bool(result.verified)
            return result
        if plan.real_commands is None:
            result.message = "nothing rendered to push"
            return result
        before = self.verifier.baseline(plan)
        progress(Progress("polling", f"{len(before)} tunnel(s) up before the push"))
        runner = self.fleet.session(plan.device)
        try:
            if plan.swanctl is not None:
                result.sent = send_swanctl(
                    runner, plan.swanctl["path"], plan.swanctl["text"], progress
                )
            else:
                result.sent = send_config(runner, plan.commands, plan.real_commands, progress)
        except errors.IpsecctlError as exc:
            result.message = str(exc)
            result.pushed = True  # something may have been accepted: roll it back
            return result
        result.pushed = True
        if plan.swanctl is not None:
            self._bring_up(runner, plan, result, progress)
        progress(Progress("polling", f"re-polling {plan.device} for up to {self.verifier.wait:g}s"))
        self.verifier.verify(plan, before, result)
        result.ok = bool(result.verified)
        if not result.ok and self.diagnose is not None:
            with contextlib.suppress(errors.IpsecctlError):
                result.diagnosis = self.diagnose(plan, result)
        return result

    def _bring_up(
        self, runner: Any, plan: DevicePushPlan, result: PushResult, progress: ProgressFn
    ) -> None:
        """strongSwan children wait for traffic (``start_action = trap``): initiate the ones
        whose peer is configured, so the verification sees them come up or fail now."""
        for lk in plan.links:
            peer = lk.side(plan.render.node)[1].node
            if peer.name not in self.verifier.ready:
                continue
            conn = connection_name(plan.render.network, peer.name, len(plan.links) > 1)
            command = f"swanctl --initiate --child {conn} --timeout 10"
            with contextlib.suppress(errors.IpsecctlError):  # the verification decides
                _send(runner, command, progress)
                result.sent.append(command)

    def dry_run(self, plan: DevicePushPlan) -> PushResult:
        return PushResult(
            plan.device,
            plan.peer,
            plan.commands,
            plan.node,
            plan.stage,
            ok=True,
            dry_run=True,
            message="dry run: nothing sent",
            rollback_commands=plan.rollback_commands,
            predicted=plan.predicted,
        )

    def failed(self, plan: DevicePushPlan, message: str) -> PushResult:
        return PushResult(
            plan.device,
            plan.peer,
            plan.commands,
            plan.node,
            plan.stage,
            message=message,
            rollback_commands=plan.rollback_commands,
            predicted=plan.predicted,
        )


@dataclass
class RollbackSpec:
    fleet: Fleet

    def execute(self, plan: RollbackPlan, progress: ProgressFn) -> RollbackResult:
        result = RollbackResult(plan.device, plan.peer, plan.commands)
        runner = self.fleet.session(plan.device)
        try:
            if plan.swanctl is not None:
                result.sent = send_swanctl(
                    runner, plan.swanctl["path"], plan.swanctl["previous"], progress
                )
            else:
                result.sent = send_config(runner, plan.commands, plan.real_commands, progress)
        except errors.IpsecctlError as exc:
            result.message = f"rollback incomplete: {exc}"
            return result
        result.ok = True
        result.message = "rolled back: every line accepted"
        return result

    def dry_run(self, plan: RollbackPlan) -> RollbackResult:
        return RollbackResult(plan.device, plan.peer, plan.commands, ok=True, dry_run=True)

    def failed(self, plan: RollbackPlan, message: str) -> RollbackResult:
        return RollbackResult(plan.device, plan.peer, plan.commands, message=message)


# ------------------------------------------------------------------------------ the rollout
@dataclass
class Rollout:
    """The outcome of a staged push."""

    results: list[PushResult]
    planned: int
    dry_run: bool = False
    stopped_at: str | None = None
    reason: str | None = None
    rollbacks: list[RollbackResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.stopped_at
            and len(self.results) == self.planned
            and all(r.ok for r in self.results)
        )


def rollback_plan(plan: DevicePushPlan, reason: str) -> RollbackPlan | None:
    if plan.swanctl is not None:
        path = plan.swanctl["path"]
        what = "restore " if plan.swanctl.get("previous") is not None else "remove "
        return RollbackPlan(
            plan.device,
            plan.peer,
            [what + path, swanctl_load(path)],
            [],
            reason,
            swanctl=plan.swanctl,
        )
    if not plan.rollback_commands or plan.real_rollback is None:
        return None
    return RollbackPlan(plan.device, plan.peer, plan.rollback_commands, plan.real_rollback, reason)


def staged_push(
    workflow: Workflow,
    spec: ConfigPushSpec,
    plans: Sequence[DevicePushPlan],
    *,
    confirm: Confirm | None,
    yes: bool = False,
    dry_run: bool = False,
    progress: PlanProgress | None = None,
    rollback: Literal["failed", "all", "none"] = "failed",
    on_stage: Callable[[str, int], None] | None = None,
) -> Rollout:
    """Confirm once (policy, read-only, the whole plan), then push device by device."""
    if not plans:
        return Rollout([], 0, dry_run)
    if dry_run:
        return Rollout(
            workflow.run(spec, list(plans), confirm=confirm, dry_run=True), len(plans), True
        )
    workflow.check_policy(ActionRequest(plans[0].action, list(plans)), confirm=confirm, yes=yes)
    out = Rollout([], len(plans))
    spec.verifier.ready |= {p.node for p in plans if not p.changes}
    stage = None
    pushed: list[DevicePushPlan] = []
    for plan in plans:
        if plan.stage != stage:
            stage = plan.stage
            if on_stage is not None:
                on_stage(stage, sum(1 for p in plans if p.stage == stage))
        results = workflow.run(
            spec, [plan], confirm=None, yes=True, progress=progress, stop_on_failure=True
        )
        result = results[0] if results else spec.failed(plan, "not run")
        out.results.append(result)
        if result.pushed:
            pushed.append(plan)
        if result.ok:
            spec.verifier.ready.add(plan.node)
            continue
        out.stopped_at = plan.device
        out.reason = result.message
        targets: list[DevicePushPlan] = []
        if rollback == "failed" and result.pushed:
            targets = [plan]
        elif rollback == "all":
            targets = list(reversed(pushed))
        for victim in targets:
            rb = rollback_plan(victim, f"{plan.device}: {result.message}")
            if rb is None:
                continue
            done = workflow.run(
                RollbackSpec(spec.fleet), [rb], confirm=None, yes=True, progress=progress
            )
            out.rollbacks += done
            if victim is plan and done:
                result.rollback = done[0].as_json()
        break
    if not out.stopped_at:
        for plan, result in zip(plans, out.results, strict=True):
            spec.verifier.settle(plan, result)
    return out


# ------------------------------------------------------------------------------ planning
SWANCTL_DIR = "/etc/swanctl/conf.d"


def _merged_text(running: str, text: str) -> str:
    """The running configuration's crypto sections with ``text`` applied (redacted)."""
    from ipsecctl.provision.push import blocks, crypto_sections, merged

    after = merged(crypto_sections(running), blocks(redact_text(text)))
    return "\n".join(ln for b in after for ln in b) + "\n"


def _only_entry(cfg: Any, node: Any, link: Link) -> Any:
    end = link.side(node)[0]
    maps = [e for e in cfg.crypto_maps if e.name == node.crypto_map and e.seq == end.seq]
    acls = {e.acl: cfg.acls[e.acl] for e in maps if e.acl and e.acl in cfg.acls}
    return cfg.model_copy(update={"crypto_maps": maps, "acls": acls})


def live_pairs(
    configs: dict[str, str], plans: Sequence[DevicePushPlan], names: dict[str, str]
) -> list[dict[str, Any]]:
    """``diag pair`` on configuration texts (live, or live + planned) for every IOS link
    between devices of ``configs`` (device -> text); ``names``: node -> device."""
    from ipsecctl.diag.config import parse_config
    from ipsecctl.diag.pair import check_pair
    from ipsecctl.provision.model import CISCO_IOS
    from ipsecctl.provision.pairs import Narrower, PairVerdict, _first, _problems

    parsed: dict[str, Narrower] = {}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for plan in plans:
        for lk in plan.links:
            if lk.name in seen or lk.mode != "crypto_map":
                continue
            a, b = lk.a.node, lk.b.node
            da, db = names.get(a.name), names.get(b.name)
            if (
                da not in configs
                or db not in configs
                or a.platform not in CISCO_IOS
                or b.platform not in CISCO_IOS
            ):
                continue
            seen.add(lk.name)
            for dev in (da, db):
                if dev not in parsed:
                    parsed[dev] = Narrower(parse_config(configs[dev], source=f"{dev} config"))
            na, nb = parsed[da], parsed[db]
            # only this link's entries: another tunnel between the same two devices (an
            # older one, another network's) must not stand in for this one
            ca = _only_entry(na.for_peer([*nb.cfg.addresses(), b.outside_address]), a, lk)
            cb = _only_entry(nb.for_peer([*na.cfg.addresses(), a.outside_address]), b, lk)
            doc = check_pair(ca, cb, name_a=a.name, name_b=b.name)
            v = PairVerdict(a.name, b.name, "diag pair", directions=doc["directions"])
            v.first_failure = _first(v.directions)
            v.problems = _problems(v.directions)
            out.append(v.as_json())
    return out


def fetch_live(
    fleet: Fleet, renders: Sequence[DeviceRender], network: str, workers: int = 16
) -> dict[str, str]:
    """Every device's running configuration (strongSwan: the network's conf.d file), fetched
    concurrently over the fleet's sessions (one slow device does not hold up the others);
    threads live for this call only."""
    from concurrent.futures import ThreadPoolExecutor

    def fetch(r: DeviceRender) -> tuple[str, str]:
        runner = fleet.session(r.target)
        if r.platform == "strongswan":
            path = r.node.swanctl_file or f"{SWANCTL_DIR}/{network}.conf"
            return r.target, str(runner.send(f"cat {path} 2>/dev/null || true"))
        return r.target, str(runner.send("show running-config"))

    if len(renders) <= 1:
        return dict(fetch(r) for r in renders)
    with ThreadPoolExecutor(
        max_workers=min(workers, len(renders)), thread_name_prefix="provision-fetch"
    ) as pool:
        return dict(pool.map(fetch, renders))


def build_plans(
    fleet: Fleet,
    renders: Sequence[DeviceRender],
    real: Sequence[DeviceRender] | None,
    *,
    network: str,
    hubs: Sequence[str] = (),
    canary: int = 0,
    write_memory: bool = False,
) -> list[DevicePushPlan]:
    """One plan per device, from its live configuration (hubs first, then the canary group).

    Conflicts with what the devices already hold (an existing crypto map entry with another
    peer, another crypto map on the interface) refuse the whole push (UsageError) before
    anything is sent. The plan also carries ``diag pair`` on the live configurations with the
    planned lines applied (``predicted``): what the negotiation will do.
    """
    from ipsecctl.provision.model import CISCO_IOS
    from ipsecctl.provision.rollout import plan_cisco

    plans: list[DevicePushPlan] = []
    conflicts: list[str] = []
    merged_texts: dict[str, str] = {}
    spokes_seen = 0
    live = fetch_live(fleet, renders, network)
    for i, r in enumerate(renders):
        rr = real[i] if real is not None else None
        is_hub = r.name in hubs
        if is_hub:
            stage = "canary" if canary else "rollout"
        else:
            spokes_seen += 1
            stage = "canary" if canary and spokes_seen <= canary else "rollout"
        if r.platform == "strongswan":
            path = r.node.swanctl_file or f"{SWANCTL_DIR}/{network}.conf"
            current = live[r.target]
            same = redact_text(current).strip() == redact_text(r.text).strip()
            commands = (
                []
                if same
                else [
                    f"cat > {path} (0600, {len(r.text.splitlines())} lines: {r.filename})",
                    swanctl_load(path),
                ]
            )
            rollback = (
                []
                if same
                else [
                    (
                        f"restore {path} ({len(current.splitlines())} lines)"
                        if current.strip()
                        else f"remove {path}"
                    ),
                    swanctl_load(path),
                ]
            )
            plans.append(
                DevicePushPlan(
                    r.target,
                    r.name,
                    r.platform,
                    network,
                    stage,
                    commands,
                    rollback,
                    list(r.links),
                    r,
                    commands if rr is not None else None,
                    rollback,
                    swanctl={
                        "path": path,
                        "text": rr.text if rr is not None else None,
                        "previous": current if current.strip() else None,
                    },
                )
            )
            continue
        running = live[r.target]
        masked = r.config_lines()
        real_lines = rr.config_lines() if rr is not None else None
        if real_lines is not None and len(real_lines) != len(masked):
            raise errors.UsageError(
                f"{r.name}: the configuration with keys differs in "
                "shape from the one shown; nothing was sent"
            )
        lp = plan_cisco(r.platform, masked, running, real_lines)
        conflicts += [f"{r.target}: {c}" for c in lp.conflicts]
        tail = ["end", "write memory"] if write_memory else ["end"]
        commands = ["configure terminal", *lp.lines(masked), *tail] if lp.send else []
        rollback = ["configure terminal", *lp.rollback_lines(masked), *tail] if lp.rollback else []
        real_cmds = real_rb = None
        if real_lines is not None:
            real_cmds = ["configure terminal", *lp.lines(real_lines), *tail] if lp.send else []
            real_rb = (
                ["configure terminal", *lp.rollback_lines(real_lines), *tail] if lp.rollback else []
            )
        plans.append(
            DevicePushPlan(
                r.target,
                r.name,
                r.platform,
                network,
                stage,
                commands,
                rollback,
                list(r.links),
                r,
                real_cmds,
                real_rb,
            )
        )
        if r.platform in CISCO_IOS:
            merged_texts[r.target] = _merged_text(running, r.text)
    if conflicts:
        raise errors.UsageError(
            "the spec conflicts with the live configuration (nothing was sent): "
            + "; ".join(conflicts)
        )
    names = {p.node: p.device for p in plans}
    predicted = live_pairs(merged_texts, plans, names)
    for p in plans:
        p.predicted = [d for d in predicted if p.node in (d["a"], d["b"])]
        p.warnings = [
            f"predicted: {d['a']} <-> {d['b']} fails at {d['first_failure']}: "
            f"{d['problems'][0] if d['problems'] else ''}"
            for d in p.predicted
            if d["verdict"] != "ok"
        ]
    hub_first = [p for p in plans if p.node in hubs]
    rest = [p for p in plans if p.node not in hubs]
    return (
        hub_first
        + [p for p in rest if p.stage == "canary"]
        + [p for p in rest if p.stage != "canary"]
    )


def live_diagnosis(
    fleet: Fleet, plans: Sequence[DevicePushPlan]
) -> Callable[[DevicePushPlan, PushResult], list[dict[str, Any]]]:
    """``diag pair`` on the running configurations of a failed device and its peers."""
    from ipsecctl.provision.model import CISCO_IOS

    names = {p.node: p.device for p in plans}

    def diagnose(plan: DevicePushPlan, result: PushResult) -> list[dict[str, Any]]:
        if plan.platform not in CISCO_IOS:
            return []
        wanted = [t["peer_name"] for t in result.tunnels if t["state"] != "up"] or [
            lk.side(plan.render.node)[1].node.name for lk in plan.links
        ]
        configs = {plan.device: str(fleet.session(plan.device).send("show running-config"))}
        for node in wanted:
            dev = names.get(node)
            if dev is not None and dev not in configs:
                configs[dev] = str(fleet.session(dev).send("show running-config"))
        return [d for d in live_pairs(configs, [plan], names) if plan.node in (d["a"], d["b"])]

    return diagnose
