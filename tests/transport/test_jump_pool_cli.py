"""The CLI's path (inventory -> SessionPool -> Collector) logs in to a shared bastion once.

Counted on the bastion itself: a real OpenSSH sshd at LogLevel VERBOSE logs one
``Accepted publickey`` per login, whatever the client believes it did.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory import load_inventory
from ipsecctl.collect import Collector
from ipsecctl.sessions import SessionPool
from ipsecctl.settings import Settings

from .conftest import Sshd
from .ios_server import IosServer


def _inventory(path: Path, bastion: Sshd, routers: list[IosServer]) -> Path:
    hosts = "".join(
        f"  r{i:02d}:\n    hostname: {r.address}\n    port: {r.port}\n    jump_host: bastion\n"
        for i, r in enumerate(routers, start=5)
    )
    first = routers[0]
    path.write_text(
        "hosts:\n"
        "  bastion:\n"
        f"    hostname: {bastion.address}\n    port: {bastion.port}\n"
        f"    username: {bastion.user}\n    key_file: {bastion.client_key}\n"
        "    use_agent: false\n"
        f"{hosts}"
        "defaults:\n  platform: cisco_ios\n  username: admin\n"
        f"  password: {first.password}\n  enable_secret: {first.enable_secret}\n"
        "  use_agent: false\n"
    )
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_devices_behind_one_bastion_cost_one_login(
    verbose_sshd: Sshd, tmp_path: Path, workers: int
) -> None:
    with IosServer(address="127.0.0.15") as r05, IosServer(address="127.0.0.16") as r06:
        inv = load_inventory(_inventory(tmp_path / "inv.yaml", verbose_sshd, [r05, r06]), env={})
        settings = Settings(known_hosts=tmp_path / "known_hosts")
        pool = SessionPool(settings, host_key_policy="accept-new")
        with Collector(pool, workers=workers) as collector:
            states = collector.poll(inv.select(["r05", "r06"]))
            assert [s.reachable for s in states] == [True, True], states
            # a second poll reuses the sessions and the jump transport
            collector.poll(inv.select(["r05", "r06"]))
        assert (r05.connections, r06.connections) == (1, 1)
    assert verbose_sshd.logins() == 1, verbose_sshd.log.read_text()
