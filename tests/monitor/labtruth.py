"""What the lab itself says about its tunnels (its configuration and SA state), to compare
the monitoring commands with."""

from __future__ import annotations

from dataclasses import dataclass

from ipsecctl.lab import Lab
from ipsecctl.lab.state import NO_SA, Fleet, Link


@dataclass(frozen=True)
class End:
    router: str
    peer: str
    vrf: str | None
    behaviour: str
    expected_up: bool
    link: Link
    side: str


def ends(lab: Lab) -> list[End]:
    out = []
    for r in lab.routers:
        for link, side in lab.fleet.ends_of(r.name):
            out.append(
                End(
                    r.name,
                    Fleet.peer_addr(link, side),
                    link.spec.vrf,
                    link.behaviour,
                    bool(link.spec.expected_up),
                    link,
                    side,
                )
            )
    return out


def never_up(lab: Lab) -> set[tuple[str, str]]:
    """Expected-up tunnels whose configuration can never give an IPsec SA."""
    return {(e.router, e.peer) for e in ends(lab) if e.expected_up and e.behaviour in NO_SA}


def flapping(lab: Lab) -> set[tuple[str, str]]:
    return {(e.router, e.peer) for e in ends(lab) if e.behaviour == "flapping"}


def healthy_routers(lab: Lab) -> list[str]:
    return [r.name for r in lab.routers if r.scenario == "healthy"]


def spis_in(lab: Lab, router: str, peer: str, vrf: str | None = None) -> set[int]:
    """Inbound SPIs the lab holds now for that end of the link."""
    with lab.fleet.lock:
        lab.fleet.advance()
        for e in ends(lab):
            if (e.router, e.peer, e.vrf) == (router, peer, vrf):
                return {pair.spi_in(e.side) for pair in e.link.sas}
    raise KeyError((router, peer, vrf))


def healthy_link(lab: Lab) -> End:
    """A crypto-map tunnel between two healthy lab routers, up now."""
    healthy = set(healthy_routers(lab))
    addresses = {r.address: r.name for r in lab.routers}
    for e in ends(lab):
        other = addresses.get(e.peer)
        if (
            e.router in healthy
            and other in healthy
            and e.behaviour == "healthy"
            and e.link.spec.kind == "crypto_map"
            and e.link.sas
            and e.vrf is None
        ):
            return e
    raise AssertionError("the lab has no healthy crypto-map link between healthy routers")
