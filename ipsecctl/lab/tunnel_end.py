"""One device's view of a lab tunnel: names and addresses as that device configures them.

Show outputs and configuration both need "my interface, my map sequence, my ACL name, the
peer's address" for a link seen from one end. A link built from configuration carries the
:class:`~ipsecctl.lab.device_config.Intent` each end was read into, and the names come from
there (an operator's crypto map is shown with the operator's names); a link only planned (while
the configuration itself is being written) falls back to the names the lab plans.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ipsecctl.lab.topology import LinkSpec, RouterSpec

if TYPE_CHECKING:
    from ipsecctl.lab.device_config import Intent
    from ipsecctl.lab.state import Link

CRYPTO_MAP = "VPNMAP"
ASA_CRYPTO_MAP = "outside_map"
IKEV2_PROFILE = "IKEV2-PROF"
IPSEC_PROFILE = "IPSEC-PROF"

TS_NAMES: dict[tuple[str, ...], str] = {
    ("esp-256-aes", "esp-sha-hmac"): "TS-AES256-SHA",
    ("esp-256-aes", "esp-sha256-hmac"): "TS-AES256-SHA256",
    ("esp-aes", "esp-sha-hmac"): "TS-AES128-SHA",
    ("esp-gcm", "256"): "TS-GCM256",
}
# ASDM's names for the same IKEv1 transform sets
ASA_TS_NAMES: dict[tuple[str, ...], str] = {
    ("esp-256-aes", "esp-sha-hmac"): "ESP-AES-256-SHA",
    ("esp-aes", "esp-sha-hmac"): "ESP-AES-128-SHA",
}
# (encryption, integrity) keyword pair -> how each family prints the transform
_IOS_ENC = {
    "aes128": "esp-aes",
    "aes192": "esp-192-aes",
    "aes256": "esp-256-aes",
    "3des": "esp-3des",
    "des": "esp-des",
    "aes128gcm16": "esp-gcm",
    "aes256gcm16": "esp-gcm 256",
    "aes192gcm16": "esp-gcm 192",
    "null": "esp-null",
}
_IOS_INTEG = {
    "sha1": "esp-sha-hmac",
    "sha256": "esp-sha256-hmac",
    "sha384": "esp-sha384-hmac",
    "sha512": "esp-sha512-hmac",
    "md5": "esp-md5-hmac",
}
_ASA_ENC = {
    "aes128": "esp-aes",
    "aes192": "esp-aes-192",
    "aes256": "esp-aes-256",
    "3des": "esp-3des",
    "des": "esp-des",
    "aes128gcm16": "esp-aes-gcm",
    "aes192gcm16": "esp-aes-gcm-192",
    "aes256gcm16": "esp-aes-gcm-256",
    "null": "esp-null",
}
_ASA_INTEG = {
    "sha1": "esp-sha-hmac",
    "sha256": "esp-sha-256-hmac",
    "sha384": "esp-sha-384-hmac",
    "sha512": "esp-sha-512-hmac",
    "md5": "esp-md5-hmac",
    "none": "esp-null-hmac",
}


def config_transform_word(word: str) -> str:
    """``esp-256-aes`` (show spelling) -> ``esp-aes 256`` (transform-set syntax)."""
    m = re.fullmatch(r"esp-(128|192|256)-aes", word)
    return f"esp-aes {m.group(1)}" if m else word


def asa_transform_word(word: str) -> str:
    """IOS show spelling -> ASA ``crypto ipsec ikev1 transform-set`` spelling."""
    m = re.fullmatch(r"esp-(128|192|256)-aes", word)
    return f"esp-aes-{m.group(1)}" if m else word


def show_transform(pair: tuple[str, str], platform: str) -> str:
    """How ``show crypto ipsec sa`` prints the negotiated transform on one family."""
    enc, integ = pair
    if platform == "cisco_asa":
        words = [_ASA_ENC.get(enc, enc)]
        if integ != "none" or enc.endswith("gcm16"):
            words.append(_ASA_INTEG.get(integ, integ))
        return " ".join(words)
    words = [_IOS_ENC.get(enc, enc)]
    if integ != "none":
        words.append(_IOS_INTEG.get(integ, integ))
    return " ".join(words)


def ios_addr(addr: str) -> str:
    """IOS prints IPv6 addresses in upper case."""
    return addr.upper() if ":" in addr else addr


def wildcard(net: ipaddress.IPv4Network) -> str:
    return str(net.hostmask)


@dataclass
class End:
    """A link seen from ``side`` of device ``router``."""

    link: Link
    side: str
    router: RouterSpec

    @property
    def spec(self) -> LinkSpec:
        return self.link.spec

    @property
    def intent(self) -> Intent | None:
        return self.link.intents.get(self.side)

    @property
    def platform(self) -> str:
        return self.router.platform

    @property
    def asa(self) -> bool:
        return self.router.asa

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
        it = self.intent
        if it is not None and it.kind == "vti":
            return it.interface
        return f"Tunnel{self.spec.tunnel_no[self.router.name]}"

    @property
    def vrf(self) -> str | None:
        """Front-door VRF, which is also the inside (protected) VRF in the lab."""
        return self.spec.vrf

    @property
    def interface(self) -> str:
        if self.vti:
            return self.tunnel_if
        it = self.intent
        if it is not None:
            return it.interface
        if self.spec.vrf and self.side == "a" and self.spec.a_if:
            return self.spec.a_if
        return self.router.wan_if

    @property
    def map_tag(self) -> str:
        """A VRF's WAN interface carries its own crypto map (one map per interface)."""
        if self.vti:
            return f"{self.tunnel_if}-head-0"
        it = self.intent
        if it is not None and it.map_tag:
            return it.map_tag
        if self.asa:
            return ASA_CRYPTO_MAP
        return f"{CRYPTO_MAP}-{self.spec.vrf}" if self.spec.vrf else CRYPTO_MAP

    @property
    def seq(self) -> int:
        if self.vti:
            return 65536
        it = self.intent
        if it is not None and it.seq is not None:
            return it.seq
        return int(self.spec.seq[self.router.name])

    @property
    def acl(self) -> str:
        it = self.intent
        if it is not None and it.acl:
            return it.acl
        if self.asa:
            return f"outside_cryptomap_{self.seq}"
        peer = self.peer_name or f"EXT{self.spec.id}"
        return f"VPN-TO-{peer.upper()}"

    @property
    def ts_name(self) -> str:
        it = self.intent
        if it is not None and it.transforms:
            return it.transforms[0].name
        if self.asa:
            return ASA_TS_NAMES.get(tuple(self.spec.transform), "ESP-AES-256-SHA")
        return TS_NAMES.get(tuple(self.spec.transform), "TS-DEFAULT")

    @property
    def transform(self) -> str:
        """Show-output spelling of the negotiated transform on this device's family."""
        agreed = self.link.agreed
        if agreed is not None:
            return show_transform(agreed.esp, self.platform)
        words = self.spec.transform
        if self.asa:
            return " ".join(asa_transform_word(w) for w in words)
        return " ".join(words)

    @property
    def config_transform(self) -> str:
        """Configuration syntax of the planned transform: IOS prints ``esp-256-aes`` in show
        outputs, but its running-config (and the CLI) say ``esp-aes 256``."""
        if self.asa:
            return " ".join(asa_transform_word(w) for w in self.spec.transform)
        return " ".join(config_transform_word(w) for w in self.spec.transform)

    @property
    def gcm(self) -> bool:
        agreed = self.link.agreed
        if agreed is not None:
            return agreed.esp[0].endswith("gcm16")
        return self.spec.transform[0] == "esp-gcm"

    @property
    def pfs_group(self) -> int | None:
        agreed = self.link.agreed
        return agreed.pfs if agreed is not None else self.spec.pfs_group

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

    @property
    def ikev2_profile(self) -> str:
        it = self.intent
        return it.ikev2_profile if it is not None and it.ikev2_profile else IKEV2_PROFILE
