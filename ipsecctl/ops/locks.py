"""Cross-process guards for actions: one action per tunnel at a time, and actions in flight.

Two ``rekey r01 --peer X`` started seconds apart would both clear the tunnel, and the second
would take the first's new SPIs for "old" ones. A lock file per (device, peer) held with
``flock`` for the whole action stops that across processes (a dashboard and a script); the
kernel drops the lock when the holder dies, so a killed process never leaves it stuck.

An in-flight marker per running action (``inflight/<action_id>.json``) outlives a killed
process on purpose: the next ipsecctl run finds markers whose process is gone and names the
interrupted action (see :func:`interrupted_actions`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ipsecctl import errors

_DIR_MODE = 0o700
_FILE_MODE = 0o600


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
    return path


def _process_start(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (``/proc``): tells a live holder from a reused pid."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ')'
    fields = raw.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def process_identity() -> dict[str, object]:
    return {"pid": os.getpid(), "start": _process_start(os.getpid())}


def _alive(holder: dict[str, object]) -> bool:
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    start = holder.get("start")
    return start is None or _process_start(pid) == start


class ActionBusy(errors.ActionError):
    """Another process is acting on the same tunnel right now."""


class TunnelLock:
    """Exclusive, non-blocking lock on (device, peer) in ``directory``; a context manager."""

    def __init__(self, directory: Path, device: str, peer: str | None) -> None:
        key = f"{device}|{peer or '*'}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:16]
        self.path = directory / f"{device}-{digest}.lock"
        self.device = device
        self.peer = peer
        self._fd: int | None = None

    def acquire(self, holder: dict[str, object]) -> None:
        """Take the lock or raise :class:`ActionBusy` naming the holder."""
        _private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = _read_fd(fd)
            os.close(fd)
            who = f"pid {other.get('pid')}" if other.get("pid") else "another ipsecctl"
            what = other.get("action") or "an action"
            since = f" since {other['time']}" if other.get("time") else ""
            raise ActionBusy(
                f"{self.device} -> {self.peer}: {who} is already running {what} on this "
                f"tunnel{since}; nothing was sent",
                hint="wait for it to finish, then run the action again if it is still needed",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing drops the flock


def _read_fd(fd: int) -> dict[str, object]:
    try:
        data = os.pread(fd, 4096, 0)
        value = json.loads(data) if data else {}
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class InFlight:
    """The marker of one running action; removed when the action reaches its outcome."""

    path: Path

    @classmethod
    def create(cls, directory: Path, action_id: str, record: dict[str, object]) -> InFlight:
        path = _private_dir(directory) / f"{action_id}.json"
        body = json.dumps({**record, **process_identity(), "action_id": action_id})
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, _FILE_MODE)
        try:
            os.write(fd, body.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        return cls(path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def interrupted_actions(directory: Path) -> list[tuple[Path, dict[str, object]]]:
    """Markers left by processes that died mid-action (SIGKILL, power loss), oldest first."""
    try:
        entries = sorted(directory.glob("*.json"))
    except OSError:
        return []
    found = []
    for path in entries:
        try:
            marker = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(marker, dict) and not _alive(marker):
            found.append((path, marker))
    found.sort(key=lambda item: str(item[1].get("time", "")))
    return found
