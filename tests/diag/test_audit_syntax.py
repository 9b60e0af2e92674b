"""Audit: long IPsec SA lifetimes, weak IKEv2 proposals, and fix lines in valid IOS syntax.

The lab part builds the real lab fleet (no SSH needed) and renders its running-config and
``show crypto ipsec sa``: the configuration says ``esp-aes 256`` (as IOS does) while the show
output keeps ``esp-256-aes`` (as IOS does), and the audit of every lab router only suggests
lines a router would accept.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ipsecctl.diag.audit_crypto import audit_config, ios_transform_words
from ipsecctl.diag.config import parse_config
from ipsecctl.lab import views_ios_crypto
from ipsecctl.lab.state import Fleet
from ipsecctl.lab.topology import plan
from ipsecctl.models import Finding

CFG = Path(__file__).parent.parent / "fixtures" / "configs"

_SIZE = r"(?: (?:128|192|256))?"
_HMAC = r"(?:md5|sha|sha256|sha384|sha512)"
_TS = re.compile(
    rf"^(?:ah-{_HMAC}-hmac )?"
    rf"(?:(?:esp-aes{_SIZE}|esp-3des|esp-des|esp-null)(?: esp-{_HMAC}-hmac)?"
    rf"|esp-gcm{_SIZE}|esp-gmac{_SIZE})"
    r"(?: comp-lzs)?$"
)
# The configuration commands the audit may print (IOS 15 / IOS-XE 16-17 command references).
_IOS_LINES = [
    r"crypto isakmp policy \d+",
    r" encryption aes(?: (?:128|192|256))?",
    r" hash (?:sha|sha256|sha384|sha512)",
    r" group \d+(?: \d+)*",
    r" lifetime \d+",
    r"crypto isakmp aggressive-mode disable",
    r"(?:no )?crypto isakmp key <key> address "
    r"(?:0\.0\.0\.0 0\.0\.0\.0|<peer address> 255\.255\.255\.255|ipv6 \S+)",
    r"crypto keyring \S+",
    r" (?:no )?pre-shared-key address (?:0\.0\.0\.0 0\.0\.0\.0|<peer address> 255\.255\.255\.255"
    r"|ipv6 \S+)(?: key <key>)?",
    r"crypto ikev2 (?:proposal|policy|keyring|profile) \S+",
    r" (?:no )?encryption (?:aes-cbc-(?:128|192|256)|aes-gcm-(?:128|256)|3des|des)",
    r" (?:no )?integrity (?:md5|sha1|sha256|sha384|sha512)",
    r" proposal \S+",
    r" peer \S+",
    r"  address (?:<peer address>|\S+)",
    r"  pre-shared-key <key>",
    r" match identity remote address (?:<peer address>|\S+)(?: 255\.255\.255\.255|/128)?",
    r" authentication (?:remote|local) pre-share",
    r" keyring local \S+",
    r"crypto map \S+ \d+ ipsec-isakmp(?: dynamic \S+)?",
    r"crypto ipsec profile \S+",
    r" set pfs group(?:14|15|16|19|20|21|24)",
    r" set ikev2-profile \S+",
    r" set security-association lifetime seconds \d+",
    r"crypto ipsec security-association lifetime seconds \d+",
    r"crypto pki enroll \S+",
    r"show crypto pki certificates",
]
_IOS = re.compile("^(?:" + "|".join(_IOS_LINES) + ")$")


def _invalid_lines(findings: list[Finding]) -> list[str]:
    bad = []
    for f in findings:
        for line in f.next_steps:
            ts = re.fullmatch(r"crypto ipsec transform-set \S+ (.+)", line)
            ok = _TS.match(ts.group(1)) if ts else _IOS.match(line)
            if not ok:
                bad.append(f"{f.code}: {line}")
    return bad


# ------------------------------------------------------------------- the checker can fail
@pytest.mark.parametrize(
    "line",
    [
        "crypto ipsec transform-set T esp-256-aes esp-sha256-hmac",
        "crypto ipsec transform-set T esp-gcm 256 esp-sha256-hmac",
        "crypto ikev2 proposal / policy / keyring / profile",
        "no keyring KR <key> address 0.0.0.0 0.0.0.0",
    ],
)
def test_checker_rejects_invalid_lines(line: str) -> None:
    f = Finding(code="X", severity="info", device="d", summary="s", next_steps=[line])
    assert _invalid_lines([f])


# ------------------------------------------------------------------- fixture configuration
def _audit(name: str) -> list[Finding]:
    return audit_config(parse_config((CFG / name).read_text()), "BRANCH9")


def test_long_ipsec_lifetimes_are_flagged_with_the_line_to_change() -> None:
    found = [f for f in _audit("weak_v2_lifetime.cfg") if f.code == "LONG_IPSEC_LIFETIME"]
    by_where = {f.summary.split(":")[0]: f for f in found}
    assert set(by_where) == {"crypto map CM 10", "IPsec profile VTI-PROF", "global setting"}
    cm = by_where["crypto map CM 10"]
    assert cm.severity == "warning"  # 24 h with a 3DES transform set
    assert "86400" in cm.summary and "3DES" in cm.summary
    assert cm.next_steps == [
        "crypto map CM 10 ipsec-isakmp",
        " set security-association lifetime seconds 3600",
    ]
    prof = by_where["IPsec profile VTI-PROF"]
    assert prof.severity == "info"  # long, but GCM
    assert prof.next_steps[0] == "crypto ipsec profile VTI-PROF"
    assert by_where["global setting"].next_steps == [
        "crypto ipsec security-association lifetime seconds 3600"
    ]
    # 3600 (default) and 28800 (ASA default) are not flagged: CM 20 and CM 30 stay silent
    assert not any("CM 20" in f.summary or "CM 30" in f.summary for f in found)


def test_weak_ikev2_proposal_encryption_and_integrity() -> None:
    found = _audit("weak_v2_lifetime.cfg")
    v2 = {(f.code, f.severity, f.summary) for f in found if "IKEv2 proposal" in f.summary}
    assert (
        "WEAK_IKE_ENCRYPTION",
        "warning",
        "IKEv2 proposal OLD-PROP offers encryption 3DES",
    ) in v2
    assert ("WEAK_IKE_HASH", "error", "IKEv2 proposal OLD-PROP offers integrity MD5, SHA-1") in v2
    assert ("WEAK_IKE_ENCRYPTION", "error", "IKEv2 proposal DES-ONLY offers encryption DES") in v2
    old_enc = next(f for f in found if f.summary.endswith("OLD-PROP offers encryption 3DES"))
    # aes-cbc-128 stays in the proposal: removing 3des is enough
    assert old_enc.next_steps == ["crypto ikev2 proposal OLD-PROP", " no encryption 3des"]
    des = next(f for f in found if f.summary.endswith("DES-ONLY offers encryption DES"))
    assert des.next_steps == [
        "crypto ikev2 proposal DES-ONLY",
        " no encryption des",
        " encryption aes-cbc-256",
    ]


def test_modern_ikev2_proposal_is_silent() -> None:
    found = audit_config(parse_config((CFG / "ok_v2_a.cfg").read_text()), "HUB")
    assert not [f for f in found if f.code in ("WEAK_IKE_ENCRYPTION", "WEAK_IKE_HASH")]
    assert not [f for f in found if f.code == "LONG_IPSEC_LIFETIME"]


def test_fixture_fix_lines_are_valid_ios() -> None:
    for name in ("weak_v2_lifetime.cfg", "weak.cfg", "ok_v1_a.cfg", "ok_v2_a.cfg"):
        assert _invalid_lines(_audit(name)) == [], name


@pytest.mark.parametrize(
    ("words", "fixed"),
    [
        (["esp-256-aes", "esp-sha-hmac"], ["esp-aes 256", "esp-sha256-hmac"]),
        (["esp-192-aes", "esp-sha384-hmac"], ["esp-aes 192", "esp-sha384-hmac"]),
        (["esp-null", "esp-sha-hmac"], ["esp-gcm 256"]),  # GCM takes no HMAC
        (["esp-3des", "esp-md5-hmac"], ["esp-aes 256", "esp-sha256-hmac"]),
        (["esp-gcm 256"], ["esp-gcm 256"]),
    ],
)
def test_transform_words_in_config_syntax(words: list[str], fixed: list[str]) -> None:
    assert ios_transform_words(words) == fixed


# ------------------------------------------------------------------- the lab (item G9)
@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return Fleet(plan(12, 1), seed=1)


def _ios(fleet: Fleet) -> list[str]:
    """The lab's IOS / IOS-XE routers (its ASAs write ASA syntax)."""
    return [n for n, st in fleet.routers.items() if not st.spec.asa]


def test_lab_running_config_uses_transform_set_syntax(fleet: Fleet) -> None:
    seen = 0
    for name in _ios(fleet):
        cfg = fleet.running_config(name)
        for line in cfg.splitlines():
            ts = re.fullmatch(r"crypto ipsec transform-set \S+ (.+)", line)
            if ts:
                seen += 1
                assert _TS.match(ts.group(1)), line
    assert seen >= 8


def test_lab_show_ipsec_sa_keeps_show_spelling(fleet: Fleet) -> None:
    text = "\n".join(views_ios_crypto.show_ipsec_sa(fleet, name, 0.0) for name in _ios(fleet))
    assert "transform: esp-256-aes" in text  # as real IOS prints it
    assert "transform: esp-aes 256" not in text


def test_lab_audit_fix_lines_are_valid_ios(fleet: Fleet) -> None:
    findings: list[Finding] = []
    for name in _ios(fleet):
        cfg = fleet.running_config(name)
        findings += audit_config(parse_config(cfg, source=name), name)
    assert any(f.code == "WEAK_IPSEC_TRANSFORM" for f in findings)
    assert _invalid_lines(findings) == []
    assert not any("esp-256-aes" in line for f in findings for line in f.next_steps)
