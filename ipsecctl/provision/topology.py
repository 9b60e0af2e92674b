"""Topologies: one spec -> every device of a hub-and-spoke, full-mesh or DMVPN network.

Why a topology is expanded into links before anything is rendered: every value two ends must
agree on is chosen once per *link* (sequence numbers, tunnel interfaces and their addresses,
the selectors, the key reference), so each device's configuration is the union of its ends of
its links, and the pair check has the same list of links to walk. The single-tunnel spec of
:mod:`ipsecctl.provision.model` is the two-device case (:func:`from_tunnel`).

Spokes come from the spec itself or from a CSV file (one row per spoke: ``name``,
``outside_address``, ``inside_networks``; optional ``device``, ``platform``,
``outside_interface``, ``crypto_map``, ``tunnel_address``). Duplicate names, devices or
addresses are refused before anything renders, naming the file and line.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ipsecctl import errors
from ipsecctl.provision.model import (
    CISCO_IOS,
    CryptoSettings,
    End,
    TunnelSpec,
    first_error,
    strength_problems,
)

Kind = Literal["pair", "hub_spoke", "full_mesh", "dmvpn"]
MESH_MAX = 16  # a full mesh of n has n(n-1)/2 tunnels: beyond this, use a hub or DMVPN
HUB_MAX = 2


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dmvpn(_M):
    """mGRE + NHRP over one tunnel network; phase 2 (spoke-to-spoke via NHRP resolution) or
    phase 3 (hub redirects, spokes install shortcuts)."""

    phase: Literal[2, 3] = 3
    interface: str = "Tunnel0"
    network: str = "172.31.0.0/24"  # the tunnel (overlay) network; the hub takes .1
    network_id: int = Field(default=1, ge=1, le=4294967295)
    tunnel_key: int | None = Field(default=None, ge=0, le=4294967295)
    holdtime: int = Field(default=300, ge=1, le=65535)

    @field_validator("network")
    @classmethod
    def _net(cls, v: str) -> str:
        net = ipaddress.ip_network(v, strict=True)
        if net.version != 4 or net.prefixlen > 29:
            raise ValueError("the DMVPN tunnel network is an IPv4 prefix of /29 or larger")
        return str(net)


class Pki(_M):
    """Certificate authentication: the trustpoint each Cisco end enrols with (SCEP), and
    the files a strongSwan end loads (``ipsecctl pki issue NAME --out /etc/swanctl`` lays
    them out: ``x509/NAME.pem``, ``private/NAME.key``, ``x509ca/TRUSTPOINT.pem``)."""

    trustpoint: str = "IPSECCTL-CA"
    enrollment_url: str = "http://127.0.0.1:80"  # the CA's SCEP URL (IOS/ASA)
    domain: str = "vpn.example"  # subject CN = <end name>.<domain>

    @field_validator("trustpoint")
    @classmethod
    def _tp(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,40}", v):
            raise ValueError("trustpoint names are letters, digits, '_', '.', '-'")
        return v

    def subject(self, end: End) -> str:
        return f"CN={end.name}.{self.domain}"


class TopologySpec(CryptoSettings):
    """Shared crypto plus who talks to whom (see the module docstring)."""

    name: str
    topology: Kind
    hubs: list[End] = Field(default_factory=list)
    spokes: list[End] = Field(default_factory=list)
    spokes_csv: str | None = None
    members: list[End] = Field(default_factory=list)  # full mesh
    # default: the spec's mode; dynamic_map: one dynamic crypto map on the hub answers every
    # spoke (the hub never initiates), spokes keep static entries towards it
    hub_mode: Literal["crypto_map", "vti", "dynamic_map"] | None = None
    dynamic_map_seq: int = Field(default=65535, ge=1, le=65535)
    map_seq_start: int = Field(default=10, ge=1, le=65535)
    map_seq_step: int = Field(default=10, ge=1, le=1000)
    spoke_map_seq: int = Field(default=10, ge=1, le=65535)
    tunnel_start: int = Field(default=100, ge=0, le=2147483647)  # VTI interface numbers
    vti_pool: str = "172.30.0.0/16"
    dmvpn: Dmvpn | None = None
    pki: Pki | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,30}", v):
            raise ValueError(
                "topology names are letters, digits, '_' and '-' (max 31): they "
                "become ACL, transform-set and connection names"
            )
        return v

    @field_validator("vti_pool")
    @classmethod
    def _pool(cls, v: str) -> str:
        net = ipaddress.ip_network(v, strict=True)
        if net.version != 4 or net.prefixlen > 30:
            raise ValueError("vti_pool is an IPv4 prefix of /30 or larger")
        return str(net)


@dataclass(frozen=True)
class LinkEnd:
    """One device's side of one link: where it is written on that device."""

    node: End
    seq: int | None = None  # crypto map entry
    interface: str | None = None  # VTI tunnel interface
    address: str | None = None  # VTI address A.B.C.D/LEN
    dynamic: bool = False  # a hub's end answered by its one dynamic crypto map


