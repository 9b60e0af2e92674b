"""What the console script loads for a poll over SSH (paramiko, the default transport)."""

from __future__ import annotations

import os
from pathlib import Path

from ipsecctl.lab import Lab
from tests.helpers import console_modules


def test_an_ssh_poll_leaves_invoke_unimported(lab: Lab, tmp_path: Path) -> None:
    """paramiko's import of invoke (for ssh_config's ``Match exec``) is taken by the console's
    stand-in: a poll of every lab router over SSH gives every router's status without
    importing invoke's modules."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("IPSECCTL_")},
        "IPSECCTL_STATE_DIR": str(tmp_path / "state"),
    }
    run, modules = console_modules(["-i", str(lab.inventory_path), "status", "--json"], env)
    assert run.code in (0, 3), run  # 3: the lab's broken scenarios
    devices = run.json["devices"]
    assert [d["device"] for d in devices] == [r.name for r in lab.routers]
    assert all(d["reachable"] for d in devices)
    assert "paramiko" in modules
    assert "invoke.collection" not in modules and "invoke.context" not in modules
