"""Loading good inventories: inheritance, connection options, aliases, forms, examples."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from inventory import MASK, Host, Secret
from tests.inventory.conftest import load_inventory

from .conftest import EXAMPLES

HOSTS = """
r1:
  hostname: 127.0.0.11
  groups: [hubs, eu]
  data:
    site: fra
    color: red
r2:
  groups: [branches]
  port: 2201
  username: alice
  password: hostpw
  data:
    tags: [pilot]
r3:
  platform: linux
  groups: []
"""

GROUPS = """
global:
  username: g-user
  data:
    tier: global
    color: green
    tags: [prod]
eu:
  groups: [global]
  port: 2022
  data:
    region: eu
hubs:
  platform: iosxe
  password: hubpw
  connection_options:
    netmiko:
      extras:
        secret: netmiko-enable
    ipsecctl:
      port: 2200
      extras:
        secret: ipsecctl-enable
  data:
    role: hub
    color: blue
branches:
  groups: [global]
  platform: cisco_ios
  enable_secret: branch-enable
  data:
    expected_up: [10.0.0.1, "2001:DB8::1"]
"""

DEFAULTS = """
username: d-user
password: d-pw
data:
  tier: default
  known_hosts: [kh/extra_known_hosts]
"""


@pytest.fixture
def inv(write):
    return load_inventory(write(hosts=HOSTS, groups=GROUPS, defaults=DEFAULTS), env={})


def test_host_values_win_then_groups_in_order_then_defaults(inv):
    r1 = inv.get("r1")
    assert r1.hostname == "127.0.0.11"
    assert r1.platform == "cisco_iosxe"  # alias from group hubs
    # ipsecctl connection options beat the plain port of group eu (nornir semantics)
    assert r1.port == 2200
    assert r1.username == "g-user"  # eu -> global (nested group) before defaults
    assert r1.password is not None and r1.password.get() == "hubpw"
    assert r1.enable_secret is not None and r1.enable_secret.get() == "ipsecctl-enable"
    # data: host > hubs > eu > global > defaults, key by key
    assert r1.data["site"] == "fra"
    assert r1.data["color"] == "red"
    assert r1.data["role"] == "hub"
    assert r1.data["region"] == "eu"
    assert r1.data["tier"] == "global"
    assert r1.groups == ("hubs", "eu")
    assert r1.tags == ("prod",)


def test_defaults_and_builtin_defaults(inv):
    r2 = inv.get("r2")
    assert r2.hostname == "r2"  # hostname defaults to the name
    assert r2.port == 2201
    assert r2.username == "alice"
    assert r2.password is not None and r2.password.get() == "hostpw"
    assert r2.enable_secret is not None and r2.enable_secret.get() == "branch-enable"
    assert r2.expected_up == ("10.0.0.1", "2001:db8::1")
    assert r2.is_expected_up("2001:db8::1") is True
    assert r2.is_expected_up("10.0.0.9") is False
    assert set(r2.tags) == {"pilot", "prod"}
    r3 = inv.get("r3")
    assert r3.platform == "strongswan"
    assert r3.port is None  # unset: ssh_config Port applies, else the transport uses 22
    assert r3.as_dict()["port"] is None
    assert r3.username == "d-user"
    assert r3.password is not None and r3.password.get() == "d-pw"
    assert r3.enable_secret is None
    assert r3.expected_up is None and r3.is_expected_up("10.0.0.1") is None
    assert r3.use_agent is True


def test_known_hosts_resolved_against_inventory_dir(inv, tmp_path):
    assert inv.get("r3").known_hosts == ((tmp_path / "kh" / "extra_known_hosts").resolve(),)


def test_netmiko_secret_used_without_ipsecctl_options(write):
    inv = load_inventory(
        write(
            hosts="""
            a:
              platform: asa
              connection_options:
                netmiko: {extras: {secret: en1, fast_cli: false}}
                paramiko: {extras: {key_filename: /k/id, allow_agent: "no"}}
                napalm: {extras: {optional_args: {anything: 1}}}
            """
        ),
        env={},
    )
    a = inv.get("a")
    assert a.platform == "cisco_asa"
    assert a.enable_secret is not None and a.enable_secret.get() == "en1"
    assert a.key_file == Path("/k/id")
    assert a.use_agent is False


def test_secrets_never_in_repr_str_or_as_dict(inv):
    r1 = inv.get("r1")
    for text in (repr(r1), str(r1), repr(inv), str(r1.as_dict()), f"{r1.password}"):
        assert "hubpw" not in text
        assert "ipsecctl-enable" not in text
    d = r1.as_dict()
    assert d["password"] == MASK and d["enable_secret"] == MASK
    assert r1.as_dict(redact=False)["password"] == "hubpw"
    assert pickle.loads(pickle.dumps(r1.password)) == Secret("hubpw")


def test_as_dict_masks_secret_looking_data(write):
    inv = load_inventory(
        write(hosts="a: {platform: ios, data: {psk: topsecret, nested: {password: x}, ok: 1}}"),
        env={},
    )
    d = inv.get("a").as_dict()
    assert d["data"] == {"psk": MASK, "nested": {"password": MASK}, "ok": 1}


def test_single_file_form(write, tmp_path):
    write(
        fleet="""
        defaults: {username: u, platform: cisco_ios}
        groups:
          g: {port: 2022}
        hosts:
          a: {groups: [g]}
          b: {}
        """
    )
    inv = load_inventory(tmp_path / "fleet.yaml", env={})
    assert [h.name for h in inv] == ["a", "b"]
    assert inv.get("a").port == 2022 and inv.get("b").username == "u"


def test_explicit_hosts_file_picks_up_siblings(write, tmp_path):
    write(hosts="a: {groups: [g]}", groups="g: {platform: ios}")
    assert load_inventory(tmp_path / "hosts.yaml", env={}).get("a").platform == "cisco_ios"
    other = tmp_path / "elsewhere.yaml"
    other.write_text("g: {platform: asa}\n")
    inv = load_inventory(hosts_file=tmp_path / "hosts.yaml", groups_file=other, env={})
    assert inv.get("a").platform == "cisco_asa"


def test_jump_hosts_resolve_to_hosts_or_proxyjump(write):
    inv = load_inventory(
        write(
            hosts="""
            bastion: {hostname: 127.0.0.5}
            inner: {jump_host: bastion}
            r1:
              platform: ios
              connection_options: {ipsecctl: {extras: {jump_host: inner}}}
            r2: {platform: ios, jump_host: "ops@[::1]:2222,admin@127.0.0.9"}
            """
        ),
        env={},
    )
    r1 = inv.get("r1")
    assert isinstance(r1.jump_host, Host) and r1.jump_host.name == "inner"
    assert [h.name if isinstance(h, Host) else h for h in r1.jump_chain()] == ["bastion", "inner"]
    assert inv.get("r2").jump_host == "ops@[::1]:2222,admin@127.0.0.9"
    # platform-less hosts are jump hosts only: never selected by all
    assert [h.name for h in inv.select([])] == ["r1", "r2"]


def test_with_overrides_repoints_jump_hosts(write):
    inv = load_inventory(
        write(hosts="j: {username: a}\nr: {platform: ios, jump_host: j, username: b}"), env={}
    )
    new = inv.with_overrides(username="cli", password="pw")
    r = new.get("r")
    assert r.username == "cli" and r.password == Secret("pw")
    assert isinstance(r.jump_host, Host) and r.jump_host is new.get("j")
    assert r.jump_host.username == "cli"
    assert inv.get("r").username == "b"  # the original is untouched


@pytest.mark.parametrize("name", ["nornir", "single.yaml"])
def test_shipped_examples_load(name):
    env = {"IPSECCTL_NET_PASSWORD": "pw", "USER": "me"}
    inv = load_inventory(EXAMPLES / name, env=env)
    assert len(inv.devices) >= 3
    platforms = {h.platform for h in inv.devices}
    assert "cisco_iosxe" in platforms and "strongswan" in platforms


def test_nornir_example_fleet_shape():
    inv = load_inventory(EXAMPLES / "nornir", env={"IPSECCTL_NET_PASSWORD": "pw"})
    assert {h.platform for h in inv.devices} == set(
        ("cisco_ios", "cisco_iosxe", "cisco_asa", "strongswan")
    )
    hub = inv.get("hub-1")
    assert isinstance(hub.jump_host, Host) and hub.jump_host.name == "bastion"
    assert inv.get("br-par").port == 2222
    assert inv.get("br-lon").enable_secret is None  # ${IPSECCTL_BRANCH_ENABLE:-} unset = none
    assert [h.name for h in inv.select(["group:hubs"])] == ["hub-1", "hub-2"]


def test_transport_per_host_group_or_connection_options(write):
    """``transport`` is inherited like the other connection settings; nornir inventories set
    it under ``connection_options.ipsecctl.extras``; unset, the command's own applies."""
    inv = load_inventory(
        write(
            hosts="""
r1: {groups: [big], platform: ios}
r2: {groups: [big], platform: ios, transport: Paramiko}
r3:
  platform: asa
  connection_options:
    ipsecctl: {extras: {transport: openssh}}
r4: {platform: ios}
""",
            groups="big: {transport: openssh}\n",
        ),
        env={},
    )
    assert [inv.get(n).transport for n in ("r1", "r2", "r3", "r4")] == [
        "openssh",
        "paramiko",
        "openssh",
        None,
    ]
    assert inv.get("r1").as_dict()["transport"] == "openssh"


def test_inventory_and_settings_name_the_same_transports():
    from inventory.schema import TRANSPORTS
    from ipsecctl.settings import TRANSPORTS as SETTINGS_TRANSPORTS

    assert TRANSPORTS == SETTINGS_TRANSPORTS
