"""``ipsecctl lab up/status/down`` and the start_lab/find_lab API: a real background process."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest
import yaml

from ipsecctl.cli.app import main
from ipsecctl.lab import find_lab, start_lab


def test_up_status_down_cycle(tmp_path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("IPSECCTL_STATE_DIR", str(tmp_path / "state"))
    d = tmp_path / "lab"
    rc = main(["lab", "up", "--dir", str(d), "--devices", "6", "--seed", "2"])
    out = capsys.readouterr().out
    assert rc in (0, None)
    inv = out.strip().splitlines()[-1]
    assert inv == str(d / "inventory")
    try:
        hosts = yaml.safe_load((d / "inventory" / "hosts.yaml").read_text())
        defaults = yaml.safe_load((d / "inventory" / "defaults.yaml").read_text())
        assert len(hosts) == 6
        h = hosts["r1" if "r1" in hosts else next(iter(hosts))]
        assert h["platform"] in ("cisco_ios", "cisco_iosxe") and h["data"]["lab"] is True
        assert defaults["data"]["known_hosts"] == str(d / "known_hosts")
        assert stat.S_IMODE(os.stat(d / "inventory" / "defaults.yaml").st_mode) == 0o600
        # a second `up` refuses (exit 1); --reuse prints the same inventory
        assert main(["lab", "up", "--dir", str(d)]) == 1
        capsys.readouterr()
        assert main(["lab", "up", "--dir", str(d), "--reuse"]) in (0, None)
        assert capsys.readouterr().out.strip().splitlines()[-1] == inv
        assert main(["lab", "status", "--dir", str(d), "--json"]) in (0, None)
        doc = json.loads(capsys.readouterr().out)
        assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "lab status"
        assert doc["running"] is True and len(doc["routers"]) == 6
        assert set(doc["routers"][0]) == {"name", "address", "port", "platform", "scenario"}
        handle = find_lab(d)
        assert handle is not None and handle.running
        user, password, _secret = handle.credentials()
        r = handle.routers[0]
        c = paramiko.SSHClient()
        c.load_host_keys(str(handle.known_hosts))
        c.set_missing_host_key_policy(paramiko.RejectPolicy())
        c.connect(
            r.address,
            port=r.port,
            username=user,
            password=password,
            look_for_keys=False,
            allow_agent=False,
            timeout=10,
        )
        _, o, _ = c.exec_command("show crypto isakmp sa")
        assert "IPv4 Crypto ISAKMP SA" in o.read().decode()
        c.close()
    finally:
        assert main(["lab", "down", "--dir", str(d)]) in (0, None)
    assert find_lab(d) is None
    assert main(["lab", "status", "--dir", str(d)]) == 1
    assert not d.exists()  # outside the state directory nothing is left behind


def test_start_lab_api_and_bad_input(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ipsecctl.errors import UsageError

    monkeypatch.setenv("IPSECCTL_STATE_DIR", str(tmp_path / "state"))
    with pytest.raises(UsageError):
        start_lab(tmp_path, devices=0)
    with pytest.raises(UsageError):
        start_lab(tmp_path, time_scale=0)
    handle = start_lab(tmp_path / "x", devices=3, seed=4, time_scale=10.0)
    try:
        assert handle.inventory_path.is_dir() and handle.known_hosts.is_file()
        assert [r.name for r in handle.routers] == ["r01", "r02", "r03"]
        assert handle.time_scale == 10.0
    finally:
        handle.stop()
    assert not handle.running


def _cli(
    state: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = {
        k: v
        for k, v in os.environ.items()
        if k not in ("IPSECCTL_INVENTORY", "IPSECCTL_CONFIG", "IPSECCTL_LAB")
    }
    full.update(IPSECCTL_STATE_DIR=str(state), NO_COLOR="1", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "ipsecctl", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=cwd or state.parent,
    )


def test_a_lab_started_with_dir_is_found_without_options(tmp_path: Path) -> None:
    """lab up --dir D records D: status, info and lab status find it; two labs run side by
    side and --lab / IPSECCTL_LAB pick one."""
    state = tmp_path / "state"
    one, two = tmp_path / "one", tmp_path / "two"
    try:
        up = _cli(state, "lab", "up", "--dir", str(one), "-n", "3", "--seed", "2")
        assert up.returncode == 0, up.stderr
        assert up.stdout.strip().splitlines()[-1] == str(one / "inventory")
        st = _cli(state, "status", "--json")
        assert st.returncode in (0, 3), st.stderr
        assert [d["device"] for d in json.loads(st.stdout)["devices"]] == ["r01", "r02", "r03"]
        assert str(one / "inventory") in st.stderr  # says which lab it used
        info = json.loads(_cli(state, "info", "--json").stdout)
        assert info["info"]["lab_running"] is True
        assert info["info"]["lab_inventory"] == str(one / "inventory")
        up2 = _cli(state, "lab", "up", "--dir", str(two), "-n", "4", "--seed", "3")
        assert up2.returncode == 0, up2.stderr
        listed = json.loads(_cli(state, "lab", "list", "--json").stdout)["labs"]
        assert {(x["dir"], x["running"], x["devices"]) for x in listed} == {
            (str(one), True, 3),
            (str(two), True, 4),
        }
        s1 = json.loads(_cli(state, "lab", "status", "--lab", str(one), "--json").stdout)
        s2 = json.loads(_cli(state, "lab", "status", "--lab", str(two), "--json").stdout)
        assert (len(s1["routers"]), len(s2["routers"])) == (3, 4)
        picked = _cli(state, "status", "--json", env={"IPSECCTL_LAB": str(one)})
        assert len(json.loads(picked.stdout)["devices"]) == 3
    finally:
        assert _cli(state, "lab", "down", "--all").returncode == 0
    assert not one.exists() and not two.exists()
    assert json.loads(_cli(state, "lab", "list", "--json").stdout)["labs"] == []


def test_kill_9_then_the_next_up_cleans_up(tmp_path: Path) -> None:
    state = tmp_path / "state"
    dead = tmp_path / "dead"
    up = _cli(state, "lab", "up", "--dir", str(dead), "-n", "3")
    assert up.returncode == 0, up.stderr
    pid = json.loads((dead / "state.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # reaped by init: the lab process is gone, its files are not
    assert (dead / "state.json").exists()
    st = json.loads(_cli(state, "lab", "status", "--lab", str(dead), "--json").stdout)
    assert st["running"] is False
    other = tmp_path / "other"
    up2 = _cli(state, "lab", "up", "--dir", str(other), "-n", "3")
    assert up2.returncode == 0, up2.stderr
    assert f"removed the stale lab in {dead}" in up2.stderr
    assert not dead.exists()
    assert _cli(state, "lab", "down", "--lab", str(other)).returncode == 0
    assert not other.exists()


def test_kill_9_then_down_cleans_up(tmp_path: Path) -> None:
    state = tmp_path / "state"
    d = tmp_path / "lab"
    assert _cli(state, "lab", "up", "--dir", str(d), "-n", "2").returncode == 0
    os.kill(json.loads((d / "state.json").read_text())["pid"], signal.SIGKILL)
    time.sleep(0.3)
    down = _cli(state, "lab", "down")
    assert down.returncode == 0, down.stderr
    assert not d.exists()
