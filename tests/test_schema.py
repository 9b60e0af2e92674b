"""The ipsecctl/v1 field names are a public contract: this test fails when they change.

If a change is intended, update README.md's schema section and the pinned lists together.
"""

from __future__ import annotations

from ipsecctl import models

PINNED = {
    "IkeSa": [
        "extra",
        "device",
        "version",
        "local",
        "remote",
        "src",
        "dst",
        "local_port",
        "remote_port",
        "state",
        "status",
        "conn_id",
        "spi_i",
        "spi_r",
        "role",
        "encryption",
        "integrity",
        "prf",
        "dh_group",
        "auth",
        "lifetime_s",
        "remaining_s",
        "nat_t",
        "fvrf",
        "ivrf",
    ],
    "IpsecSa": [
        "extra",
        "direction",
        "protocol",
        "spi",
        "transform",
        "encryption",
        "integrity",
        "mode",
        "udp_encap",
        "esn",
        "conn_id",
        "remaining_kb",
        "remaining_s",
        "replay_window",
        "status",
    ],
    "Tunnel": [
        "extra",
        "id",
        "device",
        "platform",
        "kind",
        "interface",
        "crypto_map",
        "map_seq",
        "vrf",
        "local_addr",
        "peer",
        "peer_port",
        "local_ts",
        "remote_ts",
        "pfs",
        "dh_group",
        "counters",
        "sas",
        "ike_state",
        "ike_status",
        "state",
        "expected_up",
        "uptime_s",
    ],
    "TrafficSelector": ["prefix", "protocol", "port"],
    "DeviceState": [
        "device",
        "platform",
        "polled_at",
        "reachable",
        "ike_sas",
        "tunnels",
        "errors",
        "raw",
        "extra",
        "endpoint",
    ],
    "CommandError": ["command", "kind", "message"],
    "Finding": [
        "code",
        "severity",
        "device",
        "peer",
        "summary",
        "evidence",
        "causes",
        "next_steps",
        "extra",
    ],
}


def test_field_names_are_pinned() -> None:
    for name, fields in PINNED.items():
        model = getattr(models, name)
        assert list(model.model_fields) == fields, name


def test_json_values_follow_the_contract() -> None:
    sa = models.IpsecSa(direction="in", spi=0xC0FFEE01, transform="esp-256-aes esp-sha-hmac")
    tunnel = models.Tunnel(
        device="r1",
        peer="10.0.0.2",
        local_ts=models.TrafficSelector(prefix="10.1.0.0/24"),
        remote_ts=models.TrafficSelector(prefix="10.2.0.0/24", protocol=6, port=443),
        sas=[sa],
    ).with_identity()
    doc = models.dump(tunnel)
    assert doc["sas"][0]["spi"] == 0xC0FFEE01 and isinstance(doc["sas"][0]["spi"], int)
    assert doc["local_ts"] == {"prefix": "10.1.0.0/24", "protocol": 0, "port": 0}
    assert doc["id"].startswith("r1:")
    state = models.DeviceState(device="r1", platform="cisco_ios", tunnels=[tunnel])
    polled = models.dump(state)["polled_at"]
    assert polled.endswith("Z") and "T" in polled
    env = models.envelope("tunnels", tunnels=[doc])
    assert list(env)[:2] == ["schema", "kind"] and env["schema"] == "ipsecctl/v1"


def test_identity_ignores_spis() -> None:
    base = dict(device="r1", peer="10.0.0.2", local_ts=models.TrafficSelector(prefix="10.1.0.0/24"))
    a = models.Tunnel(**base, sas=[models.IpsecSa(direction="in", spi=1)]).with_identity()
    b = models.Tunnel(**base, sas=[models.IpsecSa(direction="in", spi=2)]).with_identity()
    assert a.id == b.id


