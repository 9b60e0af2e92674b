"""The startup configuration of a lab IOS / IOS-XE router, written from the lab's plan.

This is what the router boots with; configuration mode changes it, and the fleet reads the
result back (``device_config``) to build the tunnels. The crypto sections are therefore the
source of the lab's tunnels, and must say exactly what the plan meant: the tests check that
every planned tunnel between lab devices negotiates from these texts.
"""

from __future__ import annotations

from ipsecctl.lab.state import Fleet
from ipsecctl.lab.tunnel_end import CRYPTO_MAP, IKEV2_PROFILE, IPSEC_PROFILE
from ipsecctl.lab.views_ios_crypto import ends


def running_config(fleet: Fleet, name: str, psk: str, enable_hash: str) -> str:
    """The configuration of a router: crypto section consistent with its tunnels."""
    spec = fleet.routers[name].spec
    my = ends(fleet, name)
    xe = spec.platform == "cisco_iosxe"
    cfg: list[str] = [
        "Building configuration...",
        "",
        f"Current configuration : {4000 + 300 * len(my)} bytes",
        "!",
        "! Last configuration change at 09:12:44 UTC Mon Jan 8 2024 by admin",
        "!",
        "version 17.3" if xe else "version 15.7",
        "service timestamps debug datetime msec",
        "service timestamps log datetime msec",
        "service password-encryption",
        "!",
        f"hostname {name}",
        "!",
        "boot-start-marker",
        "boot-end-marker",
        "!",
        "logging buffered 65536",
        f"enable secret 9 {enable_hash}",
        "!",
        "no aaa new-model",
        "!",
        "no ip domain lookup",
        "ip domain name lab.example",
        "!",
        "username admin privilege 1 secret 9 $9$lab$hidden",
        "!",
    ]
    vrf_ends = [e for e in my if e.vrf]
    for k, e in enumerate(vrf_ends):
        cfg += [f"ip vrf {e.vrf}", f" rd 65000:{k + 1}", "!"]
    v1 = [e for e in my if e.spec.ike_version == 1]
    v2 = [e for e in my if e.spec.ike_version == 2]
    if v1:
        cfg += [
            "crypto isakmp policy 10",
            " encr aes 256" if not xe else " encryption aes 256",
            " hash sha256",
            " authentication pre-share",
            " group 14",
        ]
        if any(e.peer_name and fleet.routers[e.peer_name].spec.asa for e in v1):
            # what an ASA offers over IKEv1 (its IKEv1 policies stop at SHA-1)
            cfg += [
                "crypto isakmp policy 20",
                " encr aes 256" if not xe else " encryption aes 256",
                " hash sha",
                " authentication pre-share",
                " group 14",
            ]
        cfg.append("crypto isakmp keepalive 10 3")
        for e in v1:
            if not e.vrf:
                cfg.append(f"crypto isakmp key 6 {psk} address {e.peer_addr}")
        cfg.append("!")
        # front-door VRFs: the key lives in a VRF keyring, the profile binds peer and VRF
        for e in vrf_ends:
            cfg += [
                f"crypto keyring KR-{e.vrf} vrf {e.vrf}",
                f"  pre-shared-key address {e.peer_addr} key 6 {psk}",
                "!",
                f"crypto isakmp profile ISAKMP-{e.vrf}",
                f"   vrf {e.vrf}",
                f"   keyring KR-{e.vrf}",
                f"   match identity address {e.peer_addr} 255.255.255.255 {e.vrf}",
                "!",
            ]
    if v2:
        cfg += [
            "crypto ikev2 proposal PROP-AES256",
            " encryption aes-cbc-256",
            " integrity sha256",
            " group 14",
            "!",
            "crypto ikev2 policy POL-1",
            " proposal PROP-AES256",
            "!",
            "crypto ikev2 keyring KR-LAB",
        ]
        for e in v2:
            cfg += [
                f" peer {e.keyring_peer}",
                f"  address {e.peer_addr}" + (" /128" if e.v6 else ""),
                f"  pre-shared-key 6 {psk}",
                " !",
            ]
        cfg += [
            "!",
            f"crypto ikev2 profile {IKEV2_PROFILE}",
        ]
        for e in v2:
            pa = e.peer_addr
            cfg.append(
                f" match identity remote address {pa}" + (" /128" if e.v6 else " 255.255.255.255")
            )
        cfg += [
            " authentication remote pre-share",
            " authentication local pre-share",
            " keyring local KR-LAB",
            " dpd 10 2 on-demand",
            "!",
        ]
    ts_seen: dict[str, str] = {}
    for e in my:
        ts_seen.setdefault(e.ts_name, e.config_transform)
    for tsn, tr in ts_seen.items():
        cfg += [f"crypto ipsec transform-set {tsn} {tr}", " mode tunnel"]
    if any(e.vti for e in my):
        cfg += ["!", f"crypto ipsec profile {IPSEC_PROFILE}"]
        vt = next(e for e in my if e.vti)
        cfg += [f" set transform-set {vt.ts_name}", f" set ikev2-profile {IKEV2_PROFILE}"]
    cfg.append("!")
    for e in sorted((e for e in my if not e.vti), key=lambda x: x.seq):
        cfg += [
            f"crypto map {e.map_tag} {e.seq} ipsec-isakmp",
            f" description to {e.peer_name or 'outside peer'}",
            f" set peer {e.peer_addr}",
            f" set transform-set {e.ts_name}",
        ]
        if e.spec.pfs_group:
            cfg.append(f" set pfs group{e.spec.pfs_group}")
        if e.spec.ike_version == 2:
            cfg.append(f" set ikev2-profile {IKEV2_PROFILE}")
        if e.vrf:
            cfg.append(f" set isakmp-profile ISAKMP-{e.vrf}")
        cfg.append(f" match address {e.acl}")
    cfg.append("!")
    for e in my:
        if not e.vti:
            continue
        cfg += [
            f"interface {e.tunnel_if}",
            f" description VTI to {e.peer_name or 'outside peer'}",
            f" ip address 172.31.{e.spec.id}.{1 if e.side == 'a' else 2} 255.255.255.252",
            " ip mtu 1400",
            " ip tcp adjust-mss 1360",
            f" tunnel source {spec.wan_if}",
            f" tunnel mode ipsec {'ipv6 v4-overlay' if e.v6 else 'ipv4'}",
            f" tunnel destination {e.peer_addr}",
            f" tunnel protection ipsec profile {IPSEC_PROFILE}",
            "!",
        ]
    cfg += [
        f"interface {spec.wan_if}",
        " description WAN",
        f" ip address {spec.address} 255.255.255.0",
    ]
    if any(e.v6 for e in my):
        cfg.append(f" ipv6 address {spec.address6}/64")
    if any(not e.vti and not e.vrf for e in my):
        cfg.append(f" crypto map {CRYPTO_MAP}")
    cfg += [
        " negotiation auto",
        "!",
    ]
    for e in vrf_ends:
        cfg += [
            f"interface {e.interface}",
            f" description WAN {e.vrf}",
            f" ip vrf forwarding {e.vrf}",
            f" ip address {e.local_addr} 255.255.255.0",
            f" crypto map {e.map_tag}",
            " negotiation auto",
            "!",
        ]
    cfg += [
        f"interface {spec.lan_if}",
        " description LAN",
        f" ip address {spec.inside_host} {spec.lan.netmask}",
        " negotiation auto",
        "!",
    ]
    for e in my:
        if e.vti:
            rl = e.remote_lan
            cfg.append(f"ip route {rl.network_address} {rl.netmask} {e.tunnel_if}")
    cfg.append("!")
    for e in my:
        if e.vti:
            continue
        ll, rl = e.local_lan, e.remote_lan
        cfg += [
            f"ip access-list extended {e.acl}",
            f" permit ip {ll.network_address} {ll.hostmask} {rl.network_address} {rl.hostmask}",
        ]
    cfg += [
        "!",
        "line con 0",
        " stopbits 1",
        "line vty 0 4",
        " login local",
        " transport input ssh",
        "!",
        "end",
        "",
    ]
    return "\n".join(cfg)
