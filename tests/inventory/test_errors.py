"""Bad inventories: every error names the file, the line and the field."""

from __future__ import annotations

import pytest

from inventory import InventoryError
from tests.inventory.conftest import load_inventory


def fails(root, **kw) -> str:
    with pytest.raises(InventoryError) as err:
        load_inventory(root, env={}, **kw)
    return str(err.value)


def test_bad_port_on_its_line(write):
    root = write(hosts="r0: {platform: ios}\n\nr1:\n  platform: ios\n  port: 70000\n")
    assert fails(root) == (
        f"{root / 'hosts.yaml'}:5: host 'r1': port: must be an integer 1-65535, got 70000"
    )


def test_bad_value_reported_where_written_in_groups(write):
    root = write(hosts="r1: {groups: [g]}", groups="g:\n  platform: junos\n")
    msg = fails(root)
    assert msg.startswith(f"{root / 'groups.yaml'}:2: group 'g': platform: unknown platform")
    # the known platforms are ipsecctl's platform files, with their aliases
    assert "known: cisco_asa, cisco_ios, cisco_iosxe, libreswan, strongswan" in msg
    assert "asa=cisco_asa" in msg


def test_without_a_registry_any_platform_name_is_taken_as_written(write):
    from inventory import load_inventory as standalone

    root = write(hosts="r1: {platform: JunOS}\n")
    assert standalone(root, env={}).hosts["r1"].platform == "junos"


def test_unknown_key_suggests(write):
    root = write(hosts="r1:\n  platform: ios\n  hostnmae: x\n")
    msg = fails(root)
    assert msg.startswith(f"{root / 'hosts.yaml'}:3: host 'r1': hostnmae: unknown key")
    assert "did you mean: hostname" in msg


def test_undefined_group(write):
    root = write(
        hosts="r1:\n  platform: ios\n  groups:\n    - hubs\n    - branchs\n",
        groups="hubs: {}\nbranches: {}\n",
    )
    msg = fails(root)
    assert msg.startswith(f"{root / 'hosts.yaml'}:5: host 'r1': groups: group 'branchs'")
    assert "did you mean: branches" in msg


def test_circular_groups(write):
    root = write(
        hosts="r1: {platform: ios, groups: [a]}", groups="a:\n  groups: [b]\nb:\n  groups: [a]\n"
    )
    msg = fails(root)
    assert "circular group membership: a -> b -> a" in msg
    assert msg.startswith(f"{root / 'groups.yaml'}:4: group 'b': groups:")


def test_unknown_jump_host(write):
    root = write(hosts="bastion: {}\nr1:\n  platform: ios\n  jump_host: bastoin\n")
    msg = fails(root)
    assert msg.startswith(f"{root / 'hosts.yaml'}:4: jump_host:")
    assert "'bastoin', which is not in the inventory (did you mean: bastion?)" in msg


def test_jump_loop_and_bad_proxyjump(write):
    root = write(hosts="a: {platform: ios, jump_host: b}\nb: {platform: ios, jump_host: a}\n")
    assert "jump hosts form a loop: a -> b -> a" in fails(root)
    root = write(hosts="a: {platform: ios, jump_host: 'u@h:99999'}\n")
    assert "is not a ProxyJump hop" in fails(root)


def test_missing_platform(write):
    root = write(hosts="r1: {hostname: 127.0.0.1}\n")
    assert fails(root).startswith(f"{root / 'hosts.yaml'}:1: host 'r1': platform: missing")


def test_yaml_syntax_error_has_line(write):
    root = write(hosts="r1:\n  platform: ios\n  port: [22\nr2: {}\n")
    msg = fails(root)
    assert msg.startswith(f"{root / 'hosts.yaml'}:")
    assert "YAML syntax error" in msg
    line = int(msg.split(":")[1])
    assert 3 <= line <= 4


def test_control_character_is_a_one_line_error_with_line(write):
    root = write(hosts="r0: {platform: ios}\nr1: {platform: ios\x07}\n")
    assert fails(root) == (
        f"{root / 'hosts.yaml'}:2: character U+0007 is not allowed in YAML; remove it"
    )


def test_duplicate_host(write):
    root = write(hosts="r1: {platform: ios}\nr2: {platform: ios}\nr1: {platform: asa}\n")
    assert fails(root) == f"{root / 'hosts.yaml'}:3: duplicate key 'r1' (first at line 1)"


def test_merge_keys_are_not_duplicates(write):
    root = write(hosts="base: &b {platform: ios, port: 2022}\nr1:\n  <<: *b\n  port: 2023\n")
    assert load_inventory(root, env={}).get("r1").port == 2023


@pytest.mark.parametrize(
    ("hosts", "problem"),
    [
        ("", "no hosts defined"),
        ("# only a comment\n", "no hosts defined"),
        ("- r1\n- r2\n", "expected a mapping of hosts by name, got LineList"),
        ("r1: [a, b]\n", "host 'r1': entry: must be a mapping"),
        ("r1: {platform: ios, data: [1]}\n", "host 'r1': data: must be a mapping"),
        ("r1: {platform: ios, password: [1]}\n", "host 'r1': password: must be a string"),
        ("r1: {platform: ios, use_agent: maybe}\n", "use_agent: must be true or false"),
        ("r1: {platform: ios, data: {expected_up: [nope]}}\n", "data.expected_up[0]: 'nope'"),
        (
            "r1: {platform: ios, connection_options: {ipsecctl: {prot: 1}}}\n",
            "connection_options.ipsecctl.prot: unknown key (did you mean: port?)",
        ),
    ],
)
def test_bad_shapes(write, hosts, problem):
    root = write(hosts=hosts)
    assert problem in fails(root)


def test_missing_files(tmp_path):
    assert "no hosts.yaml in this directory" in fails(tmp_path)
    assert "file not found" in fails(tmp_path / "hosts.yaml")


def test_password_never_echoed_in_errors(write):
    root = write(hosts="r1: {platform: ios, port: 0, password: hunter2}\n")
    assert "hunter2" not in fails(root)


def test_unknown_transport_on_its_line(write):
    root = write(hosts="r1:\n  platform: ios\n  transport: telnet\n")
    assert fails(root) == (
        f"{root / 'hosts.yaml'}:3: host 'r1': transport: must be one of paramiko, openssh, "
        "got 'telnet'"
    )
