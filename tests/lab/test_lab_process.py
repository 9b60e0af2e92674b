"""``ipsecctl lab up/status/down`` and the start_lab/find_lab API: a real background process."""

from __future__ import annotations

import json
import os
import stat

import paramiko
import pytest
import yaml

from ipsecctl.cli.app import main
from ipsecctl.lab import find_lab, start_lab


def test_up_status_down_cycle(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
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
        c.connect(r.address, port=r.port, username=user, password=password,
                  look_for_keys=False, allow_agent=False, timeout=10)
        _, o, _ = c.exec_command("show crypto isakmp sa")
        assert "IPv4 Crypto ISAKMP SA" in o.read().decode()
        c.close()
    finally:
        assert main(["lab", "down", "--dir", str(d)]) in (0, None)
    assert find_lab(d) is None
    assert main(["lab", "status", "--dir", str(d)]) == 1
    assert (d / "keys").is_dir()  # host keys survive, so known_hosts stays valid next time


def test_start_lab_api_and_bad_input(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ipsecctl.errors import UsageError

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
