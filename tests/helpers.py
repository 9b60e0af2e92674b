"""Helpers shared by test packages (fixtures stay in each package's conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def need(condition: bool, reason: str) -> None:
    """Skip when a prerequisite (root, sshd, strongSwan, tshark) is missing; under CI=true that
    is a failure instead, so CI can never pass by skipping what it was set up to run."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"prerequisite missing under CI: {reason}")
    pytest.skip(reason)


@dataclass(repr=False)
class CliRun:
    """One finished ``ipsecctl`` process: exit code, stdout, stderr."""

    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:  # what a failing ``assert ..., run`` shows (pytest uses repr)
        return f"exit {self.code}\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}"


def run_cli(
    *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> CliRun:
    """Run ``python -m ipsecctl ARGS`` as a new user would: own process, no terminal, state
    and data under *home* (``home/state``, ``home/data``, ``HOME=home``), no inherited
    inventory or config."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("IPSECCTL_INVENTORY", "IPSECCTL_CONFIG", "IPSECCTL_READ_ONLY")
    }
    full_env = {
        **base,
        "IPSECCTL_STATE_DIR": str(home / "state"),
        "IPSECCTL_DATA_DIR": str(home / "data"),
        "HOME": str(home),  # no ~/.ssh/known_hosts or ~/.ssh/config of the real user
        "NO_COLOR": "1",
        "COLUMNS": "200",
        **(env or {}),
    }
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [sys.executable, "-m", "ipsecctl", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=home,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


def console_modules(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> tuple[CliRun, set[str]]:
    """Run the console script's entry with ``args`` in a fresh interpreter: the process, and
    the modules it had imported when it left (written by an exit handler, so the console's
    fast exit still reports them)."""
    program = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.stderr.write("
        "'\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n'))\n"
        f"sys.argv = ['ipsecctl', *{args!r}]\n"
        "from ipsecctl.cli.console import run\n"
        "run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=timeout
    )
    run = CliRun(proc.returncode, proc.stdout, proc.stderr)
    line = next((x for x in proc.stderr.splitlines() if x.startswith("MODULES ")), None)
    assert line is not None, run
    return run, set(json.loads(line[len("MODULES ") :]))


def cache_entries(root: Path, kind: str) -> list[Path]:
    """The entries of one of ipsecctl's caches (``data``, ``inventory``) under ``root``."""
    folder = root / kind
    return sorted(folder.glob("*.json")) if folder.is_dir() else []
