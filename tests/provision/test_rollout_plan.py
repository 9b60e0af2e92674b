"""Push planning from a live configuration (pure): exact lines, conflicts, inverse lines.

The running configurations are written here by hand in IOS syntax; the expected lines are
what an operator would type (and type back to undo it).
"""

from __future__ import annotations

from ipsecctl.provision.rollout import plan_cisco

RUNNING = """\
hostname r1
!
crypto ikev2 keyring KR-n
 peer a
  address 127.9.0.2
  pre-shared-key 0 old-key-aaaa
 !
!
crypto map VPNMAP 10 ipsec-isakmp
 set peer 127.9.0.2
 set transform-set TS
 match address ACL-A
!
interface GigabitEthernet1
 ip address 127.9.0.1 255.255.255.0
 crypto map VPNMAP
!
end
"""

RENDERED = [
    "crypto ikev2 keyring KR-n",
    " peer a",
    "  address 127.9.0.2",
    "  pre-shared-key ${K}",
    " peer b",
    "  address 127.9.0.3",
    "  pre-shared-key ${K}",
    "ip access-list extended ACL-B",
    " permit ip 10.1.0.0 0.0.0.255 10.3.0.0 0.0.0.255",
    "crypto map VPNMAP 20 ipsec-isakmp",
    " set peer 127.9.0.3",
    " match address ACL-B",
    "interface GigabitEthernet1",
    " crypto map VPNMAP",
]


def test_only_missing_lines_are_sent_and_undone_newest_first() -> None:
    plan = plan_cisco("cisco_iosxe", RENDERED, RUNNING)
    assert plan.conflicts == []
    assert plan.lines(RENDERED) == [
        "crypto ikev2 keyring KR-n",
        " peer b",
        "  address 127.9.0.3",
        "  pre-shared-key ${K}",
        "ip access-list extended ACL-B",
        " permit ip 10.1.0.0 0.0.0.255 10.3.0.0 0.0.0.255",
        "crypto map VPNMAP 20 ipsec-isakmp",
        " set peer 127.9.0.3",
        " match address ACL-B",
    ]
    assert plan.rollback_lines(RENDERED) == [
        "no crypto map VPNMAP 20 ipsec-isakmp",
        "no ip access-list extended ACL-B",
        "crypto ikev2 keyring KR-n",
        " no peer b",
    ]


def test_keys_are_compared_in_clear_when_known() -> None:
    real = [ln.replace("${K}", "old-key-aaaa") for ln in RENDERED]
    assert plan_cisco("cisco_iosxe", RENDERED, RUNNING, real).conflicts == []
    other = [ln.replace("${K}", "new-key-bbbb") for ln in RENDERED]
    (conflict,) = plan_cisco("cisco_iosxe", RENDERED, RUNNING, other).conflicts
    assert "'crypto ikev2 keyring KR-n' already holds another key" in conflict
    assert "new-key" not in conflict and "old-key" not in conflict
    encrypted = RUNNING.replace("pre-shared-key 0 old-key-aaaa", "pre-shared-key 6 QWERTYxyz")
    plan = plan_cisco("cisco_iosxe", RENDERED, encrypted, other)
    assert plan.conflicts == []  # cannot compare a type 6 key: it is sent again
    assert "  pre-shared-key ${K}" in plan.lines(RENDERED)[:4]


def test_existing_entry_with_another_peer_and_another_map_are_conflicts() -> None:
    rendered = [
        "crypto map VPNMAP 10 ipsec-isakmp",
        " set peer 127.9.0.9",
        " match address ACL-X",
        "interface GigabitEthernet1",
        " crypto map OTHER",
    ]
    conflicts = plan_cisco("cisco_iosxe", rendered, RUNNING).conflicts
    assert any(
        "'crypto map VPNMAP 10 ipsec-isakmp' already exists with set peer 127.9.0.2" in c
        for c in conflicts
    )
    assert any(
        "already has 'crypto map VPNMAP'" in c and "crypto_map: VPNMAP" in c for c in conflicts
    )


def test_nothing_to_send_when_everything_is_there() -> None:
    rendered = [
        "crypto map VPNMAP 10 ipsec-isakmp",
        " set peer 127.9.0.2",
        " set transform-set TS",
        "interface GigabitEthernet1",
        " crypto map VPNMAP",
    ]
    plan = plan_cisco("cisco_ios", rendered, RUNNING)
    assert plan.send == [] and plan.rollback == [] and plan.unchanged == 5


def test_asa_one_line_entries_and_tunnel_groups() -> None:
    running = (
        "crypto map outside_map 10 set peer 127.9.0.2\ncrypto map outside_map interface outside\n"
    )
    rendered = [
        "access-list ACL-n extended permit ip 10.1.0.0 255.255.255.0 10.3.0.0 255.255.255.0",
        "crypto map outside_map 20 match address ACL-n",
        "crypto map outside_map 20 set peer 127.9.0.3",
        "crypto map outside_map interface outside",
        "tunnel-group 127.9.0.3 type ipsec-l2l",
        "tunnel-group 127.9.0.3 ipsec-attributes",
        " ikev2 remote-authentication pre-shared-key ${K}",
    ]
    plan = plan_cisco("cisco_asa", rendered, running)
    assert plan.conflicts == []
    assert plan.rollback_lines(rendered) == [
        "clear configure tunnel-group 127.9.0.3",
        "no crypto map outside_map 20 set peer 127.9.0.3",
        "no crypto map outside_map 20 match address ACL-n",
        "no access-list ACL-n extended permit ip 10.1.0.0 255.255.255.0 10.3.0.0 255.255.255.0",
    ]
    clash = plan_cisco("cisco_asa", ["crypto map outside_map 10 set peer 127.9.0.7"], running)
    assert clash.conflicts and "choose another map sequence number" in clash.conflicts[0]


def test_isakmp_key_lines_are_one_key_per_peer() -> None:
    rendered = ["crypto isakmp key ${K} address 127.9.0.2"]
    same = ["crypto isakmp key same-key-123 address 127.9.0.2"]
    there = "crypto isakmp key same-key-123 address 127.9.0.2\n"
    plan = plan_cisco("cisco_ios", rendered, there, same)
    assert plan.send == [] and plan.rollback == [] and plan.conflicts == []
    plan = plan_cisco("cisco_ios", rendered, there.replace("same-key-123", "other-key-45"), same)
    assert plan.conflicts and "another key" in plan.conflicts[0]
    # stored encrypted: typed again, and never removed by a rollback (it was there before)
    plan = plan_cisco("cisco_ios", rendered, "crypto isakmp key 6 QWERTY address 127.9.0.2\n", same)
    assert plan.conflicts == [] and plan.send == [0] and plan.rollback == []
    # not there at all: sent, and removed on rollback
    plan = plan_cisco("cisco_ios", rendered, "hostname r\n", same)
    assert plan.send == [0]
    assert plan.rollback_lines(rendered) == ["no crypto isakmp key ${K} address 127.9.0.2"]
