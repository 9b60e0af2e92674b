"""Where running labs are: a small registry in the user's state directory.

Why: a lab started with ``--dir D`` lives in D, and later commands on the same machine must
find it without options. Each lab writes one file ``<state dir>/labs/<id>.json`` naming its
directory (written by ``start_lab`` before the lab answers, removed by ``lab down``); the
registry is only a list of directories, the lab's own ``state.json`` stays the truth about it.
A registry entry whose lab died (``kill -9``) is stale: :func:`entries` still lists it so the
next ``lab up`` or ``lab down`` can clean up after it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path


def registry_dir() -> Path:
    from ipsecctl.settings import state_dir

    return Path(state_dir()) / "labs"


@dataclass(frozen=True)
class Entry:
    dir: Path
    registered_at: float
    path: Path


def _entry_path(lab_dir: Path) -> Path:
    digest = hashlib.sha256(str(lab_dir).encode()).hexdigest()[:16]
    return registry_dir() / f"{digest}.json"


def register(lab_dir: Path, when: float) -> None:
    """Record ``lab_dir`` (0600 file in a 0700 directory; nothing secret, but private)."""
    path = _entry_path(lab_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"dir": str(lab_dir), "registered_at": when}, fh)
    os.replace(tmp, path)


def unregister(lab_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        _entry_path(lab_dir).unlink()


def entries() -> list[Entry]:
    """Every registered lab directory, newest first (unreadable entries are dropped)."""
    out: list[Entry] = []
    root = registry_dir()
    if not root.is_dir():
        return out
    for path in root.glob("*.json"):
        try:
            data = json.loads(path.read_text())
            out.append(Entry(Path(data["dir"]), float(data.get("registered_at", 0)), path))
        except (OSError, ValueError, KeyError, TypeError):
            with contextlib.suppress(OSError):
                path.unlink()
    out.sort(key=lambda e: e.registered_at, reverse=True)
    return out
