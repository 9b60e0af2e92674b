"""Append-only audit trail of operator actions (JSON lines).

An action leaves several records sharing one ``action_id``: ``started`` (the planned commands),
one ``sending`` record per command *before* that command goes to the device, and a final
outcome (``ok``, ``failed``, ``interrupted``). Each is flushed to disk (``fsync``) before the
caller goes on, so a process killed at any moment leaves a trail that says what reached the
device. Actions that never start leave one record: ``refused``, ``declined`` or ``dry-run``.

The file is created 0600 and tightened if someone loosened it: it names devices, peers and the
exact commands sent, which is reconnaissance material even with secrets removed. Every record
goes through :func:`ipsecctl.redact.redact` before it is written. Writers take an exclusive
``flock`` and write each record with a single ``write`` on an ``O_APPEND`` descriptor, so
concurrent ipsecctl processes (a dashboard and a script) never interleave lines.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import logging
import os
import socket
import stat
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, cast

from ipsecctl.errors import InputFileError
from ipsecctl.redact import redact

log = logging.getLogger(__name__)

Outcome = Literal[
    "started", "sending", "ok", "failed", "interrupted", "refused", "dry-run", "declined"
]
OUTCOMES: tuple[str, ...] = (
    "started",
    "sending",
    "ok",
    "failed",
    "interrupted",
    "refused",
    "dry-run",
    "declined",
)
FILE_MODE = 0o600


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers) and no LOGNAME/USER
        return str(os.getuid())


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _open_private(path: Path) -> int:
    """Open for appending, creating 0600; an existing looser file is tightened to 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, FILE_MODE)
    try:
        mode = stat.S_IMODE(os.fstat(fd).st_mode)
        if mode & 0o077:
            os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


class AuditLog:
    """The audit file at ``path``; each :meth:`record` call appends one line."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def record(
        self,
        action: str,
        *,
        outcome: Outcome,
        device: str | None = None,
        peer: str | None = None,
        vrf: str | None = None,
        commands: Iterable[str] = (),
        details: dict[str, Any] | None = None,
        action_id: str | None = None,
    ) -> dict[str, Any]:
        """Append one record, flushed to disk, and return it (as written, i.e. redacted).

        Raises :class:`OSError` when the record could not be written: the caller must not
        touch the device then (an action that escapes the audit trail is worse than none).
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {OUTCOMES}, not {outcome!r}")
        entry: dict[str, Any] = redact(
            {
                "time": now_iso(),
                "action_id": action_id,
                "user": _user(),
                "host": socket.gethostname(),
                "action": action,
                "device": device,
                "peer": peer,
                "vrf": vrf,
                "commands": list(commands),
                "outcome": outcome,
                "details": details or {},
            }
        )
        line = (json.dumps(entry, sort_keys=False, default=str) + "\n").encode()
        fd = _open_private(self.path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                written = os.write(fd, line)
                while written < len(line):  # only on a full disk or a signal mid-write
                    written += os.write(fd, line[written:])
                os.fsync(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        return entry

    def read(self, limit: int | None = None) -> list[dict[str, Any]]:
        return read_audit(self.path, limit)


_FIELDS = ("action", "outcome", "device", "peer", "vrf", "commands", "details")


def append_audit(path: Path, record: dict[str, Any]) -> dict[str, Any]:
    """Append a record given as one dict (the CLI's shape); returns what was written.

    Keys other than the record fields (``scope``, ``ok``, ...) go into ``details``; without an
    ``outcome``, ``ok`` decides between ``ok`` and ``failed``.
    """
    outcome = cast(Outcome, record.get("outcome") or ("ok" if record.get("ok") else "failed"))
    details = dict(record.get("details") or {})
    details.update({k: v for k, v in record.items() if k not in _FIELDS})
    return AuditLog(path).record(
        str(record.get("action") or "unknown"),
        outcome=outcome,
        device=record.get("device"),
        peer=record.get("peer"),
        vrf=record.get("vrf"),
        commands=record.get("commands") or (),
        details=details,
    )


def read_audit(path: Path, limit: int | None = None) -> list[dict[str, Any]]:
    """Records oldest first (the last ``limit`` when given); a missing file is empty.

    A line that is not JSON (a crash mid-write on another host's NFS, a hand edit) is skipped
    with a warning naming the line rather than hiding every other record.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the audit log: {exc.strerror}") from None
    records: list[dict[str, Any]] = []
    with handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        try:
            data = handle.read()
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("%s:%d: skipping a line that is not a JSON record", path, number)
            continue
        if isinstance(item, dict):
            records.append(item)
    if limit is not None:
        records = records[-limit:] if limit > 0 else []
    return records
