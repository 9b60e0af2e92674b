"""The startup configuration of a lab ASA, written from the lab's plan (ASA 9.x syntax).

Layout and spellings follow real ``show running-config`` outputs (public samples of
``show running-config crypto map / ipsec / crypto ikev1``): crypto map entries one line per
attribute, ``crypto map NAME interface outside``, IKEv1 transform sets with ``esp-aes-256``,
tunnel groups named by the peer's address. Keys are written in clear here (the lab needs them
to negotiate); :func:`ipsecctl.lab.views_config.display` masks them the way an ASA does.
"""

from __future__ import annotations

from ipsecctl.lab.device_config import LAB_PSK
from ipsecctl.lab.state import Fleet
from ipsecctl.lab.views_ios_crypto import ends


def running_config(fleet: Fleet, name: str) -> str:
    spec = fleet.routers[name].spec
    my = [e for e in ends(fleet, name) if not e.vti]
    cfg = [
        ": Saved",
        ":",
        f": Serial Number: {spec.serial}",
        ": Hardware:   ASAv, 2048 MB RAM, CPU Xeon 4100/6100/8100 series 2200 MHz, 1 CPU (1 core)",
        ":",
        "ASA Version 9.16(4) ",
        "!",
        f"hostname {name}",
        "domain-name lab.example",
        "enable password ***** pbkdf2",
        "names",
        "no mac-address auto",
        "",
        "!",
        f"interface {spec.wan_port}",
        " nameif outside",
        " security-level 0",
        f" ip address {spec.address} 255.255.255.0 ",
        "!",
        f"interface {spec.lan_port}",
        " nameif inside",
        " security-level 100",
        f" ip address {spec.inside_host} {spec.lan.netmask} ",
        "!",
        "ftp mode passive",
        "dns server-group DefaultDNS",
        " domain-name lab.example",
    ]
    for e in sorted(my, key=lambda x: x.seq):
        ll, rl = e.local_lan, e.remote_lan
        cfg.append(
            f"access-list {e.acl} extended permit ip {ll.network_address} {ll.netmask} "
            f"{rl.network_address} {rl.netmask} "
        )
    cfg += [
        "pager lines 24",
        "logging enable",
        "logging timestamp",
        "logging buffer-size 65536",
        "logging buffered debugging",
        "mtu outside 1500",
        "mtu inside 1500",
        "no failover",
        "icmp unreachable rate-limit 1 burst-size 1",
        "no asdm history enable",
        "arp timeout 14400",
        "no arp permit-nonconnected",
        "timeout xlate 3:00:00",
        "timeout conn 1:00:00 half-closed 0:10:00 udp 0:02:00 sctp 0:02:00 icmp 0:00:02",
        "user-identity default-domain LOCAL",
        "aaa authentication ssh console LOCAL ",
        "no snmp-server location",
        "no snmp-server contact",
    ]
    seen: dict[str, str] = {}
    for e in my:
        seen.setdefault(e.ts_name, e.config_transform)
    for tsn, words in seen.items():
        cfg.append(f"crypto ipsec ikev1 transform-set {tsn} {words} ")
    cfg.append("crypto ipsec security-association pmtu-aging infinite")
    for e in sorted(my, key=lambda x: x.seq):
        tag = e.map_tag
        cfg += [
            f"crypto map {tag} {e.seq} match address {e.acl}",
            f"crypto map {tag} {e.seq} set peer {e.peer_addr} ",
            f"crypto map {tag} {e.seq} set ikev1 transform-set {e.ts_name}",
        ]
        if e.spec.pfs_group:
            cfg.append(f"crypto map {tag} {e.seq} set pfs group{e.spec.pfs_group}")
    if my:
        cfg.append(f"crypto map {my[0].map_tag} interface outside")
    cfg += [
        "crypto ca trustpool policy",
        "crypto ikev1 enable outside",
        "crypto ikev1 policy 10",
        " authentication pre-share",
        " encryption aes-256",
        " hash sha",
        " group 14",
        " lifetime 86400",
        "telnet timeout 5",
        "ssh stricthostkeycheck",
        "ssh 0.0.0.0 0.0.0.0 outside",
        "ssh timeout 5",
        "ssh key-exchange group dh-group14-sha256",
        "console timeout 0",
        "threat-detection basic-threat",
        "group-policy DfltGrpPolicy attributes",
        "username admin password ***** pbkdf2 privilege 15",
    ]
    for e in sorted(my, key=lambda x: x.seq):
        cfg += [
            f"tunnel-group {e.peer_addr} type ipsec-l2l",
            f"tunnel-group {e.peer_addr} ipsec-attributes",
            f" ikev1 pre-shared-key {LAB_PSK}",
        ]
    cfg += [
        "!",
        "class-map inspection_default",
        " match default-inspection-traffic",
        "!",
        "prompt hostname context ",
        "no call-home reporting anonymous",
        ": end",
        "",
    ]
    return "\n".join(cfg)
