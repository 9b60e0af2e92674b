"""Redaction patterns on real Cisco / strongSwan configuration lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipsecctl.redact import (
    MASK,
    clear_registered,
    redact,
    redact_text,
    register_host_secrets,
    register_secrets,
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "crypto isakmp key 6 Sup3r address 10.0.0.1",
            f"crypto isakmp key 6 {MASK} address 10.0.0.1",
        ),
        (
            "crypto isakmp key cisco123 address 0.0.0.0 0.0.0.0",
            f"crypto isakmp key {MASK} address 0.0.0.0 0.0.0.0",
        ),
        (
            "  pre-shared-key address 10.1.1.1 key cisco",
            f"  pre-shared-key address 10.1.1.1 key {MASK}",
        ),
        ("  pre-shared-key local LocalKey", f"  pre-shared-key local {MASK}"),
        (" ikev1 pre-shared-key abc", f" ikev1 pre-shared-key {MASK}"),
        (
            " ikev2 remote-authentication pre-shared-key xyz",
            f" ikev2 remote-authentication pre-shared-key {MASK}",
        ),
        (
            " set session-key inbound esp 256 cipher 0123456789abcdef authenticator 00112233",
            f" set session-key inbound esp 256 cipher {MASK} authenticator {MASK}",
        ),
        (
            " set session-key outbound ah 300 0123456789abcdef",
            f" set session-key outbound ah 300 {MASK}",
        ),
        (
            "username admin privilege 15 secret 9 $9$abc",
            f"username admin privilege 15 secret 9 {MASK}",
        ),
        ("enable password cisco", f"enable password {MASK}"),
        ('    secret = "s3cr3t"', f"    secret = {MASK}"),
        ('{"password": "p w", "x": 1}', f'{{"password": {MASK}, "x": 1}}'),
        ("show crypto ipsec sa peer 10.0.0.1", "show crypto ipsec sa peer 10.0.0.1"),
        (
            "current outbound spi: 0x1234ABCD(305441741)",
            "current outbound spi: 0x1234ABCD(305441741)",
        ),
    ],
)
def test_patterns(line, expected):
    assert redact_text(line) == expected


def test_registered_literals():
    register_secrets(["Zq8-unusual", None, "abc"])  # too short to register safely: abc
    try:
        assert redact_text("banner says Zq8-unusual abc") == f"banner says {MASK} abc"
    finally:
        clear_registered()
    assert redact_text("Zq8-unusual") == "Zq8-unusual"


def test_structures():
    data = {"password": "x", "key_file": None, "cmds": ["crypto isakmp key k1 address 1.1.1.1"]}
    assert redact(data) == {
        "password": MASK,
        "key_file": None,
        "cmds": [f"crypto isakmp key {MASK} address 1.1.1.1"],
    }


def test_register_host_secrets_includes_jump_hosts(tmp_path):
    from inventory import load_inventory

    (tmp_path / "hosts.yaml").write_text(
        "j: {password: jump-Pa55}\nr: {platform: ios, jump_host: j, enable_secret: en-S3cret}\n"
    )
    inv = load_inventory(tmp_path, env={})
    register_host_secrets(inv.select(["r"]))
    try:
        assert redact_text("x jump-Pa55 y en-S3cret") == f"x {MASK} y {MASK}"
    finally:
        clear_registered()


@given(st.from_regex(r"[!-~]{1,40}", fullmatch=True))
def test_any_isakmp_key_is_masked(psk):
    line = f"crypto isakmp key {psk} address 10.0.0.2"
    out = redact_text(line)
    assert out == f"crypto isakmp key {MASK} address 10.0.0.2"


@given(
    st.from_regex(r"[!-~]{1,40}", fullmatch=True),
    st.sampled_from(
        [
            "pre-shared-key address 10.1.1.1 key {}",
            "pre-shared-key address 10.1.1.0 255.255.255.0 key {}",
            "pre-shared-key address ipv6 2001:db8::1/128 key 6 {}",
            "pre-shared-key hostname peer.example.net key {}",
            " pre-shared-key remote {}",
            " ikev1 pre-shared-key {}",
            " ikev2 local-authentication pre-shared-key 8 {}",
        ]
    ),
)
def test_any_keyring_psk_is_masked(psk, template):
    out = redact_text(template.format(psk))
    assert out == template.format(MASK)


def test_charon_key_dumps_are_removed() -> None:
    """charon at log level 4 prints derived keys as hex dump lines under "... => N bytes"."""
    from ipsecctl.redact import REMOVED, redact_text

    log = (
        "12[IKE] <lab|1> Sk_ei secret => 16 bytes @ 0x7f87f40023e0\n"
        "12[IKE] <lab|1>    0: 7D 34 A1 00 11 22 33 44 55 66 77 88 99 AA BB CC  }4..\n"
        "09[CHD] <lab|1> encryption initiator key => 16 bytes @ 0x7f87e0003cc0\n"
        "09[CHD] <lab|1>    0: 0F 1E 2D 3C 4B 5A 69 78 87 96 A5 B4 C3 D2 E1 F0  ........\n"
    )
    out = redact_text(log, mask=REMOVED)
    assert "7D 34 A1" not in out and "0F 1E 2D" not in out
    assert out.count(REMOVED) >= 2
    # a device's own hex dumps (captures printed by IOS-XE) are not charon's keys
    dump = "0000:  0050 56A3 2D63 0050 56A3 1C3A 0800 4500   .PV.-c.PV..:..E.\n"
    assert redact_text(dump) == dump
