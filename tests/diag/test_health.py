"""Health rules on real corpus outputs (parsed by the project's parsers), and on polls derived
from them for the movement rules. Healthy inputs must produce no finding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ipsecctl.assemble import assemble
from ipsecctl.cli.diag import app
from ipsecctl.diag.health import evaluate
from ipsecctl.models import DeviceState, IpsecSa, dump, envelope

CISCO = Path(__file__).parent.parent / "fixtures" / "cisco"
T0 = datetime(2025, 1, 1, tzinfo=UTC)

# Real outputs in which every tunnel is healthy (counters in step, no errors, no stuck IKE).
HEALTHY = [
    "iosxe/show_crypto_ipsec_sa/genieparser-1.txt",
    "iosxe/show_crypto_ipsec_sa_detail/genieparser-1.txt",
    "iosxe/show_crypto_ipsec_sa_detail/genieparser-3.txt",
    "iosxe/show_crypto_ipsec_sa_detail/genieparser-4.txt",
    "iosxe/show_crypto_ipsec_sa_ipv6_detailed/genieparser-1.txt",
    "iosxe/show_crypto_ipsec_sa_ipv6_detailed/genieparser-2.txt",
    "iosxe/show_crypto_ipsec_sa_peer_detail/genieparser-1.txt",
    "iosxe/show_crypto_ikev2_sa_detail/genieparser-1.txt",
    "iosxe/show_crypto_isakmp_sa_detail/genieparser-1.txt",
]


def device(
    *files: str, name: str = "r1", at: datetime = T0, extra: dict[str, str] | None = None
) -> DeviceState:
    outputs = {}
    for f in files:
        cmd = Path(f).parent.name.replace("_", " ")
        outputs[cmd] = (CISCO / f).read_text()
    outputs.update(extra or {})
    platform = "cisco_ios" if f.startswith("ios/") else "cisco_iosxe"
    d = assemble(name, platform, outputs, polled_at=at)
    assert not d.errors, d.errors
    return d


def codes(findings: list) -> list[tuple[str, str, str | None]]:
    return [(f.code, f.severity, f.peer) for f in findings]


@pytest.mark.parametrize("f", HEALTHY)
def test_healthy_real_output_has_no_findings(f: str) -> None:
    d = device(f)
    assert evaluate([d]) == []
    later = device(f, at=T0 + timedelta(seconds=60))
    assert evaluate([later], [d]) == []  # nothing moved: still nothing to say


def test_mm_no_state_real_output() -> None:
    d = device("iosxe/show_crypto_isakmp_sa/genieparser-3.txt")
    found = codes(evaluate([d]))
    assert ("IKE_STUCK_MM_NO_STATE", "error", "100.12.82.2") in found
    assert ("IKE_STUCK_MM_NO_STATE", "error", "100.12.82::2") in found
    assert len(found) == 2  # the QM_IDLE peers stay silent
    f = evaluate([d])[0]
    assert "show crypto isakmp sa detail" in f.next_steps
    assert "debug crypto isakmp" in f.next_steps
    assert any(s.startswith("clear crypto session remote 100.12.82") for s in f.next_steps)
    assert f.causes and f.evidence


def test_stuck_confirmed_by_second_poll() -> None:
    d0 = device("iosxe/show_crypto_isakmp_sa/genieparser-2.txt")
    d1 = device("iosxe/show_crypto_isakmp_sa/genieparser-2.txt", at=T0 + timedelta(seconds=90))
    f = evaluate([d1], [d0])[0]
    assert f.code == "IKE_STUCK_MM_NO_STATE"
    assert any("same state at the previous poll" in e for e in f.evidence)


ISAKMP_HDR = (
    "IPv4 Crypto ISAKMP SA\ndst             src             state          conn-id status\n"
)


@pytest.mark.parametrize(
    ("state", "code"),
    [
        ("MM_KEY_EXCH", "IKE_STUCK_MM_KEY_EXCH"),
        ("MM_SA_SETUP", "IKE_STUCK_MM_SA_SETUP"),
        ("AG_INIT_EXCH", "IKE_STUCK_AG_INIT_EXCH"),
        ("MM_NO_STATE", "IKE_STUCK_MM_NO_STATE"),
    ],
)
def test_each_stuck_state(state: str, code: str) -> None:
    # Real-format table (corpus layout) with one stuck row next to a healthy one.
    text = (
        ISAKMP_HDR
        + f"10.9.9.2        10.9.9.1        {state:<16} 1001 ACTIVE\n"
        + "10.8.8.2        10.9.9.1        QM_IDLE          1002 ACTIVE\n"
    )
    d = assemble("r1", "cisco_iosxe", {"show crypto isakmp sa": text}, polled_at=T0)
    found = evaluate([d])
    assert [(f.code, f.peer) for f in found] == [(code, "10.9.9.2")]
    if code == "IKE_STUCK_MM_KEY_EXCH":
        assert any("pre-shared key" in c for c in found[0].causes)


def test_ike_up_no_ipsec() -> None:
    # Real ident with no SA (current outbound spi 0x0) to 17.0.0.1, plus its QM_IDLE IKE SA.
    isakmp = ISAKMP_HDR + "17.0.0.1        15.0.0.5        QM_IDLE          1001 ACTIVE\n"
    d = device(
        "iosxe/show_crypto_ipsec_sa_detail/genieparser-2.txt",
        extra={"show crypto isakmp sa": isakmp},
    )
    found = evaluate([d])
    assert ("IKE_UP_NO_IPSEC", "warning", "17.0.0.1") in codes(found)
    f = next(f for f in found if f.code == "IKE_UP_NO_IPSEC")
    assert any("transform" in c for c in f.causes) and "debug crypto ipsec" in f.next_steps
    # Expected up (inventory) makes it an error, plus the tunnel-down finding.
    for t in d.tunnels:
        t.expected_up = True
    got = codes(evaluate([d]))
    assert ("IKE_UP_NO_IPSEC", "error", "17.0.0.1") in got
    assert ("TUNNEL_DOWN_EXPECTED_UP", "error", "17.0.0.1") in got


def test_ike_sa_without_tunnels() -> None:
    isakmp = ISAKMP_HDR + "9.9.9.9         1.1.1.2         QM_IDLE          1001 ACTIVE\n"
    d = device(
        "iosxe/show_crypto_ipsec_sa/genieparser-1.txt", extra={"show crypto isakmp sa": isakmp}
    )
    assert codes(evaluate([d])) == [("IKE_SA_WITHOUT_TUNNELS", "warning", "9.9.9.9")]


def _moved(d: DeviceState, **deltas: int) -> DeviceState:
    """The same device one minute later with some counters advanced (a second poll)."""
    later = d.model_copy(deep=True)
    later.polled_at = d.polled_at + timedelta(seconds=60)
    t = next(t for t in later.tunnels if t.sas)
    for key, delta in deltas.items():
        t.counters[key] = t.counters.get(key, 0) + delta
    return later


def test_one_way_traffic_needs_movement() -> None:
    d0 = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    d1 = _moved(d0, pkts_encaps=500, pkts_encrypt=500)
    found = evaluate([d1], [d0])
    assert codes(found) == [("ONE_WAY_TRAFFIC", "error", "1.1.1.1")]
    assert found[0].extra["direction"] == "out"
    # The peer (1.1.1.1) was not polled: its platform is unknown, so every step is one for
    # this IOS-XE router itself, none for the far end.
    assert "show crypto ipsec sa peer 1.1.1.1 detail" in found[0].next_steps
    assert not any("(on " in s for s in found[0].next_steps)
    # Both directions moving: healthy.
    assert evaluate([_moved(d0, pkts_encaps=500, pkts_decaps=480)], [d0]) == []


def test_one_way_traffic_names_the_peers_steps_when_it_was_polled_too() -> None:
    d0 = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    d0.tunnels = [t for t in d0.tunnels if t.sas]
    b0 = _mirror(d0)
    d1 = _moved(d0, pkts_encaps=500, pkts_encrypt=500)
    b1 = b0.model_copy(update={"polled_at": d1.polled_at})
    found = [f for f in evaluate([d1, b1], [d0, b0]) if f.code == "ONE_WAY_TRAFFIC"]
    assert [(f.device, f.peer) for f in found] == [("r1", "1.1.1.1")]
    # r2 (IOS-XE, 1.1.1.1) is asked to look for our packets: its peer is r1's 1.1.1.2
    assert "show logging | include RECVD_PKT_INV_SPI   (on r2)" in found[0].next_steps
    assert "show crypto ipsec sa peer 1.1.1.2 detail   (on r2)" in found[0].next_steps
    assert found[0].extra["peer_device"] == "r2"


def test_one_way_inbound() -> None:
    d0 = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    found = evaluate([_moved(d0, pkts_decaps=200)], [d0])
    assert codes(found) == [("ONE_WAY_TRAFFIC_INBOUND", "error", "1.1.1.1")]


def test_one_way_single_poll_is_weaker() -> None:
    d = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    t = next(t for t in d.tunnels if t.sas)
    t.counters["pkts_decaps"] = 0
    t.counters["pkts_encaps"] = 5000
    found = evaluate([d])
    assert codes(found) == [("ONE_WAY_TRAFFIC", "warning", "1.1.1.1")]
    assert any("one poll only" in e for e in found[0].evidence)


@pytest.mark.parametrize(
    ("key", "code"),
    [
        ("decrypt_failed", "DECRYPT_FAILURES"),
        ("verify_failed", "VERIFY_FAILURES"),
        ("replay_failed", "REPLAY_FAILURES"),
        ("send_errors", "SEND_ERRORS"),
        ("recv_errors", "RECV_ERRORS"),
        ("pkts_invalid_sa_rcv", "INVALID_SPI"),
    ],
)
def test_error_counters_growing(key: str, code: str) -> None:
    d0 = device("ios/show_crypto_ipsec_sa_detail/ntc-templates-1.txt")
    d1 = d0.model_copy(deep=True)
    d1.polled_at = T0 + timedelta(seconds=60)
    t0 = next(t for t in d0.tunnels if t.peer == "2.2.2.2")
    t1 = next(t for t in d1.tunnels if t.peer == "2.2.2.2")
    t0.counters[key] = 100
    t1.counters[key] = 150
    found = [f for f in evaluate([d1], [d0]) if f.peer == "2.2.2.2"]
    assert [(f.code, f.severity) for f in found] == [(code, "error")]
    # Not moving: info only (or silent for invalid SPI).
    still = [f for f in evaluate([d0], [d0]) if f.peer == "2.2.2.2"]
    assert all(f.severity == "info" for f in still)


def test_real_single_replay_failure_is_history() -> None:
    # ntc-templates-1: 1 replay failure in 12 million packets on 3.3.3.3.
    found = evaluate([device("ios/show_crypto_ipsec_sa_detail/ntc-templates-1.txt")])
    assert codes(found) == [("REPLAY_FAILURES", "info", "3.3.3.3")]


def test_invalid_spi_from_logs_in_raw() -> None:
    d = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    d.raw = {
        "show logging": (
            "Sep  2 13:27:57.707: %CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has "
            "invalid spi for destaddr=1.1.1.2, prot=50, spi=0xB761863E(3076621886), "
            "srcaddr=1.1.1.1\n"
        )
    }
    found = evaluate([d])
    assert codes(found) == [("INVALID_SPI", "error", "1.1.1.1")]
    # the sender was not polled: this router's own steps only (its session clear resyncs both)
    assert "clear crypto session remote 1.1.1.1" in found[0].next_steps
    assert "crypto isakmp invalid-spi-recovery   (configuration mode)" in found[0].next_steps
    # with the sender (r2 at 1.1.1.1) polled too, it is told to clear its SAs towards us
    d.tunnels = [t for t in d.tunnels if t.sas]
    sender = _mirror(d)
    sender.raw = None
    found = [f for f in evaluate([d, sender]) if f.code == "INVALID_SPI"]
    assert "clear crypto sa peer 1.1.1.2   (on r2)" in found[0].next_steps


LOGS = Path(__file__).parent.parent / "fixtures" / "logs"


def _flaps(log: str) -> list[tuple[str, str, str | None]]:
    d = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    d.raw = {"show logging": log}
    return [c for c in codes(evaluate([d])) if c[0] == "FLAPPING"]


def test_flapping_from_ikev2_sa_down_lines_with_remote() -> None:
    """One poll is enough: the log of a real IOS-XE IKEv2 flap names the peer (Remote a/500)."""
    found = _flaps((LOGS / "iosxe_ikev2_flap.log").read_text())
    assert found == [("FLAPPING", "warning", "203.0.113.9")]  # 2001:db8:7::9 went down once


def test_flapping_from_session_status_transitions() -> None:
    line = (
        "*Mar  1 00:0{}:00.000: %CRYPTO-5-SESSION_STATUS: Crypto tunnel is {}.  Peer 10.7.0.2:500"
    )
    seq = ["UP", "DOWN", "UP", "DOWN", "UP"]
    log = "\n".join(line.format(i, s) for i, s in enumerate(seq))
    assert _flaps(log) == [("FLAPPING", "warning", "10.7.0.2")]


@pytest.mark.parametrize(
    "seq",
    [
        ["UP", "DOWN", "UP"],  # one clear by an operator: not a flap
        ["DOWN", "DOWN", "DOWN"],  # repeated lines of one event (IKEv2 + session status)
        [],
    ],
)
def test_single_bounce_or_repeats_are_not_flapping(seq: list[str]) -> None:
    line = (
        "*Mar  1 00:0{}:00.000: %CRYPTO-5-SESSION_STATUS: Crypto tunnel is {}.  Peer 10.7.0.2:500"
    )
    log = "\n".join(line.format(i, s) for i, s in enumerate(seq)) or "nothing\n"
    assert _flaps(log) == []


def test_ikev2_and_session_lines_of_one_event_count_once() -> None:
    v2 = "%IKEV2-5-SA_{0}: SA {0}: Local 10.0.0.1/500 Remote 10.7.0.2/500 FVRF: none IVRF: none"
    v1 = "%CRYPTO-5-SESSION_STATUS: Crypto tunnel is {0}.  Peer 10.7.0.2:500"
    lines = []
    for state in ("DOWN", "UP"):
        lines += [v2.format(state), v1.format(state)]
    assert _flaps("\n".join(lines)) == []
    assert _flaps("\n".join(lines * 2)) == [("FLAPPING", "warning", "10.7.0.2")]


def test_sa_expiring_without_successor() -> None:
    d = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    t = next(t for t in d.tunnels if t.sas)
    for sa in t.sas:
        sa.remaining_s = 12
    assert codes(evaluate([d])) == [("SA_EXPIRING_NO_SUCCESSOR", "warning", "1.1.1.1")]
    # A successor SA present: silent.
    t.sas.append(IpsecSa(direction="out", spi=0x1234, remaining_s=3590))
    assert evaluate([d]) == []


def test_idle_on_demand_is_info_and_expected_up_is_error() -> None:
    d = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    idle = [t for t in d.tunnels if not t.sas]
    assert idle
    for t in idle:
        t.expected_up = False
    assert {f.code for f in evaluate([d])} == {"TUNNEL_IDLE_ON_DEMAND"}
    assert all(f.severity == "info" for f in evaluate([d]))
    for t in idle:
        t.expected_up = True
    assert {f.code for f in evaluate([d])} == {"TUNNEL_DOWN_EXPECTED_UP"}


def _mirror(a: DeviceState) -> DeviceState:
    """Side B of side A's first tunnel: selectors and SPIs swapped, addresses swapped."""
    b = a.model_copy(deep=True)
    b.device = "r2"
    t = next(t for t in b.tunnels if t.sas)
    b.tunnels = [t]
    t.device = "r2"
    t.local_addr, t.peer = t.peer, t.local_addr
    t.local_ts, t.remote_ts = t.remote_ts, t.local_ts
    for sa in t.sas:
        sa.direction = "out" if sa.direction == "in" else "in"
    t.counters["pkts_encaps"], t.counters["pkts_decaps"] = (
        t.counters["pkts_decaps"],
        t.counters["pkts_encaps"],
    )
    return b


