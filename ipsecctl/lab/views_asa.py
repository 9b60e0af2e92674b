"""ASA ``show`` outputs of one lab firewall, from the fleet state at a simulated time.

Layouts follow real ASA 9.x outputs (public samples: ``show crypto ikev1 sa``, ``show crypto
ikev2 sa``, ``show crypto ipsec sa``, ``show vpn-sessiondb detail l2l``; the ones this project
keeps under tests/fixtures/cisco/asa). Where an ASA names a state differently from IOS it says
so here: a phase 1 that is up is ``MM_ACTIVE`` (IOS: QM_IDLE); an initiator waiting for the
peer's first answer is ``MM_WAIT_MSG2`` (IOS: MM_NO_STATE); one whose encrypted message 5 was
never answered (a pre-shared key mismatch) is ``MM_WAIT_MSG6`` (IOS: MM_KEY_EXCH), the
responder of that exchange ``MM_WAIT_MSG5``. Functions are pure over a locked snapshot.
"""

from __future__ import annotations

import ipaddress

from ipsecctl.lab.negotiation import Agreed
from ipsecctl.lab.state import Fleet, counters
from ipsecctl.lab.tunnel_end import End
from ipsecctl.lab.views_ios_crypto import ends, shows_ike
from ipsecctl.lab.views_ios_system import BOOTED_BEFORE_S

_ENC = {"aes128": "aes", "aes192": "aes-192", "aes256": "aes-256", "3des": "3des", "des": "des"}
_HASH = {"sha1": "SHA", "md5": "MD5", "sha256": "SHA256", "sha384": "SHA384", "sha512": "SHA512"}
_V2_ENC = {
    "aes128": ("AES-CBC", 128),
    "aes192": ("AES-CBC", 192),
    "aes256": ("AES-CBC", 256),
    "aes128gcm16": ("AES-GCM", 128),
    "aes256gcm16": ("AES-GCM", 256),
    "3des": ("3DES", 0),
}
_SESSION_ENC = {
    "aes128": "AES128",
    "aes192": "AES192",
    "aes256": "AES256",
    "3des": "3DES",
    "aes128gcm16": "AES-GCM-128",
    "aes256gcm16": "AES-GCM-256",
}
_SESSION_HASH = {
    "sha1": "SHA1",
    "sha256": "SHA256",
    "sha384": "SHA384",
    "sha512": "SHA512",
    "md5": "MD5",
    "none": "none",
}


def _agreed(e: End) -> Agreed:
    return e.link.agreed or Agreed()


def v1_state(e: End) -> str:
    """The ASA name of an IKEv1 SA's state, at this end."""
    ike = e.link.ike
    assert ike is not None
    if ike.established:
        return "MM_ACTIVE"
    if ike.state == "MM_KEY_EXCH":
        return "MM_WAIT_MSG6" if e.initiator or e.side == "a" else "MM_WAIT_MSG5"
    return "MM_WAIT_MSG2"


def _mask(net: ipaddress.IPv4Network) -> str:
    return f"{net.network_address}/{net.netmask}"


def _v1_ends(fleet: Fleet, name: str) -> list[End]:
    return [e for e in ends(fleet, name) if e.spec.ike_version == 1 and shows_ike(e)]


def show_crypto_ikev1_sa(fleet: Fleet, name: str, t: float, detail: bool = False) -> str:
    rows = _v1_ends(fleet, name)
    if not rows:
        return "\nThere are no IKEv1 SAs\n"
    active = sum(1 for e in rows if e.link.ike is not None and e.link.ike.established)
    out = [
        "IKEv1 SAs:",
        "",
        f"   Active SA: {active}",
        "    Rekey SA: 0 (A tunnel will report 1 Active and 1 Rekey SA during rekey)",
        f"Total IKE SA: {len(rows)}",
        "",
    ]
    for i, e in enumerate(rows, start=1):
        ike = e.link.ike
        assert ike is not None
        role = (
            "initiator" if e.initiator or (not ike.established and e.side == "a") else "responder"
        )
        state = v1_state(e)
        out += [
            f"{i:<3} IKE Peer: {e.peer_addr}",
            f"    Type    : {'L2L':<15} Role    : {role}",
            f"    Rekey   : {'no':<15} State   : {state}",
        ]
        if detail and ike.established:
            ag = _agreed(e)
            out += [
                f"    Encrypt : {_ENC.get(ag.encryption, ag.encryption):<15} "
                f"Hash    : {_HASH.get(ag.integrity, ag.integrity.upper())}",
                f"    Auth    : {'preshared':<15} Lifetime: {ike.lifetime_s}",
                f"    Lifetime Remaining: {max(0, int(ike.born + ike.lifetime_s - t))}",
            ]
    out.append("")
    return "\n".join(out)