@dataclass(frozen=True)
class Link:
    """One tunnel between two devices of the topology (``a`` initiates in the pair check)."""

    index: int
    a: LinkEnd
    b: LinkEnd
    mode: str  # crypto_map | vti | dmvpn

    @property
    def name(self) -> str:
        return f"{self.a.node.name}--{self.b.node.name}"

    def side(self, node: End) -> tuple[LinkEnd, LinkEnd]:
        """(this node's end, the other end)."""
        return (self.a, self.b) if self.a.node.name == node.name else (self.b, self.a)


@dataclass
class Network:
    """The expanded topology: devices in push order (hubs first) and every link."""

    spec: CryptoSettings
    name: str
    kind: Kind
    nodes: list[End]
    links: list[Link]
    hubs: list[str] = field(default_factory=list)
    dmvpn: Dmvpn | None = None
    pki: Pki | None = None

    def links_of(self, node: End) -> list[Link]:
        return [lk for lk in self.links if node.name in (lk.a.node.name, lk.b.node.name)]

    def node(self, name: str) -> End:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def role(self, node: End) -> str:
        if self.kind == "pair":
            return "end"
        if self.kind == "full_mesh":
            return "member"
        return "hub" if node.name in self.hubs else "spoke"


# --------------------------------------------------------------------------------- CSV
_CSV_REQUIRED = ("name", "outside_address", "inside_networks")
_CSV_OPTIONAL = (
    "device",
    "platform",
    "outside_interface",
    "crypto_map",
    "tunnel_address",
    "map_seq",
)


