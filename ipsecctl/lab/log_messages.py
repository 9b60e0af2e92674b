"""The log lines lab devices write, IOS/IOS-XE and ASA, as text without the time stamp.

Formats, and where they come from:

* IOS ``%CRYPTO-5-SESSION_STATUS``, ``%IKEV2-5-SA_UP/DOWN``, ``%CRYPTO-4-RECVD_PKT_INV_SPI``,
  ``%CRYPTO-4-PKT_REPLAY_ERR``, ``%CRYPTO-6-IKMP_MODE_FAILURE``, ``%CRYPTO-4-IKMP_BAD_MESSAGE``
  and the ``ISAKMP:`` debug lines: the IOS system message guide and Cisco TechNotes 5409, 115801
  and 116858.
* ASA messages: the Cisco Secure Firewall ASA syslog guide (602303/602304 SA created/deleted,
  713049 security negotiation complete, 713050 connection terminated, 713119/713120 phase 1/2
  completed, 713201 duplicate phase packet, 713257 mismatched attribute, 402119 anti-replay,
  402101 invalid SPI, 713904 proposals unacceptable); 750006/750007 IKEv2 SA up/down from the
  same guide's 750xxx chapter (recalled, not re-read).

Everything is a pure function of addresses and numbers, so one scenario reads the same on every
device of a family.
"""

from __future__ import annotations


def ios_addr(addr: str) -> str:
    """IOS prints IPv6 addresses in upper case."""
    return addr.upper() if ":" in addr else addr


# --------------------------------------------------------------------------------- sessions
def session(
    platform: str,
    v2: bool,
    local: str,
    peer: str,
    up: bool,
    *,
    spi_in: int = 0,
    spi_out: int = 0,
    local_proxy: str = "",
    remote_proxy: str = "",
    duration: str = "0h:00m:00s",
) -> list[str]:
    """The lines a session going up or down leaves in the log."""
    what = "UP" if up else "DOWN"
    if platform == "cisco_asa":
        group = f"Group = {peer}, IP = {peer}"
        kind = "LAN-to-LAN"
        if up:
            lines = []
            if v2:
                lines.append(
                    f"%ASA-5-750006: Local:{local}:500 Remote:{peer}:500 "
                    f"Username:{peer} IKEv2 SA UP. Reason: New Connection Established"
                )
            else:
                lines.append(f"%ASA-5-713119: {group}, PHASE 1 COMPLETED")
                lines.append(
                    f"%ASA-5-713049: {group}, Security negotiation complete for "
                    f"{kind} Group ({peer})  Initiator, Inbound SPI = 0x{spi_in:08x}, "
                    f"Outbound SPI = 0x{spi_out:08x}"
                )
            lines += [
                f"%ASA-6-602303: IPSEC: An outbound {kind} SA (SPI= 0x{spi_out:08X}) between "
                f"{local} and {peer} (user= {peer}) has been created.",
                f"%ASA-6-602303: IPSEC: An inbound {kind} SA (SPI= 0x{spi_in:08X}) between "
                f"{local} and {peer} (user= {peer}) has been created.",
            ]
            if not v2:
                lines.append(f"%ASA-5-713120: {group}, PHASE 2 COMPLETED (msgid={spi_in:08x})")
            return lines
        lines = [
            f"%ASA-6-602304: IPSEC: An outbound {kind} SA (SPI= 0x{spi_out:08X}) between "
            f"{local} and {peer} (user= {peer}) has been deleted.",
            f"%ASA-6-602304: IPSEC: An inbound {kind} SA (SPI= 0x{spi_in:08X}) between "
            f"{local} and {peer} (user= {peer}) has been deleted.",
            f"%ASA-5-713050: {group}, Connection terminated for peer {peer}.  Reason: Peer "
            f"Terminate  Remote Proxy {remote_proxy}, Local Proxy {local_proxy}",
        ]
        if v2:
            lines.append(
                f"%ASA-5-750007: Local:{local}:500 Remote:{peer}:500 Username:{peer} "
                "IKEv2 SA DOWN. Reason: peer delete"
            )
        else:
            lines.append(
                f"%ASA-4-113019: Group = {peer}, Username = {peer}, IP = {peer}, "
                f"Session disconnected. Session Type: {kind}, Duration: {duration}, "
                "Bytes xmt: 0, Bytes rcv: 0, Reason: Peer Terminate"
            )
        return lines
    peer_s, local_s = ios_addr(peer), ios_addr(local)
    if v2:
        # IOS-XE names both ends (address/port) and the VRFs on this line
        return [
            f"%IKEV2-5-SA_{what}: SA {what}: Local {local_s}/500 Remote {peer_s}/500 "
            "FVRF: none IVRF: none"
        ]
    return [
        f"%CRYPTO-5-SESSION_STATUS: Crypto tunnel is {what}  .  Peer {peer_s}:500       "
        f"Id: {peer_s}"
    ]


