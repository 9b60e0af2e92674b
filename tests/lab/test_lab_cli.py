"""The IOS CLI of lab routers over real SSH: prompts, errors, abbreviations, paging, state."""

from __future__ import annotations

import re
import time

import paramiko
import pytest

from ipsecctl.lab import Lab
from ipsecctl.lab.topology import BROKEN, plan
from parsers import parse
from tests.lab.conftest import Shell, by_scenario

ISAKMP_ROW = re.compile(r"^(\S+)\s+(\S+)\s+(\w+)\s+(\d+) ACTIVE", re.M)
SPI = re.compile(r"spi: 0x([0-9A-F]+)\((\d+)\)")


def sa_spis(text: str) -> tuple[list[int], list[int]]:
    """Inbound and outbound ESP SPIs of a ``show crypto ipsec sa`` text."""
    inbound: list[int] = []
    outbound: list[int] = []
    target = inbound
    for line in text.splitlines():
        if "inbound esp sas:" in line:
            target = inbound
        elif "outbound esp sas:" in line:
            target = outbound
        m = SPI.search(line)
        if m and "current outbound" not in line:
            assert int(m.group(1), 16) == int(m.group(2))
            target.append(int(m.group(2)))
    return inbound, outbound


def counter(text: str, name: str) -> int:
    m = re.search(rf"#pkts {name}: (\d+)", text)
    assert m, name
    return int(m.group(1))


def test_plan_has_every_scenario_and_healthy_majority() -> None:
    p = plan(12, 1)
    scen = [r.scenario for r in p.routers]
    assert set(BROKEN) <= set(scen)
    assert scen.count("healthy") >= len(scen) // 2
    assert [r.platform for r in p.routers].count("cisco_asa") == 4  # 8 routers + 4 ASAs
    assert {r.platform for r in p.routers} == {"cisco_ios", "cisco_iosxe", "cisco_asa"}
    assert any(lk.ike_version == 2 for lk in p.links)
    assert any(lk.kind == "vti" for lk in p.links)
    assert any(":" in lk.a_addr for lk in p.links)
    # a healthy router's tunnels are all healthy, at both ends
    healthy = {r.name for r in p.routers if r.scenario == "healthy"}
    for lk in p.links:
        if lk.a in healthy or lk.b in healthy:
            assert lk.behaviour in ("healthy", "idle")
    assert plan(12, 1).links[3].transform == p.links[3].transform  # deterministic
    big = plan(200, 3)
    assert len({r.address for r in big.routers}) == 200


def test_prompts_enable_and_errors(lab: Lab, shell_factory) -> None:  # type: ignore[no-untyped-def]
    s: Shell = shell_factory("r01", enable=False)
    # privileged commands are invisible in user exec
    out = s.cmd("show running-config")
    assert out.splitlines()[-1] == "% Invalid input detected at '^' marker."
    caret = out.splitlines()[0]
    assert caret.index("^") == len("r01>show ")
    s.chan.send(b"enable\n")
    s.read_until("Password: ")
    s.chan.send(b"wrong\n")
    s.read_until("Password: ")
    s.chan.send(lab.creds.enable_secret.encode() + b"\n")
    s.read_until("r01#")
    s.cmd("terminal length 0")
    assert s.cmd("show crypto") == "% Incomplete command.\n"
    assert s.cmd("sh c") == '% Ambiguous command:  "sh c"\n'
    out = s.cmd("show crypto ipsec sa frobnicate")
    assert out.splitlines()[0].index("^") == len("r01#show crypto ipsec sa ")
    assert "hostname r01" in s.cmd("sh run")
    assert "Cisco IOS Software" in s.cmd("sh ver")


def test_abbreviations_equal_full_commands(shell_factory) -> None:  # type: ignore[no-untyped-def]
    s: Shell = shell_factory("r02")
    assert s.cmd("sh cry isa sa") == s.cmd("show crypto isakmp sa")
    assert s.cmd("sh cry map") == s.cmd("show crypto map")
    full = s.cmd("show crypto ipsec sa")
    abbr = s.cmd("sh cry ips sa")
    assert sa_spis(full) == sa_spis(abbr) and sa_spis(full)[0]


def test_paging_without_terminal_length_zero(lab: Lab) -> None:
    s = Shell(lab, "r01", enable=True)
    try:
        s.cmd("terminal length 24")
        s.chan.send(b"show running-config\n")
        first = s.read_until(" --More-- ")
        assert "r01#" not in first.split("show running-config", 1)[1]
        assert len(first.replace("\r\n", "\n").splitlines()) <= 25
        s.chan.send(b" ")
        more = ""
        while "end" not in more:
            more += s.read_until(r"(--More-- |r01#)")
            if more.rstrip().endswith("--More--"):
                s.chan.send(b" ")
        assert "end" in more
    finally:
        s.close()