def load_spokes_csv(path: Path, default_platform: str) -> list[End]:
    """One spoke per row; every problem names the file, the line and the column."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise errors.InputFileError(
            f"{path}: cannot read the spokes CSV ({exc.strerror})"
        ) from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in _CSV_REQUIRED if c not in header]
    if missing:
        raise errors.InputFileError(
            f"{path}: line 1: the header lacks {', '.join(missing)} (columns: "
            f"{', '.join(_CSV_REQUIRED)}, optional {', '.join(_CSV_OPTIONAL)})"
        )
    unknown = [c for c in header if c not in _CSV_REQUIRED + _CSV_OPTIONAL]
    if unknown:
        raise errors.InputFileError(
            f"{path}: line 1: unknown column {unknown[0]!r} (known: "
            f"{', '.join(_CSV_REQUIRED + _CSV_OPTIONAL)})"
        )
    out: list[End] = []
    for row in reader:
        line = reader.line_num
        data: dict[str, Any] = {
            k: v.strip() for k, v in row.items() if k is not None and v is not None and v.strip()
        }
        if None in row:
            raise errors.InputFileError(f"{path}: line {line}: more fields than the header has")
        data.setdefault("platform", default_platform)
        nets = data.get("inside_networks", "")
        data["inside_networks"] = [n for n in re.split(r"[ ;|]+", nets) if n]
        if "map_seq" in data:
            data["map_seq"] = data["map_seq"]
        if "tunnel_address" in data:
            data["vti"] = {"address": data.pop("tunnel_address")}
        try:
            out.append(End.model_validate(data))
        except ValidationError as exc:
            raise errors.InputFileError(f"{path}: line {line}: {first_error(exc)}") from None
    if not out:
        raise errors.InputFileError(f"{path}: no spoke rows")
    return out


def _unique(nodes: list[End], source: str) -> None:
    """Refuse duplicate names, devices and outside addresses (before anything renders)."""
    for attr, what in (
        ("name", "name"),
        ("target", "device"),
        ("outside_address", "outside address"),
    ):
        seen: dict[str, int] = {}
        for i, n in enumerate(nodes):
            value = str(getattr(n, attr))
            if value in seen:
                raise errors.InputFileError(
                    f"{source}: duplicate {what} {value!r} ({nodes[seen[value]].name} and "
                    f"{n.name}): each device appears once"
                )
            seen[value] = i


# --------------------------------------------------------------------------------- expand
def from_tunnel(spec: TunnelSpec) -> Network:
    """The single-tunnel spec as a two-device network (its ends keep their own seq/VTI)."""
    a, b = spec.a, spec.b
    link = Link(
        0,
        LinkEnd(a, a.map_seq, a.vti.interface if a.vti else None, a.vti.address if a.vti else None),
        LinkEnd(b, b.map_seq, b.vti.interface if b.vti else None, b.vti.address if b.vti else None),
        spec.mode,
    )
    return Network(spec, spec.name, "pair", [a, b], [link])


def _vti_pair(pool: ipaddress.IPv4Network, index: int) -> tuple[str, str]:
    subnets = 1 << (30 - pool.prefixlen)
    if index >= subnets:
        raise errors.InputFileError(
            f"vti_pool {pool} holds {subnets} /30 links; the topology needs more: widen it"
        )
    base = int(pool.network_address) + 4 * index
    return (f"{ipaddress.IPv4Address(base + 1)}/30", f"{ipaddress.IPv4Address(base + 2)}/30")


def expand(spec: TopologySpec, base: Path | None = None) -> Network:
    """Every device and link of the topology; consistency problems raise InputFileError."""
    src = spec.name
    spokes = list(spec.spokes)
    if spec.spokes_csv:
        path = Path(spec.spokes_csv).expanduser()
        if base is not None and not path.is_absolute():
            path = base / path
        default = spec.hubs[0].platform if spec.hubs else "cisco_iosxe"
        spokes += load_spokes_csv(path, default)
    if spec.topology == "pair":
        raise errors.InputFileError(f"{src}: topology pair is the tunnel spec (name, ends)")
    if spec.topology == "full_mesh":
        nodes = list(spec.members)
        if len(nodes) < 3 or len(nodes) > MESH_MAX:
            raise errors.InputFileError(
                f"{src}: a full mesh has 3 to {MESH_MAX} members (it has {len(nodes)}); use "
                "hub_spoke or dmvpn for more"
            )
        _unique(nodes, src)
        links: list[Link] = []
        pool = ipaddress.IPv4Network(spec.vti_pool)
        seqs: dict[str, int] = {n.name: 0 for n in nodes}
        for i, x in enumerate(nodes):
            for y in nodes[i + 1 :]:
                k = len(links)
                links.append(_link(spec, k, x, y, seqs, pool, spec.mode))
        net = Network(spec, spec.name, "full_mesh", nodes, links, pki=spec.pki)
        _check_network(net, src)
        return net
    hubs = list(spec.hubs)
    if not 1 <= len(hubs) <= HUB_MAX:
        raise errors.InputFileError(
            f"{src}: {spec.topology} needs one or two hubs (it has {len(hubs)})"
        )
    if not spokes:
        raise errors.InputFileError(f"{src}: no spokes (spokes: or spokes_csv:)")
    nodes = hubs + spokes
    _unique(nodes, spec.spokes_csv or src)
    if spec.topology == "dmvpn":
        d = spec.dmvpn or Dmvpn()
        links = [
            Link(len(hubs) * s + h, LinkEnd(hub), LinkEnd(spoke), "dmvpn")
            for s, spoke in enumerate(spokes)
            for h, hub in enumerate(hubs)
        ]
        net = Network(spec, spec.name, "dmvpn", nodes, links, [h.name for h in hubs], d, spec.pki)
        _check_network(net, src)
        return net
    mode = spec.hub_mode or spec.mode
    pool = ipaddress.IPv4Network(spec.vti_pool)
    links = []
    seqs = {n.name: 0 for n in nodes}
    for spoke in spokes:
        for hub in hubs:
            links.append(_link(spec, len(links), hub, spoke, seqs, pool, mode))
    net = Network(spec, spec.name, "hub_spoke", nodes, links, [h.name for h in hubs], pki=spec.pki)
    _check_network(net, src)
    return net


def _link(
    spec: TopologySpec,
    k: int,
    x: End,
    y: End,
    seqs: dict[str, int],
    pool: ipaddress.IPv4Network,
    mode: str,
) -> Link:
    """Link ``k`` between ``x`` (the hub, or the earlier mesh member) and ``y``."""
    nx, ny = seqs[x.name], seqs[y.name]
    seqs[x.name] += 1
    seqs[y.name] += 1
    if mode == "vti":
        ax, ay = _vti_pair(pool, k)
        return Link(
            k,
            LinkEnd(x, interface=f"Tunnel{spec.tunnel_start + nx}", address=ax),
            LinkEnd(y, interface=f"Tunnel{spec.tunnel_start + ny}", address=ay),
            "vti",
        )
    sx = spec.map_seq_start + nx * spec.map_seq_step
    if spec.topology == "hub_spoke":
        sy = y.map_seq if "map_seq" in y.model_fields_set else spec.spoke_map_seq
        # a spoke with two hubs: one entry per hub, the second one step further
        sy += ny * spec.map_seq_step
    else:
        sy = spec.map_seq_start + ny * spec.map_seq_step
    for s in (sx, sy):
        if s > 65535:
            raise errors.InputFileError(
                f"{spec.name}: crypto map sequence {s} is above 65535: lower map_seq_start "
                "or map_seq_step"
            )
    if mode == "dynamic_map":
        return Link(
            k, LinkEnd(x, seq=spec.dynamic_map_seq, dynamic=True), LinkEnd(y, seq=sy), "crypto_map"
        )
    return Link(k, LinkEnd(x, seq=sx), LinkEnd(y, seq=sy), "crypto_map")


def _check_network(net: Network, src: str) -> None:
    spec = net.spec
    problems: list[str] = []
    for lk in net.links:
        for x in lk.a.node.inside_networks:
            for y in lk.b.node.inside_networks:
                if ipaddress.ip_network(x).overlaps(ipaddress.ip_network(y)):
                    problems.append(
                        f"inside networks overlap: {x} ({lk.a.node.name}) and {y} "
                        f"({lk.b.node.name})"
                    )
    for n in net.nodes:
        if lk_mode(net) == "vti" and n.platform == "cisco_asa":
            problems.append(f"{n.name}: VTI on ASA is not generated; use crypto_map")
        if net.kind == "dmvpn" and n.platform not in CISCO_IOS:
            problems.append(f"{n.name}: DMVPN is generated for IOS/IOS-XE only ({n.platform})")
        if spec.auth == "manual" and n.platform not in CISCO_IOS:
            problems.append(
                f"{n.name}: ipsec-manual crypto maps are generated for IOS/IOS-XE "
                f"only ({n.platform})"
            )
        if n.platform == "cisco_asa" and spec.ike_version == 1:
            problems.append(f"{n.name}: ASA IKEv1 offers SHA-1 at best; use ike_version: 2")
    if any(lk.a.dynamic for lk in net.links):
        if spec.auth == "manual":
            problems.append("hub_mode dynamic_map: manual SAs need a static entry per peer")
        for h in net.hubs:
            if net.node(h).platform not in CISCO_IOS:
                problems.append(f"{h}: dynamic crypto maps are generated for IOS/IOS-XE hubs")
    if spec.auth == "manual" and lk_mode(net) != "crypto_map":
        problems.append(
            "auth manual: manual SAs are crypto map entries (ipsec-manual); use mode crypto_map"
        )
    if spec.auth == "cert" and net.pki is None:
        problems.append("auth cert needs pki: {trustpoint, enrollment_url, domain}")
    if net.kind == "dmvpn" and net.dmvpn is not None:
        size = ipaddress.ip_network(net.dmvpn.network).num_addresses - 2
        if len(net.nodes) > size:
            problems.append(
                f"dmvpn network {net.dmvpn.network} has {size} addresses for "
                f"{len(net.nodes)} devices"
            )
    if problems:
        raise errors.InputFileError(f"{src}: " + "; ".join(dict.fromkeys(problems)))


def lk_mode(net: Network) -> str:
    return net.links[0].mode if net.links else "crypto_map"


def dmvpn_address(net: Network, node: End) -> str:
    """A device's address on the DMVPN tunnel network: hubs first, then spokes in order."""
    assert net.dmvpn is not None
    tnet = ipaddress.IPv4Network(net.dmvpn.network)
    i = [n.name for n in net.nodes].index(node.name)
    return f"{tnet.network_address + 1 + i} {tnet.netmask}"


