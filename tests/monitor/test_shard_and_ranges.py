"""Pure parts of the monitoring commands: shards and the plugin threshold ranges.

Range semantics are the monitoring-plugin guidelines' table (Nagios plugin development
guidelines, "Threshold and ranges"): ``10`` alerts outside 0..10, ``10:`` below 10, ``~:10``
above 10, ``10:20`` outside 10..20, ``@10:20`` inside 10..20.
"""

from __future__ import annotations

import hashlib

import pytest

from ipsecctl import errors
from ipsecctl.cli.commands_check import Range
from ipsecctl.ops.shard import Shard, parse_shard, shard_of


@pytest.mark.parametrize(
    ("text", "value", "alerts"),
    [
        ("10", -1, True),
        ("10", 0, False),
        ("10", 10, False),
        ("10", 11, True),
        ("10:", 9, True),
        ("10:", 10, False),
        ("10:", 1e9, False),
        ("~:10", -1e9, False),
        ("~:10", 10, False),
        ("~:10", 11, True),
        ("10:20", 9, True),
        ("10:20", 10, False),
        ("10:20", 20, False),
        ("10:20", 21, True),
        ("@10:20", 9, False),
        ("@10:20", 10, True),
        ("@10:20", 20, True),
        ("@10:20", 21, False),
        ("0", 0, False),
        ("0", 1, True),
    ],
)
def test_threshold_ranges_follow_the_plugin_guidelines(
    text: str, value: float, alerts: bool
) -> None:
    assert Range.parse(text, "--warning").alerts(value) is alerts


@pytest.mark.parametrize("text", ["", "x", "10:5", "1:2:3", "@", "~"])
def test_a_bad_range_is_a_usage_error_naming_it(text: str) -> None:
    with pytest.raises(errors.UsageError, match="--critical"):
        Range.parse(text, "--critical")


def test_shard_is_sha256_of_the_name_and_splits_the_fleet_exactly() -> None:
    names = [f"r{i:04d}" for i in range(1, 401)]
    for name in names[:20]:  # the documented rule, computed here independently
        want = 1 + int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % 7
        assert shard_of(name, 7) == want
    parts = [Shard(k, 4).select([_H(n) for n in names]) for k in range(1, 5)]
    chosen = [h.name for part in parts for h in part]
    assert sorted(chosen) == names  # every device in exactly one shard
    assert all(len(p) > 60 for p in parts)  # and no shard left nearly empty


class _H:
    def __init__(self, name: str) -> None:
        self.name = name


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0", "-1/2", "1/2/3"])
def test_bad_shards_are_usage_errors(text: str) -> None:
    with pytest.raises(errors.UsageError, match="--shard"):
        parse_shard(text)


def test_good_shard() -> None:
    assert parse_shard(" 2/5 ") == Shard(2, 5)