def test_both_ends_of_lab_tunnels_agree(lab: Lab, shell_factory) -> None:  # type: ignore[no-untyped-def]
    for link in lab.fleet.links:
        if link.spec.b is None or link.behaviour != "healthy" or link.spec.kind == "vti":
            continue
        a: Shell = shell_factory(link.spec.a)
        b: Shell = shell_factory(link.spec.b)
        ta = a.cmd(f"show crypto ipsec sa peer {link.spec.b_addr}")
        tb = b.cmd(f"show crypto ipsec sa peer {link.spec.a_addr}")
        a_in, a_out = sa_spis(ta)
        b_in, b_out = sa_spis(tb)
        assert a_in and a_in == b_out and a_out == b_in
        assert a_in == [p.spi_a for p in link.sas]
        # selectors mirrored, transforms equal
        la = re.search(r"local  ident \(addr/mask/prot/port\): \((.*)\)", ta)
        rb = re.search(r"remote ident \(addr/mask/prot/port\): \((.*)\)", tb)
        assert la and rb and la.group(1) == rb.group(1)
        assert re.findall("transform: .*", ta) == re.findall("transform: .*", tb)
        # encaps on one side is decaps on the other (same simulated instant, +- rounding)
        assert abs(counter(ta, "encaps") - counter(tb, "decaps")) <= 5 * link.spec.rate_ab
        return
    pytest.fail("no healthy lab-to-lab crypto-map tunnel in the lab")


def test_clear_removes_both_ends_and_ping_brings_new_spis(lab: Lab, shell_factory) -> None:  # type: ignore[no-untyped-def]
    link = next(
        lk
        for lk in lab.fleet.links
        if lk.spec.b
        and lk.behaviour == "healthy"
        and lk.spec.kind == "crypto_map"
        and lk.spec.ike_version == 1
    )
    a: Shell = shell_factory(link.spec.a)
    b: Shell = shell_factory(link.spec.b)
    old_in, old_out = sa_spis(a.cmd(f"show crypto ipsec sa peer {link.spec.b_addr}"))
    assert a.cmd(f"clear crypto session remote {link.spec.b_addr}") == ""
    ta = a.cmd(f"show crypto ipsec sa peer {link.spec.b_addr}")
    tb = b.cmd(f"show crypto ipsec sa peer {link.spec.a_addr}")
    for t in (ta, tb):
        assert "current outbound spi: 0x0(0)" in t and sa_spis(t) == ([], [])
    assert link.spec.b_addr not in a.cmd("show crypto isakmp sa")
    assert "Session status: DOWN" in a.cmd("show crypto session")
    local_host = str(link.spec.a_lan.network_address + 1)
    remote_host = str(link.spec.b_lan.network_address + 1)
    out = a.cmd(f"ping {remote_host} source {local_host} repeat 5 timeout 1")
    assert re.search(r"^\.+!+$", out, re.M), out
    assert "Success rate is" in out
    new_in, new_out = sa_spis(a.cmd(f"show crypto ipsec sa peer {link.spec.b_addr}"))
    b_in, b_out = sa_spis(b.cmd(f"show crypto ipsec sa peer {link.spec.a_addr}"))
    assert new_in and new_in != old_in and new_out != old_out
    assert new_in == b_out and new_out == b_in
    rows = ISAKMP_ROW.findall(a.cmd("show crypto isakmp sa"))
    assert any(link.spec.b_addr in (r[0], r[1]) and r[2] == "QM_IDLE" for r in rows), rows


def test_clear_isakmp_keeps_ipsec(lab: Lab, shell_factory) -> None:  # type: ignore[no-untyped-def]
    name = by_scenario(lab, "one_way")
    s: Shell = shell_factory(name)
    rows = ISAKMP_ROW.findall(s.cmd("show crypto isakmp sa"))
    assert rows
    before = sa_spis(s.cmd("show crypto ipsec sa"))
    conn = rows[0][3]
    s.cmd(f"clear crypto isakmp {conn}")
    after_rows = ISAKMP_ROW.findall(s.cmd("show crypto isakmp sa"))
    assert conn not in [r[3] for r in after_rows]
    assert sa_spis(s.cmd("show crypto ipsec sa")) == before


