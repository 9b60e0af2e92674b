"""The lab's ASA firewalls over real SSH: CLI, outputs read by the ASA parsers, actions."""

from __future__ import annotations

import re

from ipsecctl.lab import Lab
from ipsecctl.lab.state import Link
from parsers import parse
from tests.lab.conftest import Shell

IOS_SPI = re.compile(r"spi: 0x([0-9A-F]+)\((\d+)\)")


def asa_ios_link(lab: Lab) -> tuple[Link, str, str]:
    """A healthy tunnel between an ASA and an IOS router: (link, ASA name, IOS name)."""
    for lk in lab.fleet.links:
        if lk.behaviour != "healthy" or lk.spec.b is None:
            continue
        a, b = lab.router(lk.spec.a), lab.router(lk.spec.b)
        if (a.platform == "cisco_asa") != (b.platform == "cisco_asa"):
            asa, ios = (a, b) if a.platform == "cisco_asa" else (b, a)
            return lk, asa.name, ios.name
    raise AssertionError("no ASA-IOS tunnel in the lab")


def ios_spis(text: str) -> tuple[set[int], set[int]]:
    inbound: set[int] = set()
    outbound: set[int] = set()
    target = inbound
    for line in text.splitlines():
        if "inbound esp sas:" in line:
            target = inbound
        elif "outbound esp sas:" in line:
            target = outbound
        m = IOS_SPI.search(line)
        if m and "current outbound" not in line:
            target.add(int(m.group(2)))
    return inbound, outbound


def asa_spis(text: str) -> tuple[set[int], set[int]]:
    [tunnel] = parse("cisco_asa", "show crypto ipsec sa", text)["tunnels"]
    return (
        {sa["spi"] for sa in tunnel["sas"] if sa["direction"] == "in"},
        {sa["spi"] for sa in tunnel["sas"] if sa["direction"] == "out"},
    )


def test_prompts_enable_pager_and_errors(lab: Lab) -> None:
    _, name, _ = asa_ios_link(lab)
    s = Shell(lab, name, enable=False)
    try:
        out = s.cmd("show running-config")  # privileged: invisible in user exec
        assert out.splitlines()[-1] == "ERROR: % Invalid input detected at '^' marker."
        assert out.splitlines()[0].index("^") == len(f"{name}>show ")
        s.chan.send(b"enable\n")
        s.read_until("Password: ")
        s.chan.send(b"wrong\n")
        s.read_until("Password: ")
        s.chan.send(lab.creds.enable_secret.encode() + b"\n")
        s.read_until(f"{name}#")
        s.chan.send(b"terminal pager 24\n")
        s.read_until(f"{name}#")
        s.chan.send(b"show running-config\n")
        first = s.read_until("<--- More --->")
        assert f"{name}#" not in first.split("show running-config", 1)[1]
        s.chan.send(b"q")
        s.read_until(f"{name}#")
        assert s.cmd("terminal pager 0") == ""
        assert s.cmd("show crypto") == "ERROR: % Incomplete command\n"
        assert "Cisco Adaptive Security Appliance Software" in s.cmd("sh ver")
    finally:
        s.close()


def test_outputs_parse_and_agree_with_the_ios_end(lab: Lab, shell_factory) -> None:  # type: ignore[no-untyped-def]
    _link, asa, ios = asa_ios_link(lab)
    a: Shell = shell_factory(asa)
    r: Shell = shell_factory(ios)
    asa_addr, ios_addr = lab.router(asa).address, lab.router(ios).address
    ike = parse("cisco_asa", "show crypto ikev1 sa detail", a.cmd("show crypto ikev1 sa detail"))[
        "ike_sas"
    ]
    peer_sa = next(sa for sa in ike if sa["remote"] == ios_addr)
    assert peer_sa["state"] == "MM_ACTIVE" and peer_sa["status"] == "up"
    a_in, a_out = asa_spis(a.cmd(f"show crypto ipsec sa peer {ios_addr}"))
    r_in, r_out = ios_spis(r.cmd(f"show crypto ipsec sa peer {asa_addr}"))
    assert a_in and a_in == r_out and a_out == r_in  # one tunnel, two views
    db = a.cmd("show vpn-sessiondb l2l")
    assert f"Connection   : {ios_addr}" in db and "Protocol     : IKEv1 IPsec" in db
    run = a.cmd("show running-config crypto map")
    assert all(line.startswith("crypto map ") for line in run.splitlines() if line)
    groups = a.cmd("show running-config tunnel-group")
    assert " ikev1 pre-shared-key *****" in groups  # ASA masks the key


def test_clear_then_inside_ping_renews_spis(lab: Lab, shell_factory) -> None:  # type: ignore[no-untyped-def]
    link, asa, ios = asa_ios_link(lab)
    a: Shell = shell_factory(asa)
    r: Shell = shell_factory(ios)
    asa_addr, ios_addr = lab.router(asa).address, lab.router(ios).address
    old_in, _ = asa_spis(a.cmd(f"show crypto ipsec sa peer {ios_addr}"))
    assert a.cmd(f"clear crypto ipsec sa peer {ios_addr}") == ""
    assert "There are no ipsec sas" in a.cmd(f"show crypto ipsec sa peer {ios_addr}")
    assert ios_spis(r.cmd(f"show crypto ipsec sa peer {asa_addr}")) == (set(), set())
    side = "a" if link.spec.a == asa else "b"
    remote = link.spec.b_lan if side == "a" else link.spec.a_lan
    out = a.cmd(f"ping inside {remote.network_address + 1} repeat 5 timeout 1")
    assert re.search(r"^\.+!+$", out, re.M), out
    new_in, new_out = asa_spis(a.cmd(f"show crypto ipsec sa peer {ios_addr}"))
    assert new_in and not new_in & old_in
    assert ios_spis(r.cmd(f"show crypto ipsec sa peer {asa_addr}")) == (new_out, new_in)


def test_vpn_sessiondb_logoff_asks_then_logs_off(lab: Lab) -> None:
    _link, asa, ios = asa_ios_link(lab)
    ios_addr = lab.router(ios).address
    s = Shell(lab, asa)
    try:
        s.chan.send(f"vpn-sessiondb logoff ipaddress {ios_addr}\n".encode())
        s.read_until(re.escape("Do you want to logoff the VPN session(s)? [confirm]"))
        s.chan.send(b"\n")
        out = s.read_until(f"{asa}#")
        assert f"INFO: Number of sessions with IP address of {ios_addr} logged off : 1" in out
        assert ios_addr not in s.cmd("show vpn-sessiondb l2l")
        ike = parse("cisco_asa", "show crypto ikev1 sa", s.cmd("show crypto ikev1 sa"))
        assert ios_addr not in {sa["remote"] for sa in ike["ike_sas"]}
    finally:
        s.close()
