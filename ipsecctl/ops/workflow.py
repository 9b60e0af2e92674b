"""The one workflow every device-changing action goes through, from the CLI or the dashboard.

plan -> policy (read-only) -> confirmation (a callback the front end supplies) -> lock ->
audit ``started`` -> execute (each command audited before it is sent, progress events to the
front end) -> verify (the executor's job) -> audit outcome -> unlock.

Clear, re-key, configuration pushes and device captures differ only in their plans and
executors (an :class:`ActionSpec`); the guarantees are the same for all and live here once:

- nothing is sent when the audit trail cannot be written (the action fails, exit 1);
- a second process acting on the same (device, peer) is told so and sends nothing;
- read-only mode, a declined confirmation, or a confirmation needed without a terminal
  refuse the action (exit 4) and say so in the audit trail;
- a dry run that planned successfully is ``ok: true, dry_run: true``;
- Ctrl-C mid-action records ``interrupted`` with the commands sent so far; a killed process
  leaves an in-flight marker that the next run names (:func:`settle_interrupted`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from ipsecctl import errors
from ipsecctl.actions import Progress, ProgressFn
from ipsecctl.ops.audit_trail import AuditLog, now_iso, read_audit
from ipsecctl.ops.fleet import HistorySink
from ipsecctl.ops.locks import ActionBusy, InFlight, TunnelLock, interrupted_actions

log = logging.getLogger(__name__)


class ActionPlan(Protocol):
    """What an operator confirms: where, what exactly, and how much it touches."""

    @property
    def action(self) -> str: ...
    @property
    def device(self) -> str: ...
    @property
    def peer(self) -> str | None: ...
    @property
    def vrf(self) -> str | None: ...
    @property
    def all_commands(self) -> list[str]: ...
    @property
    def tunnel_count(self) -> int: ...
    @property
    def sa_count(self) -> int: ...
    def describe(self) -> str: ...


class ActionResult(Protocol):
    ok: bool
    message: str
    sent: list[str]

    def as_json(self) -> dict[str, object]: ...


P = TypeVar("P", bound=ActionPlan)
R = TypeVar("R", bound=ActionResult)
P_contra = TypeVar("P_contra", bound=ActionPlan, contravariant=True)
R_co = TypeVar("R_co", bound=ActionResult, covariant=True)


class ActionSpec(Protocol[P_contra, R_co]):
    """How one kind of action runs; the workflow supplies everything around it."""

    def execute(self, plan: P_contra, progress: ProgressFn) -> R_co: ...
    def dry_run(self, plan: P_contra) -> R_co: ...
    def failed(self, plan: P_contra, message: str) -> R_co: ...


@dataclass(frozen=True)
class ActionRequest:
    """Everything a confirmation must show: counts first, then every exact command."""

    action: str
    plans: Sequence[ActionPlan]

    @property
    def devices(self) -> int:
        return len({p.device for p in self.plans})

    @property
    def peers(self) -> int:
        return len({(p.device, p.peer, p.vrf) for p in self.plans})

    @property
    def tunnels(self) -> int:
        return sum(p.tunnel_count for p in self.plans)

    @property
    def sas(self) -> int:
        return sum(p.sa_count for p in self.plans)

    def headline(self) -> str:
        return (
            f"{self.action} will touch {self.tunnels} tunnel(s), {self.sas} SA(s), "
            f"{self.peers} peer(s) on {self.devices} device(s)"
        )

    def lines(self) -> list[tuple[str, list[str]]]:
        """(what, exact commands) per plan: device, peer and VRF are in ``what``."""
        return [(p.describe(), [f"{p.device}# {c}" for c in p.all_commands]) for p in self.plans]


Confirm = Callable[[ActionRequest], bool]
PlanProgress = Callable[[ActionPlan, Progress], None]


@dataclass
class Workflow:
    """Policy, confirmation, locking and audit around an :class:`ActionSpec`.

    ``source`` says which front end acted (``cli``, ``dashboard``); it goes into every record.
    """

    audit: AuditLog
    actions_dir: Path
    read_only: bool = False
    read_only_reason: str = "read-only mode"
    source: str = "cli"
    extra: dict[str, object] = field(default_factory=dict)
    history: HistorySink | None = None  # the history store: outcomes go there too

    def _remember(
        self,
        plan: ActionPlan,
        outcome: str,
        action_id: str,
        sent: list[str],
        details: dict[str, object],
    ) -> None:
        """The outcome in the history store, beside the polls (its timeline shows it)."""
        if self.history is None:
            return
        try:
            self.history.record_action(
                {
                    "action": plan.action,
                    "outcome": outcome,
                    "device": plan.device,
                    "peer": plan.peer,
                    "vrf": plan.vrf,
                    "commands": sent,
                    "action_id": action_id,
                    "source": self.source,
                    **details,
                }
            )
        except Exception as exc:  # the audit trail has it; the store is a second copy
            log.warning("history store: cannot record the action: %s", exc)

    # -- before anything is sent ------------------------------------------------------------
    def _record(
        self,
        plan: ActionPlan,
        outcome: str,
        *,
        action_id: str | None = None,
        commands: Sequence[str] | None = None,
        details: dict[str, object] | None = None,
        required: bool = False,
    ) -> None:
        try:
            self.audit.record(
                plan.action,
                outcome=outcome,  # type: ignore[arg-type]
                device=plan.device,
                peer=plan.peer,
                vrf=plan.vrf,
                commands=list(plan.all_commands if commands is None else commands),
                details={"source": self.source, **self.extra, **(details or {})},
                action_id=action_id,
            )
        except OSError as exc:
            if required:
                raise
            log.error("cannot write the audit log %s: %s", self.audit.path, exc)

    def check_policy(self, request: ActionRequest, *, confirm: Confirm | None, yes: bool) -> None:
        """Refuse (RefusedError, exit 4) unless the action may run; audits the refusal."""
        if self.read_only:
            reason = f"{self.read_only_reason}: no action was taken"
            for p in request.plans:
                self._record(p, "refused", details={"reason": reason})
            raise errors.RefusedError(
                reason,
                hint="read-only comes from --read-only, IPSECCTL_READ_ONLY or read_only "
                "in the config file (`ipsecctl info` shows which file)",
            )
        if yes:
            return
        if confirm is None:
            reason = "confirmation needed but there is no terminal"
            for p in request.plans:
                self._record(p, "refused", details={"reason": reason})
            raise errors.RefusedError(reason, hint="rerun with --yes")
        if not confirm(request):
            for p in request.plans:
                self._record(p, "declined")
            raise errors.RefusedError("declined: no action was taken")

    def not_started(
        self, action: str, device: str, peers: Sequence[str | None], vrf: str | None, message: str
    ) -> None:
        """Audit an action that failed before it could be planned (device unreadable)."""
        for peer in list(peers) or [None]:
            try:
                self.audit.record(
                    action,
                    outcome="failed",
                    device=device,
                    peer=peer,
                    vrf=vrf,
                    details={"source": self.source, "error": message},
                )
            except OSError as exc:
                log.error("cannot write the audit log %s: %s", self.audit.path, exc)

    # -- the run ----------------------------------------------------------------------------
    def run(
        self,
        spec: ActionSpec[P, R],
        plans: Sequence[P],
        *,
        confirm: Confirm | None,
        yes: bool = False,
        dry_run: bool = False,
        progress: PlanProgress | None = None,
        stop_on_failure: bool = False,
    ) -> list[R]:
        """Run every plan in order; returns one result per plan run (refusals raise).

        ``stop_on_failure`` ends the run at the first plan that did not verify (a staged
        push); the plans after it are not run and have no result.
        """
        if not plans:
            return []
        request = ActionRequest(plans[0].action, list(plans))
        if dry_run:
            for p in plans:
                self._record(p, "dry-run")
            return [spec.dry_run(p) for p in plans]
        self.check_policy(request, confirm=confirm, yes=yes)
        results: list[R] = []
        for p in plans:
            results.append(self._run_one(spec, p, progress))
            if stop_on_failure and not results[-1].ok:
                break
        return results

    def _run_one(self, spec: ActionSpec[P, R], plan: P, progress: PlanProgress | None) -> R:
        action_id = uuid.uuid4().hex
        lock = TunnelLock(self.actions_dir / "locks", plan.device, plan.peer)
        holder: dict[str, object] = {
            "action": plan.action,
            "time": now_iso(),
            "action_id": action_id,
        }
        try:
            lock.acquire(holder)
        except ActionBusy as exc:
            self._record(plan, "refused", details={"reason": str(exc)})
            return spec.failed(plan, str(exc))
        except OSError as exc:
            return spec.failed(
                plan,
                f"cannot take the action lock in {self.actions_dir}: "
                f"{exc.strerror}; nothing was sent",
            )
        sent: list[str] = []
        marker: InFlight | None = None
        try:
            try:
                self._record(plan, "started", action_id=action_id, required=True)
                marker = InFlight.create(
                    self.actions_dir / "inflight",
                    action_id,
                    {
                        "action": plan.action,
                        "device": plan.device,
                        "peer": plan.peer,
                        "vrf": plan.vrf,
                        "time": now_iso(),
                        "audit": str(self.audit.path),
                    },
                )
            except OSError as exc:
                return spec.failed(
                    plan,
                    f"cannot write the audit log {self.audit.path}: "
                    f"{exc.strerror or exc}; nothing was sent",
                )

            def on_event(event: Progress) -> None:
                if event.stage == "sending" and event.command is not None:
                    # before the command leaves: if this cannot be written, it is not sent
                    self._record(
                        plan,
                        "sending",
                        action_id=action_id,
                        commands=[event.command],
                        required=True,
                    )
                    sent.append(event.command)
                if progress is not None:
                    progress(plan, event)

            try:
                result = spec.execute(plan, on_event)
            except OSError as exc:  # the audit trail went away mid-action
                result = spec.failed(
                    plan,
                    f"stopped: cannot write the audit log {self.audit.path} "
                    f"({exc.strerror or exc}); sent so far: {sent or 'nothing'}",
                )
                result.sent = list(sent)
            except errors.IpsecctlError as exc:
                result = spec.failed(plan, str(exc))
                result.sent = list(sent)
            body = result.as_json()
            outcome = "ok" if result.ok else "failed"
            details = {
                k: v
                for k, v in body.items()
                if k not in ("device", "peer", "vrf", "action", "commands", "sent")
            }
            self._record(plan, outcome, action_id=action_id, commands=result.sent, details=details)
            self._remember(plan, outcome, action_id, result.sent, details)
            if marker is not None:
                marker.remove()
            return result
        except BaseException:
            # Ctrl-C (or a bug) mid-action: say what may have reached the device
            self._record(
                plan,
                "interrupted",
                action_id=action_id,
                commands=sent,
                details={"message": "interrupted before the outcome was known"},
            )
            if marker is not None:
                marker.remove()
            raise
        finally:
            lock.release()


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def settle_interrupted(audit: AuditLog, actions_dir: Path) -> list[str]:
    """Name actions whose process died mid-action and close them in the audit trail.

    Returns one operator-facing line per interrupted action (the commands that were sent
    come from its ``sending`` records).
    """
    found = interrupted_actions(actions_dir / "inflight")
    if not found:
        return []
    sent_by_id: dict[str, list[str]] = {}
    try:
        for rec in read_audit(audit.path):
            if rec.get("outcome") == "sending" and rec.get("action_id"):
                sent_by_id.setdefault(str(rec["action_id"]), []).extend(rec.get("commands", []))
    except errors.IpsecctlError:
        pass
    lines = []
    for path, marker in found:
        action_id = str(marker.get("action_id", ""))
        sent = sent_by_id.get(action_id, [])
        where = f"{marker.get('device')} -> {marker.get('peer')}"
        if marker.get("vrf"):
            where += f" vrf {marker['vrf']}"
        lines.append(
            f"an earlier {marker.get('action', 'action')} on {where} (started "
            f"{marker.get('time', '?')}, pid {marker.get('pid')}) was interrupted; "
            + (f"commands sent: {'; '.join(sent)}" if sent else "no command had been sent")
            + "; check the tunnel's state before acting again"
        )
        try:
            audit.record(
                str(marker.get("action", "unknown")),
                outcome="interrupted",
                device=_text(marker.get("device")),
                peer=_text(marker.get("peer")),
                vrf=_text(marker.get("vrf")),
                commands=sent,
                details={"message": "the process died mid-action", "pid": marker.get("pid")},
                action_id=action_id or None,
            )
        except OSError as exc:
            log.error("cannot write the audit log %s: %s", audit.path, exc)
            continue  # keep the marker: name it again next time
        InFlight(path).remove()
    return lines
