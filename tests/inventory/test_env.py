"""${ENV} interpolation and the CLI > environment > inventory precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory import InventoryError, find_inventory
from tests.inventory.conftest import load_inventory


def test_interpolation_everywhere_with_defaults(write):
    root = write(
        hosts="""
        r1:
          hostname: ${R1_ADDR}
          platform: ${PLAT:-cisco_ios}
          port: ${R1_PORT}
          password: pre-${PW}-post
          data:
            note: ["${EMPTY:-fallback}", "${EMPTY-kept}", "$${LITERAL}"]
        """
    )
    env = {"R1_ADDR": "127.0.0.20", "R1_PORT": "2022", "PW": "x1", "EMPTY": ""}
    r1 = load_inventory(root, env=env).get("r1")
    assert (r1.hostname, r1.platform, r1.port) == ("127.0.0.20", "cisco_ios", 2022)
    assert r1.password is not None and r1.password.get() == "pre-x1-post"
    assert r1.data["note"] == ["fallback", "", "${LITERAL}"]


def test_missing_variable_names_file_line_and_field(write):
    root = write(
        hosts="""
        r1:
          platform: ios
          connection_options:
            netmiko:
              extras:
                secret: ${R1_ENABLE}
        """
    )
    with pytest.raises(InventoryError) as err:
        load_inventory(root, env={})
    msg = str(err.value)
    assert msg.startswith(f"{root / 'hosts.yaml'}:6: ")
    assert "connection_options.netmiko.extras.secret" in msg
    assert "R1_ENABLE is not set" in msg


def test_env_credentials_override_inventory_and_cli_overrides_env(write):
    root = write(hosts="r1: {platform: ios, username: inv, password: invpw, enable_secret: inven}")
    env = {"IPSECCTL_USERNAME": "envuser", "IPSECCTL_PASSWORD": "envpw"}
    inv = load_inventory(root, env=env)
    r1 = inv.get("r1")
    assert r1.username == "envuser" and r1.password is not None
    assert r1.password.get() == "envpw"
    assert r1.enable_secret is not None and r1.enable_secret.get() == "inven"
    cli = inv.with_overrides(username="cliuser", enable_secret="clien").get("r1")
    assert cli.username == "cliuser"
    assert cli.password is not None and cli.password.get() == "envpw"
    assert cli.enable_secret is not None and cli.enable_secret.get() == "clien"
    untouched = load_inventory(root, env=env, apply_env=False).get("r1")
    assert untouched.username == "inv"


def test_find_inventory_order(tmp_path: Path):
    explicit = tmp_path / "x"
    explicit.mkdir()
    from_env = tmp_path / "e.yaml"
    from_env.write_text("hosts: {}\n")
    env = {"IPSECCTL_INVENTORY": str(from_env)}
    assert find_inventory(str(explicit), env=env, cwd=tmp_path) == explicit
    assert find_inventory(None, env=env, cwd=tmp_path) == from_env
    assert find_inventory(None, env={}, cwd=tmp_path) is None
    (tmp_path / "inventory").mkdir()
    assert find_inventory(None, env={}, cwd=tmp_path) is None  # no hosts.yaml: not ours
    (tmp_path / "inventory" / "hosts.yaml").write_text("r: {}\n")
    assert find_inventory(None, env={}, cwd=tmp_path) == tmp_path / "inventory"
    with pytest.raises(InventoryError, match=r"IPSECCTL_INVENTORY: .*no such file"):
        find_inventory(None, env={"IPSECCTL_INVENTORY": str(tmp_path / "nope")}, cwd=tmp_path)
    with pytest.raises(InventoryError, match="--inventory"):
        find_inventory(tmp_path / "nope", env={}, cwd=tmp_path)


def test_credential_sources_follow_the_precedence(write):
    root = write(
        hosts="r1: {platform: ios, groups: [g], password: invpw}\nr2: {platform: ios}\n",
        groups="g:\n  username: guser\n  key_file: ~/.ssh/id_lab\n",
    )
    inv = load_inventory(root, env={})
    r1 = inv.get("r1")
    assert r1.credential_sources == {
        "username": f"{root / 'groups.yaml'}:2",
        "password": f"{root / 'hosts.yaml'}:1",
        "key_file": f"{root / 'groups.yaml'}:3",
    }
    assert inv.get("r2").credential_sources == {}
    env = load_inventory(root, env={"IPSECCTL_PASSWORD": "envpw"})
    assert env.get("r1").credential_sources["password"] == "IPSECCTL_PASSWORD"
    assert env.get("r2").credential_sources == {"password": "IPSECCTL_PASSWORD"}
    cli = env.with_overrides(username="cliuser").get("r1")
    assert cli.credential_sources["username"] == "the command line"
    assert cli.credential_sources["password"] == "IPSECCTL_PASSWORD"
    assert "credential_sources" not in repr(cli)
