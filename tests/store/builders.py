"""Hand-built device states for the transitions and store tests.

The shapes are those of an IOS-XE crypto-map tunnel as ``show crypto ipsec sa`` and ``show
crypto session detail`` report it (one inbound and one outbound ESP SA per ident, the ident's
packet and error counters, the session uptime); values are chosen per test so the expected
events can be read off the event definitions.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ipsecctl.models import CommandError, DeviceState, IkeSa, IpsecSa, TrafficSelector, Tunnel

T0 = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
POLL = timedelta(seconds=30)


def at(n: int) -> datetime:
    """The time of the n-th 30 s poll after T0."""
    return T0 + n * POLL


def tunnel(
    device: str = "hub-1",
    peer: str = "10.0.0.2",
    *,
    state: str = "up",
    spi_in: tuple[int, ...] = (0xC0FFEE01,),
    spi_out: tuple[int, ...] = (0x1A2B3C4D,),
    encaps: int = 1000,
    decaps: int = 1000,
    errors: dict[str, int] | None = None,
    ike_state: str | None = "QM_IDLE",
    uptime_s: int | None = 600,
    vrf: str | None = None,
    remote: str = "10.2.0.0/24",
) -> Tunnel:
    up = state == "up"
    sas = []
    if up:
        sas = [
            IpsecSa(
                direction="in",
                spi=s,
                transform="esp-256-aes esp-sha256-hmac",
                encryption="aes256",
                integrity="sha256",
                mode="tunnel",
                status="ACTIVE",
            )
            for s in spi_in
        ] + [
            IpsecSa(
                direction="out",
                spi=s,
                transform="esp-256-aes esp-sha256-hmac",
                encryption="aes256",
                integrity="sha256",
                mode="tunnel",
                status="ACTIVE",
            )
            for s in spi_out
        ]
    counters = {
        "pkts_encaps": encaps,
        "pkts_decaps": decaps,
        "send_errors": 0,
        "recv_errors": 0,
        "replay_failed": 0,
        "decrypt_failed": 0,
        "verify_failed": 0,
    }
    counters.update(errors or {})
    return Tunnel(
        device=device,
        platform="cisco_iosxe",
        kind="crypto_map",
        interface="GigabitEthernet1",
        crypto_map="VPN",
        map_seq=10,
        vrf=vrf,
        local_addr="10.0.0.1",
        peer=peer,
        peer_port=500,
        local_ts=TrafficSelector(prefix="10.1.0.0/24"),
        remote_ts=TrafficSelector(prefix=remote),
        pfs=True,
        dh_group=14,
        counters=counters if up else {},
        sas=sas,
        ike_state=ike_state,
        ike_status="up" if ike_state == "QM_IDLE" else "negotiating",
        state=state,  # type: ignore[arg-type]
        expected_up=True,
        uptime_s=uptime_s if up else None,
    ).with_identity()


def device(
    when: datetime,
    *tunnels: Tunnel,
    name: str = "hub-1",
    reachable: bool = True,
    errors: list[CommandError] | None = None,
    raw: dict[str, str] | None = None,
    endpoint: str | None = None,
) -> DeviceState:
    ike = [
        IkeSa(
            device=name,
            version=1,
            src="10.0.0.1",
            dst=t.peer,
            state=t.ike_state,
            status="up" if t.ike_state == "QM_IDLE" else "negotiating",
            conn_id=1001,
        )
        for t in tunnels
        if t.ike_state
    ]
    return DeviceState(
        device=name,
        platform="cisco_iosxe",
        polled_at=when,
        reachable=reachable,
        ike_sas=ike if reachable else [],
        tunnels=list(tunnels) if reachable else [],
        errors=errors
        or ([] if reachable else [CommandError(kind="unreachable", message="connection refused")]),
        raw=raw,
        endpoint=endpoint,
    )
