"""Authentication errors say whose login failed and where its credentials came from."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from inventory import load_inventory
from ipsecctl.collect import Collector
from ipsecctl.errors import AuthenticationError
from ipsecctl.platforms import get_platform
from ipsecctl.sessions import SessionPool
from ipsecctl.settings import Settings
from ipsecctl.transport import open_session

from .conftest import Sshd, ios_params, isolated_known, trust
from .ios_server import IosServer

IOS = get_platform("cisco_ios")


def test_proxy_jump_without_any_key_names_the_login_and_the_fixes(
    sshd: Sshd, known_file: Path, ios: IosServer
) -> None:
    trust(known_file, sshd.address, sshd.port, sshd.host_key)
    trust(known_file, ios.address, ios.port, ios.host_key)
    params = ios_params(
        ios, known_file, jump=f"{sshd.address}:{sshd.port}", use_agent=False, key_filename=()
    )
    with pytest.raises(AuthenticationError) as err:
        open_session(params, IOS, known_hosts=isolated_known(known_file))
    message = str(err.value)
    assert err.value.device == "rtr-01"
    assert message.startswith(
        f"rtr-01: no credentials to log in as {getpass.getuser()}@{sshd.address}:{sshd.port} "
        "(jump host): no password, key file or ssh-agent key was available"
    ), message
    assert "key_file" in message and "IPSECCTL_PASSWORD" in message
    assert "No authentication methods" not in message


def _poll_error(inv_path: Path, tmp_path: Path, env: dict[str, str]) -> str:
    inv = load_inventory(inv_path, env=env)
    pool = SessionPool(Settings(known_hosts=tmp_path / "kh"), host_key_policy="accept-new")
    with Collector(pool, workers=1) as collector:
        [state] = collector.poll(inv.select(["r01"]))
    assert not state.reachable
    [error] = state.errors
    assert error.kind == "auth", error
    return error.message


def test_auth_error_names_where_the_rejected_password_came_from(
    ios: IosServer, tmp_path: Path
) -> None:
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(
        f"r01:\n  hostname: {ios.address}\n  port: {ios.port}\n  groups: [lab]\n"
    )
    (inv / "groups.yaml").write_text("lab:\n  platform: cisco_ios\n  username: admin\n")
    (inv / "defaults.yaml").write_text("password: not-the-password\nuse_agent: false\n")
    message = _poll_error(inv, tmp_path, {})
    assert message == (
        f"authentication failed for admin@r01 ({ios.address}:{ios.port}); "
        f"check username from {inv / 'groups.yaml'}:3, password from {inv / 'defaults.yaml'}:1"
    ), message
    message = _poll_error(inv, tmp_path, {"IPSECCTL_PASSWORD": "also-wrong"})
    assert "password from IPSECCTL_PASSWORD" in message, message
    assert "defaults.yaml" not in message and "in the inventory" not in message
