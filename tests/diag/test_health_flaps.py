"""Flaps seen by the history, by the two polls (rebuilt tunnels, rekey windows) and by the
device's log (Cisco and strongSwan), and the other findings the log proves.

Inputs are real device outputs (Cisco corpus, strongSwan lab captures and charon logs) with
the second poll derived from the first where movement is needed; the expected peers and
counts are read from those texts.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ipsecctl.assemble import assemble
from ipsecctl.diag.health import TunnelHistory, evaluate
from ipsecctl.models import DeviceState, Finding
from tests.diag import grammar as G

FIXTURES = Path(__file__).parent.parent / "fixtures"
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def cisco(at: datetime = T0, log: str | None = None) -> DeviceState:
    text = (FIXTURES / "cisco/iosxe/show_crypto_ipsec_sa/genieparser-1.txt").read_text()
    outputs = {"show crypto ipsec sa": text}
    if log is not None:
        outputs["show logging"] = log
    d = assemble("r1", "cisco_iosxe", outputs, polled_at=at, keep_raw=True)
    assert not d.errors, d.errors
    return d


def strongswan(at: datetime = T0, raw: dict[str, str] | None = None) -> DeviceState:
    text = (FIXTURES / "strongswan/lab-initiator.raw.txt").read_text()
    d = assemble("gw-a", "strongswan", {"swanctl --list-sas --raw": text}, polled_at=at)
    assert not d.errors, d.errors
    d.raw = {**(d.raw or {}), **(raw or {})}
    return d


def grammatical(f: Finding) -> bool:
    """Every next step of the finding is a form its platform (or ipsecctl) accepts."""
    steps = f.extra["steps"]
    assert [s["command"] for s in steps] == [x.split("   (")[0] for x in f.next_steps]
    return all(
        s["mode"] == "ipsecctl" or G.load(s["platform"]).accepts(s["command"], s["mode"])
        for s in steps
    )


def flaps(found: list[Finding]) -> list[Finding]:
    return [f for f in found if f.code == "FLAPPING"]


# ----------------------------------------------------------------------------- history
def test_history_alone_recognises_a_flap_no_poll_saw() -> None:
    d = cisco()  # one poll, every tunnel up, nothing in any log
    assert evaluate([d]) == []
    last = T0 - timedelta(minutes=7)
    history = {("r1", "1.1.1.1", None): TunnelHistory(3, 3, last, last, 3600.0, "history")}
    (f,) = evaluate([d], history=history)
    assert (f.code, f.severity, f.device, f.peer) == ("FLAPPING", "warning", "r1", "1.1.1.1")
    assert f.evidence[0] == (
        "history: the tunnel to 1.1.1.1 went down 3 times and came back 3 times in the last "
        "3600 s (last down 2024-12-31T23:53:00+00:00)"
    )
    assert f.extra["sources"] == ["history"]
    assert f.extra["tunnels"] == [t.id for t in d.tunnels if t.peer == "1.1.1.1"]
    assert grammatical(f)


@pytest.mark.parametrize(
    "key",
    [
        ("r1", "1.1.1.1", None),  # one down and back: a clear, not a flap
        ("r9", "1.1.1.1", None),  # another device's history
    ],
)
def test_history_below_threshold_or_elsewhere_is_silent(key: tuple[str, str, None]) -> None:
    downs = 1 if key[0] == "r1" else 5
    assert evaluate([cisco()], history={key: TunnelHistory(downs, downs)}) == []


def test_history_keeps_the_vrf_of_its_key() -> None:
    (f,) = evaluate([cisco()], history={("r1", "1.1.1.1", "CUST"): TunnelHistory(2, 2)})
    assert f.extra["vrf"] == "CUST"
    assert f.extra["tunnels"] == []  # r1's tunnels to 1.1.1.1 are not in VRF CUST


def test_history_and_log_evidence_merge_into_one_finding() -> None:
    line = "*Mar  1 00:0{}:00.000: %CRYPTO-5-SESSION_STATUS: Crypto tunnel is {}.  Peer 1.1.1.1:500"
    log = "\n".join(line.format(i, s) for i, s in enumerate(["DOWN", "UP", "DOWN", "UP"]))
    found = flaps(evaluate([cisco(log=log)], history={("r1", "1.1.1.1", None): TunnelHistory(4)}))
    assert len(found) == 1
    assert found[0].extra["sources"] == ["log", "history"]
    assert any("going down 2 times" in e for e in found[0].evidence)
    assert any(e.startswith("history: ") for e in found[0].evidence)


def test_bad_history_values_are_refused() -> None:
    with pytest.raises(ValueError, match="downs"):
        TunnelHistory(-1)


# ----------------------------------------------------------------------------- two polls
def _later(d: DeviceState, seconds: int = 60) -> DeviceState:
    later = d.model_copy(deep=True)
    later.polled_at = d.polled_at + timedelta(seconds=seconds)
    return later


def test_cisco_rebuild_between_polls_is_a_flap_and_a_rekey_is_not() -> None:
    d0 = cisco()
    rekeyed = _later(d0)
    t = next(t for t in rekeyed.tunnels if t.sas)
    for sa in t.sas:
        sa.spi ^= 0x0F0F0F0F  # every SPI new, counters carry on: what a rekey looks like
    t.counters["pkts_encaps"] += 50
    t.counters["pkts_decaps"] += 50
    assert flaps(evaluate([rekeyed], [d0])) == []
    rebuilt = rekeyed.model_copy(deep=True)
    t = next(t for t in rebuilt.tunnels if t.sas)
    t.counters["pkts_encaps"], t.counters["pkts_decaps"] = 3, 2  # the ident started again
    (f,) = flaps(evaluate([rebuilt], [d0]))
    assert f.peer == "1.1.1.1" and f.extra["sources"] == ["polls"]
    assert f.evidence[0].startswith("re-established between polls: all SPIs new and counters")


def _strongswan_rebuilt(prev_rekey_s: int) -> tuple[DeviceState, DeviceState]:
    """Poll 2 is the real capture (CHILD_SA installed 1 s ago, 2 packets each way); poll 1,
    60 s earlier, had an older CHILD_SA: other SPIs, 15 minutes installed, more packets."""
    cur = strongswan(T0 + timedelta(seconds=60))
    prev = strongswan(T0)
    t = prev.tunnels[0]
    t.uptime_s = 900
    t.extra["rekey_s"] = prev_rekey_s
    for sa in t.sas:
        sa.spi ^= 0x11111111
        sa.remaining_s = prev_rekey_s + 700
    t.counters.update(pkts_encaps=4000, pkts_decaps=3990, bytes_in=10**6, bytes_out=10**6)
    return prev, cur


def test_strongswan_child_rebuilt_outside_a_rekey_window_is_a_flap() -> None:
    prev, cur = _strongswan_rebuilt(prev_rekey_s=2400)  # next rekey was 40 min away
    (f,) = flaps(evaluate([cur], [prev]))
    assert f.peer == "10.223.0.2"
    assert "counters restarted" in f.evidence[0] and "uptime 900 s -> 1 s" in f.evidence[0]
    assert grammatical(f)
    assert "swanctl --counters --name lab" in f.next_steps


def test_strongswan_rekey_due_between_polls_is_not_a_flap() -> None:
    prev, cur = _strongswan_rebuilt(prev_rekey_s=40)  # charon was to rekey 40 s later
    assert flaps(evaluate([cur], [prev])) == []


# ----------------------------------------------------------------------------- logs
def test_charon_log_flap_on_both_gateways() -> None:
    """Real charon logs: three IKE_SAs to the peer, the first two deleted (see SOURCES.md)."""
    for side, peer in (("a", "10.246.0.2"), ("b", "10.246.0.1")):
        log = (FIXTURES / f"strongswan/charon_flap_{side}.log").read_text()
        d = strongswan(raw={"journalctl -u strongswan --no-pager": log})
        (f,) = flaps(evaluate([d]))
        assert f.peer == peer, side
        assert f.evidence[0].startswith(f"the log shows the session to {peer} going down 2 times")
        assert f.extra["sources"] == ["log"]


def test_charon_log_is_not_read_from_a_command_that_is_not_a_log() -> None:
    log = (FIXTURES / "strongswan/charon_flap_a.log").read_text()
    d = strongswan(raw={"swanctl --list-conns --raw": log})
    assert flaps(evaluate([d])) == []


@pytest.mark.parametrize(
    ("file", "code", "peer"),
    [
        ("ios_debug_isakmp.log", "PROPOSAL_MISMATCH_P1", "10.40.0.2"),  # line 11
        ("ios_debug_isakmp.log", "AUTHENTICATION_FAILED", "10.41.0.2"),  # line 12, no PSK
        ("ios_debug_ikev2.log", "AUTHENTICATION_FAILED", "10.51.0.2"),  # line 4
        ("ios_debug_ikev2.log", "SELECTOR_NOT_MIRRORED", "10.52.0.2"),  # line 5
        ("asa.log", "INVALID_SPI", "198.51.100.13"),  # line 8, %ASA-4-402101 src_addr
    ],
)
def test_findings_the_log_proves(file: str, code: str, peer: str) -> None:
    log = (FIXTURES / "logs" / file).read_text()
    platform = "cisco_asa" if file.startswith("asa") else "cisco_iosxe"
    d = assemble("r1", platform, {"show logging": log}, polled_at=T0, keep_raw=True)
    found = [f for f in evaluate([d]) if (f.code, f.peer) == (code, peer)]
    assert len(found) == 1, [(f.code, f.peer) for f in evaluate([d])]
    assert found[0].severity == "error"
    assert found[0].next_steps and grammatical(found[0])
    # the same lines at the previous poll are history: a warning, not an error
    later = assemble(
        "r1", platform, {"show logging": log}, polled_at=T0 + timedelta(60), keep_raw=True
    )
    again = [f for f in evaluate([later], [d]) if (f.code, f.peer) == (code, peer)]
    assert [f.severity for f in again] == ["warning"]
