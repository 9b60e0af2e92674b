"""The dashboard's diagnosis: the operations layer's assessment of the fleet, kept current.

:func:`ipsecctl.ops.faults.assess` (the one definition of a fault, shared with ``tunnels
--faults`` and ``diag health``) runs in a background thread over the latest and previous
polls, one run at a time and not more often than a few times its own duration (at 10,000
tunnels the rules take a while and must not stall a keystroke). The result marks the
tunnels' faults and feeds the why panes; what a tunnel is told is decided here once: its
findings, or "pending" until an assessment has seen it, so "no findings" is never said
before the rules have looked.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ipsecctl.models import DeviceState, Finding
from ipsecctl.ops.faults import Assessment, assess
from ipsecctl.tui.threads import background
from ipsecctl.tui.widgets.diagnosis import FAILED, OFF, PENDING, READY

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp

MIN_INTERVAL_S = 1.0
FIRST_POLL = (
    "no findings in this first poll (the rules that compare two polls, such as "
    "one-way traffic, run from the next one)"
)


class Diagnoser:
    def __init__(self, app: IpsecApp) -> None:
        self.app = app
        self.assessment: Assessment | None = None
        self.dirty = False  # polls came in since the last run
        self.running = False
        self.next_at = 0.0
        self.assessed_keys: set[str] = set()
        # each run's number: an assessment is applied only if no run started after it (a
        # background run still going when ``run(wait=True)`` assesses newer polls is stale)
        self.generation = 0

    def run(self, *, wait: bool = False) -> None:
        """Assess now and wait for it (``wait``), else in the background when due."""
        app = self.app
        if not app.ctx.diagnose:
            self.dirty = False
            return
        if not wait and (self.running or time.monotonic() < self.next_at):
            return  # the next tick runs it with what came meanwhile
        self.dirty = False
        self.generation += 1
        current = app.ops.states()
        previous = app.ops.previous_states()
        if wait:
            found = assess(current, previous or None, history=app.ops.history())
            self._assessed(found, current, self.generation)
        else:
            self.running = True
            background(
                self._in_thread, current, previous, self.generation, name="ipsecctl-diagnosis"
            )

    def _in_thread(
        self, current: list[DeviceState], previous: list[DeviceState], generation: int
    ) -> None:
        app = self.app
        started = time.monotonic()
        try:
            found = assess(current, previous or None, history=app.ops.history())
        except Exception as exc:  # a rule bug must not take the dashboard down
            app._from_thread(self._failed, f"diagnostics failed: {exc!r}", generation)
            return
        finally:
            took = time.monotonic() - started
            self.next_at = time.monotonic() + max(MIN_INTERVAL_S, 4 * took)
            self.running = False
        app._from_thread(self._assessed, found, current, generation)

    def _failed(self, message: str, generation: int) -> None:
        if self.app.closing or generation != self.generation:
            return  # the app is going, or a later run has the say
        pane = self.app.diagnosis
        pane.show(pane.subject, [], status=FAILED, message=message)

    def _assessed(
        self, assessment: Assessment, states: Sequence[DeviceState], generation: int
    ) -> None:
        app = self.app
        if app.closing or generation != self.generation:
            return
        self.assessment = assessment
        self.assessed_keys = {t.id for s in states for t in s.tunnels}
        if app.model.set_faults(assessment.faults):
            app.table.refresh_view()
            app._update_title()
        app._refresh_why()
        app._redraw_screens()

    def for_tunnel(self, key: str | None) -> tuple[list[Finding], tuple[str, ...], str, str]:
        """(findings, fault reasons, status, message) for the tunnel ``key``."""
        app = self.app
        if not app.ctx.diagnose:
            return [], (), OFF, ""
        row = app.model.rows.get(key) if key else None
        if row is None:
            return [], (), READY, "this tunnel is not in the last poll"
        a = self.assessment
        if a is None or key not in self.assessed_keys:
            return [], row.reasons, PENDING, ""
        message = ""
        if row.stale_since is not None:
            message = (
                f"{row.stale_text}: the device is not answering; the last diagnosis of its data:"
            )
        elif app.ops.previous(row.device) is None:
            message = FIRST_POLL
        return list(a.by_tunnel.get(key, ())), row.reasons, READY, message

    def for_device(self, name: str) -> tuple[list[Finding], str, str]:
        app = self.app
        if not app.ctx.diagnose:
            return [], OFF, ""
        a = self.assessment
        keys = app.model.by_device.get(name, set())
        if a is None or (keys and not keys & self.assessed_keys):
            return [], PENDING, ""
        return [f for f in a.findings if f.device == name], READY, ""
