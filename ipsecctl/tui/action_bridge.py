"""The dashboard's side of the action workflow: plans from the rows an operator chose, the
confirmation as a modal, progress as events.

The workflow itself (read-only refusal, locks, the audit trail written before each command,
verification) is :class:`ipsecctl.ops.workflow.Workflow`, the one the CLI runs; it runs here
in a thread worker and asks for confirmation through :meth:`ActionBridge.confirm`, which
shows the modal on the UI thread and waits for the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ipsecctl import errors
from ipsecctl.actions import Plan, Progress
from ipsecctl.ops.formatting import fmt_spis
from ipsecctl.ops.tunnel_actions import TunnelActionSpec, plan_actions
from ipsecctl.ops.workflow import ActionPlan, ActionRequest
from ipsecctl.tui.messages import ActionEvent, DevicePolled
from ipsecctl.tui.screens.modals import ConfirmScreen
from ipsecctl.tui.threads import background

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp
    from ipsecctl.tui.state import Row


def describe_result(
    plan: Plan, ok: bool, message: str, old: dict[str, list[int]], new: dict[str, list[int]]
) -> str:
    """One line per action outcome, SPIs labelled by direction (old -> new)."""
    parts = [
        f"{d} {fmt_spis(old.get(d, [])) or 'none'} -> {fmt_spis(new.get(d, [])) or 'none'}"
        for d in ("in", "out")
    ]
    where = f"{plan.device} -> {plan.peer}" + (f" vrf {plan.vrf}" if plan.vrf else "")
    verdict = "ok" if ok else "failed"
    return f"{plan.action} {where} {verdict}: {'; '.join(parts)} ({message})"


class ActionBridge:
    def __init__(self, app: IpsecApp) -> None:
        self.app = app

    def plans_for(self, kind: str, rows: Iterable[Row]) -> tuple[list[Plan], list[str]]:
        """One plan per (device, peer, vrf) among ``rows``, from each device's last poll."""
        groups: dict[tuple[str, str, str | None], None] = {}
        for row in rows:
            if row.tunnel.peer:
                groups[(row.device, row.tunnel.peer, row.tunnel.vrf)] = None
        plans: list[Plan] = []
        problems: list[str] = []
        for device, peer, vrf in groups:
            state = self.app.ops.current(device)
            if state is None:
                problems.append(f"{device}: not polled yet")
                continue
            try:
                plans += plan_actions(state, [peer], action=kind, vrf=vrf)  # type: ignore[arg-type]
            except errors.IpsecctlError as exc:
                problems.append(str(exc))
        return plans, problems

    def start(self, kind: str, rows: list[Row]) -> None:
        app = self.app
        plans, problems = self.plans_for(kind, rows)
        for p in problems:
            app.event(p, "error")
        if not plans:
            app.notify("nothing to act on: select or mark a tunnel with a peer", severity="warning")
            return
        if app.ctx.read_only:
            try:
                app.ctx.workflow.check_policy(ActionRequest(kind, plans), confirm=None, yes=False)
            except errors.RefusedError as exc:
                msg = f"{kind} refused: {exc.message}"
                app.event(msg, "error")
                app.notify(msg, severity="error", title="read-only")
            return
        background(self.run, kind, plans, name=f"ipsecctl-{kind}")

    def run(self, kind: str, plans: list[Plan]) -> None:
        """Thread worker: the workflow asks (modal), then runs each plan, re-polling through
        the fleet; every step reaches the events pane."""
        app = self.app
        spec = TunnelActionSpec(app.ops, wait_s=app.ctx.action_wait_s)
        results = self.run_spec(kind, spec, plans)
        if results is None:
            return
        app._from_thread(app.model.clear_marks)  # acted on: a declined run keeps them
        for plan, result in zip(plans, results, strict=False):
            state = app.ops.current(plan.device)
            if state is not None:
                app.post_message(DevicePolled(plan.device, state, scheduled=False))
            text = describe_result(
                plan, result.ok, result.message, result.old_by_direction, result.new_by_direction
            )
            if getattr(app.ops, "store", None) is None:  # else the workflow recorded it
                app._from_thread(app.journal.action, app.ctx.clock(), plan, result, "dashboard")
            app.post_message(ActionEvent(text, "ok" if result.ok else "error", result))

    def run_spec(self, kind: str, spec: Any, plans: list[Any], run: Any = None) -> list[Any] | None:
        """Any action spec through the workflow (clear, re-key, capture): None when it was
        refused or declined (said in the events pane), else one result per plan. ``run`` (a
        tool run) collects the progress lines too."""
        app = self.app

        def progress(plan: ActionPlan, event: Progress) -> None:
            if event.stage == "done":
                return
            level = "error" if event.stage in ("refused", "lost", "repoll_failed") else "action"
            text = f"{plan.action} {plan.device} -> {plan.peer}: {event.text}"
            app.post_message(ActionEvent(text, level))
            if run is not None:
                run.steps.append(event.text)
            if event.stage == "polling":
                state = app.ops.current(plan.device)
                if state is not None:
                    app.post_message(DevicePolled(plan.device, state, scheduled=False))

        app._from_thread(app._action_started, len(plans))
        try:
            return list(app.ctx.workflow.run(spec, plans, confirm=self.confirm, progress=progress))
        except errors.RefusedError as exc:
            app.post_message(ActionEvent(f"{kind} {exc.message}", "info"))
            if run is not None:
                run.error = exc.message
            return None
        except errors.IpsecctlError as exc:
            app.post_message(ActionEvent(f"{kind} failed: {exc}", "error"))
            if run is not None:
                run.error = str(exc)
            return []
        finally:
            app._from_thread(app._action_started, -len(plans))

    def confirm(self, request: ActionRequest) -> bool:
        """Called by the workflow in the worker thread: the modal names every device, peer
        and VRF with the exact commands; the thread waits for the answer."""
        targets = [
            f"  {where(p.device, p.peer, p.vrf)}: {p.tunnel_count} tunnel(s), {p.sa_count} SA(s)"
            for p in request.plans
        ]
        summary = "\n".join([f"{request.headline()}:", *targets, "These commands will be sent:"])
        commands = [c for _what, cmds in request.lines() for c in cmds]
        return self.ask(f"Confirm {request.action}", summary, commands)

    def ask(self, title: str, summary: str, commands: list[str], verb: str = "Run") -> bool:
        """Show a guarded confirmation from a worker thread and wait for the answer (no when
        the app goes away meanwhile)."""
        app = self.app
        done = threading.Event()
        answer = [False]

        def show() -> None:
            def answered(ok: bool | None) -> None:
                answer[0] = bool(ok)
                done.set()

            app.push_screen(ConfirmScreen(title, summary, commands, verb=verb), answered)

        try:
            app.call_from_thread(show)
        except RuntimeError:
            return False
        while not done.wait(0.2):
            if not app.is_running:
                return False
        return answer[0]


def where(device: str, peer: str | None, vrf: str | None) -> str:
    """Device, peer and VRF, always all three (the global table said as such)."""
    return f"device {device}, peer {peer or '?'}, vrf {vrf or '(global table)'}"
