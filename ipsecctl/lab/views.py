"""One router's view of a lab tunnel: names and addresses as that router configures them.

Rendering (``show`` output) and configuration both need "my interface, my map sequence, my ACL
name, the peer's address" for a link seen from one end; this module is the one place that
answers it, so the running-config and the show outputs cannot drift apart.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ipsecctl.lab.state import Link
from ipsecctl.lab.topology import LinkSpec, RouterSpec

CRYPTO_MAP = "VPNMAP"
IKEV2_PROFILE = "IKEV2-PROF"
IPSEC_PROFILE = "IPSEC-PROF"

TS_NAMES: dict[tuple[str, ...], str] = {
    ("esp-256-aes", "esp-sha-hmac"): "TS-AES256-SHA",
    ("esp-256-aes", "esp-sha256-hmac"): "TS-AES256-SHA256",
    ("esp-aes", "esp-sha-hmac"): "TS-AES128-SHA",
    ("esp-gcm", "256"): "TS-GCM256",
}


def config_transform_word(word: str) -> str:
    """``esp-256-aes`` (show spelling) -> ``esp-aes 256`` (transform-set syntax)."""
    m = re.fullmatch(r"esp-(128|192|256)-aes", word)
    return f"esp-aes {m.group(1)}" if m else word


def ios_addr(addr: str) -> str:
    """IOS prints IPv6 addresses in upper case."""
    return addr.upper() if ":" in addr else addr


def wildcard(net: ipaddress.IPv4Network) -> str:
    return str(net.hostmask)


@dataclass
class End:
    """A link seen from ``side`` of router ``router``."""

    link: Link
    side: str
    router: RouterSpec

    @property
    def spec(self) -> LinkSpec:
        return self.link.spec

    @property
    def local_addr(self) -> str:
        return self.spec.a_addr if self.side == "a" else self.spec.b_addr

    @property
    def peer_addr(self) -> str:
        return self.spec.b_addr if self.side == "a" else self.spec.a_addr

    @property
    def peer_name(self) -> str | None:
        return self.spec.b if self.side == "a" else self.spec.a

    @property
    def local_lan(self) -> ipaddress.IPv4Network:
        return self.spec.a_lan if self.side == "a" else self.spec.b_lan

    @property
    def remote_lan(self) -> ipaddress.IPv4Network:
        return self.spec.b_lan if self.side == "a" else self.spec.a_lan

    @property
    def vti(self) -> bool:
        return bool(self.spec.kind == "vti")

    @property
    def tunnel_if(self) -> str:
        return f"Tunnel{self.spec.tunnel_no[self.router.name]}"

    @property
    def vrf(self) -> str | None:
        """Front-door VRF, which is also the inside (protected) VRF in the lab."""
        return self.spec.vrf

    @property
    def interface(self) -> str:
        if self.vti:
            return self.tunnel_if
        if self.spec.vrf and self.side == "a" and self.spec.a_if:
            return self.spec.a_if
        return self.router.wan_if

    @property
    def map_tag(self) -> str:
        """A VRF's WAN interface carries its own crypto map (one map per interface)."""
        if self.vti:
            return f"{self.tunnel_if}-head-0"
        return f"{CRYPTO_MAP}-{self.spec.vrf}" if self.spec.vrf else CRYPTO_MAP

    @property
    def seq(self) -> int:
        return 65536 if self.vti else int(self.spec.seq[self.router.name])

    @property
    def acl(self) -> str:
        peer = self.peer_name or f"EXT{self.spec.id}"
        return f"VPN-TO-{peer.upper()}"

    @property
    def ts_name(self) -> str:
        return TS_NAMES.get(tuple(self.spec.transform), "TS-DEFAULT")

    @property
    def transform(self) -> str:
        """Show-output spelling (``esp-256-aes esp-sha-hmac``), as IOS prints it in
        ``show crypto ipsec sa`` and ``show crypto map``."""
        return " ".join(self.spec.transform)

    @property
    def config_transform(self) -> str:
        """Configuration syntax of the same transform: IOS prints ``esp-256-aes`` in show
        outputs, but its running-config (and the CLI) say ``esp-aes 256``."""
        return " ".join(config_transform_word(w) for w in self.spec.transform)

    @property
    def v6(self) -> bool:
        return ":" in self.local_addr

    @property
    def keyring_peer(self) -> str:
        return f"PEER-{(self.peer_name or f'EXT{self.spec.id}').upper()}"

    @property
    def initiator(self) -> bool:
        ike = self.link.ike
        return ike is not None and ike.initiator == self.side
