"""Fixtures: a small in-process lab, a spec between two of its routers, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipsecctl.lab import Lab
from tests.helpers import CliRun

PSK = "Prov-Test-Key-7f3a9c21"

# Run the real console entry point with the provision sub-app registered, whether or not the
# lead has already added it to ipsecctl/cli/app.py.
_ENTRY = (
    "import sys\n"
    "from ipsecctl.cli import app as m\n"
    "from ipsecctl.cli import provision\n"
    "if not any(g.name == 'provision' for g in m.app.registered_groups):\n"
    "    m.app.add_typer(provision.app, name='provision')\n"
    "sys.exit(m.main(sys.argv[1:]))\n"
)


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with Lab(tmp_path_factory.mktemp("prov-lab"), devices=4, seed=1, time_scale=1.0) as running:
        yield running


def lab_spec(lab: Lab, name: str, seq: int, **extra: Any) -> dict[str, Any]:
    """A tunnel between the lab's first two routers (IKEv2 crypto map, new map entry)."""
    ends = []
    for i, r in enumerate(lab.plan.routers[:2]):
        ends.append(
            {
                "name": r.name,
                "device": r.name,
                "platform": r.platform,
                "outside_interface": r.wan_if,
                "outside_address": r.address,
                "inside_networks": [f"10.{150 + i}.{seq % 250}.0/24"],
                "map_seq": seq,
            }
        )
    return {"name": name, "ike_version": 2, "psk": "${PROV_PSK}", "ends": ends, **extra}


def write_spec(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def prov(tmp_path: Path) -> Any:
    """Run ``ipsecctl ARGS`` in its own process (no terminal), PROV_PSK set, own state dir."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> CliRun:
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in ("IPSECCTL_INVENTORY", "IPSECCTL_CONFIG", "IPSECCTL_READ_ONLY")
        }
        full = {
            **base,
            "IPSECCTL_STATE_DIR": str(tmp_path / "state"),
            "IPSECCTL_DATA_DIR": str(tmp_path / "data"),
            "HOME": str(tmp_path),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            "PROV_PSK": PSK,
            **(env or {}),
        }
        proc = subprocess.run(
            [sys.executable, "-c", _ENTRY, *args],
            capture_output=True,
            text=True,
            env=full,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=tmp_path,
        )
        return CliRun(proc.returncode, proc.stdout, proc.stderr)

    return run
