"""Selecting targets: names, group:, tag:, all, and helpful errors for typos."""

from __future__ import annotations

import pytest

from inventory import InventoryError
from tests.inventory.conftest import load_inventory


@pytest.fixture
def inv(write):
    return load_inventory(
        write(
            hosts="""
            hub-1: {groups: [hubs], data: {tags: [core]}}
            hub-2: {groups: [hubs], jump_host: jump}
            br-lon: {groups: [branches], tags: [pilot]}
            br-par: {groups: [branches]}
            jump: {hostname: 127.0.0.3}
            """,
            groups="""
            wan: {platform: ios}
            hubs: {groups: [wan], platform: iosxe}
            branches: {groups: [wan]}
            """,
        ),
        env={},
    )


def names(hosts):
    return [h.name for h in hosts]


def test_all_and_default(inv):
    assert names(inv.select([])) == ["hub-1", "hub-2", "br-lon", "br-par"]
    assert names(inv.select(["all"])) == names(inv.select(None))


def test_groups_are_transitive_and_order_is_inventory_order(inv):
    assert names(inv.select(["group:wan"])) == ["hub-1", "hub-2", "br-lon", "br-par"]
    assert names(inv.select(["br-par", "group:hubs", "br-par"])) == [
        "hub-1",
        "hub-2",
        "br-par",
    ]


def test_tags_and_commas(inv):
    assert names(inv.select(["tag:pilot,tag:core"])) == ["hub-1", "br-lon"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("hub1", "unknown host 'hub1' (did you mean: hub-1, hub-2?)"),
        ("group:hub", "unknown group 'hub' (did you mean: hubs?)"),
        ("tag:pilots", "unknown tag 'pilots' (did you mean: pilot?)"),
    ],
)
def test_unknown_targets_suggest_close_matches(inv, target, expected):
    with pytest.raises(InventoryError) as err:
        inv.select([target])
    assert str(err.value) == expected


def test_jump_only_host_cannot_be_polled(write):
    inv = load_inventory(write(hosts="j: {}\nr: {platform: ios, jump_host: j}"), env={})
    with pytest.raises(InventoryError, match="'j' has no platform"):
        inv.select(["j"])
