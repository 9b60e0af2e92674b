"""What the console script loads for a poll over SSH (paramiko, the default transport)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ipsecctl.lab import Lab


def test_an_ssh_poll_leaves_invoke_unimported(lab: Lab, tmp_path: Path) -> None:
    """paramiko's import of invoke (for ssh_config's ``Match exec``) is taken by the console's
    stand-in: a poll of every lab router over SSH gives every router's status without
    importing invoke's modules."""
    program = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: sys.stderr.write("
        "'\\nMODULES ' + json.dumps(sorted(sys.modules)) + '\\n'))\n"
        f"sys.argv = ['ipsecctl', '-i', {str(lab.inventory_path)!r}, 'status', '--json']\n"
        "from ipsecctl.cli.console import run\n"
        "run()\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("IPSECCTL_")},
        "IPSECCTL_STATE_DIR": str(tmp_path / "state"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode in (0, 3), proc.stderr  # 3: the lab's broken scenarios
    devices = json.loads(proc.stdout)["devices"]
    assert [d["device"] for d in devices] == [r.name for r in lab.routers]
    assert all(d["reachable"] for d in devices)
    line = next(x for x in proc.stderr.splitlines() if x.startswith("MODULES "))
    modules = set(json.loads(line[len("MODULES ") :]))
    assert "paramiko" in modules
    assert "invoke.collection" not in modules and "invoke.context" not in modules
