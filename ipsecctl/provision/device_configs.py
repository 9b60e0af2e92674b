"""Network -> one configuration per device (jinja2 device templates built from blocks).

The templates only lay lines out (``templates/device_*.j2`` from ``templates/blocks/*.j2``);
every spelling decision is a filter (:mod:`ipsecctl.provision.jinja_env`), and every value two
ends must agree on comes from the link they share (:mod:`ipsecctl.provision.topology`): each
end's crypto ACL is generated from the two devices' ``inside_networks`` (local x remote on one
end, remote x local on the other), so the ACLs mirror by construction.

Keys are written as placeholders (``${VPN_PSK}``, ``${psk:hub--s001}``) unless the caller
passes the real values (the push, right before sending, and a render asked to write manual
SAs into its 0600 files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jinja2

from ipsecctl import errors
from ipsecctl.provision.jinja_env import KeywordError, builtin_env
from ipsecctl.provision.keys import ManualPair
from ipsecctl.provision.model import End, TunnelSpec
from ipsecctl.provision.topology import Link, Network, dmvpn_address, from_tunnel

TEMPLATES = {
    "cisco_ios": "device_ios.j2",
    "cisco_iosxe": "device_ios.j2",
    "cisco_asa": "device_asa.j2",
    "strongswan": "device_strongswan.j2",
}
MODE_WORDS = {"crypto_map": "crypto map", "vti": "static VTI", "dmvpn": "DMVPN"}
KIND_WORDS = {
    "pair": "tunnel",
    "hub_spoke": "hub-and-spoke",
    "full_mesh": "full mesh",
    "dmvpn": "DMVPN",
}


@dataclass(frozen=True)
class DeviceRender:
    """One device's generated configuration and the links it holds."""

    node: End
    platform: str
    text: str
    links: tuple[Link, ...]
    network: str

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def target(self) -> str:
        return self.node.target

    @property
    def filename(self) -> str:
        return (
            f"{self.node.name}.swanctl.conf"
            if self.platform == "strongswan"
            else f"{self.node.name}.cfg"
        )

    def config_lines(self) -> list[str]:
        """Lines to type after ``configure terminal`` (comments and blanks dropped)."""
        return [
            ln.rstrip()
            for ln in self.text.splitlines()
            if ln.strip() and not ln.lstrip().startswith(("!", "#"))
        ]

    def peers(self) -> list[End]:
        return [lk.side(self.node)[1].node for lk in self.links]


@dataclass(frozen=True)
class Rendered:
    """One end of a single-tunnel spec (the two-device network), as before topologies."""

    end: End
    peer: End
    platform: str
    text: str

    @property
    def filename(self) -> str:
        return (
            f"{self.end.name}.swanctl.conf"
            if self.platform == "strongswan"
            else f"{self.end.name}.cfg"
        )

    def config_lines(self) -> list[str]:
        return [
            ln.rstrip()
            for ln in self.text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("!")
        ]


def connection_name(network: str, peer: str, multi: bool) -> str:
    """A strongSwan end's connection (and child) name for one link."""
    return f"{network}-{peer}" if multi else network


def _pairs(local: End, remote: End) -> list[tuple[str, str]]:
    """Every (local, remote) inside pair: the one place both ACLs come from."""
    return [(a, b) for a in local.inside_networks for b in remote.inside_networks]


def _key_text(net: Network, lk: Link, psks: Mapping[str, Any] | None) -> str | None:
    source = net.spec.key_source()
    if source is None:
        return None
    if psks is not None and lk.name in psks:
        value = psks[lk.name]
        return str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)
    return source.placeholder(lk.name)


_MASKED_SA = {"spi": 0, "cipher": "<removed>", "auth": "<removed>"}


def _manual(
    lk: Link, node: End, manual: Mapping[str, ManualPair] | None, masked: bool
) -> dict[str, Any]:
    pair = manual.get(lk.name) if manual else None
    if pair is None:
        return {"inbound": _MASKED_SA, "outbound": _MASKED_SA}
    inbound, outbound = pair.inbound(node.outside_address), pair.outbound(node.outside_address)
    if masked:  # SPIs are no secret (they are on the wire); keys are
        return {
            "inbound": {
                "spi": inbound.spi,
                "cipher": "<removed>",
                "auth": "<removed>" if inbound.auth else "",
            },
            "outbound": {
                "spi": outbound.spi,
                "cipher": "<removed>",
                "auth": "<removed>" if outbound.auth else "",
            },
        }
    return {"inbound": inbound, "outbound": outbound}


