"""IOS / IOS-XE ``show crypto ...`` output of one lab router, from the fleet state at a time.

Column widths, indentation and wording follow real devices (the public samples under
tests/fixtures/cisco): parsers and netmiko/TextFSM see nothing that tells them this is a
simulator. Functions are pure over a locked snapshot: the caller holds ``fleet.lock`` and passes
``t``. What both ends agreed (algorithms, groups, lifetimes) comes from the link's negotiation.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ipsecctl.lab.negotiation import Agreed
from ipsecctl.lab.state import IPSEC_LIFETIME_KB, STUCK_P1, Fleet, Link, counters
from ipsecctl.lab.tunnel_end import End, ios_addr

# IOS "show crypto isakmp sa detail" spellings of the agreed phase 1
_V1_ENC = {"aes128": "aes", "aes192": "aes", "aes256": "aes", "3des": "3des", "des": "des"}
_V1_HASH = {"sha1": "sha", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512", "md5": "md5"}
_V2_ENC = {
    "aes128": ("AES-CBC", 128),
    "aes192": ("AES-CBC", 192),
    "aes256": ("AES-CBC", 256),
    "aes128gcm16": ("AES-GCM", 128),
    "aes256gcm16": ("AES-GCM", 256),
    "3des": ("3DES", 0),
}


def ends(fleet: Fleet, name: str) -> list[End]:
    spec = fleet.routers[name].spec
    return [End(link, side, spec) for link, side in fleet.routers[name].ends]


def agreed(e: End) -> Agreed:
    return e.link.agreed or Agreed()


def shows_ike(e: End) -> bool:
    """A responder never saw a phase 1 that nobody answered or it refused at once."""
    return e.link.ike is not None and (e.side == "a" or e.link.behaviour not in STUCK_P1)


def hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def uptime_text(seconds: float) -> str:
    """IOS style: 00:12:34 under a day, then 1d02h, then 3w2d."""
    s = max(0, int(seconds))
    if s < 86400:
        return hms(s)
    days, hours = s // 86400, s % 86400 // 3600
    if days < 7:
        return f"{days}d{hours:02d}h"
    return f"{days // 7}w{days % 7}d"


def _spi(v: int) -> str:
    return f"0x{v:X}({v})"


def _mask(net: ipaddress.IPv4Network) -> str:
    return f"{net.network_address}/{net.netmask}"


# --------------------------------------------------------------------------- isakmp
def _ike_v1_rows(fleet: Fleet, name: str) -> list[tuple[End, str, str]]:
    rows = []
    for e in ends(fleet, name):
        ike = e.link.ike
        if e.spec.ike_version != 1 or ike is None or not shows_ike(e):
            continue
        if e.initiator:
            src, dst = e.local_addr, e.peer_addr
        else:
            src, dst = e.peer_addr, e.local_addr
        rows.append((e, ios_addr(dst), ios_addr(src)))
    return rows


def show_isakmp_sa(fleet: Fleet, name: str, t: float) -> str:
    rows = _ike_v1_rows(fleet, name)
    out = ["IPv4 Crypto ISAKMP SA", "dst             src             state          conn-id status"]
    v6: list[str] = []
    for e, dst, src in rows:
        ike = e.link.ike
        assert ike is not None
        line = f"{dst:<15} {src:<15} {ike.state:<14} {ike.conn(e.side):>7} ACTIVE"
        (v6 if e.v6 else out).append(line)
    out += ["", "IPv6 Crypto ISAKMP SA", *v6, ""]
    return "\n".join(out)


def show_isakmp_sa_detail(fleet: Fleet, name: str, t: float) -> str:
    out = [
        "Codes: C - IKE configuration mode, D - Dead Peer Detection",
        "       K - Keepalives, N - NAT-traversal",
        "       T - cTCP encapsulation, X - IKE Extended Authentication",
        "       psk - Preshared key, rsig - RSA signature",
        "       renc - RSA encryption",
        "IPv4 Crypto ISAKMP SA",
        "",
        "C-id  Local           Remote          I-VRF  Status Encr Hash   Auth DH Lifetime Cap.",
        "",
    ]
    v6: list[str] = []
    for e, _dst, _src in _ike_v1_rows(fleet, name):
        ike = e.link.ike
        assert ike is not None
        ag = agreed(e)
        encr, hsh = _V1_ENC.get(ag.encryption, "aes"), _V1_HASH.get(ag.integrity, "sha")
        auth, dh = ag.auth, ag.group
        life = hms(ike.born + ike.lifetime_s - t) if ike.established else "00:00:00"
        cap = "D" if ike.established else ""
        conn = ike.conn(e.side)
        block = [
            f"{conn:<5} {ios_addr(e.local_addr):<15} {ios_addr(e.peer_addr):<15} "
            f"{e.vrf or '':<6} "
            f"ACTIVE {encr:<4} {hsh:<6} {auth:<4} {dh:<2} {life} {cap:<3}",
            f"       Engine-id:Conn-id =  SW:{max(conn - 1000, 0)}",
            "",
        ]
        (v6 if e.v6 else out).extend(block)
    out += ["IPv6 Crypto ISAKMP SA", "", *v6]
    return "\n".join(out)


# --------------------------------------------------------------------------- ikev2
_V2_HDR = "Tunnel-id Local                 Remote                fvrf/ivrf            Status "


def _ikev2_block(e: End, t: float, detailed: bool, session_id: int) -> list[str]:
    ike = e.link.ike
    assert ike is not None
    local = f"{ios_addr(e.local_addr)}/500"
    remote = f"{ios_addr(e.peer_addr)}/500"
    status = "READY" if ike.established else "IN-NEG"
    tid = ike.conn(e.side)
    ag = agreed(e)
    enc, size = _V2_ENC.get(ag.encryption, ("AES-CBC", 256))
    prf = ag.prf.upper()
    hsh = ag.integrity.upper() if ag.integrity != "none" else "None"
    lines = [
        f"{tid:<10}{local:<22}{remote:<22}{'none/none':<21}{status:<7}",
        f"      Encr: {enc}, keysize: {size}, PRF: {prf}, Hash: {hsh}, DH Grp:{ag.group}, "
        "Auth sign: PSK, Auth verify: PSK",
        f"      Life/Active Time: {ike.lifetime_s}/{max(0, int(t - ike.born))} sec",
    ]
    if not detailed:
        return lines
    local_spi, remote_spi = (ike.spi_i, ike.spi_r) if e.initiator else (ike.spi_r, ike.spi_i)
    msg = max(0, int(t - ike.born) // 600)
    lines += [
        f"      CE id: {1000 + tid}, Session-id: {session_id}",
        f"      Local spi: {local_spi}       Remote spi: {remote_spi}",
        "      Status Description: Negotiation done",
        f"      Local id: {ios_addr(e.local_addr)}",
        f"      Remote id: {ios_addr(e.peer_addr)}",
        f"      Local req msg id:  {msg:<15}Remote req msg id:  {msg:<10}",
        f"      Local next msg id: {msg:<15}Remote next msg id: {msg:<10}",
        f"      Local req queued:  {msg:<15}Remote req queued:  {msg:<10}",
        f"      Local window:      {5:<15}Remote window:      {5:<10}",
        "      DPD configured for 10 seconds, retry 2",
        "      Fragmentation not  configured.",
        "      Dynamic Route Update: disabled",
        "      Extended Authentication not configured.",
        "      NAT-T is not detected  ",
        "      Cisco Trust Security SGT is disabled",
        f"      Initiator of SA : {'Yes' if e.initiator else 'No'}",
        f"      PEER TYPE: {'IOS-XE' if e.peer_name else 'Other'}",
    ]
    return lines


def show_ikev2_sa(fleet: Fleet, name: str, t: float, detailed: bool = False) -> str:
    v4: list[str] = []
    v6: list[str] = []
    for i, e in enumerate(ends(fleet, name)):
        if e.spec.ike_version != 2 or not shows_ike(e):
            continue
        target = v6 if e.v6 else v4
        target += [_V2_HDR, *_ikev2_block(e, t, detailed, i + 1), ""]
    out = [" IPv4 Crypto IKEv2 SA ", "", *v4, " IPv6 Crypto IKEv2 SA ", "", *v6]
    return "\n".join(out)


# --------------------------------------------------------------------------- ipsec sa
def _sa_entries(e: End, t: float, outbound: bool, detail: bool, ios: bool) -> list[str]:
    link: Link = e.link
    c = counters(link, e.side, t)
    lines: list[str] = []
    gcm = e.gcm
    for pair in link.sas:
        spi = pair.spi_out(e.side) if outbound else pair.spi_in(e.side)
        conn = pair.conn(e.side) + (1 if outbound else 0)
        used_kb = (c["bytes_out"] if outbound else c["bytes_in"]) // 1024
        age_share = max(0.0, t - pair.born) / max(1.0, t - (link.flow_since or pair.born))
        kb = max(0, agreed(e).lifetime_kb - int(used_kb * min(1.0, age_share)))
        flow = f"SW:{conn - 2000}" if ios else f"CSR:{conn - 2000}"
        sib = "80000040" if ios else "FFFFFFFF80000048"
        replay = "Y  replay window size: 64" if detail else "Y"
        lines += [
            f"      spi: {_spi(spi)}",
            f"        transform: {e.transform} ,",
            "        in use settings ={Tunnel, }",
            f"        conn id: {conn}, flow_id: {flow}, sibling_flags {sib}, "
            f"crypto map: {e.map_tag}",
            f"        sa timing: remaining key lifetime (k/sec): ({kb}/{pair.remaining(t)})",
            f"        IV size: {8 if gcm else 16} bytes",
            f"        replay detection support: {replay}",
            "        Status: ACTIVE" if ios else "        Status: ACTIVE(ACTIVE)",
            "",
        ]
    return lines


def _ident_block(e: End, t: float, detail: bool, ios: bool) -> list[str]:
    link = e.link
    c = counters(link, e.side, t)
    if e.vti:
        lid = rid = "0.0.0.0/0.0.0.0/0/0"
    else:
        lid = f"{_mask(e.local_lan)}/0/0"
        rid = f"{_mask(e.remote_lan)}/0/0"
    cur = link.sas[-1].spi_out(e.side) if link.sas else 0
    mtu = (1446 if e.gcm else 1438) if link.sas else 1500
    pfs = f"Y, DH group: group{e.pfs_group}" if e.pfs_group else "N, DH group: none"
    enc, dec = c["encaps"], c["decaps"]
    lines = [
        f"   protected vrf: {e.vrf or '(none)'}",
        f"   local  ident (addr/mask/prot/port): ({lid})",
        f"   remote ident (addr/mask/prot/port): ({rid})",
        f"   current_peer {ios_addr(e.peer_addr)} port 500",
        "     PERMIT, flags={origin_is_acl,}",
        f"    #pkts encaps: {enc}, #pkts encrypt: {enc}, #pkts digest: {enc}",
        f"    #pkts decaps: {dec}, #pkts decrypt: {dec}, #pkts verify: {dec}",
        "    #pkts compressed: 0, #pkts decompressed: 0",
        "    #pkts not compressed: 0, #pkts compr. failed: 0",
        "    #pkts not decompressed: 0, #pkts decompress failed: 0",
    ]
    if detail:
        lines += [
            f"    #pkts no sa (send) 0, #pkts invalid sa (rcv) {c['invalid_spi']}",
            "    #pkts encaps failed (send) 0, #pkts decaps failed (rcv) 0",
            "    #pkts invalid prot (recv) 0, #pkts verify failed: 0",
            "    #pkts invalid identity (recv) 0, #pkts invalid len (rcv) 0",
            "    #pkts replay rollover (send): 0, #pkts replay rollover (rcv) 0",
            f"    ##pkts replay failed (rcv): {c['replay']}",
            "    #pkts tagged (send): 0, #pkts untagged (rcv): 0",
            "    #pkts not tagged (send): 0, #pkts not untagged (rcv): 0",
            "    #pkts internal err (send): 0, #pkts internal err (recv) 0",
        ]
    else:
        lines.append(f"    #send errors {c['send_errors']}, #recv errors {c['recv_errors']}")
    lines += [
        "",
        f"     local crypto endpt.: {ios_addr(e.local_addr)}, "
        f"remote crypto endpt.: {ios_addr(e.peer_addr)}",
        f"     plaintext mtu {mtu}, path mtu 1500, ip mtu 1500, ip mtu idb {e.router.wan_if}",
        f"     current outbound spi: {_spi(cur)}",
        f"     PFS (Y/N): {pfs}",
        "",
        "     inbound esp sas:",
        *(_sa_entries(e, t, False, detail, ios) or [""]),
        "     inbound ah sas:",
        "",
        "     inbound pcp sas:",
        "",
        "     outbound esp sas:",
        *(_sa_entries(e, t, True, detail, ios) or [""]),
        "     outbound ah sas:",
        "",
        "     outbound pcp sas:",
        "",
    ]
    return lines


def _same_addr(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def show_ipsec_sa(
    fleet: Fleet,
    name: str,
    t: float,
    *,
    detail: bool = False,
    peer: str | None = None,
    interface: str | None = None,
) -> str:
    """``show crypto ipsec sa [detail | peer X | interface X]``, grouped by interface."""
    ios = fleet.routers[name].spec.platform == "cisco_ios"
    groups: dict[tuple[str, str, str], list[End]] = {}
    for e in ends(fleet, name):
        if peer is not None and not _same_addr(e.peer_addr, peer):
            continue
        if interface is not None and e.interface.lower() != interface.lower():
            continue
        key = (e.interface, e.map_tag, e.local_addr)
        groups.setdefault(key, []).append(e)
    out: list[str] = []
    for (iface, tag, local), members in groups.items():
        out += [
            f"interface: {iface}",
            f"    Crypto map tag: {tag}, local addr {ios_addr(local)}",
            "",
        ]
        for e in members:
            out += _ident_block(e, t, detail, ios)
    if not out:
        return ""
    return "\n".join(out)


# --------------------------------------------------------------------------- session
def _session_status(link: Link) -> str:
    ike_up = link.ike is not None and link.ike.established
    if ike_up and link.sas:
        return "UP-ACTIVE"
    if ike_up:
        return "UP-IDLE"
    if link.sas:
        return "UP-NO-IKE"
    if link.ike is not None or link.pending_up is not None:
        return "DOWN-NEGOTIATING"
    return "DOWN"


def show_crypto_session(fleet: Fleet, name: str, t: float, detail: bool = False) -> str:
    out = ["Crypto session current status", ""]
    if detail:
        out += [
            "Code: C - IKE Configuration mode, D - Dead Peer Detection     ",
            "K - Keepalives, N - NAT-traversal, T - cTCP encapsulation     ",
            "X - IKE Extended Authentication, F - IKE Fragmentation",
            "R - IKE Auto Reconnect, U - IKE Dynamic Route Update",
            "S - SIP VPN",
            "",
        ]
    for e in ends(fleet, name):
        link = e.link
        v2 = e.spec.ike_version == 2
        local, peer = ios_addr(e.local_addr), ios_addr(e.peer_addr)
        status = _session_status(link)
        out.append(f"Interface: {e.interface}")
        if v2:
            out.append(f"Profile: {e.ikev2_profile}")
        if detail and link.up_since is not None:
            out.append(f"Uptime: {uptime_text(t - link.up_since)}")
        out.append(f"Session status: {status}" + ("     " if not detail else ""))
        if detail:
            out += [
                f"Peer: {peer} port 500 fvrf: {e.vrf or '(none)'} ivrf: {e.vrf or '(none)'}",
                f"      Phase1_id: {peer}",
                "      Desc: (none)",
            ]
        else:
            out.append(f"Peer: {peer} port 500 ")
        ike = link.ike if shows_ike(e) else None
        if ike is not None or v2:
            out.append(f"  Session ID: {ike.conn(e.side) if (ike and v2) else 0}  ")
        if ike is not None:
            word = "Active" if ike.established else "Inactive"
            out.append(
                f"  {'IKEv2' if v2 else 'IKEv1'} SA: local {local}/500 remote {peer}/500 {word} "
            )
            if detail:
                life = hms(ike.born + ike.lifetime_s - t) if ike.established else "0"
                caps = "D" if ike.established else "(none)"
                out.append(
                    f"          Capabilities:{caps} connid:{ike.conn(e.side)} lifetime:{life}"
                )
        if e.vti:
            flow = "permit ip 0.0.0.0/0.0.0.0 0.0.0.0/0.0.0.0 "
        else:
            flow = f"permit ip {_mask(e.local_lan)} {_mask(e.remote_lan)} "
        out.append(f"  IPSEC FLOW: {flow}")
        out.append(f"        Active SAs: {2 * len(link.sas)}, origin: crypto map")
        if detail:
            c = counters(link, e.side, t)
            if link.sas:
                pair = link.sas[-1]
                kb = agreed(e).lifetime_kb
                life = f"{max(0, kb - c['bytes_in'] // 1024)}/{pair.remaining(t)}"
                olife = f"{max(0, kb - c['bytes_out'] // 1024)}/{pair.remaining(t)}"
            else:
                life = olife = "0/0"
            out += [
                f"        Inbound:  #pkts dec'ed {c['decaps']} drop {c['recv_errors']} "
                f"life (KB/Sec) {life}",
                f"        Outbound: #pkts enc'ed {c['encaps']} drop 0 life (KB/Sec) {olife}",
            ]
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- crypto map
def _map_policy(e: End, dh_group: bool) -> list[str]:
    """The peer/lifetime/PFS/transform lines of one map entry: a static crypto map entry and a
    VTI's profile instance print them alike, except that a profile instance has no DH group
    line."""
    it = e.intent
    kb = it.lifetime_kb if it is not None else IPSEC_LIFETIME_KB
    secs = it.lifetime_s if it is not None else agreed(e).lifetime_s
    pfs = it.pfs if it is not None else e.pfs_group
    lines = [
        f"\tCurrent peer: {ios_addr(e.peer_addr)}",
        f"\tSecurity association lifetime: {kb} kilobytes/{secs} seconds",
        "\tDualstack (Y/N): N",
        "\tResponder-Only (Y/N): N",
        f"\tPFS (Y/N): {'Y' if pfs else 'N'}",
    ]
    if dh_group and pfs:
        lines.append(f"\tDH group:  group{pfs}")
    return [
        *lines,
        "\tMixed-mode : Disabled",
        "\tTransform sets={ ",
        f"\t\t{e.ts_name}:  {{ {_ts_words(e)}  }} , ",
        "\t}",
        "",
    ]


def _ts_words(e: End) -> str:
    """A transform set as ``show crypto map`` lists it (the configured one, show spelling)."""
    it = e.intent
    if it is not None and it.transforms:
        words = it.transforms[0].words.split()
        out: list[str] = []
        for w in words:
            if w.isdigit() and out and out[-1] == "esp-aes":
                out[-1] = f"esp-{w}-aes"
            else:
                out.append(w)
        return " ".join(out)
    return " ".join(e.spec.transform)


def _map_entries(members: Iterable[End]) -> list[str]:
    """The static entries of one crypto map, by sequence number."""
    out: list[str] = []
    for e in sorted(members, key=lambda x: x.seq):
        out += [
            f'Crypto Map IPv4 "{e.map_tag}" {e.seq} ipsec-isakmp',
            f"\tPeer = {ios_addr(e.peer_addr)}",
        ]
        if e.spec.ike_version == 2:
            out.append(f"\tIKEv2 Profile: {e.ikev2_profile}")
        if e.vrf:
            out.append(f"\tISAKMP Profile: ISAKMP-{e.vrf}")
        it = e.intent
        sels = it.selectors if it is not None else [(e.local_lan, e.remote_lan)]
        out += [
            f"\tExtended IP access list {e.acl}",
            *(
                f"\t    access-list {e.acl} permit ip {lan.network_address} {lan.hostmask} "
                f"{rlan.network_address} {rlan.hostmask}"
                for lan, rlan in sels
            ),
            *_map_policy(e, dh_group=True),
        ]
    return out


def show_crypto_map(fleet: Fleet, name: str, t: float) -> str:
    out: list[str] = []
    map_ends = [e for e in ends(fleet, name) if not e.vti]
    # the global map first, then one map per front-door VRF interface
    for tag in dict.fromkeys(e.map_tag for e in map_ends):
        members = [e for e in map_ends if e.map_tag == tag]
        out += _map_entries(members)
        out += [f"\tInterfaces using crypto map {tag}:", f"\t\t{members[0].interface}", ""]
    for e in ends(fleet, name):
        if not e.vti:
            continue
        fam = "IPv6" if e.v6 else "IPv4"
        out += [
            f'Crypto Map {fam} "{e.map_tag}" 65536 ipsec-isakmp',
            "\tMap is a PROFILE INSTANCE.",
            f"\tPeer = {ios_addr(e.peer_addr)}",
            f"\tIKEv2 Profile: {e.ikev2_profile}",
            "\tExtended IP access list ",
            "\t    access-list  permit ip any any",
            *_map_policy(e, dh_group=False),
            f"\tInterfaces using crypto map {e.map_tag}:",
            f"\t\t{e.tunnel_if}",
            "",
        ]
    return "\n".join(out)