def show_crypto_isakmp_sa(fleet: Fleet, name: str, t: float, detail: bool = False) -> str:
    """The pre-8.4 name: both versions, IKEv1 first."""
    return (
        show_crypto_ikev1_sa(fleet, name, t, detail)
        + "\n"
        + show_crypto_ikev2_sa(fleet, name, t, detail)
    )


def show_crypto_ikev2_sa(fleet: Fleet, name: str, t: float, detail: bool = False) -> str:
    rows = [e for e in ends(fleet, name) if e.spec.ike_version == 2 and shows_ike(e)]
    if not rows:
        return "\nThere are no IKEv2 SAs\n"
    out = ["", "IKEv2 SAs:", ""]
    for sid, e in enumerate(rows, start=1):
        ike = e.link.ike
        assert ike is not None
        children = len(e.link.sas) if ike.established else 0
        status = "UP-ACTIVE" if children else ("UP-IDLE" if ike.established else "DOWN-NEGOTIATING")
        ag = _agreed(e)
        enc, size = _V2_ENC.get(ag.encryption, ("AES-CBC", 256))
        tid = 10000000 + 4099 * ike.conn(e.side)
        local, remote = f"{e.local_addr}/500", f"{e.peer_addr}/500"
        role = "INITIATOR" if e.initiator else "RESPONDER"
        st = "READY" if ike.established else "IN-NEG"
        hsh = _HASH.get(ag.integrity, ag.integrity.upper()) if ag.integrity != "none" else "None"
        out += [
            f"Session-id:{sid}, Status:{status}, IKE count:1, CHILD count:{children}",
            "",
            "Tunnel-id Local                                               Remote"
            "                                                  Status         Role",
            f"{tid:>9} {local:<51} {remote:<51} {st:<8} {role}",
            f"      Encr: {enc}, keysize: {size}, Hash: {hsh}, DH Grp:{ag.group}, "
            "Auth sign: PSK, Auth verify: PSK",
            f"      Life/Active Time: {ike.lifetime_s}/{max(0, int(t - ike.born))} sec",
        ]
        if detail:
            local_spi, remote_spi = (
                (ike.spi_i, ike.spi_r) if e.initiator else (ike.spi_r, ike.spi_i)
            )
            msg = max(0, int(t - ike.born) // 600)
            out += [
                f"      Session-id: {sid}",
                "      Status Description: Negotiation done"
                if ike.established
                else "      Status Description: Negotiation in progress",
                f"      Local spi: {local_spi}       Remote spi: {remote_spi}",
                f"      Local id: {e.local_addr}",
                f"      Remote id: {e.peer_addr}",
                f"      Local req mess id: {msg:<14} Remote req mess id: {msg}",
                f"      Local next mess id: {msg:<13} Remote next mess id: {msg}",
                f"      Local req queued: {msg:<15} Remote req queued: {msg}",
                f"      Local window: {1:<19} Remote window: 1",
                "      DPD configured for 10 seconds, retry 2",
                "      NAT-T is not detected",
            ]
        if ike.established:
            for pair in e.link.sas:
                lan, rlan = e.local_lan, e.remote_lan
                out += [
                    f"Child sa: local selector  {lan.network_address}/0 - "
                    f"{lan.broadcast_address}/65535",
                    f"          remote selector {rlan.network_address}/0 - "
                    f"{rlan.broadcast_address}/65535",
                    f"          ESP spi in/out: 0x{pair.spi_in(e.side):x}/"
                    f"0x{pair.spi_out(e.side):x}",
                ]
                if detail:
                    esp_enc, esp_size = _V2_ENC.get(ag.esp[0], ("AES-CBC", 256))
                    out += [
                        "          AH spi in/out: 0x0/0x0",
                        "          CPI in/out: 0x0/0x0",
                        f"          Encr: {esp_enc}, keysize: {esp_size}, esp_hmac: "
                        f"{_HASH.get(ag.esp[1], 'None') if ag.esp[1] != 'none' else 'None'}",
                        "          ah_hmac: None, comp: IPCOMP_NONE, mode tunnel",
                    ]
        out.append("")
    return "\n".join(out)


def _sa_block(e: End, t: float, outbound: bool, detail: bool) -> list[str]:
    link = e.link
    c = counters(link, e.side, t)
    ag = _agreed(e)
    out: list[str] = []
    v2 = e.spec.ike_version == 2
    for pair in link.sas:
        spi = pair.spi_out(e.side) if outbound else pair.spi_in(e.side)
        used_kb = (c["bytes_out"] if outbound else c["bytes_in"]) // 1024
        kb = max(0, ag.lifetime_kb - used_kb)
        bitmap = (
            "0x00000000 0x00000001"
            if outbound
            else ("0xFFFFFFFF 0xFFFFFFFF" if c["decaps"] > 64 else "0x00000000 0x0000001F")
        )
        out += [
            f"      spi: 0x{spi:08X} ({spi})",
            "         SA State: active",
            f"         transform: {e.transform} no compression",
            f"         in use settings ={{L2L, Tunnel, {'IKEv2' if v2 else 'IKEv1'}, }}",
            f"         slot: 0, conn_id: {pair.conn(e.side) * 7 + 13}, crypto-map: {e.map_tag}",
            f"         sa timing: remaining key lifetime (kB/sec): ({kb}/{pair.remaining(t)})",
            f"         IV size: {8 if e.gcm else 16} bytes",
            "         replay detection support: Y",
            "         Anti replay bitmap: ",
            f"          {bitmap}",
        ]
    return out


def _ident_block(e: End, t: float, detail: bool) -> list[str]:
    link = e.link
    c = counters(link, e.side, t)
    lan, rlan = e.local_lan, e.remote_lan
    pair = link.sas[-1]
    enc, dec = c["encaps"], c["decaps"]
    lines = [
        f"    Crypto map tag: {e.map_tag}, seq num: {e.seq}, local addr: {e.local_addr}",
        "",
        f"      access-list {e.acl} extended permit ip {lan.network_address} {lan.netmask} "
        f"{rlan.network_address} {rlan.netmask} ",
        f"      local ident (addr/mask/prot/port): ({_mask(lan)}/0/0)",
        f"      remote ident (addr/mask/prot/port): ({_mask(rlan)}/0/0)",
        f"      current_peer: {e.peer_addr}",
        "",
        "",
        f"      #pkts encaps: {enc}, #pkts encrypt: {enc}, #pkts digest: {enc}",
        f"      #pkts decaps: {dec}, #pkts decrypt: {dec}, #pkts verify: {dec}",
        "      #pkts compressed: 0, #pkts decompressed: 0",
        f"      #pkts not compressed: {enc}, #pkts comp failed: 0, #pkts decomp failed: 0",
        "      #pre-frag successes: 0, #pre-frag failures: 0, #fragments created: 0",
        "      #PMTUs sent: 0, #PMTUs rcvd: 0, #decapsulated frgs needing reassembly: 0",
        "      #TFC rcvd: 0, #TFC sent: 0",
        "      #Valid ICMP Errors rcvd: 0, #Invalid ICMP Errors rcvd: 0",
    ]
    if detail:
        lines += [
            f"      #pkts no sa (send): 0, #pkts invalid sa (rcv): {c['invalid_spi']}",
            "      #pkts encaps failed (send): 0, #pkts decaps failed (rcv): 0",
            "      #pkts invalid prot (rcv): 0, #pkts verify failed: 0",
            "      #pkts invalid identity (rcv): 0, #pkts invalid len (rcv): 0",
            "      #pkts invalid pad (rcv): 0,",
            "      #pkts invalid ip version (rcv): 0,",
            "      #pkts replay rollover (send): 0, #pkts replay rollover (rcv): 0",
            f"      #pkts replay failed (rcv): {c['replay']}",
            "      #pkts min mtu frag failed (send): 0, #pkts bad frag offset (rcv): 0",
            "      #pkts internal err (send): 0, #pkts internal err (rcv): 0",
        ]
    else:
        lines.append(f"      #send errors: {c['send_errors']}, #recv errors: {c['recv_errors']}")
    overhead = "55(36)" if e.gcm else "74(44)"
    lines += [
        "",
        f"      local crypto endpt.: {e.local_addr}/500, remote crypto endpt.: {e.peer_addr}/500",
        f"      path mtu 1500, ipsec overhead {overhead}, media mtu 1500",
        "      PMTU time remaining (sec): 0, DF policy: copy-df",
        "      ICMP error validation: disabled, TFC packets: disabled",
        f"      current outbound spi: {pair.spi_out(e.side):08X}",
        f"      current inbound spi : {pair.spi_in(e.side):08X}",
        "",
        "    inbound esp sas:",
        *_sa_block(e, t, False, detail),
        "    outbound esp sas:",
        *_sa_block(e, t, True, detail),
        "",
    ]
    return lines


def show_crypto_ipsec_sa(
    fleet: Fleet, name: str, t: float, *, detail: bool = False, peer: str | None = None
) -> str:
    """``show crypto ipsec sa [peer X] [detail]``: only entries that have SAs, as an ASA."""
    members = []
    for e in ends(fleet, name):
        if not e.link.sas or e.vti:
            continue
        if peer is not None and ipaddress.ip_address(peer) != ipaddress.ip_address(e.peer_addr):
            continue
        members.append(e)
    if not members:
        return "\nThere are no ipsec sas\n"
    by_if: dict[str, list[End]] = {}
    for e in sorted(members, key=lambda x: x.seq):
        by_if.setdefault(e.interface, []).append(e)
    out: list[str] = []
    for iface, group in by_if.items():
        out.append(f"interface: {iface}")
        for e in group:
            out += _ident_block(e, t, detail)
    return "\n".join(out)


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return f"{d}d {h}h:{m:02d}m:{s:02d}s" if d else f"{h}h:{m:02d}m:{s:02d}s"


def _sessions(fleet: Fleet, name: str) -> list[End]:
    return [
        e
        for e in ends(fleet, name)
        if e.link.ike is not None and e.link.ike.established and shows_ike(e)
    ]


def show_vpn_sessiondb_l2l(fleet: Fleet, name: str, t: float, detail: bool = False) -> str:
    sessions = _sessions(fleet, name)
    if not sessions:
        return "INFO: There are presently no active sessions\n"
    out = ["", f"Session Type: LAN-to-LAN{' Detailed' if detail else ''}", ""]
    for idx, e in enumerate(sessions, start=1):
        ike = e.link.ike
        assert ike is not None
        c = counters(e.link, e.side, t)
        ag = _agreed(e)
        v = "IKEv2" if e.spec.ike_version == 2 else "IKEv1"
        ike_enc = _SESSION_ENC.get(ag.encryption, ag.encryption.upper())
        ike_hash = _SESSION_HASH.get(ag.integrity, ag.integrity.upper())
        esp_enc = _SESSION_ENC.get(ag.esp[0], ag.esp[0].upper())
        esp_hash = _SESSION_HASH.get(ag.esp[1], ag.esp[1].upper())
        n_ipsec = 1 if e.link.sas else 0
        since = e.link.up_since if e.link.up_since is not None else ike.born
        login = fleet.clock.wall(since)
        index = 1000 + 17 * idx + ike.conn(e.side) % 1000
        out += [
            f"Connection   : {e.peer_addr}",
            f"Index        : {index:<22} IP Addr      : {e.peer_addr}",
            f"Protocol     : {v} IPsec",
            f"Encryption   : {v}: (1){ike_enc}  IPsec: ({n_ipsec}){esp_enc}",
            f"Hashing      : {v}: (1){ike_hash}  IPsec: ({n_ipsec}){esp_hash}",
            f"Bytes Tx     : {c['bytes_out']:<22} Bytes Rx     : {c['bytes_in']}",
            f"Login Time   : {login:%H:%M:%S} UTC {login:%a %b} {login.day} {login.year}",
            f"Duration     : {_duration(t - since)}",
        ]
        if detail:
            lan, rlan = e.local_lan, e.remote_lan
            out += [
                "",
                f"{v} Tunnels: 1",
                f"IPsec Tunnels: {n_ipsec}",
                "",
                f"{v}:",
                f"  Tunnel ID    : {index}.1",
                f"  UDP Src Port : {500:<22} UDP Dst Port : 500",
            ]
            if v == "IKEv1":
                out.append(f"  IKE Neg Mode : {'Main':<22} Auth Mode    : preSharedKeys")
            else:
                out += ["  Rem Auth Mode: preSharedKeys", "  Loc Auth Mode: preSharedKeys"]
            out += [
                f"  Encryption   : {ike_enc:<22} Hashing      : {ike_hash}",
                f"  Rekey Int (T): {str(ike.lifetime_s) + ' Seconds':<22} Rekey Left(T): "
                f"{max(0, int(ike.born + ike.lifetime_s - t))} Seconds",
                f"  D/H Group    : {ag.group}",
                "  Filter Name  : ",
            ]
            for pair in e.link.sas[-1:]:
                pfs = f"PFS Group    : {ag.pfs}" if ag.pfs else ""
                out += [
                    "",
                    "IPsec:",
                    f"  Tunnel ID    : {index}.2",
                    f"  Local Addr   : {lan.network_address}/{lan.netmask}/0/0",
                    f"  Remote Addr  : {rlan.network_address}/{rlan.netmask}/0/0",
                    f"  Encryption   : {esp_enc:<22} Hashing      : {esp_hash}",
                    f"  Encapsulation: {'Tunnel':<22} {pfs}".rstrip(),
                    f"  Rekey Int (T): {str(pair.lifetime_s) + ' Seconds':<22} Rekey Left(T): "
                    f"{pair.remaining(t)} Seconds",
                    f"  Rekey Int (D): {str(ag.lifetime_kb) + ' K-Bytes':<22} Rekey Left(D): "
                    f"{max(0, ag.lifetime_kb - c['bytes_out'] // 1024)} K-Bytes",
                    f"  Idle Time Out: {'30 Minutes':<22} Idle TO Left : 29 Minutes",
                    f"  Bytes Tx     : {c['bytes_out']:<22} Bytes Rx     : {c['bytes_in']}",
                    f"  Pkts Tx      : {c['encaps']:<22} Pkts Rx      : {c['decaps']}",
                ]
        out.append("")
    return "\n".join(out)


def show_version(fleet: Fleet, name: str, t: float) -> str:
    spec = fleet.routers[name].spec
    up = max(0, int(t + fleet.history_s + BOOTED_BEFORE_S + spec.index * 60))
    days, rem = divmod(up, 86400)
    return "\n".join(
        [
            "",
            "Cisco Adaptive Security Appliance Software Version 9.16(4) ",
            "SSP Operating System Version 2.10(1.162)",
            "Device Manager Version 7.18(1)",
            "",
            "Compiled on Thu 14-Jul-22 11:15 GMT by builders",
            'System image file is "boot:/asa9164-smp-k8.bin"',
            'Config file at boot was "startup-config"',
            "",
            f"{name} up {days} days {rem // 3600} hours",
            "",
            "Hardware:   ASAv, 2048 MB RAM, CPU Xeon 4100/6100/8100 series 2200 MHz, 1 CPU "
            "(1 core)",
            "",
            f" 0: Ext: {spec.wan_port:<20}: address is 5000.0001.{spec.index:04x}, irq 10",
            f" 1: Ext: {spec.lan_port:<20}: address is 5000.0002.{spec.index:04x}, irq 10",
            "",
            "Licensed features for this platform:",
            "Maximum VLANs                     : 50             ",
            "Encryption-DES                    : Enabled        ",
            "Encryption-3DES-AES               : Enabled        ",
            "",
            f"Serial Number: {spec.serial}",
            "Configuration register is 0x1",
            "",
            "Configuration has not been modified since last system restart.",
            "",
        ]
    )


def show_interface_ip_brief(fleet: Fleet, name: str, t: float) -> str:
    spec = fleet.routers[name].spec
    return "\n".join(
        [
            "Interface                  IP-Address      OK? Method Status                Protocol",
            f"{spec.wan_port:<27}{spec.address:<16}YES CONFIG up                    up  ",
            f"{spec.lan_port:<27}{spec.inside_host:<16}YES CONFIG up                    up  ",
        ]
    )
