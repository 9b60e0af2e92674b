"""The lab's device glue without root: the inventory it writes and the forced command."""

from __future__ import annotations

import subprocess
from pathlib import Path

from inventory.loader import load_inventory
from ipsecctl.lab.gateway import DeviceEndpoint, forced_command, write_inventory


def test_written_inventory_loads_with_keys_and_known_hosts(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    endpoints = [
        DeviceEndpoint(f"gw-{w}", f"127.0.0.{n}", 2200 + n, "root", tmp_path / f"key_{w}", known)
        for w, n in (("a", 101), ("b", 102))
    ]
    path = write_inventory(tmp_path / "inv.yaml", endpoints, expected_up=True)
    assert path.stat().st_mode & 0o777 == 0o600
    inv = load_inventory(path, env={}, apply_env=False)
    assert list(inv.hosts) == ["gw-a", "gw-b"]
    host = inv.hosts["gw-b"]
    assert (host.hostname, host.port, host.username, host.platform) == (
        "127.0.0.102",
        2302,
        "root",
        "strongswan",
    )
    assert Path(str(host.key_file)) == tmp_path / "key_b"
    assert host.known_hosts == (known,)
    assert host.use_agent is False and host.expected_up is True
    assert host.password is None


def test_forced_command_runs_the_clients_command_line_verbatim(tmp_path: Path) -> None:
    """The script is valid sh and hands $SSH_ORIGINAL_COMMAND over untouched (quotes,
    spaces and metacharacters in the namespace name or the path cannot break out)."""
    script = forced_command("ns'; touch /tmp/x; '", tmp_path / "run dir")
    assert subprocess.run(["sh", "-n", "-c", script], check=False).returncode == 0
    # replace ip netns exec / unshare / mount with echo to see what would run
    dry = script.replace("exec ip netns exec", "exec echo ip netns exec")
    out = subprocess.run(
        ["sh", "-c", dry], capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"}
    ).stdout
    assert out.startswith("ip netns exec ns'; touch /tmp/x; ' unshare --mount")
    assert out.rstrip().endswith(f"ipsecctl-gw {tmp_path / 'run dir'}")
