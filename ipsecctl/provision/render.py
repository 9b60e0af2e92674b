"""Spec -> device configuration text for both ends (jinja2 templates under ``templates/``).

The templates only lay lines out; every spelling decision (strongSwan keyword -> Cisco / ASA
word) is a table here, so one place says how ``aes256gcm16`` is written on each platform and
the templates cannot drift apart. The crypto ACL of each end is generated from the two ends'
``inside_networks`` (local x remote on one end, remote x local on the other), so the two ACLs
mirror by construction: there is no second list to get wrong.

The key is written as :meth:`PskSource.placeholder` unless the caller passes the real value
(only :mod:`ipsecctl.provision.push` does, right before sending).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import jinja2

from ipsecctl.provision.model import CISCO_IOS, End, TunnelSpec, dh_number, is_aead

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("ipsecctl.provision", "templates"),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # device configuration, not HTML
)

# IOS "crypto isakmp policy" encryption / hash words
_IOS_V1_ENC = {"aes128": "aes", "aes192": "aes 192", "aes256": "aes 256", "3des": "3des",
               "des": "des"}
_IOS_V1_HASH = {"sha256": "sha256", "sha384": "sha384", "sha512": "sha512", "sha1": "sha",
                "md5": "md5"}
# IOS-XE "crypto ikev2 proposal"
_IOS_V2_ENC = {"aes128": "aes-cbc-128", "aes192": "aes-cbc-192", "aes256": "aes-cbc-256",
               "3des": "3des", "des": "des"}
_IOS_V2_INTEG = {"sha256": "sha256", "sha384": "sha384", "sha512": "sha512", "sha1": "sha1",
                 "md5": "md5"}
# IOS transform-set words
_IOS_ESP_ENC = {"aes128": "esp-aes", "aes192": "esp-aes 192", "aes256": "esp-aes 256",
                "aes128gcm16": "esp-gcm", "aes192gcm16": "esp-gcm 192",
                "aes256gcm16": "esp-gcm 256", "3des": "esp-3des", "des": "esp-des"}
_IOS_ESP_INTEG = {"sha256": "esp-sha256-hmac", "sha384": "esp-sha384-hmac",
                  "sha512": "esp-sha512-hmac", "sha1": "esp-sha-hmac", "md5": "esp-md5-hmac"}
# ASA 9.x "crypto ikev2 policy" and "crypto ipsec ikev2 ipsec-proposal"
_ASA_V2_ENC = {"aes128": "aes", "aes192": "aes-192", "aes256": "aes-256", "3des": "3des",
               "des": "des"}
_ASA_V2_INTEG = {"sha256": "sha256", "sha384": "sha384", "sha512": "sha512", "sha1": "sha",
                 "md5": "md5"}
_ASA_ESP_ENC = {"aes128": "aes", "aes192": "aes-192", "aes256": "aes-256",
                "aes128gcm16": "aes-gcm", "aes192gcm16": "aes-gcm-192",
                "aes256gcm16": "aes-gcm-256", "3des": "3des", "des": "des"}
_ASA_ESP_INTEG = {"sha256": "sha-256", "sha384": "sha-384", "sha512": "sha-512",
                  "sha1": "sha-1", "md5": "md5"}

TEMPLATES = {
    ("cisco_ios", 1, "crypto_map"): "cisco_ios_ikev1_map.j2",
    ("cisco_ios", 2, "crypto_map"): "cisco_ios_ikev2_map.j2",
    ("cisco_ios", 2, "vti"): "cisco_ios_ikev2_vti.j2",
    ("cisco_asa", 2, "crypto_map"): "cisco_asa_ikev2_map.j2",
    ("strongswan", 1, "crypto_map"): "strongswan_swanctl.j2",
    ("strongswan", 2, "crypto_map"): "strongswan_swanctl.j2",
    ("strongswan", 2, "vti"): "strongswan_swanctl.j2",
}


@dataclass(frozen=True)
class Rendered:
    """One end's generated configuration."""

    end: End
    peer: End
    platform: str
    text: str

    @property
    def filename(self) -> str:
        return f"{self.end.name}.swanctl.conf" if self.platform == "strongswan" \
            else f"{self.end.name}.cfg"

    def config_lines(self) -> list[str]:
        """Lines to type after ``configure terminal`` (comments and blanks dropped)."""
        return [ln.rstrip() for ln in self.text.splitlines()
                if ln.strip() and not ln.lstrip().startswith("!")]


def _mask(net: ipaddress.IPv4Network) -> str:
    return str(net.netmask)


def _ios_acl_term(net: ipaddress.IPv4Network) -> str:
    if net.prefixlen == 32:
        return f"host {net.network_address}"
    if net.prefixlen == 0:
        return "any"
    return f"{net.network_address} {net.hostmask}"


def _pairs(local: End, remote: End) -> list[tuple[ipaddress.IPv4Network, ipaddress.IPv4Network]]:
    """Every (local, remote) inside pair: the one place both ACLs come from."""
    return [
        (ipaddress.IPv4Network(a), ipaddress.IPv4Network(b))
        for a in local.inside_networks for b in remote.inside_networks
    ]


