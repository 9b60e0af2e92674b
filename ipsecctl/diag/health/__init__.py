"""Health rules: why is a tunnel down, one stable finding code per reason.

Everything here is a pure function over :class:`~ipsecctl.models.DeviceState` snapshots, so
the same rules run on a live poll, a saved ``ipsecctl show --json`` document, or the lab. A
rule that needs movement (counters that grow, a state that does not change) compares two
polls; given one poll it either stays silent or says, in the evidence, that the conclusion
rests on one poll only. History from earlier polls (``evaluate(..., history=...)``) adds what
two polls cannot see.

The device knowledge is data: stuck IKE states, counters, platform facts and log findings in
``ipsecctl/diag/rules/*.yaml``, next steps per platform in ``rules/steps/<platform>.yaml``
(checked against ``ipsecctl/platforms/grammar/<platform>.yaml``). The rules are grouped by
family: :mod:`.rules_ike`, :mod:`.rules_counters`, :mod:`.rules_logs`, :mod:`.rules_flaps`,
:mod:`.rules_lifetime`; :mod:`.evaluate` runs them, :mod:`.context` builds findings.

Every finding carries ``device``, ``peer`` and, in ``extra``: ``platform``, ``vrf``,
``tunnels`` (the ``Tunnel.id`` of each tunnel it is about), ``steps`` (the next steps as
``{command, platform, mode, device}``) and ``peer_device`` when the peer was polled too.

Codes (stable; scripts match on them):

IKE_STUCK_<state> for every state of rules/stuck_states.yaml (IKE_STUCK_MM_NO_STATE,
IKE_STUCK_MM_SA_SETUP, IKE_STUCK_MM_KEY_EXCH, IKE_STUCK_AG_NO_STATE, IKE_STUCK_AG_INIT_EXCH,
IKE_STUCK_MM_WAIT_MSG2..6 (ASA), IKE_STUCK_IKEV2_IN_NEG, IKE_STUCK_CONNECTING (strongSwan),
IKE_STUCK_MAIN_I1.. / IKE_STUCK_IKEV2_SA_INIT / IKE_STUCK_IKEV2_AUTH (libreswan)),
IKE_UP_NO_IPSEC, IKE_SA_WITHOUT_TUNNELS, ONE_WAY_TRAFFIC, ONE_WAY_TRAFFIC_INBOUND,
DECRYPT_FAILURES, VERIFY_FAILURES, REPLAY_FAILURES, INVALID_SPI, SEND_ERRORS, RECV_ERRORS,
PROPOSAL_MISMATCH_P1, PROPOSAL_MISMATCH_P2, AUTHENTICATION_FAILED (from the log),
SA_EXPIRING_NO_SUCCESSOR, TUNNEL_DOWN_EXPECTED_UP, TUNNEL_IDLE_ON_DEMAND, FLAPPING, and the
cross-device codes of :mod:`ipsecctl.diag.crosscheck` (SPI_MISMATCH, SELECTOR_NOT_MIRRORED,
TRANSFORM_MISMATCH; SELECTOR_NOT_MIRRORED also from the log).
"""

from __future__ import annotations

from ipsecctl.diag.health.context import ike_peer
from ipsecctl.diag.health.evaluate import evaluate, worst
from ipsecctl.diag.history import TunnelHistory

__all__ = ["TunnelHistory", "evaluate", "ike_peer", "worst"]