# --------------------------------------------------------------------------------- load
def is_topology(data: Any) -> bool:
    return isinstance(data, dict) and "topology" in data


def parse_topology(
    data: dict[str, Any],
    *,
    source: str = "spec",
    allow_weak: bool = False,
    base: Path | None = None,
) -> Network:
    try:
        spec = TopologySpec.model_validate(data)
    except ValidationError as exc:
        raise errors.InputFileError(f"{source}: {first_error(exc)}") from None
    spec.key_source()  # a literal key is refused before anything is rendered
    weak = strength_problems(spec)
    if weak and not allow_weak:
        raise errors.InputFileError(
            f"{source}: weak crypto refused: {', '.join(weak)} (Cisco NGE: avoid DES, 3DES, "
            "MD5, SHA-1, DH groups 1/2/5); choose aes256/sha256/ecp256 or pass --allow-weak"
        )
    return expand(spec, base)


def load_network(path: Path, *, allow_weak: bool = False) -> Network:
    """A tunnel spec or a topology spec file -> the network to render."""
    from ipsecctl.provision.model import parse_spec, read_spec_file

    data = read_spec_file(path)
    if is_topology(data):
        return parse_topology(data, source=str(path), allow_weak=allow_weak, base=path.parent)
    return from_tunnel(parse_spec(data, source=str(path), allow_weak=allow_weak))