def test_dh_groups_are_numbers_and_pfs_a_flag() -> None:
    """One representation of DH groups: the IANA number; ``pfs`` says whether PFS is used."""
    assert models.Tunnel.model_fields["pfs"].annotation == bool | None
    assert models.Tunnel.model_fields["dh_group"].annotation == int | None
    assert models.IkeSa.model_fields["dh_group"].annotation == int | None
    tunnel = models.Tunnel(pfs=True, dh_group=14)
    doc = models.dump(tunnel)
    assert doc["pfs"] is True and doc["dh_group"] == 14
    # history stored before the flag kept the group's name
    assert models.Tunnel(pfs="group14").pfs is True
    assert models.Tunnel(pfs="none").pfs is False


def test_status_row_and_action_result_are_pinned() -> None:
    """``status`` rows and the ``clear``/``rekey`` document (README, JSON schema)."""
    from ipsecctl.actions import Result

    row = models.DeviceState(device="r1", platform="cisco_ios").summary()
    assert list(row) == [
        "device",
        "platform",
        "reachable",
        "ike_up",
        "ike_total",
        "tunnels_up",
        "tunnels_total",
        "errors",
    ]
    result = Result(
        device="r1",
        peer="10.0.0.2",
        action="rekey",
        commands=["c"],
        old_spis=[1, 2],
        old_by_direction={"in": [1], "out": [2]},
        new_by_direction={"in": [3], "out": [4]},
        new_spis=[3, 4],
    )
    doc = result.as_json()
    assert list(doc) == [
        "device",
        "peer",
        "vrf",
        "action",
        "commands",
        "sent",
        "old_spis",
        "new_spis",
        "spis",
        "ok",
        "dry_run",
        "message",
        "warnings",
    ]
    assert doc["spis"] == {"in": {"old": [1], "new": [3]}, "out": {"old": [2], "new": [4]}}


def test_event_line_is_pinned() -> None:
    """The ``watch --json`` line and the ``history --json`` events share one shape."""
    from datetime import UTC, datetime

    from ipsecctl.transitions import Event

    event = Event(
        time=datetime(2026, 12, 5, 10, 0, tzinfo=UTC),
        device="r1",
        peer="10.0.0.2",
        event="tunnel_down",
        from_="up",
        to="down",
    )
    line = event.line()
    assert list(line) == [
        "schema",
        "kind",
        "time",
        "device",
        "peer",
        "vrf",
        "tunnel",
        "event",
        "from",
        "to",
        "detail",
    ]
    assert line["schema"] == "ipsecctl/v1" and line["kind"] == "event"
    assert line["time"] == "2026-12-05T10:00:00Z"


CAPTURE_KEYS = ["schema", "kind", "device", "peer", "vrf", "commands", "packets", "duration_s",
                "esp", "ike", "findings", "pcap"]  # fmt: skip
CAPTURE_ESP = ["spi", "direction", "known", "packets", "first_seq", "last_seq", "gaps",
               "duplicates", "outside_window", "decrypted", "icv_ok", "icv_bad"]  # fmt: skip
CAPTURE_IKE = ["time", "exchange", "initiator", "message_id", "payloads", "notify"]


def test_capture_document_keys() -> None:
    """``diag capture --json``: the keys README.md documents for kind ``capture``."""
    from pathlib import Path

    from ipsecctl.diag.capture.analysis import analyse_capture
    from ipsecctl.diag.capture.files import frames_from_file
    from ipsecctl.ops.capture import CaptureResult

    fixtures = Path(__file__).parent / "fixtures"
    frames = [*frames_from_file(fixtures / "pcap" / "02-sunrise-sunset-esp.pcap"),
              *frames_from_file(fixtures / "pcap" / "isakmp4500.pcap")]  # fmt: skip
    report = analyse_capture(frames, device="r1", peer="192.1.2.23").to_dict()
    result = CaptureResult("r1", "192.1.2.23", None, ["show x"], ok=True, sent=["show x"],
                           report=report)  # fmt: skip
    doc = result.document()
    assert list(doc)[: len(CAPTURE_KEYS)] == CAPTURE_KEYS
    assert doc["schema"] == "ipsecctl/v1" and doc["kind"] == "capture"
    assert doc["esp"] and all(set(CAPTURE_ESP) <= set(e) for e in doc["esp"])
    assert doc["ike"] and all(set(CAPTURE_IKE) <= set(m) for m in doc["ike"])
    assert isinstance(doc["esp"][0]["spi"], int)