def test_crosscheck_pair_healthy_then_broken() -> None:
    a = device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt")
    a.tunnels = [t for t in a.tunnels if t.sas]
    b = _mirror(a)
    assert evaluate([a, b]) == []
    # B lost its inbound SA (one-sided clear): A's outbound SPI is unknown at B.
    b_stale = b.model_copy(deep=True)
    b_stale.tunnels[0].sas = [sa for sa in b_stale.tunnels[0].sas if sa.direction == "out"]
    b_stale.tunnels[0].sas.append(
        IpsecSa(direction="in", spi=0xDEADBEEF, transform="esp-256-aes esp-sha256-hmac")
    )
    found = codes(evaluate([a, b_stale]))
    assert ("SPI_MISMATCH", "error", "1.1.1.1") in found
    # Selectors not mirrored.
    b_sel = b.model_copy(deep=True)
    assert b_sel.tunnels[0].local_ts is not None
    b_sel.tunnels[0].local_ts = b_sel.tunnels[0].local_ts.model_copy(
        update={"prefix": "10.10.0.0/16"}
    )
    assert ("SELECTOR_NOT_MIRRORED", "error", "1.1.1.1") in codes(evaluate([a, b_sel]))
    # Transform differs.
    b_tf = b.model_copy(deep=True)
    for sa in b_tf.tunnels[0].sas:
        sa.transform = "esp-3des esp-md5-hmac"
    assert ("TRANSFORM_MISMATCH", "error", "1.1.1.1") in codes(evaluate([a, b_tf]))


