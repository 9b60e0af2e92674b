"""The lab's wire for a phase 1 proposal mismatch (a configuration change, not a planned
scenario): decoded by the same analysis, the notify is RFC 7296 / RFC 2408 type 14."""

from __future__ import annotations

import dataclasses

import pytest

from ipsecctl.diag.capture.analysis import analyse_capture
from ipsecctl.diag.packets.pcap import LINKTYPE_ETHERNET, Frame, classify
from ipsecctl.lab import Lab
from ipsecctl.lab.capture_packets import link_packets
from ipsecctl.lab.state import IkeSa, Link


@pytest.mark.parametrize("version", [1, 2])
def test_p1_mismatch_is_answered_by_no_proposal_chosen(lab: Lab, version: int) -> None:
    fleet = lab.fleet
    with fleet.lock:
        base = next(lk for lk in fleet.links if lk.spec.b is not None)
        spec = dataclasses.replace(base.spec, behaviour="p1_mismatch", ike_version=version)
        t = fleet.advance()
        link = Link(spec, ike=IkeSa("MM_NO_STATE", t - 5, 0, 0, "0123456789ABCDEF",
                                    "0" * 16, "a"))  # fmt: skip
        for side, local in (("a", spec.a_addr), ("b", spec.b_addr)):
            pkts = link_packets(fleet, link, side, t - 5, t + 60)
            frames = [classify(Frame(i, p.time, LINKTYPE_ETHERNET, p.data, len(p.data)))
                      for i, p in enumerate(pkts, 1)]  # fmt: skip
            doc = analyse_capture(frames, device="x", peer=None, local_addr=local).to_dict()
            if version == 2:  # IKEv1 has no response flag
                assert [m["response"] for m in doc["ike"]][:2] == [False, True]
            assert doc["ike"][1]["notify"] == ["NO_PROPOSAL_CHOSEN"]
            assert doc["ike"][0]["src"] == spec.a_addr  # a initiates, whoever captures
            assert "PROPOSAL_MISMATCH_P1" in {f["code"] for f in doc["findings"]}


def test_a_capture_across_a_rekey_keeps_the_replaced_sa_packets() -> None:
    """After a re-key the old SA stays listed until its lifetime ends, then the device
    forgets it. A capture that began before the re-key still holds the old SA's packets (a
    capture buffer keeps what it took), however late it is read: the old SPI, then the new,
    with the replay scenario's duplicates on the old one (it had carried thousands)."""
    from ipsecctl.lab.state import Fleet
    from ipsecctl.lab.topology import plan

    fleet = Fleet(plan(12, 1), seed=1, time_scale=20)
    fleet.reconcile(initial=True)
    link = next(lk for lk in fleet.links if lk.behaviour == "replay_spi_errors")
    t = fleet.advance(100.0)
    old = link.sas[-1]
    for _ in range(10_000):  # the soft lifetime: a re-key, both pairs listed
        if len(link.sas) == 2:
            break
        t = fleet.advance(t + 1.0)
    new = link.sas[-1]
    assert new is not old
    for _ in range(10_000):  # the old pair's lifetime ends
        if old not in link.sas:
            break
        t = fleet.advance(t + 1.0)
    assert old not in link.sas and old in link.retired
    local = link.spec.a_addr
    pkts = link_packets(fleet, link, "a", new.born - 40.0, t)
    frames = [classify(Frame(i, p.time, LINKTYPE_ETHERNET, p.data, len(p.data)))
              for i, p in enumerate(pkts, 1)]  # fmt: skip
    doc = analyse_capture(frames, device="x", peer=None, local_addr=local).to_dict()
    inbound = {e["spi"]: e for e in doc["esp"] if e["direction"] == "in"}
    assert {old.spi_in("a"), new.spi_in("a")} <= set(inbound)
    first = inbound[old.spi_in("a")]
    assert first["duplicates"] + first["outside_window"] >= 1
