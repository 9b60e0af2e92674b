"""The lab's fleet plan: routers and firewalls, their tunnels and the scenario each one plays.

Pure and seeded, so the same ``--seed`` always gives the same fleet (tests and benchmarks can
name a router's scenario in advance). Addresses are chosen so that nothing here ever points
outside loopback: a router's crypto (WAN) address is its own management address in 127.0.x.y,
outside peers live in 127.0.250.0/23 where nothing listens, and IPv6 peers use a private ULA
prefix that no interface of the host carries. Inside prefixes are plain strings the simulator
never sends traffic to.

The fleet is mixed: from six devices up, a third are Cisco ASA firewalls (the rest alternate IOS
and IOS-XE). Up to 23 devices the ASAs are healthy ones, so the small fleets every test stands on
keep their broken scenarios on routers; from 24 devices each broken scenario is played at least
twice, once by an ASA and once by a router, so every scenario exists on both families.

One healthy IOS-XE router also gets two front-door VRF tunnels (``VRF_NAMES``) to outside peers
that share ONE address (``VRF_PEER``) and the same inside prefixes: the overlap real customer
VRFs have, so ``--vrf`` on actions can be verified. They are added after every other link and
draw nothing from the plan's random generator, so the rest of the fleet is unchanged.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field

SCENARIOS: tuple[str, ...] = (
    "healthy",
    "ike_no_response",
    "psk_mismatch",
    "p2_mismatch",
    "one_way",
    "replay_spi_errors",
    "flapping",
)
BROKEN: tuple[str, ...] = SCENARIOS[1:]
# scenarios whose broken tunnel is IKEv1 by nature (the states are IKEv1 main/quick mode ones)
IKEV1_ONLY = frozenset({"ike_no_response", "psk_mismatch", "p2_mismatch"})

V6_PREFIX = "fd6c:ab::"
OUTSIDE_BASE = (127, 0, 250)
VRF_NAMES: tuple[str, ...] = ("CUST-A", "CUST-B")
VRF_PEER = "127.0.251.1"  # the same outside peer address in every VRF; nothing listens there
VRF_LOCAL_LAN = ipaddress.IPv4Network("172.20.1.0/24")  # overlapping inside prefixes, per VRF
VRF_REMOTE_LAN = ipaddress.IPv4Network("172.20.2.0/24")

TRANSFORMS: tuple[tuple[str, ...], ...] = (
    ("esp-256-aes", "esp-sha-hmac"),
    ("esp-256-aes", "esp-sha256-hmac"),
    ("esp-aes", "esp-sha-hmac"),
    ("esp-gcm", "256"),
)
# what an ASA and an IOS router both accept over IKEv1 (IOS show spelling)
ASA_TRANSFORMS: tuple[tuple[str, ...], ...] = (
    ("esp-256-aes", "esp-sha-hmac"),
    ("esp-aes", "esp-sha-hmac"),
)


@dataclass
class RouterSpec:
    """One simulated router as planned (no runtime state)."""

    index: int
    name: str
    platform: str  # cisco_ios | cisco_iosxe | cisco_asa
    scenario: str
    address: str  # management (and crypto/WAN) IPv4 address
    address6: str
    lan: ipaddress.IPv4Network
    serial: str

    @property
    def asa(self) -> bool:
        return self.platform == "cisco_asa"

    @property
    def wan_if(self) -> str:
        """The outside interface as crypto outputs name it (an ASA names it by nameif)."""
        if self.asa:
            return "outside"
        return "GigabitEthernet0/0" if self.platform == "cisco_ios" else "GigabitEthernet1"

    @property
    def lan_if(self) -> str:
        if self.asa:
            return "inside"
        return "GigabitEthernet0/1" if self.platform == "cisco_ios" else "GigabitEthernet2"

    @property
    def wan_port(self) -> str:
        """The physical port behind ``wan_if`` (the same name on a router)."""
        return "GigabitEthernet0/0" if self.asa else self.wan_if

    @property
    def lan_port(self) -> str:
        return "GigabitEthernet0/1" if self.asa else self.lan_if

    @property
    def inside_host(self) -> str:
        return str(self.lan.network_address + 1)


@dataclass
class LinkSpec:
    """One protected selector pair between two ends; end ``b`` may be an outside peer."""

    id: int
    a: str
    b: str | None  # router name, or None for a peer outside the lab
    a_addr: str
    b_addr: str
    a_lan: ipaddress.IPv4Network
    b_lan: ipaddress.IPv4Network
    ike_version: int
    kind: str  # crypto_map | vti
    behaviour: str  # a scenario id, or "idle"
    expected_up: bool
    transform: tuple[str, ...]
    pfs_group: int | None
    rate_ab: float  # packets per simulated second, a -> b
    rate_ba: float
    pkt_size: int
    # per-end names, filled by plan(): crypto map seq / tunnel interface number / ACL name
    seq: dict[str, int] = field(default_factory=dict)
    tunnel_no: dict[str, int] = field(default_factory=dict)
    # front-door VRF (also the inside VRF) and the WAN interface of end ``a`` in it
    vrf: str | None = None
    a_if: str | None = None

    @property
    def af(self) -> int:
        return 6 if ":" in self.a_addr else 4


@dataclass
class Plan:
    routers: list[RouterSpec]
    links: list[LinkSpec]

    def router(self, name: str) -> RouterSpec:
        for r in self.routers:
            if r.name == name:
                return r
        raise KeyError(name)


def router_address(index: int) -> str:
    """127.0.1.1, 127.0.1.2, ... 250 per /24 so the block never reaches the outside peers."""
    return f"127.0.{1 + index // 250}.{1 + index % 250}"


def _outside_address(k: int) -> str:
    a, b, c = OUTSIDE_BASE
    return f"{a}.{b}.{c + k // 250}.{1 + k % 250}"


def _lan(index: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"10.{1 + index // 250}.{index % 250}.0/24")


def _outside_lan(k: int) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"10.{200 + k // 250}.{k % 250}.0/24")


def _assign_scenarios(n: int, rng: random.Random) -> list[str]:
    """Healthy is at least half; every broken scenario appears once from 12 devices up and at
    least twice from 24 up (so that both families can play it)."""
    if n >= 12:
        per = 1 if n < 24 else max(2, n // 24)
        broken = [s for s in BROKEN for _ in range(per)]
    else:
        broken = list(BROKEN[: n // 2])
    scenarios = ["healthy"] * n
    for idx, scen in zip(rng.sample(range(n), len(broken)), broken, strict=True):
        scenarios[idx] = scen
    return scenarios


def default_asa_count(devices: int) -> int:
    """A third of the fleet from six devices up (12 devices: 8 routers and 4 ASAs)."""
    return devices // 3 if devices >= 6 else 0


def _asa_indices(scenarios: list[str], seed: int, count: int) -> set[int]:
    """Which devices are ASAs: one player of every broken scenario that has two or more
    (alternating, so the routers keep the others), then healthy devices from the end of the
    fleet, never the first device nor the one that carries the VRF tunnels."""
    chosen: list[int] = []
    for scen in BROKEN:
        players = [i for i, s in enumerate(scenarios) if s == scen]
        if len(players) >= 2:
            chosen += players[1::2]
    healthy = [i for i, s in enumerate(scenarios) if s == "healthy"]
    vrf_idx = next((i for i in healthy if (i + seed) % 2 == 0), None)
    for i in reversed(healthy):
        if len(chosen) >= count:
            break
        if i not in (0, vrf_idx):
            chosen.append(i)
    return set(chosen[:count]) if count < len(chosen) else set(chosen)


def plan(devices: int, seed: int, asa: int | None = None) -> Plan:
    """Build the fleet for ``devices`` devices, deterministic in ``seed``; ``asa`` overrides
    how many of them are ASAs (default: :func:`default_asa_count`)."""
    rng = random.Random(seed)
    scenarios = _assign_scenarios(devices, rng)
    width = max(2, len(str(devices)))
    count = default_asa_count(devices) if asa is None else max(0, min(asa, devices))
    asas = _asa_indices(scenarios, seed, count) if count else set()
    routers: list[RouterSpec] = []
    for i in range(devices):
        platform = "cisco_iosxe" if (i + seed) % 2 == 0 else "cisco_ios"
        if i in asas:
            platform = "cisco_asa"
        routers.append(
            RouterSpec(
                index=i,
                name=f"r{i + 1:0{width}d}",
                platform=platform,
                scenario=scenarios[i],
                address=router_address(i),
                address6=f"{V6_PREFIX}{i + 1:x}",
                lan=_lan(i),
                serial=f"FTX{rng.randrange(10**7, 10**8)}",
            )
        )
    links: list[LinkSpec] = []
    v6_done = False

    def new_link(
        a: RouterSpec,
        b: RouterSpec | None,
        b_addr: str,
        b_lan: ipaddress.IPv4Network,
        behaviour: str,
        expected: bool,
        v6: bool = False,
    ) -> LinkSpec:
        both_xe = a.platform == "cisco_iosxe" and (b is None or b.platform == "cisco_iosxe")
        if behaviour in IKEV1_ONLY or behaviour == "idle":
            ike, kind = 1, "crypto_map"
        elif v6:
            ike, kind = 2, "vti"
        elif both_xe and a.platform == "cisco_iosxe":
            ike = 2
            kind = "vti" if rng.random() < 0.4 else "crypto_map"
        else:
            ike, kind = 1, "crypto_map"
        rate = rng.choice((2.0, 5.0, 10.0, 20.0))
        transform = rng.choice(TRANSFORMS)
        if a.asa or (b is not None and b.asa):
            # an ASA's IKEv1 transform sets offer SHA-1 at best and no GCM
            transform = ASA_TRANSFORMS[TRANSFORMS.index(transform) % len(ASA_TRANSFORMS)]
        link = LinkSpec(
            id=len(links),
            a=a.name,
            b=b.name if b else None,
            a_addr=a.address6 if v6 else a.address,
            b_addr=b_addr,
            a_lan=a.lan,
            b_lan=b_lan,
            ike_version=ike,
            kind=kind,
            behaviour=behaviour,
            expected_up=expected,
            transform=transform,
            pfs_group=rng.choice((None, 14)),
            rate_ab=rate,
            rate_ba=rate * rng.choice((0.5, 1.0, 1.5)),
            pkt_size=rng.choice((200, 400, 800)),
        )
        links.append(link)
        return link

    # lab-to-lab ring: every tunnel healthy at both ends
    pairs: list[tuple[int, int]] = []
    if devices == 2:
        pairs = [(0, 1)]
    elif devices >= 3:
        pairs = [(i, (i + 1) % devices) for i in range(devices)]
    for i, j in pairs:
        a, b = routers[i], routers[j]
        v6 = not v6_done and a.platform == "cisco_iosxe" and b.platform == "cisco_iosxe"
        if v6:
            v6_done = True
        # ring neighbours alternate platforms; pair an IOS-XE with the next IOS-XE for IKEv2
        new_link(a, b, b.address6 if v6 else b.address, b.lan, "healthy", True, v6=v6)
    # IOS-XE chords (i, i+2) carry IKEv2 between lab routers when the ring has none
    if devices >= 5:
        xe = [r for r in routers if r.platform == "cisco_iosxe"]
        linked = {frozenset((lk.a, lk.b)) for lk in links}
        for k in range(0, len(xe) - 1, 2):
            a, b = xe[k], xe[k + 1]
            if frozenset((a.name, b.name)) in linked:
                continue
            v6 = not v6_done
            v6_done = True
            new_link(a, b, b.address6 if v6 else b.address, b.lan, "healthy", True, v6=v6)
    outside = 0
    for r in routers:
        if r.scenario != "healthy":
            new_link(r, None, _outside_address(outside), _outside_lan(outside), r.scenario, True)
            outside += 1
        elif r.index % 4 == 0:
            new_link(r, None, _outside_address(outside), _outside_lan(outside), "idle", False)
            outside += 1
    # per-end numbering: crypto map sequence numbers and tunnel interfaces in link order
    seqs: dict[str, int] = {}
    tuns: dict[str, int] = {}
    for link in links:
        for end in (link.a, link.b):
            if end is None:
                continue
            if link.kind == "vti":
                tuns[end] = tuns.get(end, 0) + 1
                link.tunnel_no[end] = tuns[end]
            else:
                seqs[end] = seqs.get(end, 0) + 10
                link.seq[end] = seqs[end]
    links += _vrf_links(routers, len(links))
    return Plan(routers=routers, links=links)


def vrf_router(routers: list[RouterSpec]) -> RouterSpec | None:
    """The router carrying the VRF tunnels: the first healthy IOS-XE one (None if none)."""
    return next(
        (r for r in routers if r.platform == "cisco_iosxe" and r.scenario == "healthy"), None
    )


def _vrf_links(routers: list[RouterSpec], first_id: int) -> list[LinkSpec]:
    """Always-on IKEv1 crypto-map tunnels, one per VRF, all to the same peer address."""
    r = vrf_router(routers)
    if r is None:
        return []
    out: list[LinkSpec] = []
    for k, vrf in enumerate(VRF_NAMES):
        out.append(
            LinkSpec(
                id=first_id + k,
                a=r.name,
                b=None,
                a_addr=f"127.0.252.{1 + k}",
                b_addr=VRF_PEER,
                a_lan=VRF_LOCAL_LAN,
                b_lan=VRF_REMOTE_LAN,
                ike_version=1,
                kind="crypto_map",
                behaviour="healthy",
                expected_up=True,
                transform=("esp-256-aes", "esp-sha256-hmac"),
                pfs_group=14,
                rate_ab=5.0,
                rate_ba=5.0 + 2.5 * k,
                pkt_size=400,
                seq={r.name: 10},
                vrf=vrf,
                a_if=f"GigabitEthernet{3 + k}",
            )
        )
    return out
