"""What the dashboard is given: the operations layer's fleet and workflow, and its settings.

The dashboard never opens sessions, parses output or writes the audit trail itself: it polls
through the :class:`~ipsecctl.ops.fleet.Fleet` and acts through the
:class:`~ipsecctl.ops.workflow.Workflow`, exactly as the one-shot commands do.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from inventory import Host
from ipsecctl.ops.fleet import Fleet, HistorySink
from ipsecctl.ops.workflow import Workflow
from ipsecctl.settings import HostKeyPolicy, Settings

if TYPE_CHECKING:
    from ipsecctl.tui.app import IpsecApp


def utcnow() -> datetime:
    return datetime.now(UTC)


class HostKeyBridge:
    """The ``ask_host_key`` callback of the fleet's sessions, answered by the dashboard.

    The fleet is built before the app exists, and calls this from a poll thread; the app
    attaches itself on mount. The thread blocks until the operator answers the modal (or
    the app exits, which answers no).
    """

    def __init__(self) -> None:
        self.app: IpsecApp | None = None

    def __call__(self, device: str, hostname: str, key_type: str, fingerprint: str) -> bool:
        app = self.app
        if app is None or not app.is_running:
            return False
        return app.ask_host_key(device, hostname, key_type, fingerprint)


@dataclass
class DashboardContext:
    """Everything the dashboard needs (see :func:`make_context`). ``clock`` is injectable so
    snapshot tests are deterministic."""

    hosts: list[Host]
    fleet: Fleet
    workflow: Workflow
    refresh: float = 5.0
    clock: Callable[[], datetime] = utcnow
    theme: str | None = None  # "ansi" keeps the terminal's own colours
    max_backoff: float = 300.0
    action_wait_s: float | None = None
    title: str = "ipsecctl"
    host_key_bridge: HostKeyBridge | None = None
    close_on_exit: bool = True
    diagnose: bool = True
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys

    @property
    def read_only(self) -> bool:
        return self.workflow.read_only

    @read_only.setter
    def read_only(self, value: bool) -> None:
        self.workflow.read_only = value


def make_context(
    hosts: Sequence[Host],
    settings: Settings,
    *,
    replay_dir: Path | None = None,
    host_key_policy: HostKeyPolicy | None = None,
    read_only: bool | None = None,
    refresh: float | None = None,
    theme: str | None = None,
    extra_known_hosts: Sequence[Path] = (),
    keymap: dict[str, str] | None = None,
    store: HistorySink | None = None,
    log_every: int = 6,
) -> DashboardContext:
    """Fleet + workflow for the dashboard, with the host-key modal wired in.

    ``host_key_policy`` None means ``ask`` (a person is at the dashboard); ``keymap`` None
    means ``settings.keymap``. Logs are read every ``log_every``-th poll of a device (flaps
    and retransmissions change slowly; the last log is kept in between).
    """
    from ipsecctl.ops.setup import open_fleet, open_workflow

    bridge = HostKeyBridge()
    policy: HostKeyPolicy = host_key_policy or settings.host_key_policy or "ask"
    fleet = open_fleet(
        settings,
        hosts,
        host_key_policy=policy,
        ask_host_key=bridge,
        replay_dir=replay_dir,
        extra_known_hosts=extra_known_hosts,
        store=store,
        logs=True,
        log_every=log_every,
        keep_raw=True,
    )
    workflow = open_workflow(
        settings,
        source="dashboard",
        read_only=bool(read_only if read_only is not None else settings.read_only),
        read_only_reason="actions are disabled, the dashboard is read-only",
        history=store,  # actions go into the history store beside the polls, as the CLI's
    )
    return DashboardContext(
        hosts=list(hosts),
        fleet=fleet,
        workflow=workflow,
        refresh=refresh if refresh is not None else settings.refresh_interval,
        theme=theme,
        host_key_bridge=bridge,
        keymap=dict(keymap if keymap is not None else settings.keymap),
    )