def test_scenario_symptoms(lab: Lab, shell_factory) -> None:  # type: ignore[no-untyped-def]
    s: Shell = shell_factory(by_scenario(lab, "ike_no_response"))
    assert "MM_NO_STATE" in s.cmd("show crypto isakmp sa")
    log = s.cmd("show logging")
    assert "retransmitting phase 1 MM_NO_STATE" in log

    s = shell_factory(by_scenario(lab, "psk_mismatch"))
    assert "MM_KEY_EXCH" in s.cmd("show crypto isakmp sa")
    assert "%CRYPTO-4-IKMP_BAD_MESSAGE" in s.cmd("show logging")

    s = shell_factory(by_scenario(lab, "p2_mismatch"))
    r = lab.router(s.name)
    ext = next(p for p in lab.fleet.ends_of(s.name) if p[0].behaviour == "p2_mismatch")[0]
    isa = s.cmd("show crypto isakmp sa")
    assert any(
        ext.spec.b_addr in (row[0], row[1]) and row[2] == "QM_IDLE"
        for row in ISAKMP_ROW.findall(isa)
    ), isa
    t = s.cmd(f"show crypto ipsec sa peer {ext.spec.b_addr}")
    assert "current outbound spi: 0x0(0)" in t
    assert "Processing of Quick mode failed" in s.cmd("show logging")
    assert r.expected_up and ext.spec.b_addr in r.expected_up

    s = shell_factory(by_scenario(lab, "one_way"))
    ext = next(p for p in lab.fleet.ends_of(s.name) if p[0].behaviour == "one_way")[0]
    t1 = s.cmd(f"show crypto ipsec sa peer {ext.spec.b_addr}")
    assert counter(t1, "encaps") > 0 and counter(t1, "decaps") == 0

    s = shell_factory(by_scenario(lab, "replay_spi_errors"))
    ext = next(p for p in lab.fleet.ends_of(s.name) if p[0].behaviour == "replay_spi_errors")[0]
    d1 = s.cmd(f"show crypto ipsec sa peer {ext.spec.b_addr} detail")
    rep = int(re.search(r"##pkts replay failed \(rcv\): (\d+)", d1).group(1))  # type: ignore[union-attr]
    inv = int(re.search(r"#pkts invalid sa \(rcv\) (\d+)", d1).group(1))  # type: ignore[union-attr]
    assert rep > 0 and inv > 0
    log = s.cmd("show logging")
    assert "%CRYPTO-4-PKT_REPLAY_ERR" in log and "%CRYPTO-4-RECVD_PKT_INV_SPI" in log


def test_exec_channel_runs_one_command(lab: Lab) -> None:
    r = lab.router("r01")
    c = paramiko.SSHClient()
    c.load_host_keys(str(lab.known_hosts))
    c.connect(
        r.address,
        port=r.port,
        username=lab.creds.username,
        password=lab.creds.password,
        look_for_keys=False,
        allow_agent=False,
    )
    try:
        _, out, _ = c.exec_command("show version")
        assert "uptime is" in out.read().decode()
    finally:
        c.close()


def test_wrong_password_is_refused(lab: Lab) -> None:
    r = lab.router("r01")
    c = paramiko.SSHClient()
    c.load_host_keys(str(lab.known_hosts))
    with pytest.raises(paramiko.AuthenticationException):
        c.connect(
            r.address,
            port=r.port,
            username=lab.creds.username,
            password="nope",
            look_for_keys=False,
            allow_agent=False,
        )
    c.close()


