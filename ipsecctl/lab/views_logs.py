"""``show logging`` of a lab device: its buffer, IOS or ASA formatted.

The buffer holds what happened (sessions up and down, flaps: written by the fleet when it
happens) and what a broken scenario keeps logging every cycle (retransmissions, refused
proposals, replay drops: generated here for the window the buffer covers). Like a real
``logging buffered 65536``, the buffer keeps the newest lines that fit, so a device that has
been failing for an hour shows that hour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from ipsecctl.lab import log_messages as msgs
from ipsecctl.lab.state import HISTORY_S, Fleet
from ipsecctl.lab.tunnel_end import End

BUFFER_BYTES = 65536


def _ios_stamp(dt: datetime) -> str:
    return f"*{dt:%b} {dt.day:2d} {dt:%H:%M:%S}.{dt.microsecond // 1000:03d}: "


def _asa_stamp(dt: datetime) -> str:
    """``logging timestamp``: ``Mar 05 2024 10:22:11: %ASA-...``."""
    return f"{dt:%b %d %Y %H:%M:%S}: "


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
        yield from ((c0 + off, m) for off, m in burst(c0, n) if start <= c0 + off <= t)
        c0 += period


def _periodic(e: End, t: float, start: float) -> Iterable[tuple[float, str]]:
    """Messages a failing tunnel keeps logging at its initiating end, within [start, t]."""
    if e.side != "a":
        return ()
    beh = e.link.behaviour
    v2 = e.spec.ike_version == 2
    plat = e.platform
    local, peer = e.local_addr, e.peer_addr

    def conn() -> int:
        return e.link.ike.conn(e.side) if e.link.ike else 1001

    def fixed(
        fn: Callable[..., list[tuple[float, str]]], *args: object
    ) -> Callable[[float, int], list[tuple[float, str]]]:
        return lambda _c0, _n: fn(plat, v2, local, peer, conn(), *args)

    if beh == "ike_no_response":
        return _every(60, start, start, t, fixed(msgs.no_response))
    if beh == "p1_mismatch":
        return _every(30, start, start, t, fixed(msgs.p1_mismatch))
    if beh == "psk_mismatch":
        return _every(
            10,
            start,
            start,
            t,
            lambda c0, n: msgs.psk_mismatch(plat, v2, local, peer, conn(), int(c0 // 10)),
        )
    if beh in ("p2_mismatch", "proxy_mismatch"):
        proxy = beh == "proxy_mismatch"
        return _every(30, start, start, t, fixed(msgs.p2_mismatch, proxy))
    if beh == "replay_spi_errors" and e.link.sas:
        sa = e.link.sas[-1]

        def replay(_c0: float, n: int) -> list[tuple[float, str]]:
            bad = (sa.spi_in(e.side) ^ (0x5A5A0000 + n)) & 0xFFFFFFFF
            return msgs.replay_and_spi(
                plat,
                local,
                peer,
                sa.conn(e.side),
                sa.spi_in(e.side),
                bad,
                1000 + 97 * n,
                e.router.wan_if,
            )

        since = max(start, e.link.flow_since if e.link.flow_since is not None else start)
        return _every(60, since, start, t, replay)
    return ()


def buffer_lines(fleet: Fleet, name: str, t: float) -> list[str]:
    """The stamped lines of the buffer, oldest first, as many as fit in it."""
    st = fleet.routers[name]
    start = max(t - HISTORY_S, st.log_since)
    entries: list[tuple[float, str]] = [(x.t, x.text) for x in st.log if st.log_since <= x.t <= t]
    for link, side in st.ends:
        entries.extend(_periodic(End(link, side, st.spec), t, start))
    entries.sort(key=lambda w: w[0])
    stamp = _asa_stamp if st.spec.asa else _ios_stamp
    out: list[str] = []
    size = 0
    for w, m in reversed(entries):
        line = stamp(fleet.clock.wall(w)) + m
        size += len(line) + 1
        if size > BUFFER_BYTES:
            break
        out.append(line)
    out.reverse()
    return out


def show_logging(fleet: Fleet, name: str, t: float) -> str:
    lines = buffer_lines(fleet, name, t)
    n = len(lines)
    if fleet.routers[name].spec.asa:
        return "\n".join(
            [
                "Syslog logging: enabled",
                "    Facility: 20",
                "    Timestamp logging: enabled",
                "    Timezone: disabled",
                "    Logging Format: disabled",
                "    Hide Username logging: enabled",
                "    Standby logging: disabled",
                "    Debug-trace logging: disabled",
                "    Console logging: disabled",
                "    Monitor logging: disabled",
                f"    Buffer logging: level debugging, {n} messages logged",
                "    Trap logging: disabled",
                "    Permit-hostdown logging: disabled",
                "    History logging: disabled",
                "    Device ID: disabled",
                "    Mail logging: disabled",
                "    ASDM logging: disabled",
                *lines,
            ]
        )
    return "\n".join(
        [
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
            f"Log Buffer ({BUFFER_BYTES} bytes):",
            "",
            *lines,
        ]
    )
