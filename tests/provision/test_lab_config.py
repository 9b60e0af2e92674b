"""The lab routers' configuration mode, over real SSH, as an operator types it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ipsecctl.diag.config import parse_config
from ipsecctl.lab import Lab
from ipsecctl.lab.ioscli import merge_config
from tests.lab.conftest import Shell


@pytest.fixture
def shell(lab: Lab) -> Iterator[Shell]:
    s = Shell(lab, lab.plan.routers[2].name)
    yield s
    s.close()


def test_configure_terminal_prompts_and_leaves(shell: Shell) -> None:
    name = shell.name
    shell.chan.send(b"configure terminal\n")
    out = shell.read_until(f"{name}\\(config\\)#")
    assert "Enter configuration commands, one per line." in out
    shell.chan.send(b"crypto isakmp policy 77\n")
    shell.read_until(f"{name}\\(config-isakmp\\)#")
    for line in (" encryption aes 256", " hash sha256", " authentication pre-share", " group 19"):
        shell.chan.send(line.encode() + b"\n")
        shell.read_until(f"{name}\\(config-isakmp\\)#")
    shell.chan.send(b"ip access-list extended LABCFG-1\n")
    shell.read_until(f"{name}\\(config-ext-nacl\\)#")
    shell.chan.send(b" permit ip 10.77.0.0 0.0.0.255 10.78.0.0 0.0.0.255\n")
    shell.read_until(f"{name}\\(config-ext-nacl\\)#")
    shell.chan.send(b"bogus words here\n")
    err = shell.read_until(f"{name}\\(config\\)#")
    assert "% Invalid input detected at '^' marker." in err
    shell.chan.send(b"exit\n")
    shell.read_until(f"{name}#")
    assert shell.cmd("write memory").strip().splitlines() == ["Building configuration...", "[OK]"]
    run = shell.cmd("show running-config")
    assert "crypto isakmp policy 77\n encryption aes 256\n hash sha256\n" in run
    cfg = parse_config(run, source="lab")
    assert any(p.priority == 77 and p.group == 19 for p in cfg.isakmp_policies)
    assert [e.text for e in cfg.acls["LABCFG-1"]] == [
        "permit ip 10.77.0.0 0.0.0.255 10.78.0.0 0.0.0.255"
    ]


def test_config_mode_needs_enable(lab: Lab) -> None:
    s = Shell(lab, lab.plan.routers[3].name, enable=False)
    try:
        out = s.cmd("configure terminal")
        assert "% Invalid input" in out or "Unknown command" in out
        assert s.cmd("write memory") != "Building configuration...\n[OK]\n"
    finally:
        s.close()


def test_merge_adds_children_to_existing_blocks_and_removes() -> None:
    base = "hostname r\n!\ninterface Gi1\n ip address 1.1.1.1 255.0.0.0\n!\nline con 0\nend\n"
    blocks = [
        ["interface Gi1", " crypto map M"],
        ["crypto map M 10 ipsec-isakmp", " set peer 2.2.2.2"],
    ]
    text = merge_config(base, blocks, set())
    assert "interface Gi1\n ip address 1.1.1.1 255.0.0.0\n crypto map M\n" in text
    assert text.index("crypto map M 10") < text.index("interface Gi1")
    assert "interface Gi1" not in merge_config(base, [], {"interface Gi1"})
