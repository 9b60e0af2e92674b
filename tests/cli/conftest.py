"""A lab of simulated routers and a runner for the real ``ipsecctl`` console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab import Lab


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("cli-lab")
    with Lab(directory, devices=12, seed=1, time_scale=20.0) as running:
        yield running


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def cli(state_dir: Path, tmp_path: Path) -> Any:
    """Run ``python -m ipsecctl ...`` as a new user would: own process, no terminal."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> Run:
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in ("IPSECCTL_INVENTORY", "IPSECCTL_CONFIG", "IPSECCTL_READ_ONLY")
        }
        full_env = {
            **base,
            "IPSECCTL_STATE_DIR": str(state_dir),
            "IPSECCTL_DATA_DIR": str(tmp_path / "data"),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **(env or {}),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "ipsecctl", *args],
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    return run
