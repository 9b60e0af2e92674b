"""The view-model without Textual: keys, rates, filter grammar, sort, marks, faults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ipsecctl.assemble import assemble
from ipsecctl.models import CommandError, DeviceState, IpsecSa, TrafficSelector, Tunnel
from ipsecctl.ops.faults import assess, attach
from ipsecctl.tui.state import (
    Filter,
    FilterError,
    TunnelModel,
    column_width,
    columns,
    fit_columns,
    fmt_duration,
    rate,
)

REPLAY = Path(__file__).resolve().parents[1] / "fixtures" / "replay"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def replay_state(device: str, at: datetime = T0) -> DeviceState:
    folder = REPLAY / device
    outputs = {
        "show crypto ipsec sa": (folder / "show_crypto_ipsec_sa.txt").read_text(),
    }
    return assemble(device, "cisco_iosxe", outputs, polled_at=at)


def tunnel(device: str, peer: str, state: str = "up", pkts: int = 0, n: int = 0) -> Tunnel:
    t = Tunnel(
        device=device,
        peer=peer,
        state=state,  # type: ignore[arg-type]
        local_ts=TrafficSelector(prefix=f"10.{n}.0.0/24"),
        remote_ts=TrafficSelector(prefix=f"10.{n + 100}.0.0/24"),
        counters={"pkts_decaps": pkts, "pkts_encaps": pkts * 2},
        sas=[IpsecSa(direction="in", spi=0x1000 + n), IpsecSa(direction="out", spi=n)],
    )
    return t.with_identity()


def test_real_outputs_become_rows_keyed_by_tunnel_id() -> None:
    model = TunnelModel()
    res = model.apply(replay_state("edge-1"))
    assert len(res.added) == 3
    assert set(model.rows) == {t.id for t in replay_state("edge-1").tunnels}
    again = model.apply(replay_state("edge-1", T0 + timedelta(seconds=5)))
    assert again.added == [] and len(again.updated) == 3 and again.changes == []


def test_rates_between_polls_and_counter_reset() -> None:
    model = TunnelModel()
    model.apply(
        DeviceState(
            device="r",
            platform="cisco_ios",
            polled_at=T0,
            tunnels=[tunnel("r", "1.1.1.1", pkts=100)],
        )
    )
    model.apply(
        DeviceState(
            device="r",
            platform="cisco_ios",
            polled_at=T0 + timedelta(seconds=10),
            tunnels=[tunnel("r", "1.1.1.1", pkts=600)],
        )
    )
    row = next(iter(model.rows.values()))
    assert row.rate_in == 50.0 and row.rate_out == 100.0
    # re-key / clear reset the counters: the new value is all traffic since the reset
    model.apply(
        DeviceState(
            device="r",
            platform="cisco_ios",
            polled_at=T0 + timedelta(seconds=20),
            tunnels=[tunnel("r", "1.1.1.1", pkts=30)],
        )
    )
    assert row.rate_in == 3.0
    assert rate(10, 5, 0) is None and rate(None, 5, 1) is None


def test_filter_grammar_regex_invert_and_bad_regex() -> None:
    model = TunnelModel()
    for dev in ("edge-1", "edge-2", "hub-1"):
        model.apply(replay_state(dev))
    model.set_filter("hub")
    assert {model.rows[k].device for k in model.view} == {"hub-1"}
    model.set_filter("!hub")
    assert "hub-1" not in {model.rows[k].device for k in model.view}
    model.set_filter("1\\.1\\.1\\.1|71\\.")
    assert {model.rows[k].tunnel.peer for k in model.view} == {"1.1.1.1", "71.71.71.71"}
    with pytest.raises(FilterError, match="bad filter regex"):
        model.set_filter("(")
    assert model.filter.text == "1\\.1\\.1\\.1|71\\."  # the previous filter stays
    assert Filter.parse("!").matches("anything")
    assert "</1" in model.title()


def test_sort_by_peer_numeric_and_reverse_on_second_press() -> None:
    model = TunnelModel()
    model.apply(
        DeviceState(
            device="r",
            platform="cisco_ios",
            tunnels=[
                tunnel("r", "10.0.0.2", n=1),
                tunnel("r", "9.0.0.1", n=2),
                tunnel("r", "10.0.0.10", n=3),
            ],
        )
    )
    model.set_sort("peer")
    assert [model.rows[k].tunnel.peer for k in model.view] == ["9.0.0.1", "10.0.0.2", "10.0.0.10"]
    model.set_sort("peer")
    assert [model.rows[k].tunnel.peer for k in model.view] == ["10.0.0.10", "10.0.0.2", "9.0.0.1"]


def test_marks_targets_faults_and_removed_tunnels() -> None:
    model = TunnelModel()
    up, down = tunnel("r", "1.1.1.1", n=1), tunnel("r", "2.2.2.2", state="down", n=2)
    model.apply(DeviceState(device="r", platform="cisco_ios", tunnels=[up, down]))
    assert [r.key for r in model.targets(up.id)] == [up.id]
    model.toggle_mark(down.id)
    assert [r.key for r in model.targets(up.id)] == [down.id]
    model.set_faults_only(True)
    state = DeviceState(device="r", platform="cisco_ios", tunnels=[up, down])
    model.set_faults(attach([state], []).faults)  # down and not marked "not expected up"
    assert model.view == [down.id]
    res = model.apply(DeviceState(device="r", platform="cisco_ios", tunnels=[up]))
    assert res.removed == [down.id] and model.marks == set() and model.view == []
    # an unreachable poll keeps the last known rows
    model.apply(DeviceState(device="r", platform="cisco_ios", reachable=False))
    assert list(model.rows) == [up.id]


def test_fmt_duration() -> None:
    assert [fmt_duration(x) for x in (None, 5, 303, 11520, 187200)] == [
        "-",
        "5s",
        "5m03s",
        "3h12m",
        "2d04h",
    ]


def test_one_way_traffic_is_a_fault_by_the_shared_definition() -> None:
    """The dashboard's faults are the operations layer's: traffic out, nothing in."""
    model = TunnelModel()
    one_way = tunnel("r", "1.1.1.1", n=1)
    one_way.counters.update(pkts_decaps=0, pkts_encaps=100)
    healthy = tunnel("r", "2.2.2.2", pkts=100, n=2)
    first = DeviceState(device="r", platform="cisco_ios", polled_at=T0, tunnels=[one_way, healthy])
    model.apply(first)
    model.set_faults_only(True)
    later = one_way.model_copy(update={"counters": {"pkts_decaps": 0, "pkts_encaps": 600}})
    busy = healthy.model_copy(update={"counters": {"pkts_decaps": 300, "pkts_encaps": 600}})
    second = DeviceState(
        device="r", platform="cisco_ios", polled_at=T0 + timedelta(seconds=5), tunnels=[later, busy]
    )
    model.apply(second)
    assessment = assess([second], [first])
    model.set_faults(assessment.faults)
    assert "ONE_WAY_TRAFFIC" in assessment.faults[one_way.id]
    assert model.view == [one_way.id] and model.rows[one_way.id].one_way
    assert "one-way" in model.rows[one_way.id].haystack


def test_unreachable_device_rows_go_stale_with_age_then_recover() -> None:
    model = TunnelModel()
    t = tunnel("r", "1.1.1.1", n=1)
    model.apply(DeviceState(device="r", platform="cisco_ios", polled_at=T0, tunnels=[t]))
    row = model.rows[t.id]
    model.mark_stale("r", T0, T0 + timedelta(seconds=42))
    assert row.cells["state"] == "stale 42s" and row.fault and row.tunnel.state == "up"
    assert model.tick_stale(T0 + timedelta(seconds=125))
    assert row.cells["state"] == "stale 2m05s"
    assert not model.tick_stale(T0 + timedelta(seconds=125))  # nothing moved: no repaint
    model.apply(
        DeviceState(
            device="r", platform="cisco_ios", polled_at=T0 + timedelta(minutes=3), tunnels=[t]
        )
    )
    assert row.stale_since is None and row.cells["state"] == "up" and not row.fault


def test_a_poll_cut_short_keeps_the_rows_it_did_not_see() -> None:
    """The session timed out after the IKE tables, before ``show crypto ipsec sa`` (the
    collector still calls the device reachable: it answered): none of edge-1's tunnels were
    read, so none is gone; the rows stay, stale, until a complete poll says otherwise."""
    folder = REPLAY / "edge-1"
    model = TunnelModel()
    model.apply(replay_state("edge-1"))
    keys = set(model.rows)
    assert len(keys) == 3
    ike = {
        c: (folder / f"{c.replace(' ', '_')}.txt").read_text()
        for c in ("show crypto isakmp sa", "show crypto isakmp sa detail")
    }
    cut = CommandError(command="show crypto ipsec sa", kind="timeout", message="edge-1: timed out")
    partial = assemble(
        "edge-1", "cisco_iosxe", ike, errors=[cut], polled_at=T0 + timedelta(seconds=5)
    )
    assert partial.reachable and not partial.tunnels
    res = model.apply(partial)
    assert res.removed == [] and res.changes == [] and set(res.unseen) == keys
    assert set(model.rows) == keys and model.device_counts("edge-1")[1] == 3
    model.mark_stale("edge-1", T0, T0 + timedelta(seconds=6), res.unseen)
    assert all(model.rows[k].cells["state"] == "stale 6s" for k in keys)
    # a complete poll (a log the device would not give is missing evidence, not a failed
    # command) removes what it no longer lists and clears the staleness of what it does
    full = replay_state("edge-1", T0 + timedelta(seconds=10))
    gone = full.tunnels.pop()
    full.errors.append(CommandError(command="show logging", kind="unavailable", message="no"))
    res = model.apply(full)
    assert res.removed == [gone.id] and res.unseen == []
    assert [c.new for c in res.changes] == [None]
    assert all(r.stale_since is None for r in model.rows.values())


def test_columns_fit_by_priority_and_size_to_content() -> None:
    model = TunnelModel()
    model.apply(DeviceState(device="r01", platform="cisco_ios", tunnels=[tunnel("r01", "1.1.1.1")]))
    cols = columns(False)
    assert column_width(cols[0], model.widths) == 3  # 'r01' -> DEV, not 14 wide
    kept = [c.key for c in fit_columns(cols, model.widths, 40)]
    assert kept[:2] == ["device", "peer"] and {"state", "ike"} <= set(kept)
    assert "sel" not in kept
    assert [c.key for c in fit_columns(cols, model.widths, 10)] == [
        "device",
        "peer",
        "ike",
        "state",
    ]
