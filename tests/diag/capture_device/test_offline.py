"""``diag capture --from FILE -p PLATFORM``: a capture saved from a device, read offline by
the same readers and analysis as a live capture."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ipsecctl.lab import Lab
from ipsecctl.lab.cli_session import session_for
from tests.diag.capture_device.test_lab_capture import either, peer_of, shown_spis
from tests.helpers import CliRun

Cli = Callable[..., CliRun]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_tcpdump_esp_capture_offline(cli: Cli) -> None:
    # tcpdump's esp1.out: 8 packets 192.1.2.23 > 192.1.2.45, spi 0x12345678, seq 1..8
    pcap = FIXTURES / "pcap" / "02-sunrise-sunset-esp.pcap"
    run = cli("diag", "capture", "--from", str(pcap), "--peer", "192.1.2.23", "--local",
              "192.1.2.45", "--json")  # fmt: skip
    assert run.code == 3, run  # traffic one way only
    doc = run.json
    assert doc["kind"] == "capture" and doc["packets"] == 8 and doc["commands"] == []
    (esp,) = doc["esp"]
    assert (esp["spi"], esp["direction"], esp["packets"]) == (0x12345678, "in", 8)
    assert (esp["first_seq"], esp["last_seq"], esp["gaps"]) == (1, 8, 0)
    assert [f["code"] for f in doc["findings"]] == ["ONE_WAY_TRAFFIC_INBOUND"]


def test_printed_asa_capture_offline(cli: Cli) -> None:
    text = FIXTURES / "printed" / "asa-dump-icmp.txt"
    run = cli("diag", "capture", "--from", str(text), "-p", "cisco_asa", "--json")
    assert run.code == 0, run
    assert run.json["packets"] == 1 and run.json["esp"] == []


def test_bad_input_is_named(cli: Cli, tmp_path: Path) -> None:
    run = cli("diag", "capture", "--from", str(tmp_path / "nothing.pcap"))
    assert run.code == 2 and "nothing.pcap" in run.err and "Traceback" not in run.err, run
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("this is not a capture\n")
    run = cli("diag", "capture", "--from", str(garbage), "-p", "cisco_iosxe")
    assert run.code == 2 and "garbage.txt" in run.err, run
    run = cli("diag", "capture", "--from", str(garbage), "-p", "junos")
    assert run.code == 2 and "junos" in run.err, run
    run = cli("diag", "capture", "r1")
    assert run.code == 2 and "--peer" in run.err, run


def _saved_dump(lab: Lab, device: str, peer: str, local: str, tmp_path: Path) -> Path:
    """A device's own printed capture, saved as an operator would paste it into a file."""
    s = session_for(lab.fleet, device, "unused")
    s.priv = 15
    if lab.fleet.routers[device].spec.platform == "cisco_asa":
        s.run(f"capture SAVED interface outside match ip host {local} host {peer}")
        time.sleep(0.5)
        text = s.run("show capture SAVED dump")
        s.run("no capture SAVED")
    else:
        iface = lab.fleet.routers[device].spec.wan_if
        for c in (f"monitor capture SAVED interface {iface} both",
                  f"monitor capture SAVED match ipv4 host {local} host {peer} bidirectional",
                  "monitor capture SAVED start"):  # fmt: skip
            s.run(c)
        time.sleep(0.5)
        s.run("monitor capture SAVED stop")
        text = s.run("show monitor capture SAVED buffer dump")
        s.run("no monitor capture SAVED")
    path = tmp_path / f"{device}.txt"
    path.write_text(text)
    return path


def test_lab_printed_dumps_read_back_like_a_live_capture(
    cli: Cli, lab: Lab, tmp_path: Path
) -> None:
    for platform in ("cisco_iosxe", "cisco_asa"):
        device, peer = peer_of(lab, "healthy", platform)
        local = lab.router(device).address
        # the lab's SAs rekey on their own timetable: what the device showed before the dump
        # and after the read-back both count
        before = shown_spis(cli, lab, device, peer)
        path = _saved_dump(lab, device, peer, local, tmp_path)
        run = cli("diag", "capture", "--from", str(path), "-p", platform, "--peer", peer,
                  "--local", local, "--json")  # fmt: skip
        assert run.code == 0, run
        shown = either(before, shown_spis(cli, lab, device, peer))
        seen = {d: {e["spi"] for e in run.json["esp"] if e["direction"] == d}
                for d in ("in", "out")}  # fmt: skip
        assert seen["in"] and seen["out"], platform
        assert seen["in"] <= shown["in"] and seen["out"] <= shown["out"], platform
