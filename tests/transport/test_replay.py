"""--save-raw / --replay round trip: record from a real SSH session, replay offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ipsecctl.errors import CommandRejected, InputFileError
from ipsecctl.platforms import get_platform
from ipsecctl.transport import CommandRunner, RawRecorder, ReplayRunner, command_slug, open_session

from .conftest import ios_params, isolated_known, trust
from .ios_server import ISAKMP_SA, VERSION, IosServer


def test_command_slug() -> None:
    assert command_slug("show crypto ipsec sa") == "show_crypto_ipsec_sa"
    assert command_slug("swanctl --list-sas --raw") == "swanctl___list_sas___raw"
    assert command_slug(" show ip route vrf A/B ") == "show_ip_route_vrf_A_B"


def test_record_then_replay_round_trip(ios: IosServer, known_file: Path, tmp_path: Path) -> None:
    trust(known_file, ios.address, ios.port, ios.host_key)
    raw = tmp_path / "raw"
    session = open_session(
        ios_params(ios, known_file),
        get_platform("cisco_ios"),
        known_hosts=isolated_known(known_file),
    )
    with RawRecorder(raw, session) as recorder:
        assert isinstance(recorder, CommandRunner)
        assert recorder.send("show version") == VERSION
        assert recorder.send("show crypto isakmp sa") == ISAKMP_SA
        with pytest.raises(CommandRejected):
            recorder.send("show nonsense")
    meta = json.loads((raw / "rtr-01" / "meta.json").read_text())
    assert meta["device"] == "rtr-01" and meta["platform"] == "cisco_ios" and meta["saved_at"]
    assert sorted(p.name for p in (raw / "rtr-01").iterdir()) == [
        "meta.json",
        "show_crypto_isakmp_sa.txt",
        "show_version.txt",
    ]

    ios.stop()  # replay needs no device
    with ReplayRunner(raw, "rtr-01") as replay:
        assert isinstance(replay, CommandRunner)
        assert replay.platform == "cisco_ios"
        assert replay.send("show version") == VERSION
        assert replay.send("show crypto isakmp sa") == ISAKMP_SA
        with pytest.raises(CommandRejected, match=r"show_crypto_ipsec_sa\.txt is missing"):
            replay.send("show crypto ipsec sa")


def test_replayed_failure_indicator_is_still_rejected(tmp_path: Path) -> None:
    device = tmp_path / "r9"
    device.mkdir()
    (device / "meta.json").write_text('{"device": "r9", "platform": "cisco_iosxe"}')
    (device / "show_crypto_ipsec_sa.txt").write_text(
        "              ^\n% Invalid input detected at '^' marker.\n"
    )
    with pytest.raises(CommandRejected, match="r9 rejected 'show crypto ipsec sa'"):
        ReplayRunner(tmp_path, "r9").send("show crypto ipsec sa")


def test_missing_or_bad_replay_folder_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"cannot replay r1: .*meta\.json"):
        ReplayRunner(tmp_path, "r1")
    (tmp_path / "r2").mkdir()
    (tmp_path / "r2" / "meta.json").write_text("{not json")
    with pytest.raises(InputFileError, match="--save-raw"):
        ReplayRunner(tmp_path, "r2")
    with pytest.raises(InputFileError, match="cannot be a folder name"):
        ReplayRunner(tmp_path, "../etc")
