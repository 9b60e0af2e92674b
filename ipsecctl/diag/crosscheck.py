"""Rules that need both ends of a tunnel in the same data set.

One side alone cannot tell a stale SA from a healthy one: only the peer knows whether our
outbound SPI is still installed there. When a poll holds both devices (found by matching each
tunnel's ``peer`` with the other device's local addresses), we compare:

* SPI_MISMATCH: an outbound ESP SPI of A that is not among B's inbound SPIs towards A. The peer
  drops those packets and logs %CRYPTO-4-RECVD_PKT_INV_SPI (Cisco TechNote "IPsec
  Troubleshooting"). Not when another outbound SPI of A *is* installed on B: that is a rekey
  seen half-done because the two devices were polled at slightly different moments, not SAs out
  of sync.
* SELECTOR_NOT_MIRRORED: A's (local, remote) selectors have no mirror (remote, local) on B
  (Cisco: crypto ACLs must be mirror images of each other).
* TRANSFORM_MISMATCH: for a mirrored pair with SAs on both sides, different transforms or PFS.

Both ends are known here, so each finding's next steps name both: A's own platform commands,
then B's (from B's platform table, marked "on B").
"""

from __future__ import annotations

from collections.abc import Iterable

from ipsecctl.diag.health.context import Fleet, Scope
from ipsecctl.models import DeviceState, Finding, Tunnel


def _locals(dev: DeviceState) -> set[str]:
    out = {t.local_addr.lower() for t in dev.tunnels if t.local_addr}
    out |= {sa.local.lower() for sa in dev.ike_sas if sa.local}
    return out


def _norm_transform(text: str | None) -> str:
    return " ".join((text or "").replace(",", " ").split()).lower()


def _transforms(t: Tunnel, direction: str, by_algorithm: bool = False) -> set[str]:
    """Raw spellings within one family; across families (an ASA prints ``esp-aes-256
    esp-sha-hmac no compression`` where IOS prints ``esp-256-aes esp-sha-hmac``) the
    parsers' normalised algorithms."""
    return {
        f"{sa.encryption}/{sa.integrity}"
        if by_algorithm and sa.encryption
        else _norm_transform(sa.transform)
        for sa in t.sas
        if sa.direction == direction
    }


def _pairs(devices: list[DeviceState]) -> Iterable[tuple[DeviceState, DeviceState, str, str]]:
    """(A, B, A's address, B's address) for every ordered pair that point at each other."""
    local = {d.device: _locals(d) for d in devices}
    for a in devices:
        for b in devices:
            if a is b:
                continue
            for t in a.tunnels:
                if t.peer and t.peer.lower() in local[b.device] and t.local_addr:
                    yield a, b, t.local_addr, t.peer
                    break


def crosscheck(devices: list[DeviceState]) -> list[Finding]:
    """Findings about A's view of each peer B that is in the same data set."""
    findings: list[Finding] = []
    fleet = Fleet(d for d in devices if d.reachable)
    for a, b, a_addr, b_addr in _pairs(devices):
        scope = Scope(a, fleet=fleet)
        mine = [t for t in a.tunnels if t.peer and t.peer.lower() == b_addr.lower()]
        theirs = [t for t in b.tunnels if t.peer and t.peer.lower() == a_addr.lower()]
        b_in = {spi for t in theirs for spi in t.spis("in")}
        for t in mine:
            mirror = [u for u in theirs if u.local_ts == t.remote_ts and u.remote_ts == t.local_ts]
            if t.local_ts and t.remote_ts and not mirror:
                offered = ", ".join(f"{u.local_ts} -> {u.remote_ts}" for u in theirs) or "none"
                findings.append(
                    scope.finding(
                        "SELECTOR_NOT_MIRRORED",
                        "error",
                        f"{a.device} protects {t.local_ts} -> {t.remote_ts} towards "
                        f"{b.device}, which has no mirror image of it",
                        peer=b_addr,
                        evidence=[
                            f"{a.device}: local_ts={t.local_ts} remote_ts={t.remote_ts}",
                            f"{b.device} towards {a_addr}: {offered}",
                        ],
                        causes=[
                            "crypto ACLs / traffic selectors are not mirror images: SAs come "
                            "up only when the side whose selectors are the subset initiates",
                        ],
                        tunnels=[t],
                    )
                )
            out = [s for s in t.spis("out") if s]
            missing = [s for s in out if s not in b_in]
            # A rekey caught between the two devices' polls: A already has the new outbound
            # SA, B (polled a moment earlier) still shows only the old one, which it has.
            rekeying = len(out) > len(missing) and any(s in b_in for s in out)
            if out and theirs and missing and not rekeying:
                findings.append(
                    scope.finding(
                        "SPI_MISMATCH",
                        "error",
                        f"{a.device} encrypts to {b.device} with SPI "
                        f"{', '.join(f'0x{s:08X}' for s in missing)}, which "
                        f"{b.device} does not have inbound",
                        peer=b_addr,
                        evidence=[
                            f"{a.device} outbound: {', '.join(f'0x{s:08X}' for s in out)}",
                            f"{b.device} inbound from {a_addr}: "
                            + (", ".join(f"0x{s:08X}" for s in sorted(b_in)) or "none"),
                        ],
                        causes=[
                            "SAs out of sync after a reboot or a one-sided clear",
                            "lifetime skew: one side deleted the SA early",
                        ],
                        tunnels=[t],
                    )
                )
            for u in mirror:
                cross = t.platform != u.platform
                mine_tf, their_tf = _transforms(t, "out", cross), _transforms(u, "in", cross)
                tf_bad = bool(mine_tf and their_tf and not (mine_tf & their_tf))
                pfs_bad = (
                    t.pfs is not None
                    and u.pfs is not None
                    and (
                        t.pfs != u.pfs
                        or bool(t.dh_group and u.dh_group and t.dh_group != u.dh_group)
                    )
                )
                if tf_bad or pfs_bad:
                    findings.append(
                        scope.finding(
                            "TRANSFORM_MISMATCH",
                            "error",
                            f"{a.device} and {b.device} use different "
                            f"{'transforms' if tf_bad else 'PFS settings'} for "
                            f"{t.local_ts} -> {t.remote_ts}",
                            peer=b_addr,
                            evidence=[
                                f"{a.device} outbound: {sorted(mine_tf)} pfs={t.pfs}"
                                f" dh_group={t.dh_group}",
                                f"{b.device} inbound: {sorted(their_tf)} pfs={u.pfs}"
                                f" dh_group={u.dh_group}",
                            ],
                            causes=[
                                "transform sets / ESP proposals or PFS differ between the ends"
                            ],
                            tunnels=[t],
                        )
                    )
    return findings
