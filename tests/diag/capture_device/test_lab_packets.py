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