def _link_ctx(
    net: Network,
    node: End,
    lk: Link,
    multi: bool,
    psks: Mapping[str, Any] | None,
    manual: Mapping[str, ManualPair] | None,
    masked: bool,
) -> dict[str, Any]:
    mine, other = lk.side(node)
    peer = other.node
    ctx: dict[str, Any] = {
        "peer": peer,
        "seq": mine.seq,
        "acl": f"ACL-{net.name}-{peer.name}" if multi else f"ACL-{net.name}",
        "pairs": _pairs(node, peer),
        "key": _key_text(net, lk, psks),
        "description": f"{net.name} to {peer.name}",
        "backup_peers": [],
        "conn": connection_name(net.name, peer.name, multi),
        "local_ts": ",".join(node.inside_networks),
        "remote_ts": ",".join(peer.inside_networks),
    }
    ctx["remote_id"] = net.pki.subject(peer) if net.pki is not None else None
    ctx["dynamic"] = mine.dynamic
    if mine.interface:
        ctx["vti"] = {"interface": mine.interface, "address": mine.address}
    if net.spec.auth == "manual":
        ctx["manual"] = _manual(lk, node, manual, masked)
    return ctx


def _dmvpn_ctx(net: Network, node: End) -> dict[str, Any]:
    d = net.dmvpn
    assert d is not None
    hub = node.name in net.hubs
    hubs = [net.node(h) for h in net.hubs]
    nhs = [{"tunnel": dmvpn_address(net, h).split()[0], "nbma": h.outside_address} for h in hubs]
    routes = []
    if hub:
        for lk in net.links_of(node):
            spoke = lk.side(node)[1].node
            via = dmvpn_address(net, spoke).split()[0]
            routes += [{"net": n, "via": via} for n in spoke.inside_networks]
    else:
        for h in nhs:
            for hub_node in hubs:
                if hub_node.outside_address == h["nbma"]:
                    routes += [{"net": n, "via": h["tunnel"]} for n in hub_node.inside_networks]
        # spoke-to-spoke prefixes are learned through NHRP (phase 2/3) or a routing protocol;
        # a summary of the other spokes' networks points at the hub
        for other in net.nodes:
            if other.name != node.name and other.name not in net.hubs:
                routes += [{"net": n, "via": nhs[0]["tunnel"]} for n in other.inside_networks]
    return {
        "interface": d.interface,
        "address": dmvpn_address(net, node),
        "network_id": d.network_id,
        "holdtime": d.holdtime,
        "key": d.tunnel_key,
        "hub": hub,
        "phase": d.phase,
        "nhs": nhs,
        "routes": routes,
    }


def _swan_ctx(net: Network, node: End) -> dict[str, Any]:
    spec = net.spec
    esp = spec.esp.keyword() + (f"-{spec.pfs_group}" if spec.pfs_group else "")
    lt = spec.lifetimes
    ctx: dict[str, Any] = {
        "ike_proposals": ",".join(p.keyword() for p in spec.proposals),
        "esp_proposals": esp,
        "ike_rekey": lt.ike_s * 9 // 10,
        "child_rekey": lt.ipsec_s * 9 // 10,
        "life_bytes": lt.ipsec_kb * 1024,
        "rekey_bytes": lt.ipsec_kb * 1024 * 9 // 10,
        "force_encap": spec.force_encap,
        "cert": None,
    }
    if spec.auth == "cert" and net.pki is not None:
        # names relative to swanctl's x509/ and x509ca/ folders (beside the loaded file)
        ctx["cert"] = {
            "cert": f"{node.name}.pem",
            "cacert": f"{net.pki.trustpoint}.pem",
            "local_id": net.pki.subject(node),
        }
    return ctx