def _common(spec: TunnelSpec, end: End, psk: str) -> dict[str, Any]:
    peer = spec.peer_of(end)
    esp = spec.esp
    return {
        "spec": spec,
        "name": spec.name,
        "end": end,
        "peer": peer,
        "psk": psk,
        "lt": spec.lifetimes,
        "pfs": f"group{dh_number(spec.pfs_group)}" if spec.pfs_group else None,
        "aead": is_aead(esp.encryption),
        "pairs": _pairs(end, peer),
    }


def _ios_context(spec: TunnelSpec, end: End) -> dict[str, Any]:
    esp = spec.esp
    transforms = [_IOS_ESP_ENC[esp.encryption]]
    if esp.integrity:
        transforms.append(_IOS_ESP_INTEG[esp.integrity])
    peer = spec.peer_of(end)
    ctx: dict[str, Any] = {
        "v1_policies": [
            {"priority": spec.ike_policy_priority + i, "encryption": _IOS_V1_ENC[p.encryption],
             "hash": _IOS_V1_HASH[p.integrity], "group": dh_number(p.dh_group)}
            for i, p in enumerate(spec.proposals)
        ],
        "v2_encryption": _uniq(_IOS_V2_ENC[p.encryption] for p in spec.proposals),
        "v2_integrity": _uniq(_IOS_V2_INTEG[p.integrity] for p in spec.proposals),
        "v2_groups": _uniq(str(dh_number(p.dh_group)) for p in spec.proposals),
        "transform": " ".join(transforms),
        "acl": [f"permit ip {_ios_acl_term(a)} {_ios_acl_term(b)}" for a, b in _pairs(end, peer)],
        "routes": [
            f"ip route {ipaddress.IPv4Network(n).network_address} "
            f"{_mask(ipaddress.IPv4Network(n))} {end.vti.interface}"
            for n in peer.inside_networks
        ] if end.vti else [],
    }
    if end.vti:
        iface = ipaddress.IPv4Interface(end.vti.address)
        ctx["vti_ip"] = f"{iface.ip} {iface.netmask}"
    return ctx


def _asa_context(spec: TunnelSpec, end: End) -> dict[str, Any]:
    esp = spec.esp
    peer = spec.peer_of(end)
    return {
        "v2_policies": [
            {"priority": spec.ike_policy_priority + i, "encryption": _ASA_V2_ENC[p.encryption],
             "integrity": _ASA_V2_INTEG[p.integrity], "group": dh_number(p.dh_group)}
            for i, p in enumerate(spec.proposals)
        ],
        "esp_encryption": _ASA_ESP_ENC[esp.encryption],
        "esp_integrity": _ASA_ESP_INTEG[esp.integrity] if esp.integrity else "null",
        "acl": [
            f"permit ip {a.network_address} {a.netmask} {b.network_address} {b.netmask}"
            for a, b in _pairs(end, peer)
        ],
    }


def _swan_context(spec: TunnelSpec, end: End) -> dict[str, Any]:
    esp = spec.esp.keyword() + (f"-{spec.pfs_group}" if spec.pfs_group else "")
    lt = spec.lifetimes
    return {
        "ike_proposals": ",".join(p.keyword() for p in spec.proposals),
        "esp_proposals": esp,
        "ike_rekey": lt.ike_s * 9 // 10,
        "child_rekey": lt.ipsec_s * 9 // 10,
        "life_bytes": lt.ipsec_kb * 1024,
        "rekey_bytes": lt.ipsec_kb * 1024 * 9 // 10,
        "local_ts": ",".join(end.inside_networks),
        "remote_ts": ",".join(spec.peer_of(end).inside_networks),
    }


def _uniq(items: Any) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def template_for(spec: TunnelSpec, end: End) -> str:
    family = "cisco_ios" if end.platform in CISCO_IOS else end.platform
    key = (family, spec.ike_version, spec.mode)
    if key not in TEMPLATES:
        raise_unsupported(spec, end)
    return TEMPLATES[key]


def raise_unsupported(spec: TunnelSpec, end: End) -> None:
    from ipsecctl import errors

    raise errors.UsageError(
        f"no template for {end.platform} with IKEv{spec.ike_version} {spec.mode} "
        f"(end {end.name}); supported: "
        + ", ".join(f"{p} IKEv{v} {m}" for p, v, m in TEMPLATES)
    )


def render_end(spec: TunnelSpec, end: End, psk: str | None = None) -> Rendered:
    """One end's configuration; ``psk`` None writes the placeholder instead of the key."""
    key_text = psk if psk is not None else spec.psk_source().placeholder()
    ctx = _common(spec, end, key_text)
    if end.platform in CISCO_IOS:
        ctx.update(_ios_context(spec, end))
    elif end.platform == "cisco_asa":
        ctx.update(_asa_context(spec, end))
    else:
        ctx.update(_swan_context(spec, end))
    text = _ENV.get_template(template_for(spec, end)).render(**ctx)
    return Rendered(end=end, peer=spec.peer_of(end), platform=end.platform, text=text)


def render_pair(spec: TunnelSpec, psk: str | None = None) -> tuple[Rendered, Rendered]:
    """Both ends, in spec order."""
    return render_end(spec, spec.a, psk), render_end(spec, spec.b, psk)