def test_cli_snapshot_exit_codes(tmp_path: Path) -> None:
    healthy = tmp_path / "healthy.json"
    healthy.write_text(
        json.dumps(
            envelope("show", devices=[dump(device("iosxe/show_crypto_ipsec_sa/genieparser-1.txt"))])
        )
    )
    res = CliRunner().invoke(app, ["health", "--snapshot", str(healthy), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["kind"] == "diag health" and doc["findings"] == []
    bad = tmp_path / "stuck.json"
    bad.write_text(
        json.dumps(
            envelope(
                "show", devices=[dump(device("iosxe/show_crypto_isakmp_sa/genieparser-2.txt"))]
            )
        )
    )
    res = CliRunner().invoke(app, ["health", "--snapshot", str(bad), "--json"])
    assert res.exit_code == 3
    f = json.loads(res.stdout)["findings"][0]
    assert {
        "code",
        "severity",
        "device",
        "peer",
        "summary",
        "evidence",
        "causes",
        "next_steps",
    } <= set(f)
    res = CliRunner().invoke(app, ["health", "--snapshot", str(bad)])
    assert res.exit_code == 3 and "IKE_STUCK_MM_NO_STATE" in res.stdout
    # movement via --previous
    res = CliRunner().invoke(app, ["health", "--snapshot", str(bad), "--previous", str(bad)])
    assert res.exit_code == 3


@pytest.mark.parametrize("content", ["not json", '{"devices": [{"platform": 1}]}'])
def test_cli_bad_snapshot_is_usage_error(tmp_path: Path, content: str) -> None:
    p = tmp_path / "snap.json"
    p.write_text(content)
    res = CliRunner().invoke(app, ["health", "--snapshot", str(p)])
    assert res.exit_code == 2
    assert "snap.json" in res.stderr and "Traceback" not in res.stderr


def test_a_findings_ike_sa_is_the_peers_best_whichever_order_the_device_lists_them() -> None:
    """An IOS hub retrying a peer lists an MM_NO_STATE row beside the QM_IDLE one (IKEv1 rows
    as ``dst src``, our address in either column): the up SA is the one quoted, else the
    first of the best status; a peer with no SA has none; the previous poll's SAs are read
    with our own addresses too."""
    from ipsecctl.diag.health.context import Scope
    from ipsecctl.models import IkeSa

    def sa(src: str, dst: str, state: str, status: str, conn: int) -> IkeSa:
        return IkeSa(version=1, src=src, dst=dst, state=state, status=status, conn_id=conn)

    ours = "192.0.2.1"
    rows = [
        sa(ours, "198.51.100.7", "MM_NO_STATE", "negotiating", 1),
        sa("198.51.100.7", ours, "QM_IDLE", "up", 2),
        sa(ours, "198.51.100.8", "MM_NO_STATE", "negotiating", 3),
        sa("198.51.100.8", ours, "MM_KEY_EXCH", "negotiating", 4),
        sa(ours, "2001:DB8::9", "MM_NO_STATE", "down", 5),
    ]
    dev = DeviceState(device="hub", platform="cisco_ios", ike_sas=rows)
    prev = DeviceState(device="hub", platform="cisco_ios", ike_sas=rows[:1])
    scope = Scope(dev, prev)
    pick = scope.best_ike
    assert pick(dev, "198.51.100.7").conn_id == 2  # type: ignore[union-attr]
    assert pick(dev, "198.51.100.8").conn_id == 3  # type: ignore[union-attr]
    assert pick(dev, "2001:db8::9").conn_id == 5  # type: ignore[union-attr]
    assert pick(dev, "203.0.113.5") is None and pick(dev, None) is None
    assert pick(prev, "198.51.100.7").conn_id == 1  # type: ignore[union-attr]
