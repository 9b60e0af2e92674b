"""Configuration pushes through the action workflow (``provision push``).

A push is an action like a clear: its exact lines are shown and confirmed, it is refused in
read-only mode, every line is audited before it is sent, and it runs under the (device, peer)
lock. ``ok`` means every line was accepted by the device; whether the tunnel then came up is
reported beside it (``tunnel_state``), from a re-poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ipsecctl import errors
from ipsecctl.actions import Progress, ProgressFn
from ipsecctl.ops.fleet import Fleet
from ipsecctl.provision import push as pushmod
from ipsecctl.provision.model import TunnelSpec
from ipsecctl.provision.render import Rendered


@dataclass
class PushPlan:
    """One end of a tunnel spec: the device, the peer, and the lines shown (key masked)."""

    device: str
    peer: str
    tunnel: str
    commands: list[str]
    end: Rendered
    real: Rendered | None = None  # rendered with the key; None for a dry run
    action: str = "provision push"
    vrf: str | None = None

    @property
    def all_commands(self) -> list[str]:
        return self.commands

    @property
    def tunnel_count(self) -> int:
        return 1

    @property
    def sa_count(self) -> int:
        return 0

    def describe(self) -> str:
        return (f"configure tunnel {self.tunnel} on {self.device} (peer {self.peer}): "
                f"{len(self.commands)} command(s)")


@dataclass
class PushResult:
    device: str
    peer: str
    commands: list[str]
    ok: bool = False
    message: str = ""
    sent: list[str] = field(default_factory=list)
    pushed: bool = False
    dry_run: bool = False
    tunnel_state: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "device": self.device, "peer": self.peer, "commands": self.commands,
            "pushed": self.pushed, "ok": self.ok, "dry_run": self.dry_run,
            "message": self.message,
        }
        if self.tunnel_state is not None:
            body["tunnel_state"] = self.tunnel_state
        if not self.ok and not self.dry_run and self.message:
            body["error"] = self.message
        return body


@dataclass
class ConfigPushSpec:
    fleet: Fleet
    spec: TunnelSpec
    write_memory: bool = False
    state_of: Callable[[PushPlan], str] | None = None

    def execute(self, plan: PushPlan, progress: ProgressFn) -> PushResult:
        result = PushResult(plan.device, plan.peer, plan.commands)
        if plan.real is None:
            result.message = "nothing rendered to push"
            return result

        def on_send(label: str) -> None:
            progress(Progress("sending", f"sending {label}", label))
            result.sent.append(label)

        try:
            runner = self.fleet.session(plan.device)
            pushmod.push_end(runner, plan.real, self.spec, write_memory=self.write_memory,
                             on_send=on_send)
        except errors.IpsecctlError as exc:
            result.message = str(exc)
            return result
        result.pushed = result.ok = True
        result.message = "every line accepted"
        return result

    def dry_run(self, plan: PushPlan) -> PushResult:
        return PushResult(plan.device, plan.peer, plan.commands, ok=True, dry_run=True,
                          message="dry run: nothing sent")

    def failed(self, plan: PushPlan, message: str) -> PushResult:
        return PushResult(plan.device, plan.peer, plan.commands, message=message)
