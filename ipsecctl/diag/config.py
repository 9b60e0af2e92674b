"""Typed crypto configuration of one IOS / IOS-XE device (for ``diag pair`` and ``audit``).

``parse_config(text, source=...)`` runs the TTP template (``parsers.config``) and turns the
records into :class:`CryptoConfig`. Pre-shared keys become :class:`pydantic.SecretStr` the
moment they leave the parser: they never appear in a repr, a log or a JSON export, and two keys
are compared only with :func:`hmac.compare_digest` (:func:`same_key`).

IOS per-parameter defaults for an ISAKMP policy that omits a value (Cisco IOS Security
Command Reference, ``crypto isakmp policy``: the classic values): encryption DES, hash SHA-1,
authentication rsa-sig, group 1, lifetime 86400 s. Newer IOS-XE releases changed them, so the
pair check names the default it assumed in its reason.
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

import parsers.config as pconfig
from ipsecctl.errors import InputFileError
from parsers._engine import ParseError as _ParserError

DEFAULT_P1 = {"encryption": "des", "hash": "sha", "auth": "rsa-sig", "group": 1, "lifetime": 86400}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class IsakmpPolicy(_M):
    priority: int
    encryption: str
    hash: str
    auth: str
    group: int
    lifetime: int
    defaults_used: list[str] = Field(default_factory=list)

    def attrs(self) -> tuple[str, str, str, int]:
        return (self.encryption, self.hash, self.auth, self.group)

    def label(self) -> str:
        return (
            f"{self.priority}: {self.encryption}/{self.hash}/{self.auth}/group {self.group}/"
            f"{self.lifetime}s"
        )


class PreSharedKey(_M):
    """A key for a peer address range; the value is secret and never printed."""

    network: str  # "10.0.12.2/32", "0.0.0.0/0" for a wildcard key
    key: SecretStr
    enc_type: int = 0  # 0 clear, 6 AES-encrypted, 7 obfuscated: only 0 can be compared
    where: str  # "crypto isakmp key", "keyring KR", "ikev2 keyring KR peer P"
    version: int = 1

    def covers(self, addr: str) -> bool:
        try:
            return ipaddress.ip_address(addr) in ipaddress.ip_network(self.network, strict=False)
        except ValueError:
            return False

    def prefixlen(self) -> int:
        return ipaddress.ip_network(self.network, strict=False).prefixlen


class Ikev2Proposal(_M):
    name: str
    encryption: list[str]
    integrity: list[str]
    groups: list[int]


class TransformSet(_M):
    name: str
    transforms: list[str]
    mode: str = "tunnel"

    def key(self) -> tuple[tuple[str, ...], str]:
        return (tuple(sorted(self.transforms)), self.mode)

    def label(self) -> str:
        return f"{self.name} ({' '.join(self.transforms)}, {self.mode})"


class AclEntry(_M):
    action: str
    protocol: int  # 0 = ip (any)
    src: str
    dst: str
    text: str

    def src_net(self) -> Network:
        return ipaddress.ip_network(self.src, strict=False)

    def dst_net(self) -> Network:
        return ipaddress.ip_network(self.dst, strict=False)


class CryptoMapEntry(_M):
    name: str
    seq: int
    kind: str
    peers: list[str] = Field(default_factory=list)
    transform_sets: list[str] = Field(default_factory=list)
    pfs: str | None = None
    lifetime_s: int | None = None
    lifetime_kb: int | None = None
    acl: str | None = None
    ikev2_profile: str | None = None
    isakmp_profile: str | None = None

    @property
    def dynamic(self) -> bool:
        return "dynamic" in self.kind


class Interface(_M):
    name: str
    ip: str | None = None
    mask: str | None = None
    crypto_map: str | None = None
    ipsec_profile: str | None = None
    tunnel_source: str | None = None
    tunnel_destination: str | None = None


class CryptoConfig(_M):
    source: str
    isakmp_policies: list[IsakmpPolicy] = Field(default_factory=list)
    keys: list[PreSharedKey] = Field(default_factory=list)
    ikev2_proposals: list[Ikev2Proposal] = Field(default_factory=list)
    ikev2_profiles: list[dict[str, Any]] = Field(default_factory=list)
    transform_sets: dict[str, TransformSet] = Field(default_factory=dict)
    ipsec_profiles: list[dict[str, Any]] = Field(default_factory=list)
    crypto_maps: list[CryptoMapEntry] = Field(default_factory=list)
    acls: dict[str, list[AclEntry]] = Field(default_factory=dict)
    interfaces: list[Interface] = Field(default_factory=list)
    globals_: dict[str, Any] = Field(default_factory=dict)

    def addresses(self) -> list[str]:
        return [i.ip for i in self.interfaces if i.ip]

    def applied_maps(self) -> dict[str, str]:
        """crypto map name -> the address of the interface it is applied to."""
        return {i.crypto_map: i.ip for i in self.interfaces if i.crypto_map and i.ip}

    def key_for(self, addr: str, version: int = 1) -> PreSharedKey | None:
        """Most specific key covering ``addr`` (IOS picks the longest match)."""
        cands = [k for k in self.keys if k.version == version and k.covers(addr)]
        return max(cands, key=lambda k: k.prefixlen()) if cands else None


def same_key(a: PreSharedKey, b: PreSharedKey) -> bool | None:
    """Constant-time equality; ``None`` when the stored forms cannot be compared."""
    if a.enc_type != 0 or b.enc_type != 0:
        return None
    return hmac.compare_digest(a.key.get_secret_value().encode(), b.key.get_secret_value().encode())


# ---------------------------------------------------------------------------------------------
# record -> model


def _net(addr: str, mask: str | None) -> str:
    """``A MASK``, ``A /LEN`` (IOS-XE IPv6 keyring form) or ``A/LEN``; ValueError otherwise."""
    if mask:
        return str(ipaddress.ip_network(f"{addr}/{mask.lstrip('/')}", strict=False))
    return str(ipaddress.ip_network(addr, strict=False))


def _isakmp_key(rest: str, where: str) -> PreSharedKey | None:
    """``[0|6|7] KEY address A [MASK] [no-xauth]`` (also keyring ``pre-shared-key address``)."""
    words = rest.split()
    if words and words[0] == "address":  # keyring form: address A [MASK] key [N] KEY
        try:
            k = words.index("key")
        except ValueError:
            return None
        addr_words, key_words = words[1:k], words[k + 1 :]
    else:
        try:
            a = words.index("address")
        except ValueError:
            return None  # hostname keys are not modelled
        key_words, addr_words = words[:a], words[a + 1 :]
    enc = 0
    if len(key_words) == 2 and key_words[0] in ("0", "6", "7"):
        enc, key_words = int(key_words[0]), key_words[1:]
    if not key_words or not addr_words:
        return None
    mask = addr_words[1] if len(addr_words) > 1 and addr_words[1][0].isdigit() else None
    return PreSharedKey(
        network=_net(addr_words[0], mask), key=SecretStr(key_words[0]), enc_type=enc, where=where
    )


def _wild_to_prefix(addr: str, wild: str) -> str:
    inv = int(ipaddress.IPv4Address(wild))
    mask = str(ipaddress.IPv4Address(0xFFFFFFFF ^ inv))
    return str(ipaddress.ip_network(f"{addr}/{mask}", strict=False))


_PROTO = {"ip": 0, "icmp": 1, "tcp": 6, "udp": 17, "gre": 47, "esp": 50, "ahp": 51}


def _acl_entry(text: str) -> AclEntry | None:
    words = text.split()
    if words and words[0].isdigit():
        words = words[1:]  # sequence number
    if len(words) < 3 or words[0] not in ("permit", "deny"):
        return None
    action, proto_word, rest = words[0], words[1], words[2:]
    proto = _PROTO.get(proto_word, int(proto_word) if proto_word.isdigit() else 0)

    def take(ws: list[str]) -> tuple[str, list[str]]:
        if ws[0] == "any":
            return "0.0.0.0/0", ws[1:]
        if ws[0] == "host":
            return f"{ws[1]}/32", ws[2:]
        return _wild_to_prefix(ws[0], ws[1]), ws[2:]

    try:
        src, rest = take(rest)
        dst, rest = take(rest)
    except (IndexError, ValueError):
        return None
    return AclEntry(action=action, protocol=proto, src=src, dst=dst, text=text.strip())


def _p1_policy(rec: dict[str, Any]) -> IsakmpPolicy:
    enc_words = str(rec.get("encryption", "")).split()
    used = [k for k in ("encryption", "hash", "auth", "group", "lifetime") if k not in rec]
    enc = DEFAULT_P1["encryption"]
    if enc_words:
        enc = enc_words[0] + (enc_words[1] if len(enc_words) > 1 else "")
        if enc == "aes":
            enc = "aes128"
    return IsakmpPolicy(
        priority=int(rec["priority"]),
        encryption=str(enc),
        hash=str(rec.get("hash", DEFAULT_P1["hash"])),
        auth=str(rec.get("auth", DEFAULT_P1["auth"])),
        group=int(rec.get("group", DEFAULT_P1["group"])),
        lifetime=int(rec.get("lifetime", DEFAULT_P1["lifetime"])),
        defaults_used=used,
    )


def parse_config(text: str, source: str = "config") -> CryptoConfig:
    """Running-config text -> :class:`CryptoConfig`; bad input names ``source``."""
    try:
        recs = pconfig.parse_crypto_config(text)
    except _ParserError as exc:
        raise InputFileError(f"{source}: {exc}") from None
    try:
        return _build(recs, source)
    except (ValueError, KeyError, TypeError) as exc:
        # an address, mask or number the model cannot take: name the input, no traceback
        raise InputFileError(f"{source}: unusable crypto configuration value: {exc}") from None


def _build(recs: dict[str, Any], source: str) -> CryptoConfig:
    cfg = CryptoConfig(source=source, globals_=recs["globals"])
    cfg.isakmp_policies = sorted(
        (_p1_policy(r) for r in recs["isakmp_policies"]), key=lambda p: p.priority
    )
    for r in recs["isakmp_keys"]:
        k = _isakmp_key(r.get("rest", ""), "crypto isakmp key")
        if k:
            cfg.keys.append(k)
    for ring in recs["keyrings"]:
        for r in ring.get("keys", []):
            k = _isakmp_key(r.get("rest", ""), f"keyring {ring.get('name')}")
            if k:
                cfg.keys.append(k)
    for ring in recs["ikev2_keyrings"]:
        for peer in ring.get("peers", []):
            addr = str(peer.get("address", "")).split()
            psk = str(peer.get("psk", "")).split()
            if not addr or not psk:
                continue
            if psk[0] in ("local", "remote"):
                psk = psk[1:]  # asymmetric keys: the local one is what the peer must hold
            enc = 0
            if len(psk) == 2 and psk[0] in ("0", "6", "7"):
                enc, psk = int(psk[0]), psk[1:]
            cfg.keys.append(
                PreSharedKey(
                    network=_net(addr[0], addr[1] if len(addr) > 1 else None),
                    key=SecretStr(psk[0]),
                    enc_type=enc,
                    where=f"ikev2 keyring {ring.get('name')} peer {peer.get('name')}",
                    version=2,
                )
            )
    for r in recs["ikev2_proposals"]:
        cfg.ikev2_proposals.append(
            Ikev2Proposal(
                name=str(r["name"]),
                encryption=str(r.get("encryption", "")).split(),
                integrity=str(r.get("integrity", "")).split(),
                groups=[int(g) for g in str(r.get("group", "")).split() if g.isdigit()],
            )
        )
    cfg.ikev2_profiles = list(recs["ikev2_profiles"])
    for r in recs["transform_sets"]:
        words = [w for w in str(r.get("transforms", "")).split()]
        merged: list[str] = []
        for w in words:
            if w.isdigit() and merged:
                merged[-1] += f" {w}"
            else:
                merged.append(w)
        cfg.transform_sets[str(r["name"])] = TransformSet(
            name=str(r["name"]), transforms=merged, mode=str(r.get("mode", "tunnel"))
        )
    cfg.ipsec_profiles = list(recs["ipsec_profiles"])
    for r in recs["crypto_maps"]:
        cfg.crypto_maps.append(
            CryptoMapEntry(
                name=str(r["name"]),
                seq=int(r["seq"]),
                kind=str(r.get("kind", "ipsec-isakmp")),
                peers=str(r.get("peers", "")).split(),
                transform_sets=str(r.get("transform_sets", "")).split(),
                pfs=r.get("pfs"),
                lifetime_s=r.get("lifetime_s"),
                lifetime_kb=r.get("lifetime_kb"),
                acl=r.get("acl"),
                ikev2_profile=r.get("ikev2_profile"),
                isakmp_profile=r.get("isakmp_profile"),
            )
        )
    cfg.crypto_maps.sort(key=lambda e: (e.name, e.seq))
    for r in recs["acls"]:
        entries = [e for line in str(r.get("rules", "")).splitlines() if (e := _acl_entry(line))]
        cfg.acls[str(r["name"])] = entries
    for r in recs["numbered_acls"]:
        e = _acl_entry(str(r.get("rule", "")))
        if e:
            cfg.acls.setdefault(str(r["name"]), []).append(e)
    for r in recs["interfaces"]:
        cfg.interfaces.append(
            Interface(**{k: v for k, v in r.items() if k in Interface.model_fields})
        )
    return cfg
