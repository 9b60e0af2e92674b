"""Models built from parser records without revalidation, and JSON written by orjson, are
exactly what pydantic's validation and ``model_dump`` give, on every real output we parse."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import parsers
from ipsecctl.assemble import assemble
from ipsecctl.diag.mtu import for_tunnel
from ipsecctl.models import DeviceState, IkeSa, IpsecSa, Tunnel, dump, envelope, to_json
from ipsecctl.ops.export import tunnel_figures

FIX = Path(__file__).parent / "fixtures" / "cisco"
PLATFORMS = {"ios": "cisco_ios", "iosxe": "cisco_iosxe", "asa": "cisco_asa"}


def tunnel_mtu(tunnel: Tunnel) -> dict[str, Any] | None:
    """The tunnel's MTU figures as documents carry them (``extra.mtu``)."""
    result = for_tunnel(tunnel)
    return None if result is None else result.summary()


def _outputs() -> list[tuple[str, str, Path]]:
    """(platform, command, file) for every real Cisco output whose command has a parser."""
    found = []
    for folder in sorted(FIX.glob("*/*")):
        platform = PLATFORMS.get(folder.parent.name)
        command = folder.name.replace("_", " ")
        if platform is None or not folder.is_dir():
            continue
        try:
            parsers.resolve_command(command)
        except ValueError:
            continue
        found += [(platform, command, f) for f in sorted(folder.glob("*.txt"))]
    return found


OUTPUTS = _outputs()


def _records(platform: str, command: str, path: Path) -> dict[str, list[dict[str, Any]]]:
    try:
        result = parsers.parse(platform, command, path.read_text())
    except parsers.ParseError:
        return {}
    return {kind: result.get(kind, []) for kind in ("ike_sas", "tunnels")}


def test_there_are_outputs_to_compare() -> None:
    assert len(OUTPUTS) >= 30


@pytest.mark.parametrize(
    ("platform", "command", "path"),
    OUTPUTS,
    ids=[f"{p.parent.name}/{p.name}" for _, _, p in OUTPUTS],
)
def test_trusted_equals_validated(platform: str, command: str, path: Path) -> None:
    records = _records(platform, command, path)
    for kind, model in (("ike_sas", IkeSa), ("tunnels", Tunnel)):
        for rec in records.get(kind, []):
            values = {**rec, "device": "r1"}
            if model is Tunnel:
                values["platform"] = platform
            fast = model.trusted(values)
            slow = model.model_validate(values)
            assert fast == slow, (path, rec)
            assert fast.model_fields_set == slow.model_fields_set
            assert list(fast.__dict__) == list(type(fast).model_fields)


@pytest.mark.parametrize(
    ("platform", "command", "path"),
    OUTPUTS,
    ids=[f"{p.parent.name}/{p.name}" for _, _, p in OUTPUTS],
)
def test_json_is_the_pydantic_dump(platform: str, command: str, path: Path) -> None:
    """Same bytes as ``json.dumps(model_dump(mode="json"), indent=2)``, tunnels with the
    MTU figures they give when asked."""
    state = assemble("r1", platform, {command: path.read_text()})
    body = dump(state)
    for doc, tunnel in zip(body["tunnels"], state.tunnels, strict=True):
        mtu = tunnel_mtu(tunnel)
        if mtu is not None:
            doc["extra"]["mtu"] = mtu
    expected = json.dumps(envelope("show", devices=[body]), indent=2, ensure_ascii=False)
    assert to_json(envelope("show", devices=[state]), derive=tunnel_figures).decode() == expected


def test_a_record_that_does_not_fit_is_validated_and_refused() -> None:
    with pytest.raises(ValidationError):
        IpsecSa.trusted({"direction": "sideways", "spi": 1})  # outside the enumeration
    with pytest.raises(ValidationError):
        IpsecSa.trusted({"spi": 1})  # a required field missing
    with pytest.raises(ValidationError):
        IpsecSa.trusted({"direction": "in", "spi": 1, "colour": "red"})  # unknown field
    with pytest.raises(ValidationError):
        IkeSa.trusted({"version": 3})
    # history written before pfs became a flag still reads as the flag (the validator runs)
    assert Tunnel.trusted({"pfs": "group14"}).pfs is True


def test_nested_records_become_models() -> None:
    tunnel = Tunnel.trusted(
        {
            "peer": "192.0.2.9",
            "local_ts": {"prefix": "10.1.0.0/24"},
            "sas": [{"direction": "in", "spi": 7}, IpsecSa(direction="out", spi=8)],
        }
    )
    assert tunnel.local_ts is not None and tunnel.local_ts.protocol == 0
    assert [type(sa) for sa in tunnel.sas] == [IpsecSa, IpsecSa]
    assert tunnel.spis() == [7, 8]
    assert tunnel.counters == {} and tunnel.counters is not Tunnel.trusted({}).counters


def test_json_values_the_standard_library_would_refuse_or_spell_otherwise() -> None:
    state = DeviceState(
        device="r1",
        platform="cisco_ios",
        extra={"big": 2**70, "when": state_time(), "n": {5: {"x"}}},
    )
    doc = json.loads(to_json(state))
    assert doc["extra"]["big"] == 2**70  # past 64 bits: written by the standard library
    assert doc["polled_at"].endswith("Z")
    assert doc["extra"]["n"] == {"5": ["x"]}
    assert doc["extra"]["when"] == "2026-01-02T03:04:05Z"


def state_time() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
