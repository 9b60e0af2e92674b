"""``ipsecctl check`` under the monitoring-plugin contract, against the lab over real SSH.

Expected states come from the lab's configuration: healthy routers' tunnels are all up; the
tunnels of ``ike_no_response``, ``psk_mismatch`` and ``p2_mismatch`` links can never have an
IPsec SA although the inventory expects them up.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import yaml

from ipsecctl.lab import Lab
from tests.helpers import run_cli
from tests.monitor import labtruth

PERF = re.compile(r"^'?[a-z_]+'?=[-0-9.]+[a-zA-Z%]*(;[^;\s]*){0,4}$")


def _split(first: str) -> tuple[str, list[str]]:
    text, _, perf = first.partition(" | ")
    return text, perf.split()


def test_healthy_routers_are_ok(lab: Lab, tmp_path: Path) -> None:
    healthy = labtruth.healthy_routers(lab)
    r = run_cli("-i", str(lab.inventory_path), "check", *healthy, home=tmp_path)
    assert r.code == 0, r
    text, perf = _split(r.out.splitlines()[0])
    up = {
        (e.router, e.peer, e.vrf)
        for e in labtruth.ends(lab)
        if e.router in healthy and e.expected_up
    }
    assert (
        text == f"IPSEC OK - {len(up)} of {len(up)} expected tunnels up on {len(healthy)} devices"
    )
    assert all(PERF.match(p) for p in perf), perf
    assert f"tunnels_up={len(up)};;;0;{len(up)}" in perf
    assert f"devices_polled={len(healthy)};;;0;{len(healthy)}" in perf
    assert r.err == ""


def test_the_whole_lab_is_critical_naming_the_tunnels_that_cannot_come_up(
    lab: Lab, tmp_path: Path
) -> None:
    r = run_cli("-i", str(lab.inventory_path), "check", home=tmp_path)
    assert r.code == 2, r
    lines = r.out.splitlines()
    text, perf = _split(lines[0])
    never = labtruth.never_up(lab)
    flapping = labtruth.flapping(lab)  # may be caught in its down moment
    m = re.match(r"IPSEC CRITICAL - (\d+) of (\d+) expected tunnels down \((.*?)\)", text)
    assert m, text
    assert len(never) <= int(m.group(1)) <= len(never) + len(flapping)
    down = {
        tuple(line.split(":")[0].split(" -> "))
        for line in lines[1:]
        if "tunnel_down_expected_up" in line
    }
    assert never <= down <= never | flapping
    assert m.group(3).split(", ")[0] in {f"{a} -> {b}" for a, b in down}
    assert all(PERF.match(p) for p in perf), perf
    assert any(
        p.startswith("errors=") and p.split("=")[1].split(";")[0].endswith("c") for p in perf
    )
    # one-way traffic (r05's scenario) is a fault below critical, listed in the details
    one_way = [e for e in labtruth.ends(lab) if e.behaviour == "one_way" and e.expected_up]
    assert any(f"{e.router} -> {e.peer}: one_way_traffic" in r.out for e in one_way), r.out


def test_a_critical_threshold_above_the_fault_count_leaves_a_warning(
    lab: Lab, tmp_path: Path
) -> None:
    r = run_cli("-i", str(lab.inventory_path), "check", "--critical", "1000", home=tmp_path)
    assert r.code == 1, r
    assert r.out.startswith("IPSEC WARNING - ")
    assert ";0;1000;0;" in r.out.splitlines()[0]  # faults=N;0;1000;0;total


def test_usage_errors_are_unknown_with_one_line(lab: Lab, tmp_path: Path) -> None:
    inv = str(lab.inventory_path)
    for args in (
        ["check", "--warning", "x"],
        ["check", "--no-such-option"],
        ["--workers", "0", "check"],
        ["check", "--timeout", "soon"],
        ["-i", str(tmp_path / "missing"), "check"],
    ):
        full = args if "-i" in args else ["-i", inv, *args]
        r = run_cli(*full, home=tmp_path)
        assert r.code == 3, (args, r)
        assert r.out.startswith("IPSEC UNKNOWN - ") and r.out.count("\n") == 1, (args, r)
        assert "Traceback" not in r.err


def test_nothing_reachable_is_unknown_and_part_of_it_a_warning(lab: Lab, tmp_path: Path) -> None:
    with socket.socket() as s:  # a loopback port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    hosts = yaml.safe_load((lab.inventory_path / "hosts.yaml").read_text())
    first = labtruth.healthy_routers(lab)[0]
    gone = {"hostname": "127.0.0.1", "port": port, "platform": "cisco_ios"}
    for name, kept in (("dead", {"gone": gone}), ("half", {first: hosts[first], "gone": gone})):
        inv = tmp_path / name
        inv.mkdir()
        (inv / "hosts.yaml").write_text(yaml.safe_dump(kept))
        for f in ("groups.yaml", "defaults.yaml"):
            (inv / f).write_text((lab.inventory_path / f).read_text())
    r = run_cli("-i", str(tmp_path / "dead"), "check", home=tmp_path)
    assert r.code == 3, r
    assert r.out.startswith("IPSEC UNKNOWN - no device could be polled (gone: ")
    r = run_cli("-i", str(tmp_path / "half"), "check", home=tmp_path)
    assert r.code == 1, r
    assert r.out.startswith("IPSEC WARNING - 1 of 2 devices not polled (gone)")
    assert "gone: not polled: " in r.out
