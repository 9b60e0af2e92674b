"""Transitions between two polls: each expectation is read off the event definitions."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

from ipsecctl.models import CommandError
from ipsecctl.transitions import Event, diff, flap_count, next_baseline, settle, up_since
from tests.store.builders import T0, at, device, tunnel


def kinds(events: list[Event]) -> list[str]:
    return [e.event for e in events]


def test_first_poll_adds_every_tunnel_with_the_device_uptime():
    a = tunnel(peer="10.0.0.2", uptime_s=3600)
    b = tunnel(peer="10.0.0.3", state="down", ike_state="MM_NO_STATE")
    events = diff(None, device(at(0), a, b))
    assert kinds(events) == ["tunnel_added", "tunnel_added"]
    assert (events[0].peer, events[0].from_, events[0].to) == ("10.0.0.2", None, "up")
    assert events[0].detail == {"uptime_s": 3600}
    assert (events[1].to, events[1].detail) == ("down", {})
    assert events[0].tunnel == a.id and events[0].time == at(0)


def test_nothing_changed_nothing_reported():
    prev = device(at(0), tunnel(encaps=1000, decaps=1000))
    cur = device(at(1), tunnel(encaps=1200, decaps=1180))
    assert diff(prev, cur) == []


def test_down_and_up_with_ike_state():
    prev = device(at(0), tunnel())
    down = device(at(1), tunnel(state="down", ike_state="MM_NO_STATE"))
    events = diff(prev, down)
    assert kinds(events) == ["tunnel_down", "ike_state"]
    assert (events[0].from_, events[0].to) == ("up", "down")
    assert (events[1].from_, events[1].to) == ("QM_IDLE", "MM_NO_STATE")
    up = device(at(2), tunnel(spi_in=(0xAAAA0001,), spi_out=(0xBBBB0001,)))
    events = diff(down, up)
    assert kinds(events) == ["tunnel_up", "ike_state"]
    assert events[0].detail["spis"] == {"in": [0xAAAA0001], "out": [0xBBBB0001]}


def test_rekey_gives_old_and_new_spis_as_integers():
    prev = device(at(0), tunnel(spi_in=(0x11111111,), spi_out=(0x22222222,), encaps=500))
    cur = device(
        at(1), tunnel(spi_in=(0x33333333,), spi_out=(0x44444444,), encaps=650, decaps=1100)
    )
    events = diff(prev, cur)
    assert kinds(events) == ["rekey"]
    assert events[0].detail == {
        "in": {"old": [0x11111111], "new": [0x33333333]},
        "out": {"old": [0x22222222], "new": [0x44444444]},
    }
    # JSON keeps them integers (the contract for ESP SPIs)
    line = json.loads(json.dumps(events[0].line()))
    assert line["detail"]["in"]["new"] == [858993459]


def test_rekey_overlap_is_one_rekey_not_two():
    one = device(at(0), tunnel(spi_in=(1,), spi_out=(2,)))
    both = device(at(1), tunnel(spi_in=(1, 3), spi_out=(2, 4), encaps=1100, decaps=1100))
    new = device(at(2), tunnel(spi_in=(3,), spi_out=(4,), encaps=1200, decaps=1200))
    assert kinds(diff(one, both)) == ["rekey"]
    assert diff(both, new) == []


def test_rebuilt_between_polls_is_a_down_and_an_up_not_a_rekey():
    prev = device(
        at(0),
        tunnel(spi_in=(1,), spi_out=(2,), encaps=9000, decaps=9000, errors={"replay_failed": 7}),
    )
    # all SPIs new and the ident's counters restarted: the SAs were deleted in between
    cur = device(at(1), tunnel(spi_in=(5,), spi_out=(6,), encaps=12, decaps=11))
    events = diff(prev, cur)
    assert kinds(events) == ["tunnel_down", "tunnel_up"]
    assert all(e.detail["between_polls"] for e in events)
    assert "pkts_encaps 9000 -> 12" in events[0].detail["evidence"]


def test_rebuilt_seen_by_session_uptime_alone():
    prev = device(at(0), tunnel(spi_in=(1,), spi_out=(2,), uptime_s=5000))
    cur = device(at(1), tunnel(spi_in=(5,), spi_out=(6,), encaps=1100, decaps=1100, uptime_s=20))
    assert kinds(diff(prev, cur)) == ["tunnel_down", "tunnel_up"]


def test_errors_rising_names_counters_and_a_reset_is_not_rising():
    prev = device(at(0), tunnel(errors={"replay_failed": 3, "decrypt_failed": 0}))
    cur = device(
        at(1), tunnel(encaps=1100, decaps=1100, errors={"replay_failed": 18, "decrypt_failed": 2})
    )
    events = diff(prev, cur)
    assert kinds(events) == ["errors_rising"]
    assert (events[0].from_, events[0].to) == (3, 20)
    assert events[0].detail["counters"] == {
        "replay_failed": {"from": 3, "to": 18, "delta": 15},
        "decrypt_failed": {"from": 0, "to": 2, "delta": 2},
    }
    cleared = device(at(2), tunnel(encaps=1200, decaps=1200, errors={"replay_failed": 0}))
    assert diff(cur, cleared) == []


def test_one_way_between_polls():
    prev = device(at(0), tunnel(encaps=1000, decaps=800))
    cur = device(at(1), tunnel(encaps=1100, decaps=800))
    events = diff(prev, cur)
    assert kinds(events) == ["one_way"]
    assert (events[0].from_, events[0].to) == ("two_way", "one_way")
    assert events[0].detail == {"pkts_out": 100, "pkts_in": 0, "interval_s": 30.0}
    # a few packets without a reply yet are not one-way traffic
    assert diff(prev, device(at(1), tunnel(encaps=1003, decaps=800))) == []


def test_unreachable_device_is_one_event_and_its_tunnels_are_not_removed():
    prev = device(at(0), tunnel())
    gone = device(at(1), reachable=False)
    events = diff(prev, gone)
    assert kinds(events) == ["unreachable"]
    assert events[0].tunnel is None and events[0].detail == {"errors": ["connection refused"]}
    assert diff(gone, device(at(2), reachable=False)) == []  # still unreachable: nothing new
    base = next_baseline(None, gone) or prev
    back = device(at(3), tunnel(encaps=1100, decaps=1100))
    events = diff(gone, back, baseline=base)
    assert kinds(events) == ["reachable"]


def test_partial_poll_removes_nothing_and_a_complete_one_does():
    a, b = tunnel(peer="10.0.0.2"), tunnel(peer="10.0.0.3")
    prev = device(at(0), a, b)
    failed = [CommandError(command="show crypto ipsec sa", kind="timeout", message="timed out")]
    partial = device(at(1), a, errors=failed)
    assert diff(prev, partial) == []
    base = next_baseline(prev, partial)
    assert base is not None and {t.peer for t in base.tunnels} == {"10.0.0.2", "10.0.0.3"}
    complete = device(at(2), a)
    events = diff(partial, complete, baseline=base)
    assert kinds(events) == ["tunnel_removed"]
    assert (events[0].peer, events[0].from_, events[0].to) == ("10.0.0.3", "up", None)


def test_a_log_the_device_would_not_give_leaves_the_poll_complete():
    """``show logging`` refused is missing evidence for the log rules (a non-fatal error),
    not a tunnel table left unread: a tunnel the poll no longer lists is removed."""
    a, b = tunnel(peer="10.0.0.2"), tunnel(peer="10.0.0.3")
    prev = device(at(0), a, b)
    no_log = [CommandError(command="show logging", kind="unavailable", message="% Invalid")]
    cur = device(at(1), a, errors=no_log)
    assert kinds(diff(prev, cur)) == ["tunnel_removed"]
    assert next_baseline(prev, cur) is None  # cur itself is the next baseline


def test_tunnels_match_by_id_so_vrfs_and_selectors_stay_apart():
    red = tunnel(peer="10.0.0.2", vrf="RED")
    blue = tunnel(peer="10.0.0.2", vrf="BLUE")
    assert red.id != blue.id
    prev = device(at(0), red, blue)
    cur = device(at(1), red, tunnel(peer="10.0.0.2", vrf="BLUE", state="down"))
    events = diff(prev, cur)
    assert [(e.event, e.vrf) for e in events] == [("tunnel_down", "BLUE")]
    other = tunnel(peer="10.0.0.2", vrf="RED", remote="10.9.0.0/24")
    events = diff(prev, device(at(1), other, blue))
    assert sorted(kinds(events)) == ["tunnel_added", "tunnel_removed"]


def test_settle_folds_a_lasting_condition_into_start_and_end():
    polls = [
        device(at(0), tunnel(encaps=1000, decaps=800)),
        device(at(1), tunnel(encaps=1100, decaps=800)),  # one-way starts
        device(at(2), tunnel(encaps=1250, decaps=800)),  # still one-way
        device(at(3), tunnel(encaps=1400, decaps=800)),  # still
        device(at(4), tunnel(encaps=1500, decaps=900)),  # replies again
    ]
    ongoing: dict = {}
    kept: list[Event] = []
    for prev, cur in itertools.pairwise(polls):
        events, ongoing = settle(diff(prev, cur), ongoing, cur)
        kept += events
    assert [(e.event, e.from_, e.to, e.time) for e in kept] == [
        ("one_way", "two_way", "one_way", at(1)),
        ("one_way", "one_way", "two_way", at(4)),
    ]
    assert kept[1].detail == {"ended": True, "since": "2026-11-26T12:00:30Z", "pkts_out": 400}
    assert ongoing == {}


def test_settle_keeps_conditions_through_an_unreachable_poll_and_ends_errors_with_totals():
    p0 = device(at(0), tunnel(errors={"replay_failed": 1}))
    p1 = device(at(1), tunnel(encaps=1100, decaps=1100, errors={"replay_failed": 5}))
    p2 = device(at(2), reachable=False)
    p3 = device(at(3), tunnel(encaps=1200, decaps=1200, errors={"replay_failed": 9}))
    p4 = device(at(4), tunnel(encaps=1300, decaps=1300, errors={"replay_failed": 9}))
    first, ongoing = settle(diff(p0, p1), {}, p1)
    assert kinds(first) == ["errors_rising"]
    mid, ongoing = settle(diff(p1, p2), ongoing, p2)
    assert kinds(mid) == ["unreachable"] and ongoing
    back, ongoing = settle(diff(p2, p3, baseline=p1), ongoing, p3)
    assert kinds(back) == ["reachable"]
    end, ongoing = settle(diff(p3, p4), ongoing, p4)
    assert [(e.event, e.from_, e.to) for e in end] == [("errors_rising", 1, 9)]
    assert end[0].detail["counters"] == {"replay_failed": {"from": 1, "to": 9, "delta": 8}}


def test_watch_line_shape():
    ev = diff(device(at(0), tunnel()), device(at(1), tunnel(state="down", ike_state=None)))[0]
    line = ev.line()
    assert list(line)[:2] == ["schema", "kind"]
    assert line["schema"] == "ipsecctl/v1" and line["kind"] == "event"
    assert line["time"] == "2026-11-26T12:00:30Z"
    assert {k: line[k] for k in ("device", "peer", "vrf", "event", "from", "to")} == {
        "device": "hub-1",
        "peer": "10.0.0.2",
        "vrf": None,
        "event": "tunnel_down",
        "from": "up",
        "to": "down",
    }
    fields = {k: v for k, v in line.items() if k not in ("schema", "kind")}
    assert Event.model_validate(fields) == ev  # a watch line reads back as the same event


def test_flap_count_and_up_since():
    a = tunnel(remote="10.2.0.0/24")
    b = tunnel(remote="10.3.0.0/24")  # same peer, second selector pair
    added = diff(None, device(at(0), a, b))
    down = diff(
        device(at(0), a, b),
        device(
            at(1),
            tunnel(state="down", remote="10.2.0.0/24"),
            tunnel(state="down", remote="10.3.0.0/24"),
        ),
    )
    assert flap_count(added + down) == 1  # two tunnels down at one poll: one flap
    one = [e for e in added if e.tunnel == a.id]
    assert up_since(one) == T0 - timedelta(seconds=600)  # first seen up 600 s into the session
    downs = [e for e in down if e.tunnel == a.id]
    assert up_since(one + downs) is None
    ups = [
        e
        for e in diff(device(at(1), tunnel(state="down")), device(at(2), tunnel()))
        if e.event == "tunnel_up"
    ]
    assert up_since(one + downs + ups) == at(2)