def device_context(
    net: Network,
    node: End,
    psks: Mapping[str, Any] | None = None,
    manual: Mapping[str, ManualPair] | None = None,
    masked: bool = True,
) -> dict[str, Any]:
    spec = net.spec
    links = net.links_of(node)
    multi = len(links) > 1
    mode = links[0].mode if links else spec.mode
    ctx: dict[str, Any] = {
        "name": net.name,
        "kind": KIND_WORDS[net.kind],
        "node": node,
        "ike_version": spec.ike_version,
        "mode": mode,
        "mode_word": MODE_WORDS[mode],
        "auth": spec.auth,
        "proposals": spec.proposals,
        "esp": spec.esp,
        "pfs_group": spec.pfs_group,
        "lt": spec.lifetimes,
        "priority": spec.ike_policy_priority,
        "transform_mode": "transport" if mode == "dmvpn" else "tunnel",
        "links": [_link_ctx(net, node, lk, multi, psks, manual, masked) for lk in links],
        "pki": None,
        "dmvpn": _dmvpn_ctx(net, node) if mode == "dmvpn" else None,
    }
    ctx["keyring"] = [
        {"name": lc["peer"].name, "address": lc["peer"].outside_address, "key": lc["key"]}
        for lc in ctx["links"]
    ]
    ctx["remotes"] = [lc["peer"].outside_address for lc in ctx["links"]]
    dyn = [lk.side(node)[0] for lk in links if lk.side(node)[0].dynamic]
    ctx["dynamic_seq"] = dyn[0].seq if dyn else None
    if mode == "dmvpn" and node.name not in net.hubs:
        # a DMVPN spoke also builds spoke-to-spoke tunnels: it accepts every member
        others = [n for n in net.nodes if n.name != node.name and n.name not in net.hubs]
        ctx["remotes"] += [n.outside_address for n in others]
        ctx["keyring"] += [
            {"name": n.name, "address": n.outside_address, "key": _dmvpn_spoke_key(net, psks)}
            for n in others
        ]
    if spec.auth == "cert" and net.pki is not None:
        ctx["pki"] = {
            "trustpoint": net.pki.trustpoint,
            "url": net.pki.enrollment_url,
            "subject": net.pki.subject(node),
            "fqdn": f"{node.name}.{net.pki.domain}",
        }
    if node.platform == "strongswan":
        ctx.update(_swan_ctx(net, node))
    return ctx


def _dmvpn_spoke_key(net: Network, psks: Mapping[str, Any] | None) -> str | None:
    """Spoke-to-spoke tunnels of a DMVPN share one key (a per-pair key cannot be known for
    tunnels NHRP builds on demand): the spec's single key source."""
    source = net.spec.key_source()
    if source is None:
        return None
    if psks:
        value = next(iter(psks.values()))
        return str(value.get_secret_value() if hasattr(value, "get_secret_value") else value)
    return source.placeholder("dmvpn")


def render_device(
    net: Network,
    node: End,
    psks: Mapping[str, Any] | None = None,
    manual: Mapping[str, ManualPair] | None = None,
    masked: bool = True,
) -> DeviceRender:
    """One device's configuration; without ``psks`` keys are placeholders, and manual SA
    keys are ``<removed>`` unless ``masked`` is False (``manual`` given)."""
    template = TEMPLATES.get(node.platform)
    if template is None:
        raise errors.UsageError(
            f"{node.name}: no template for platform {node.platform!r} (known: "
            f"{', '.join(TEMPLATES)})"
        )
    ctx = device_context(net, node, psks, manual, masked)
    try:
        text = builtin_env().get_template(template).render(**ctx)
    except (KeywordError, jinja2.TemplateError) as exc:
        raise errors.InputFileError(f"{net.name}: device {node.name}: {exc}") from None
    return DeviceRender(node, node.platform, text, tuple(net.links_of(node)), net.name)


def render_network(
    net: Network,
    psks: Mapping[str, Any] | None = None,
    manual: Mapping[str, ManualPair] | None = None,
    masked: bool = True,
) -> list[DeviceRender]:
    """Every device, in the network's order (hubs first)."""
    return [render_device(net, n, psks, manual, masked) for n in net.nodes]


# ------------------------------------------------------------------------- single tunnel
def render_end(spec: TunnelSpec, end: End, psk: str | None = None) -> Rendered:
    """One end's configuration; ``psk`` None writes the placeholder instead of the key."""
    net = from_tunnel(spec)
    psks = {net.links[0].name: psk} if psk is not None else None
    dev = render_device(net, end, psks)
    return Rendered(end=end, peer=spec.peer_of(end), platform=end.platform, text=dev.text)


def render_pair(spec: TunnelSpec, psk: str | None = None) -> tuple[Rendered, Rendered]:
    """Both ends, in spec order."""
    return render_end(spec, spec.a, psk), render_end(spec, spec.b, psk)
