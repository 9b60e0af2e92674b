"""Clear and re-key through the workflow: planning from a fresh poll, executing with re-polls.

Both front ends call :func:`plan_actions` and :meth:`Workflow.run` with a
:class:`TunnelActionSpec`; only the confirmation callback and the progress rendering differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ipsecctl import actions, errors
from ipsecctl.actions import Plan, ProgressFn, Result
from ipsecctl.models import DeviceState
from ipsecctl.ops.fleet import Fleet


def unreadable(state: DeviceState) -> bool:
    """Nothing to plan against: the device could not be read at all."""
    return not state.reachable or (
        any(e.fatal for e in state.errors) and not state.tunnels and not state.ike_sas
    )


def plan_actions(
    state: DeviceState,
    peers: Sequence[str],
    *,
    action: actions.ActionKind,
    scope: actions.Scope = "session",
    vrf: str | None = None,
    source: str | None = None,
) -> list[Plan]:
    """One plan per peer from the device's state; a device that could not be read is an
    operational error (exit 1), an unknown peer a usage error (exit 2)."""
    if unreadable(state):
        raise errors.ConnectError(
            "; ".join(e.message for e in state.errors) or f"{state.device}: unreachable",
            device=state.device,
        )
    if not peers:
        raise errors.UsageError("--peer is required (repeat it for several peers)")
    return [
        actions.plan(state, peer, action=action, scope=scope, vrf=vrf, source=source)
        for peer in peers
    ]


@dataclass
class TunnelActionSpec:
    """Clear / re-key one plan on its device; the verification is :func:`actions.execute`'s."""

    fleet: Fleet
    wait_s: float | None = None
    interval: float = 1.0

    def execute(self, plan: Plan, progress: ProgressFn) -> Result:
        try:
            runner = self.fleet.session(plan.device)
        except errors.TransportError as exc:
            result = self.failed(plan, f"cannot reach {plan.device}: {exc}; nothing was sent")
            return result
        return actions.execute(
            plan,
            runner,
            lambda: self.fleet.poll_one(plan.device),
            wait_s=self.wait_s,
            interval=self.interval,
            progress=progress,
        )

    def dry_run(self, plan: Plan) -> Result:
        return Result(
            device=plan.device,
            peer=plan.peer,
            action=plan.action,
            vrf=plan.vrf,
            commands=plan.all_commands,
            old_spis=plan.old_spis,
            old_by_direction=plan.old_spis_by_direction,
            ok=True,
            dry_run=True,
            message="dry run: nothing sent",
        )

    def failed(self, plan: Plan, message: str) -> Result:
        return Result(
            device=plan.device,
            peer=plan.peer,
            action=plan.action,
            vrf=plan.vrf,
            commands=plan.all_commands,
            old_spis=plan.old_spis,
            old_by_direction=plan.old_spis_by_direction,
            ok=False,
            message=message,
        )