def no_sa(platform: str, peer: str) -> list[str]:
    """A packet for an IKE SA this end no longer has (after the peer's side went away)."""
    if platform == "cisco_asa":
        return [
            f"%ASA-5-713904: IP = {peer}, Received encrypted packet with no matching SA, dropping"
        ]
    return [
        f"%CRYPTO-4-IKMP_NO_SA: IKE message from {ios_addr(peer)} has no SA and is not an "
        "initialization offer"
    ]


# --------------------------------------------------------------------------------- failures
def no_response(
    platform: str, v2: bool, local: str, peer: str, conn: int
) -> list[tuple[float, str]]:
    """One cycle of a phase 1 that nobody answers (offsets in seconds from the cycle start)."""
    if platform == "cisco_asa":
        return [
            (
                0.0,
                f"%ASA-5-713041: IP = {peer}, IKE Initiator: New Phase 1, Intf inside, IKE "
                f"Peer {peer}  local Proxy {local}, remote Proxy {peer}, Crypto map "
                "(outside_map)",
            ),
            *[
                (
                    10.0 * k,
                    f"%ASA-5-713201: IP = {peer}, Duplicate Phase 1 packet detected.  "
                    "Retransmitting last packet.",
                )
                for k in range(1, 4)
            ],
            (59.0, f"%ASA-3-713902: IP = {peer}, Removing peer from peer table failed, no match!"),
            (59.01, f"%ASA-4-713903: IP = {peer}, Error: Unable to remove PeerTblEntry"),
        ]
    p = ios_addr(peer)
    if v2:
        return [
            (
                0.0,
                f"IKEv2:(SESSION ID = {conn},SA ID = 1):Sending Packet [To {p}:500/From "
                f"{ios_addr(local)}:500/VRF i0:f0]",
            ),
            *[
                (10.0 * k, f"IKEv2:(SESSION ID = {conn},SA ID = 1):Retransmitting packet")
                for k in range(1, 5)
            ],
            (
                59.0,
                f"IKEv2:(SESSION ID = {conn},SA ID = 1):Maximum number of retransmissions reached",
            ),
        ]
    items = [
        (0.0, "ISAKMP:(0): beginning Main Mode exchange"),
        (0.01, f"ISAKMP:(0): sending packet to {p} my_port 500 peer_port 500 (I) MM_NO_STATE"),
    ]
    for k in range(1, 6):
        items += [
            (10.0 * k, "ISAKMP:(0): retransmitting phase 1 MM_NO_STATE..."),
            (
                10.0 * k + 0.001,
                f"ISAKMP (0): incrementing error counter on sa, attempt {k} of "
                "5: retransmit phase 1",
            ),
        ]
    return [
        *items,
        (
            59.0,
            f'ISAKMP:(0):deleting SA reason "Death by retransmission P1" state (I) '
            f"MM_NO_STATE (peer {p})",
        ),
        (59.01, f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main mode failed with peer at {p}"),
    ]


def p1_mismatch(
    platform: str, v2: bool, local: str, peer: str, conn: int
) -> list[tuple[float, str]]:
    """One cycle of a phase 1 whose proposals the peer refuses."""
    p = ios_addr(peer)
    if platform == "cisco_asa":
        if v2:
            return [
                (
                    0.0,
                    f"%ASA-4-750003: Local:{local}:500 Remote:{peer}:500 Username:"
                    f"{peer} IKEv2 Negotiation aborted due to ERROR: Received no "
                    "proposal chosen notify (NO_PROPOSAL_CHOSEN)",
                )
            ]
        return [
            (0.0, f"%ASA-5-713904: IP = {peer}, All IKE SA proposals found unacceptable!"),
            (0.01, f"%ASA-3-713902: IP = {peer}, Removing peer from peer table failed, no match!"),
        ]
    if v2:
        return [
            (
                0.0,
                f"IKEv2:(SESSION ID = {conn},SA ID = 1):Received Packet [From {p}:500/To "
                f"{ios_addr(local)}:500/VRF i0:f0]",
            ),
            (
                0.01,
                f"IKEv2:(SESSION ID = {conn},SA ID = 1):Processing IKE_SA_INIT response: "
                "NOTIFY(NO_PROPOSAL_CHOSEN)",
            ),
            (
                0.02,
                f"%IKEV2-3-NEG_ABORT: Negotiation aborted due to ERROR: Received no "
                f"proposal chosen notify from {p}",
            ),
        ]
    return [
        (0.0, "ISAKMP:(0): beginning Main Mode exchange"),
        (0.01, f"ISAKMP:(0): sending packet to {p} my_port 500 peer_port 500 (I) MM_NO_STATE"),
        (0.4, f"ISAKMP (0): received packet from {p} dport 500 sport 500 Global (I) MM_NO_STATE"),
        (0.41, "ISAKMP:(0):Notify has no hash. Rejected."),
        (
            0.42,
            f"ISAKMP (0): Unknown Input IKE_MESG_FROM_PEER, IKE_INFO_NOTIFY: state = "
            f"IKE_I_MM1 (peer {p}): phase 1 SA policy not acceptable",
        ),
        (0.43, f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main mode failed with peer at {p}"),
    ]


def psk_mismatch(
    platform: str, v2: bool, local: str, peer: str, conn: int, cycle: int
) -> list[tuple[float, str]]:
    p = ios_addr(peer)
    if platform == "cisco_asa":
        if v2:
            return [
                (
                    0.0,
                    f"%ASA-4-750003: Local:{local}:500 Remote:{peer}:500 Username:"
                    f"{peer} IKEv2 Negotiation aborted due to ERROR: Auth exchange failed "
                    "(AUTHENTICATION_FAILED)",
                )
            ]
        return [
            (
                0.0,
                f"%ASA-5-713201: IP = {peer}, Duplicate Phase 1 packet detected.  "
                "Retransmitting last packet.",
            ),
            (0.4, f"%ASA-3-713048: IP = {peer}, Error processing payload: Payload ID: 5"),
        ]
    if v2:
        return [
            (
                0.0,
                f"IKEv2:(SESSION ID = {conn},SA ID = 1):Received Packet [From {p}:500/To "
                f"{ios_addr(local)}:500/VRF i0:f0]",
            ),
            (
                0.01,
                f"IKEv2:(SESSION ID = {conn},SA ID = 1):Processing IKE_AUTH response: "
                "NOTIFY(AUTHENTICATION_FAILED)",
            ),
            (0.02, "%IKEV2-3-NEG_ABORT: Negotiation aborted due to ERROR: Auth exchange failed"),
        ]
    items = [
        (0.0, f"ISAKMP:({conn}): retransmitting phase 1 MM_KEY_EXCH..."),
        (
            0.4,
            f"%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from {p} failed its sanity check or "
            "is malformed",
        ),
    ]
    if cycle % 6 == 0:
        items.append(
            (
                0.5,
                f"%CRYPTO-6-IKMP_NOT_ENCRYPTED: IKE packet from {p} was not "
                "encrypted and it should've been.",
            )
        )
    return items


def p2_mismatch(
    platform: str, v2: bool, local: str, peer: str, conn: int, proxy: bool
) -> list[tuple[float, str]]:
    p, lo = ios_addr(peer), ios_addr(local)
    if platform == "cisco_asa":
        if v2:
            why = "TS_UNACCEPTABLE" if proxy else "NO_PROPOSAL_CHOSEN"
            return [
                (
                    0.0,
                    f"%ASA-4-750003: Local:{local}:500 Remote:{peer}:500 Username:{peer} "
                    f"IKEv2 Negotiation aborted due to ERROR: Create child SA failed "
                    f"({why})",
                )
            ]
        if proxy:
            return [
                (
                    0.0,
                    f"%ASA-3-713061: Group = {peer}, IP = {peer}, Tunnel rejected: "
                    f"Crypto Map Policy not found for Src:{peer}, Dst: {local}!",
                )
            ]
        return [
            (
                0.0,
                f"%ASA-5-713904: Group = {peer}, IP = {peer}, All IPSec SA proposals found "
                "unacceptable!",
            ),
            (
                0.01,
                f"%ASA-3-713902: Group = {peer}, IP = {peer}, QM FSM error (P2 struct "
                f"&0x{conn:08x}, mess id 0x{conn * 7919 & 0xFFFFFFFF:08x})!",
            ),
            (
                0.02,
                f"%ASA-3-713902: Group = {peer}, IP = {peer}, Removing peer from correlator "
                "table failed, no match!",
            ),
        ]
    if v2:
        why = "TS_UNACCEPTABLE" if proxy else "NO_PROPOSAL_CHOSEN"
        return [
            (
                0.0,
                f"IKEv2:(SESSION ID = {conn},SA ID = 1):Received Packet [From {p}:500/To "
                f"{lo}:500/VRF i0:f0]",
            ),
            (
                0.01,
                f"IKEv2:(SESSION ID = {conn},SA ID = 1):Processing IKE_AUTH response: "
                f"NOTIFY({why})",
            ),
        ]
    if proxy:
        return [
            (0.0, f"ISAKMP:({conn}):Checking IPSec proposal 1"),
            (
                0.01,
                f"IPSEC(validate_proposal_request): proxy identities not supported "
                f"(local {lo} remote {p})",
            ),
            (
                0.02,
                f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at {p}",
            ),
        ]
    return [
        (0.0, f"ISAKMP:({conn}):Checking IPSec proposal 1"),
        (0.01, f"ISAKMP ({conn}): IPSec policy invalidated proposal with error 256"),
        (0.02, f"ISAKMP:({conn}): phase 2 SA policy not acceptable! (local {lo} remote {p})"),
        (0.03, f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at {p}"),
    ]


def replay_and_spi(
    platform: str,
    local: str,
    peer: str,
    conn: int,
    spi_in: int,
    bad_spi: int,
    seq: int,
    wan_if: str,
) -> list[tuple[float, str]]:
    """One minute of anti-replay drops and packets for an unknown SPI."""
    p, lo = ios_addr(peer), ios_addr(local)
    if platform == "cisco_asa":
        return [
            (
                7.0,
                f"%ASA-4-402119: IPSEC: Received an ESP packet (SPI= 0x{spi_in:08X}, "
                f"sequence number= 0x{seq:X}) from {peer} (user= {peer}) to {local} that "
                "failed anti-replay checking.",
            ),
            (
                23.0,
                f"%ASA-4-402101: decaps: rec'd IPSEC packet has invalid spi for "
                f"destaddr={local}, prot=esp, spi=0x{bad_spi:08x}",
            ),
        ]
    return [
        (
            7.0,
            f"%CRYPTO-4-PKT_REPLAY_ERR: decrypt: replay check failed connection id={conn}, "
            f"sequence number={seq}",
        ),
        (
            23.0,
            f"%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid spi for "
            f"destaddr={lo}, prot=50, spi=0x{bad_spi:X}({bad_spi}), srcaddr={p}, input "
            f"interface={wan_if}",
        ),
    ]