def test_time_scale_moves_counters_lifetimes_rekeys_and_flaps(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Lab(tmp_path, devices=12, seed=1, time_scale=500.0) as fast:
        link = next(lk for lk in fast.fleet.links if lk.behaviour == "healthy" and lk.spec.b)
        s = Shell(fast, link.spec.a)
        try:
            t1 = s.cmd(f"show crypto ipsec sa peer {link.spec.b_addr}")
            time.sleep(0.5)
            t2 = s.cmd(f"show crypto ipsec sa peer {link.spec.b_addr}")
            grown = counter(t2, "encaps") - counter(t1, "encaps")
            assert grown >= link.spec.rate_ab * 200  # >= 0.4 s * 500 at the link's rate
            first = sa_spis(t1)[0]
            # an IPsec lifetime is 3600 s: at 500x every SA rekeys within ~8 s. Old and new SA
            # overlap for 30-60 simulated seconds, 60-120 ms here, less than two SSH round
            # trips on a loaded machine: the lab's own state is watched for the overlap and
            # its clock held there while the device is asked what it lists
            clock = fast.fleet.clock
            deadline = time.monotonic() + 12
            overlap: list[int] | None = None
            while time.monotonic() < deadline and overlap is None:
                with fast.fleet.lock:
                    fast.fleet.advance()
                    if len(link.sas) == 2:
                        held = clock.now()
                        clock.now = lambda held=held: held
                        overlap = [pair.spi_in("a") for pair in link.sas]
                time.sleep(0.001)
            assert overlap is not None, "the SA never rekeyed"
            try:
                cur = s.cmd(f"show crypto ipsec sa peer {link.spec.b_addr}")
            finally:
                del clock.now  # the lab's time runs on from where it is now
            assert sorted(sa_spis(cur)[0]) == sorted(overlap), "old and new SPI not listed together"
            while time.monotonic() < deadline:
                ins = sa_spis(s.cmd(f"show crypto ipsec sa peer {link.spec.b_addr}"))[0]
                if overlap[0] not in ins:
                    break
                time.sleep(0.02)
            else:
                pytest.fail("the old SA was never deleted")
            assert first[0] not in ins  # what was listed before is gone
            # flapping: the scenario's tunnel goes down and comes back with new SPIs
            fl = by_scenario(fast, "flapping")
            f = Shell(fast, fl)
            ext = next(p for p in fast.fleet.ends_of(fl) if p[0].behaviour == "flapping")[0]
            seen: set[int] = set()
            down = False
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline and not (down and len(seen) >= 2):
                ins = sa_spis(f.cmd(f"show crypto ipsec sa peer {ext.spec.b_addr}"))[0]
                down = down or not ins
                seen.update(ins)
                time.sleep(0.02)
            assert down and len(seen) >= 2
            f.close()
        finally:
            s.close()


def test_netmiko_textfsm_sees_the_lab_spis(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import netmiko
    from netmiko.utilities import get_structured_data

    with Lab(tmp_path, devices=4, seed=5, time_scale=1.0) as small:
        link = next(lk for lk in small.fleet.links if lk.behaviour == "healthy" and lk.spec.b)
        r = small.router(link.spec.a)
        conn = netmiko.ConnectHandler(
            device_type="cisco_ios",
            host=r.address,
            port=r.port,
            username=small.creds.username,
            password=small.creds.password,
            secret=small.creds.enable_secret,
            ssh_strict=True,
            system_host_keys=False,
            alt_host_keys=True,
            alt_key_file=str(small.known_hosts),
        )
        try:
            conn.enable()
            assert conn.find_prompt() == f"{r.name}#"
            # ntc's template reads one ident per interface (as on real crypto-map routers with
            # several peers), so ask for one peer and parse with netmiko's TextFSM helper
            raw = conn.send_command(f"show crypto ipsec sa peer {link.spec.b_addr} detail")
            recs = get_structured_data(
                raw, platform="cisco_ios", command="show crypto ipsec sa detail"
            )
            assert isinstance(recs, list) and recs, recs
            side = "a"
            inbound = [int(x["sa_spi_dec"]) for x in recs if x["sa_orientation"] == "inbound"]
            outbound = [int(x["sa_spi_dec"]) for x in recs if x["sa_orientation"] == "outbound"]
            assert inbound == [p.spi_in(side) for p in link.sas]
            assert outbound == [p.spi_out(side) for p in link.sas]
            assert recs[0]["current_peer"] == small.fleet.peer_addr(link, side)
            isa = conn.send_command("show crypto isakmp sa")
            assert "QM_IDLE" in isa
            sess = conn.send_command("show crypto session detail", use_textfsm=True)
            assert isinstance(sess, list) and sess[0]["session_status"] == "UP-ACTIVE"
        finally:
            conn.disconnect()


COLLECT = {
    "cisco_ios": [
        "show crypto isakmp sa",
        "show crypto isakmp sa detail",
        "show crypto ikev2 sa",
        "show crypto ikev2 sa detailed",
        "show crypto ipsec sa",
        "show crypto ipsec sa detail",
        "show crypto session",
        "show crypto session detail",
    ],
    "cisco_asa": [
        "show crypto ikev1 sa",
        "show crypto ikev1 sa detail",
        "show crypto isakmp sa",
        "show crypto ikev2 sa",
        "show crypto ikev2 sa detail",
        "show crypto ipsec sa",
    ],
}


def test_every_output_parses_with_the_team_parsers(lab: Lab, shell_factory) -> None:  # type: ignore[no-untyped-def]
    failures = []
    for r in lab.routers:
        s: Shell = shell_factory(r.name)
        for command in COLLECT["cisco_asa" if r.platform == "cisco_asa" else "cisco_ios"]:
            text = s.cmd(command)
            try:
                parse(r.platform, command, text)
            except Exception as exc:  # record and go on: one report for all
                if "no template" in str(exc).lower() or "unsupported" in str(exc).lower():
                    continue
                failures.append(f"{r.name} {command}: {exc}")
        s.close()
    assert not failures, "\n".join(failures[:10])
