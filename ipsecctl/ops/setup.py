"""Build the operations layer's objects from settings and inventory hosts.

The CLI and the dashboard construct sessions, collectors and workflows only through these
functions, so both connect the same way (host-key policy, jump hosts, timeouts) and act
under the same policy (read-only, audit trail, locks).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ipsecctl.ops.fleet import Fleet, HistorySink

if TYPE_CHECKING:  # the action side is imported by the commands that act
    from inventory import Host
    from ipsecctl.ops.workflow import Workflow
    from ipsecctl.sessions import AskHostKey
    from ipsecctl.settings import HostKeyPolicy, Settings

log = logging.getLogger(__name__)


def open_fleet(
    settings: Settings,
    hosts: Sequence[Host],
    *,
    host_key_policy: HostKeyPolicy = "reject",
    ask_host_key: AskHostKey | None = None,
    replay_dir: Path | None = None,
    save_raw: Path | None = None,
    save_raw_secrets: bool = False,
    extra_known_hosts: Sequence[Path] = (),
    store: HistorySink | None = None,
    logs: bool = False,
    log_every: int = 1,
    workers: int | None = None,
    keep_raw: bool = False,
) -> Fleet:
    """Sessions (persistent, per device) + a collector + the fleet's memory of polls."""
    from ipsecctl.collect import Collector
    from ipsecctl.sessions import SessionPool

    pool = SessionPool(
        settings,
        host_key_policy=host_key_policy,
        ask_host_key=ask_host_key,
        replay_dir=replay_dir,
        save_raw=save_raw,
        save_raw_secrets=save_raw_secrets,
        extra_known_hosts=list(extra_known_hosts),
    )
    collector = Collector(pool, workers=workers or settings.workers, keep_raw=keep_raw)
    return Fleet(hosts, collector, store=store, logs=logs, log_every=log_every)


def open_workflow(
    settings: Settings,
    *,
    read_only: bool,
    source: str,
    read_only_reason: str = "read-only mode",
    history: HistorySink | None = None,
) -> Workflow:
    from ipsecctl.ops.audit_trail import AuditLog
    from ipsecctl.ops.workflow import Workflow

    return Workflow(
        audit=AuditLog(settings.audit_log),
        actions_dir=settings.actions_dir,
        read_only=read_only,
        read_only_reason=read_only_reason,
        source=source,
        history=history,
    )


def open_history(settings: Settings, location: str | None = None) -> HistorySink | None:
    """The history store every poll and action goes to; None (with a warning in the log)
    when it cannot be opened, because a poll never fails for want of history."""
    from ipsecctl import errors
    from ipsecctl.store import open_configured

    try:
        store: HistorySink = open_configured(settings, location)
    except errors.UsageError:
        raise  # a malformed --store is the operator's to fix
    except (errors.IpsecctlError, OSError) as exc:
        log.warning("history store unavailable, polls are not recorded: %s", exc)
        return None
    return store


def interrupted(settings: Settings) -> list[str]:
    """Actions a killed ipsecctl left half done (named once, then closed in the audit log)."""
    try:
        from ipsecctl.ops.audit_trail import AuditLog
        from ipsecctl.ops.workflow import settle_interrupted

        return settle_interrupted(AuditLog(settings.audit_log), settings.actions_dir)
    except OSError as exc:
        log.warning("cannot check for interrupted actions: %s", exc)
        return []
