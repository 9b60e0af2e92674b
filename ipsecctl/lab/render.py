"""IOS / IOS-XE ``show`` output of one lab router, from the fleet state at a simulated time.

Column widths, indentation and wording follow real devices (../shared/corpus/cisco): parsers and
netmiko/TextFSM see nothing that tells them this is a simulator. Functions are pure over a
locked snapshot: the caller holds ``fleet.lock`` and passes ``t``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from ipsecctl.lab.state import IPSEC_LIFETIME_KB, IPSEC_LIFETIME_S, Fleet, Link, counters
from ipsecctl.lab.views import CRYPTO_MAP, IKEV2_PROFILE, IPSEC_PROFILE, End, ios_addr

IKE_ENCR = ("aes", "sha256", "psk", 14)  # crypto isakmp policy 10 of every lab router


def ends(fleet: Fleet, name: str) -> list[End]:
    spec = fleet.routers[name].spec
    return [End(link, side, spec) for link, side in fleet.routers[name].ends]


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
        if e.spec.ike_version != 1 or ike is None:
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
        encr, hsh, auth, dh = IKE_ENCR
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
    lines = [
        f"{tid:<10}{local:<22}{remote:<22}{'none/none':<21}{status:<7}",
        "      Encr: AES-CBC, keysize: 256, PRF: SHA256, Hash: SHA256, DH Grp:14, "
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
        if e.spec.ike_version != 2 or e.link.ike is None:
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
    gcm = e.spec.transform[0] == "esp-gcm"
    for pair in link.sas:
        spi = pair.spi_out(e.side) if outbound else pair.spi_in(e.side)
        conn = pair.conn(e.side) + (1 if outbound else 0)
        used_kb = (c["bytes_out"] if outbound else c["bytes_in"]) // 1024
        age_share = max(0.0, t - pair.born) / max(1.0, t - (link.flow_since or pair.born))
        kb = max(0, IPSEC_LIFETIME_KB - int(used_kb * min(1.0, age_share)))
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
    gcm = e.spec.transform[0] == "esp-gcm"
    mtu = (1446 if gcm else 1438) if link.sas else 1500
    pfs = f"Y, DH group: group{e.spec.pfs_group}" if e.spec.pfs_group else "N, DH group: none"
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
            out.append(f"Profile: {IKEV2_PROFILE}")
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
        ike = link.ike
        if ike is not None or v2:
            out.append(f"  Session ID: {ike.conn(e.side) if (ike and v2) else 0}  ")
        if ike is not None:
            word = "Active" if ike.established else "Inactive"
            out.append(f"  {'IKEv2' if v2 else 'IKEv1'} SA: local {local}/500 remote {peer}/500 "
                       f"{word} ")
            if detail:
                life = hms(ike.born + ike.lifetime_s - t) if ike.established else "0"
                caps = "D" if ike.established else "(none)"
                out.append(f"          Capabilities:{caps} connid:{ike.conn(e.side)} "
                           f"lifetime:{life}")
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
                life = f"{max(0, IPSEC_LIFETIME_KB - c['bytes_in'] // 1024)}/{pair.remaining(t)}"
                olife = f"{max(0, IPSEC_LIFETIME_KB - c['bytes_out'] // 1024)}/{pair.remaining(t)}"
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
    lines = [
        f"\tCurrent peer: {ios_addr(e.peer_addr)}",
        f"\tSecurity association lifetime: {IPSEC_LIFETIME_KB} kilobytes/{IPSEC_LIFETIME_S} "
        "seconds",
        "\tDualstack (Y/N): N",
        "\tResponder-Only (Y/N): N",
        f"\tPFS (Y/N): {'Y' if e.spec.pfs_group else 'N'}",
    ]
    if dh_group and e.spec.pfs_group:
        lines.append(f"\tDH group:  group{e.spec.pfs_group}")
    return [
        *lines,
        "\tMixed-mode : Disabled",
        "\tTransform sets={ ",
        f"\t\t{e.ts_name}:  {{ {e.transform}  }} , ",
        "\t}",
        "",
    ]


def _map_entries(members: Iterable[End]) -> list[str]:
    """The static entries of one crypto map, by sequence number."""
    out: list[str] = []
    for e in sorted(members, key=lambda x: x.seq):
        out += [
            f'Crypto Map IPv4 "{e.map_tag}" {e.seq} ipsec-isakmp',
            f"\tPeer = {ios_addr(e.peer_addr)}",
        ]
        if e.spec.ike_version == 2:
            out.append(f"\tIKEv2 Profile: {IKEV2_PROFILE}")
        if e.vrf:
            out.append(f"\tISAKMP Profile: ISAKMP-{e.vrf}")
        lan, rlan = e.local_lan, e.remote_lan
        out += [
            f"\tExtended IP access list {e.acl}",
            f"\t    access-list {e.acl} permit ip {lan.network_address} {lan.hostmask} "
            f"{rlan.network_address} {rlan.hostmask}",
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
            f"\tIKEv2 Profile: {IKEV2_PROFILE}",
            "\tExtended IP access list ",
            "\t    access-list  permit ip any any",
            *_map_policy(e, dh_group=False),
            f"\tInterfaces using crypto map {e.map_tag}:",
            f"\t\t{e.tunnel_if}",
            "",
        ]
    return "\n".join(out)


# --------------------------------------------------------------------------- logging
def _stamp(dt: datetime) -> str:
    return f"*{dt:%b} {dt.day:2d} {dt:%H:%M:%S}.{dt.microsecond // 1000:03d}: "


def _every(
    period: float,
    since: float,
    start: float,
    t: float,
    burst: Callable[[float, int], list[tuple[float, str]]],
) -> Iterator[tuple[float, str]]:
    """The messages of ``burst(c0, n)`` for each cycle start ``c0`` (the n-th, from 1) aligned
    to ``period`` from ``since`` up to ``t``, keeping only those stamped within [start, t].

    Each broken scenario repeats its burst at its own period; one loop keeps the alignment and
    the window identical across them, so polls over time see a steady message rate.
    """
    c0 = (since // period) * period
    n = 0
    while c0 <= t:
        n += 1
        yield from ((w, m) for w, m in burst(c0, n) if start <= w <= t)
        c0 += period


def _periodic(e: End, t: float) -> Iterable[tuple[float, str]]:
    """Messages a broken scenario keeps logging, generated for the last 20 minutes."""
    beh = e.link.behaviour
    if e.side != "a":
        return ()
    peer, local = ios_addr(e.peer_addr), ios_addr(e.local_addr)
    start = max(-1200.0, t - 1200.0)

    def conn() -> int:
        return e.link.ike.conn(e.side) if e.link.ike else 1001

    def no_response(c0: float, _n: int) -> list[tuple[float, str]]:
        items = [(c0, "ISAKMP:(0): beginning Main Mode exchange"),
                 (c0 + 0.01, f"ISAKMP:(0): sending packet to {peer} my_port 500 "
                  "peer_port 500 (I) MM_NO_STATE")]
        for k in range(1, 6):
            items += [
                (c0 + 10 * k, "ISAKMP:(0): retransmitting phase 1 MM_NO_STATE..."),
                (c0 + 10 * k + 0.001, f"ISAKMP (0): incrementing error counter on sa, "
                 f"attempt {k} of 5: retransmit phase 1"),
            ]
        return [
            *items,
            (c0 + 59.0, f'ISAKMP:(0):deleting SA reason "Death by retransmission P1" '
             f"state (I) MM_NO_STATE (peer {peer})"),
            (c0 + 59.01, f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main mode failed "
             f"with peer at {peer}"),
        ]

    def psk_mismatch(c0: float, _n: int) -> list[tuple[float, str]]:
        items = [
            (c0, f"ISAKMP:({conn()}): retransmitting phase 1 MM_KEY_EXCH..."),
            (c0 + 0.4, f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {peer} failed its "
             "sanity check or is malformed"),
        ]
        if int(c0) % 60 == 0:
            items.append((c0 + 0.5, f"%CRYPTO-6-IKMP_NOT_ENCRYPTED: IKE packet from {peer} "
                          "was not encrypted and it should've been."))
        return items

    def p2_mismatch(c0: float, _n: int) -> list[tuple[float, str]]:
        c = conn()
        return [
            (c0, f"ISAKMP:({c}):Checking IPSec proposal 1"),
            (c0 + 0.01, f"ISAKMP ({c}): IPSec policy invalidated proposal with error 256"),
            (c0 + 0.02, f"ISAKMP:({c}): phase 2 SA policy not acceptable! "
             f"(local {local} remote {peer})"),
            (c0 + 0.03, f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed "
             f"with peer at {peer}"),
        ]

    def replay_spi(c0: float, n: int) -> list[tuple[float, str]]:
        sa = e.link.sas[-1]
        bad = (sa.spi_in(e.side) ^ (0x5A5A0000 + n)) & 0xFFFFFFFF
        return [
            (c0 + 7, f"%CRYPTO-4-PKT_REPLAY_ERR: decrypt: replay check failed connection "
             f"id={sa.conn(e.side)}, sequence number={1000 + 97 * n}"),
            (c0 + 23, f"%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid "
             f"spi for destaddr={local}, prot=50, spi={_spi(bad)}, srcaddr={peer}, "
             f"input interface={e.router.wan_if}"),
        ]

    if beh == "ike_no_response":
        return _every(60, start, start, t, no_response)
    if beh == "psk_mismatch":
        return _every(10, start, start, t, psk_mismatch)
    if beh == "p2_mismatch":
        return _every(30, start, start, t, p2_mismatch)
    if beh == "replay_spi_errors" and e.link.sas:
        return _every(60, max(start, e.link.flow_since or start), start, t, replay_spi)
    return ()


def show_logging(fleet: Fleet, name: str, t: float) -> str:
    entries: list[tuple[float, str]] = [(x.t, x.text) for x in fleet.routers[name].log]
    for e in ends(fleet, name):
        entries.extend(_periodic(e, t))
    entries = sorted(w for w in entries if w[0] <= t)[-200:]
    lines = [_stamp(fleet.clock.wall(w)) + m for w, m in entries]
    n = len(lines)
    out = [
        "Syslog logging: enabled (0 messages dropped, 0 messages rate-limited, 0 flushes, "
        "0 overruns, xml disabled, filtering disabled)",
        "",
        "No Active Message Discriminator.",
        "",
        "",
        "",
        "No Inactive Message Discriminator.",
        "",
        "",
        "    Console logging: disabled",
        "    Monitor logging: level debugging, 0 messages logged, xml disabled,",
        "                     filtering disabled",
        f"    Buffer logging:  level debugging, {n} messages logged, xml disabled,",
        "                    filtering disabled",
        "    Exception Logging: size (8192 bytes)",
        "    Count and timestamp logging messages: disabled",
        "    Persistent logging: disabled",
        "",
        "No active filter modules.",
        "",
        f"    Trap logging: level informational, {n} message lines logged",
        "        Logging Source-Interface:       VRF Name:",
        "",
        "Log Buffer (65536 bytes):",
        "",
        *lines,
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------- version / config
def show_version(fleet: Fleet, name: str, t: float) -> str:
    spec = fleet.routers[name].spec
    up = uptime_text_long(t + 9 * 86400 + 3 * 3600 + spec.index * 60)
    if spec.platform == "cisco_ios":
        return "\n".join([
            "Cisco IOS Software, C2900 Software (C2900-UNIVERSALK9-M), Version 15.7(3)M8, "
            "RELEASE SOFTWARE (fc2)",
            "Technical Support: http://www.cisco.com/techsupport",
            "Copyright (c) 1986-2021 by Cisco Systems, Inc.",
            "Compiled Thu 21-Jan-21 00:13 by prod_rel_team",
            "",
            "ROM: System Bootstrap, Version 15.0(1r)M16, RELEASE SOFTWARE (fc1)",
            "",
            f"{name} uptime is {up}",
            "System returned to ROM by power-on",
            'System image file is "flash0:c2900-universalk9-mz.SPA.157-3.M8.bin"',
            "Last reload type: Normal Reload",
            "",
            "Cisco CISCO2911/K9 (revision 1.0) with 487424K/36864K bytes of memory.",
            f"Processor board ID {spec.serial}",
            "3 Gigabit Ethernet interfaces",
            "DRAM configuration is 64 bits wide with parity disabled.",
            "255K bytes of non-volatile configuration memory.",
            "250880K bytes of ATA System CompactFlash 0 (Read/Write)",
            "",
            "Configuration register is 0x2102",
            "",
        ])
    return "\n".join([
        "Cisco IOS XE Software, Version 17.03.04a",
        "Cisco IOS Software [Amsterdam], Virtual XE Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), "
        "Version 17.3.4a, RELEASE SOFTWARE (fc3)",
        "Technical Support: http://www.cisco.com/techsupport",
        "Copyright (c) 1986-2021 by Cisco Systems, Inc.",
        "Compiled Tue 20-Jul-21 04:59 by mcpre",
        "",
        "ROM: IOS-XE ROMMON",
        "",
        f"{name} uptime is {up}",
        "Uptime for this control processor is " + up,
        "System returned to ROM by reload",
        "System image file is \"bootflash:packages.conf\"",
        "Last reload reason: reload",
        "",
        "cisco CSR1000V (VXE) processor (revision VXE) with 2071991K/3075K bytes of memory.",
        f"Processor board ID {spec.serial}",
        "Router operating mode: Autonomous",
        "3 Gigabit Ethernet interfaces",
        "32768K bytes of non-volatile configuration memory.",
        "3978412K bytes of physical memory.",
        "",
        "Configuration register is 0x2102",
        "",
    ])


def uptime_text_long(seconds: float) -> str:
    s = int(seconds)
    weeks, s = divmod(s, 7 * 86400)
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes = s // 60
    parts = []
    for n, unit in ((weeks, "week"), (days, "day"), (hours, "hour"), (minutes, "minute")):
        if n or unit == "minute":
            parts.append(f"{n} {unit}{'' if n == 1 else 's'}")
    return ", ".join(parts)


def show_ip_interface_brief(fleet: Fleet, name: str, t: float) -> str:
    spec = fleet.routers[name].spec
    rows = [
        (spec.wan_if, spec.address),
        (spec.lan_if, spec.inside_host),
    ]
    for e in ends(fleet, name):
        if e.vti:
            rows.append((e.tunnel_if, f"172.31.{e.spec.id}.{1 if e.side == 'a' else 2}"))
        elif e.vrf:
            rows.append((e.interface, e.local_addr))
    out = ["Interface              IP-Address      OK? Method Status                Protocol"]
    for iface, addr in rows:
        out.append(f"{iface:<23}{addr:<16}YES NVRAM  up                    up      ")
    return "\n".join(out)


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
            "crypto isakmp keepalive 10 3",
        ]
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
            cfg.append(f" match identity remote address {pa}" + (" /128" if e.v6 else
                                                                  " 255.255.255.255"))
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
