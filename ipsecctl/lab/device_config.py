"""A lab device's running configuration -> the tunnels it asks for (:class:`Intent`).

Why the lab reads its own configuration: a tunnel between two lab devices must come up or fail
the way it would between real ones, from what each end is configured with, including lines an
operator or ``ipsecctl provision push`` typed. So the lab never trusts its plan for that: it
renders each device's configuration, lets configuration mode change it, and reads it back here.

This is deliberately the lab's own reader (small, line-based, IOS and ASA syntax), independent
of ``ipsecctl.diag``: the lab plays the devices, diagnostics predict them, and a test comparing
the two would prove nothing if both used one reader.

Pure functions: text in, records out. Keys are kept as typed (the lab needs them to decide a
PSK mismatch); nothing here prints them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

Net = ipaddress.IPv4Network | ipaddress.IPv6Network

#: what a type-6 (AES) key of a lab configuration stands for: the lab has no master key, so
#: every rendered "key 6 <LAB_TYPE6>" is one secret, the one below (never shown anywhere)
LAB_TYPE6 = "FLgBaJHXdYY_AVH]SKSY_YCOMTRaEcE"
LAB_PSK = "ipsecctl-lab-preshared-key"

# transform spellings -> (encryption, integrity) keywords shared by IOS and ASA
_ENC = {
    "esp-aes": "aes128",
    "esp-aes 128": "aes128",
    "esp-aes 192": "aes192",
    "esp-aes 256": "aes256",
    "esp-256-aes": "aes256",
    "esp-192-aes": "aes192",
    "esp-128-aes": "aes128",
    "esp-aes-256": "aes256",
    "esp-aes-192": "aes192",
    "esp-3des": "3des",
    "esp-des": "des",
    "esp-gcm": "aes128gcm16",
    "esp-gcm 128": "aes128gcm16",
    "esp-gcm 256": "aes256gcm16",
    "esp-gcm 192": "aes192gcm16",
    "esp-null": "null",
}
_INTEG = {
    "esp-sha-hmac": "sha1",
    "esp-sha256-hmac": "sha256",
    "esp-sha384-hmac": "sha384",
    "esp-sha512-hmac": "sha512",
    "esp-md5-hmac": "md5",
    "esp-none": "none",
}
# ASA "crypto ipsec ikev2 ipsec-proposal" words
_ASA_ESP_ENC = {
    "aes": "aes128",
    "aes-192": "aes192",
    "aes-256": "aes256",
    "3des": "3des",
    "des": "des",
    "aes-gcm": "aes128gcm16",
    "aes-gcm-192": "aes192gcm16",
    "aes-gcm-256": "aes256gcm16",
    "null": "null",
}
_ASA_ESP_INTEG = {
    "sha-1": "sha1",
    "sha-256": "sha256",
    "sha-384": "sha384",
    "sha-512": "sha512",
    "md5": "md5",
    "null": "none",
}
# IKE phase 1 spellings
_P1_ENC = {
    "aes": "aes128",
    "aes 128": "aes128",
    "aes 192": "aes192",
    "aes 256": "aes256",
    "aes-192": "aes192",
    "aes-256": "aes256",
    "3des": "3des",
    "des": "des",
    "aes-cbc-128": "aes128",
    "aes-cbc-192": "aes192",
    "aes-cbc-256": "aes256",
    "aes-gcm-128": "aes128gcm16",
    "aes-gcm-256": "aes256gcm16",
    "aes-gcm": "aes128gcm16",
    "aes-gcm-192": "aes192gcm16",
}
_P1_HASH = {
    "sha": "sha1",
    "sha1": "sha1",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "md5": "md5",
}


@dataclass(frozen=True)
class P1Policy:
    """IKEv1 policy (ISAKMP / ASA ikev1 policy) with defaults already applied."""

    priority: int
    encryption: str
    hash: str
    auth: str
    group: int
    lifetime: int = 86400


@dataclass(frozen=True)
class V2Proposal:
    """IKEv2 proposal (IOS proposal / ASA ikev2 policy): lists in preference order."""

    name: str
    encryption: tuple[str, ...]
    integrity: tuple[str, ...]
    groups: tuple[int, ...]
    prf: tuple[str, ...] = ()
    lifetime: int = 86400


@dataclass(frozen=True)
class TransformSet:
    """An IPsec proposal: the (encryption, integrity) pairs it accepts, and its mode."""

    name: str
    pairs: tuple[tuple[str, str], ...]
    mode: str = "tunnel"
    words: str = ""  # as configured (IOS "esp-aes 256 esp-sha-hmac", ASA proposal lines)


@dataclass
class Intent:
    """One tunnel a device is configured to build, as that device sees it."""

    router: str
    platform: str
    kind: str  # crypto_map | vti
    local_addr: str
    peer_addr: str
    interface: str  # where the crypto map is applied (nameif on ASA) or the tunnel interface
    ike_version: int
    map_tag: str | None = None
    seq: int | None = None
    acl: str | None = None
    selectors: list[tuple[Net, Net]] = field(default_factory=list)
    transforms: list[TransformSet] = field(default_factory=list)
    pfs: int | None = None
    p1: list[P1Policy] = field(default_factory=list)
    v2: list[V2Proposal] = field(default_factory=list)
    psk: str | None = field(default=None, repr=False)  # key this device holds for the peer
    vrf: str | None = None
    ikev2_profile: str | None = None
    isakmp_profile: str | None = None
    ipsec_profile: str | None = None
    lifetime_s: int = 3600
    lifetime_kb: int = 4608000
    description: str | None = None

    @property
    def key(self) -> tuple[object, ...]:
        """Identity of this configured tunnel on its device."""
        if self.kind == "vti":
            return (self.router, "vti", self.interface)
        return (self.router, "map", str(self.map_tag), str(self.seq))

    @property
    def transform_name(self) -> str:
        return self.transforms[0].name if self.transforms else ""

    def mirrors(self, other: Intent) -> bool:
        """Selectors exactly mirrored (what pairs two entries of one tunnel)."""
        mine = sorted((str(a), str(b)) for a, b in self.selectors)
        theirs = sorted((str(b), str(a)) for a, b in other.selectors)
        return mine == theirs


@dataclass
class DeviceConfig:
    """Everything :func:`intents` needs from one configuration, read once."""

    platform: str
    p1: list[P1Policy] = field(default_factory=list)
    v1_keys: list[tuple[Net, str, str | None]] = field(default_factory=list)  # net, key, vrf
    v2_proposals: dict[str, V2Proposal] = field(default_factory=dict)
    v2_policies: list[tuple[str, list[str]]] = field(default_factory=list)  # name, proposals
    v2_keyrings: dict[str, list[tuple[Net, str]]] = field(default_factory=dict)
    v2_profiles: dict[str, dict[str, object]] = field(default_factory=dict)
    isakmp_profiles: dict[str, dict[str, object]] = field(default_factory=dict)
    keyrings: dict[str, tuple[str | None, list[tuple[Net, str]]]] = field(default_factory=dict)
    transform_sets: dict[str, TransformSet] = field(default_factory=dict)
    ipsec_profiles: dict[str, dict[str, object]] = field(default_factory=dict)
    maps: dict[tuple[str, int], dict[str, object]] = field(default_factory=dict)
    acls: dict[str, list[tuple[Net, Net]]] = field(default_factory=dict)
    interfaces: dict[str, dict[str, object]] = field(default_factory=dict)
    map_interfaces: dict[str, str] = field(default_factory=dict)  # ASA: map tag -> nameif
    tunnel_groups: dict[str, dict[str, str]] = field(default_factory=dict)
    ipsec_lifetime_s: int | None = None
    ipsec_lifetime_kb: int | None = None


# ------------------------------------------------------------------------------------ helpers
def _blocks(text: str) -> list[list[str]]:
    """Top-level lines with their indented children."""
    out: list[list[str]] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        if not line.strip() or line.strip() == "!":
            continue
        if line[0] == " ":
            if out:
                out[-1].append(line.strip())
            continue
        out.append([line])
    return out


def _net(addr: str, mask: str | None = None) -> Net:
    if mask is not None:
        return ipaddress.ip_network(f"{addr}/{mask.lstrip('/')}", strict=False)
    return ipaddress.ip_network(addr, strict=False)


def _wild(addr: str, wild: str) -> Net:
    inv = int(ipaddress.IPv4Address(wild)) ^ 0xFFFFFFFF
    return ipaddress.ip_network(f"{addr}/{ipaddress.IPv4Address(inv)}", strict=False)


def _key_value(words: list[str]) -> str:
    """``[0|6|7] KEY`` -> the secret it stands for (type 6 lab keys map to LAB_PSK)."""
    if len(words) >= 2 and words[0] in ("0", "6", "7"):
        kind, value = words[0], words[1]
    else:
        kind, value = "0", words[0] if words else ""
    if kind == "6" and value == LAB_TYPE6:
        return LAB_PSK
    return value if kind == "0" else f"{kind}:{value}"


def _group(word: str) -> int | None:
    digits = word.removeprefix("group")
    return int(digits) if digits.isdigit() else None


def _acl_ios(words: list[str]) -> tuple[Net, Net] | None:
    """``[seq] permit ip SRC DST`` with wildcard masks, ``host`` and ``any``."""
    if words and words[0].isdigit():
        words = words[1:]
    if len(words) < 4 or words[0] != "permit":
        return None
    rest = words[2:]

    def take(ws: list[str]) -> tuple[Net, list[str]]:
        if ws[0] == "any":
            return _net("0.0.0.0/0"), ws[1:]
        if ws[0] == "host":
            return _net(ws[1]), ws[2:]
        if "/" in ws[0]:
            return _net(ws[0]), ws[1:]
        return _wild(ws[0], ws[1]), ws[2:]

    try:
        src, rest = take(rest)
        dst, _ = take(rest)
    except (IndexError, ValueError):
        return None
    return src, dst


def _acl_asa(words: list[str]) -> tuple[Net, Net] | None:
    """ASA ``extended permit ip SRC DST`` with netmasks, ``host`` and ``any``/``any4``."""
    if len(words) < 5 or words[0] != "extended" or words[1] != "permit":
        return None
    rest = words[3:]

    def take(ws: list[str]) -> tuple[Net, list[str]]:
        if ws[0] in ("any", "any4"):
            return _net("0.0.0.0/0"), ws[1:]
        if ws[0] == "host":
            return _net(ws[1]), ws[2:]
        return _net(ws[0], ws[1]), ws[2:]

    try:
        src, rest = take(rest)
        dst, _ = take(rest)
    except (IndexError, ValueError):
        return None
    return src, dst


def _ios_transform(name: str, words: list[str]) -> TransformSet:
    """``esp-aes 256 esp-sha-hmac`` -> pairs; key lengths follow their algorithm."""
    merged: list[str] = []
    for w in words:
        if w.isdigit() and merged:
            merged[-1] += f" {w}"
        else:
            merged.append(w)
    enc = next((_ENC[w] for w in merged if w in _ENC), "unknown")
    integ = next((_INTEG[w] for w in merged if w in _INTEG), "none")
    return TransformSet(name, ((enc, integ),), "tunnel", " ".join(words))


# ------------------------------------------------------------------------------------ readers
def read(text: str, platform: str) -> DeviceConfig:
    """One configuration text -> :class:`DeviceConfig` (unknown lines are ignored, as the
    device itself would have refused them when typed)."""
    cfg = DeviceConfig(platform)
    if platform == "cisco_asa":
        _read_asa(cfg, _blocks(text))
    else:
        _read_ios(cfg, _blocks(text))
    return cfg


def _read_ios(cfg: DeviceConfig, blocks: list[list[str]]) -> None:
    for block in blocks:
        head, kids = block[0], block[1:]
        w = head.split()
        if head.startswith("crypto isakmp policy ") and len(w) == 4 and w[3].isdigit():
            vals: dict[str, object] = {
                "encryption": "des",
                "hash": "sha1",
                "auth": "rsa-sig",
                "group": 1,
                "lifetime": 86400,
            }
            for k in kids:
                kw = k.split()
                if kw[0] in ("encr", "encryption"):
                    vals["encryption"] = _P1_ENC.get(" ".join(kw[1:]), " ".join(kw[1:]))
                elif kw[0] == "hash" and len(kw) > 1:
                    vals["hash"] = _P1_HASH.get(kw[1], kw[1])
                elif kw[0] == "authentication" and len(kw) > 1:
                    vals["auth"] = kw[1]
                elif kw[0] == "group" and len(kw) > 1 and kw[1].isdigit():
                    vals["group"] = int(kw[1])
                elif kw[0] == "lifetime" and len(kw) > 1 and kw[1].isdigit():
                    vals["lifetime"] = int(kw[1])
            cfg.p1.append(
                P1Policy(
                    int(w[3]),
                    str(vals["encryption"]),
                    str(vals["hash"]),
                    str(vals["auth"]),
                    int(str(vals["group"])),
                    int(str(vals["lifetime"])),
                )
            )
        elif head.startswith("crypto isakmp key "):
            rest = w[3:]
            if "address" in rest:
                a = rest.index("address")
                key_words, addr_words = rest[:a], rest[a + 1 :]
                try:
                    mask = (
                        addr_words[1]
                        if len(addr_words) > 1 and addr_words[1][0].isdigit()
                        else None
                    )
                    cfg.v1_keys.append((_net(addr_words[0], mask), _key_value(key_words), None))
                except (IndexError, ValueError):
                    pass
        elif head.startswith("crypto keyring ") and len(w) >= 3:
            vrf = w[4] if len(w) >= 5 and w[3] == "vrf" else None
            keys: list[tuple[Net, str]] = []
            for k in kids:
                kw = k.split()
                if kw[:2] == ["pre-shared-key", "address"] and "key" in kw:
                    i = kw.index("key")
                    try:
                        mask = kw[3] if i > 3 else None
                        keys.append((_net(kw[2], mask), _key_value(kw[i + 1 :])))
                    except (IndexError, ValueError):
                        pass
            cfg.keyrings[w[2]] = (vrf, keys)
        elif head.startswith("crypto isakmp profile ") and len(w) == 4:
            prof: dict[str, object] = {"match": []}
            for k in kids:
                kw = k.split()
                if kw[0] in ("vrf", "keyring") and len(kw) > 1:
                    prof[kw[0]] = kw[1]
                elif kw[:3] == ["match", "identity", "address"] and len(kw) > 3:
                    prof["match"] = [*prof["match"], kw[3]]  # type: ignore[misc]
            cfg.isakmp_profiles[w[3]] = prof
        elif head.startswith("crypto ikev2 proposal ") and len(w) == 4:
            enc: tuple[str, ...] = ()
            integ: tuple[str, ...] = ()
            groups: tuple[int, ...] = ()
            prf: tuple[str, ...] = ()
            for k in kids:
                kw = k.split()
                if kw[0] in ("encryption", "encr"):
                    enc = tuple(_P1_ENC.get(x, x) for x in kw[1:])
                elif kw[0] == "integrity":
                    integ = tuple(_P1_HASH.get(x, x) for x in kw[1:])
                elif kw[0] == "prf":
                    prf = tuple(_P1_HASH.get(x, x) for x in kw[1:])
                elif kw[0] == "group":
                    groups = tuple(int(x) for x in kw[1:] if x.isdigit())
            cfg.v2_proposals[w[3]] = V2Proposal(w[3], enc, integ, groups, prf or integ)
        elif head.startswith("crypto ikev2 policy ") and len(w) == 4:
            props = [x for k in kids if k.startswith("proposal ") for x in k.split()[1:]]
            cfg.v2_policies.append((w[3], props))
        elif head.startswith("crypto ikev2 keyring ") and len(w) == 4:
            ring: list[tuple[Net, str]] = []
            addr: Net | None = None
            for k in kids:
                kw = k.split()
                if kw[0] == "peer":
                    addr = None
                elif kw[0] == "address" and len(kw) > 1:
                    try:
                        addr = _net(kw[1], kw[2] if len(kw) > 2 else None)
                    except ValueError:
                        addr = None
                elif kw[0] == "pre-shared-key" and addr is not None:
                    vals_k = kw[1:]
                    if vals_k and vals_k[0] in ("local", "remote"):
                        vals_k = vals_k[1:]
                    ring.append((addr, _key_value(vals_k)))
            cfg.v2_keyrings[w[3]] = ring
        elif head.startswith("crypto ikev2 profile ") and len(w) == 4:
            prof2: dict[str, object] = {"match": [], "lifetime": 86400}
            for k in kids:
                kw = k.split()
                if kw[:4] == ["match", "identity", "remote", "address"] and len(kw) > 4:
                    prof2["match"] = [*prof2["match"], kw[4]]  # type: ignore[misc]
                elif kw[:2] == ["keyring", "local"] and len(kw) > 2:
                    prof2["keyring"] = kw[2]
                elif kw[0] == "lifetime" and len(kw) > 1 and kw[1].isdigit():
                    prof2["lifetime"] = int(kw[1])
            cfg.v2_profiles[w[3]] = prof2
        elif head.startswith("crypto ipsec transform-set ") and len(w) >= 5:
            ts = _ios_transform(w[3], w[4:])
            for k in kids:
                kw = k.split()
                if kw[0] == "mode" and len(kw) > 1:
                    ts = TransformSet(ts.name, ts.pairs, kw[1], ts.words)
            cfg.transform_sets[w[3]] = ts
        elif head.startswith("crypto ipsec profile ") and len(w) == 4:
            cfg.ipsec_profiles[w[3]] = _map_body(kids)
        elif head.startswith("crypto ipsec security-association lifetime "):
            if w[4:5] == ["seconds"] and w[5:6] and w[5].isdigit():
                cfg.ipsec_lifetime_s = int(w[5])
            elif w[4:5] == ["kilobytes"] and w[5:6] and w[5].isdigit():
                cfg.ipsec_lifetime_kb = int(w[5])
        elif (
            head.startswith("crypto map ")
            and len(w) >= 5
            and w[3].isdigit()
            and w[4] == "ipsec-isakmp"
            and "dynamic" not in w
        ):
            cfg.maps[(w[2], int(w[3]))] = _map_body(kids)
        elif head.startswith("ip access-list extended ") and len(w) == 4:
            cfg.acls[w[3]] = [sel for k in kids if (sel := _acl_ios(k.split()))]
        elif head.startswith("access-list ") and len(w) > 2:
            sel = _acl_ios(w[2:])
            if sel:
                cfg.acls.setdefault(w[1], []).append(sel)
        elif head.startswith("interface ") and len(w) == 2:
            cfg.interfaces[w[1]] = _ios_interface(kids)


def _map_body(kids: list[str]) -> dict[str, object]:
    """Children of an IOS crypto map entry or IPsec profile."""
    body: dict[str, object] = {"peers": [], "transforms": []}
    for k in kids:
        kw = k.split()
        if kw[:2] == ["set", "peer"] and len(kw) > 2:
            body["peers"] = [*body["peers"], kw[2]]  # type: ignore[misc]
        elif kw[:2] == ["set", "transform-set"]:
            body["transforms"] = kw[2:]
        elif kw[:2] == ["set", "pfs"]:
            body["pfs"] = _group(kw[2]) if len(kw) > 2 else 2
        elif kw[:2] == ["set", "ikev2-profile"] and len(kw) > 2:
            body["ikev2_profile"] = kw[2]
        elif kw[:2] == ["set", "isakmp-profile"] and len(kw) > 2:
            body["isakmp_profile"] = kw[2]
        elif kw[:3] == ["set", "security-association", "lifetime"] and len(kw) > 4:
            if kw[4].isdigit():
                body["lifetime_" + ("s" if kw[3] == "seconds" else "kb")] = int(kw[4])
        elif kw[:2] == ["match", "address"] and len(kw) > 2:
            body["acl"] = kw[2]
        elif kw[0] == "description":
            body["description"] = " ".join(kw[1:])
    return body


def _ios_interface(kids: list[str]) -> dict[str, object]:
    iface: dict[str, object] = {}
    for k in kids:
        kw = k.split()
        if kw[:2] == ["ip", "address"] and len(kw) >= 4:
            iface["ip"] = kw[2]
        elif kw[:2] == ["ipv6", "address"] and len(kw) >= 3:
            iface["ip6"] = kw[2].split("/")[0].lower()
        elif kw[:3] in (
            ["ip", "vrf", "forwarding"],
            ["vrf", "forwarding", kw[2] if len(kw) > 2 else ""],
        ):
            iface["vrf"] = kw[3] if kw[0] == "ip" else kw[2]
        elif kw[:2] == ["crypto", "map"] and len(kw) > 2:
            iface["crypto_map"] = kw[2]
        elif kw[:2] == ["tunnel", "source"] and len(kw) > 2:
            iface["tunnel_source"] = kw[2]
        elif kw[:2] == ["tunnel", "destination"] and len(kw) > 2:
            iface["tunnel_destination"] = kw[2].lower()
        elif kw[:4] == ["tunnel", "protection", "ipsec", "profile"] and len(kw) > 4:
            iface["ipsec_profile"] = kw[4]
        elif kw[0] == "shutdown":
            iface["shutdown"] = True
    return iface


def _read_asa(cfg: DeviceConfig, blocks: list[list[str]]) -> None:
    for block in blocks:
        head, kids = block[0], block[1:]
        w = head.split()
        if head.startswith("crypto ikev1 policy ") and len(w) == 4 and w[3].isdigit():
            vals: dict[str, object] = {
                "encryption": "3des",
                "hash": "sha1",
                "auth": "pre-share",
                "group": 2,
                "lifetime": 86400,
            }
            for k in kids:
                kw = k.split()
                if kw[0] == "encryption" and len(kw) > 1:
                    vals["encryption"] = _P1_ENC.get(kw[1], kw[1])
                elif kw[0] == "hash" and len(kw) > 1:
                    vals["hash"] = _P1_HASH.get(kw[1], kw[1])
                elif kw[0] == "authentication" and len(kw) > 1:
                    vals["auth"] = kw[1]
                elif kw[0] == "group" and len(kw) > 1 and kw[1].isdigit():
                    vals["group"] = int(kw[1])
                elif kw[0] == "lifetime" and len(kw) > 1 and kw[1].isdigit():
                    vals["lifetime"] = int(kw[1])
            cfg.p1.append(
                P1Policy(
                    int(w[3]),
                    str(vals["encryption"]),
                    str(vals["hash"]),
                    str(vals["auth"]),
                    int(str(vals["group"])),
                    int(str(vals["lifetime"])),
                )
            )
        elif head.startswith("crypto ikev2 policy ") and len(w) == 4 and w[3].isdigit():
            enc: tuple[str, ...] = ()
            integ: tuple[str, ...] = ()
            groups: tuple[int, ...] = ()
            prf: tuple[str, ...] = ()
            life = 86400
            for k in kids:
                kw = k.split()
                if kw[0] == "encryption":
                    enc = tuple(_P1_ENC.get(x, x) for x in kw[1:])
                elif kw[0] == "integrity":
                    integ = tuple(_P1_HASH.get(x, x) for x in kw[1:])
                elif kw[0] == "prf":
                    prf = tuple(_P1_HASH.get(x, x) for x in kw[1:])
                elif kw[0] == "group":
                    groups = tuple(int(x) for x in kw[1:] if x.isdigit())
                elif kw[:2] == ["lifetime", "seconds"] and len(kw) > 2 and kw[2].isdigit():
                    life = int(kw[2])
            cfg.v2_proposals[w[3]] = V2Proposal(w[3], enc, integ, groups, prf or integ, life)
            cfg.v2_policies.append((w[3], [w[3]]))
        elif head.startswith("crypto ipsec ikev1 transform-set ") and len(w) >= 6:
            name = w[4]
            if w[5] == "mode" and name in cfg.transform_sets and len(w) > 6:
                old = cfg.transform_sets[name]
                cfg.transform_sets[name] = TransformSet(name, old.pairs, w[6], old.words)
            else:
                enc1 = next((_ENC[x] for x in w[5:] if x in _ENC), "unknown")
                integ1 = next((_INTEG[x] for x in w[5:] if x in _INTEG), "none")
                cfg.transform_sets[name] = TransformSet(
                    name, ((enc1, integ1),), "tunnel", " ".join(w[5:])
                )
        elif head.startswith("crypto ipsec ikev2 ipsec-proposal ") and len(w) == 5:
            encs: list[str] = []
            integs: list[str] = []
            for k in kids:
                kw = k.split()
                if kw[:3] == ["protocol", "esp", "encryption"]:
                    encs = [_ASA_ESP_ENC.get(x, x) for x in kw[3:]]
                elif kw[:3] == ["protocol", "esp", "integrity"]:
                    integs = [_ASA_ESP_INTEG.get(x, x) for x in kw[3:]]
            pairs = tuple(
                (e, "none" if e.endswith("gcm16") else i)
                for e in encs
                for i in (integs or ["none"])
            )
            cfg.transform_sets["v2:" + w[4]] = TransformSet(
                w[4], tuple(dict.fromkeys(pairs)), "tunnel", " ".join(kids)
            )
        elif head.startswith("crypto map ") and len(w) >= 4:
            tag = w[2]
            if w[3] == "interface" and len(w) > 4:
                cfg.map_interfaces[tag] = w[4]
            elif w[3].isdigit() and len(w) > 5:
                entry = cfg.maps.setdefault((tag, int(w[3])), {"peers": [], "transforms": []})
                what = w[4:]
                if what[:2] == ["match", "address"]:
                    entry["acl"] = what[2]
                elif what[:2] == ["set", "peer"]:
                    entry["peers"] = what[2:]
                elif what[:3] == ["set", "ikev1", "transform-set"]:
                    entry["transforms"] = what[3:]
                    entry["ike_version"] = entry.get("ike_version", 1)
                elif what[:3] == ["set", "ikev2", "ipsec-proposal"]:
                    entry["v2_proposals"] = what[3:]
                    entry["ike_version"] = 2
                elif what[:2] == ["set", "pfs"]:
                    entry["pfs"] = _group(what[2]) if len(what) > 2 else 2
                elif (
                    what[:3] == ["set", "security-association", "lifetime"]
                    and len(what) > 4
                    and what[4].isdigit()
                ):
                    entry["lifetime_" + ("s" if what[3] == "seconds" else "kb")] = int(what[4])
        elif head.startswith("access-list ") and len(w) > 3:
            sel = _acl_asa(w[2:])
            if sel:
                cfg.acls.setdefault(w[1], []).append(sel)
        elif head.startswith("tunnel-group ") and len(w) >= 3:
            group = cfg.tunnel_groups.setdefault(w[1], {})
            if w[2] == "type" and len(w) > 3:
                group["type"] = w[3]
            for k in kids:
                kw = k.split()
                if kw[:2] == ["ikev1", "pre-shared-key"] and len(kw) > 2:
                    group["v1"] = _key_value(kw[2:])
                elif kw[:3] == ["ikev2", "remote-authentication", "pre-shared-key"]:
                    group["v2_remote"] = _key_value(kw[3:])
                elif kw[:3] == ["ikev2", "local-authentication", "pre-shared-key"]:
                    group["v2_local"] = _key_value(kw[3:])
        elif head.startswith("interface ") and len(w) == 2:
            iface: dict[str, object] = {}
            for k in kids:
                kw = k.split()
                if kw[0] == "nameif" and len(kw) > 1:
                    iface["nameif"] = kw[1]
                elif kw[:2] == ["ip", "address"] and len(kw) >= 4:
                    iface["ip"] = kw[2]
                elif kw[0] == "shutdown":
                    iface["shutdown"] = True
            cfg.interfaces[w[1]] = iface


# ------------------------------------------------------------------------------------ intents
def _covers(net: Net, addr: str) -> bool:
    try:
        return ipaddress.ip_address(addr) in net
    except ValueError:
        return False


def _longest(keys: list[tuple[Net, str]], addr: str) -> str | None:
    hits = [(n.prefixlen, k) for n, k in keys if _covers(n, addr)]
    return max(hits)[1] if hits else None


def _v2_offer(cfg: DeviceConfig) -> list[V2Proposal]:
    """IKEv2 proposals a device offers: those its policies name, in policy order."""
    names = [p for _pol, props in cfg.v2_policies for p in props]
    out = [cfg.v2_proposals[n] for n in dict.fromkeys(names) if n in cfg.v2_proposals]
    return out or list(cfg.v2_proposals.values())


def intents(router: str, text: str, platform: str) -> list[Intent]:
    """Every tunnel the configuration asks for (crypto map entries applied to an interface,
    and tunnel interfaces with tunnel protection), with what the device offers for each."""
    cfg = read(text, platform)
    return _asa_intents(router, cfg) if platform == "cisco_asa" else _ios_intents(router, cfg)


def _ios_intents(router: str, cfg: DeviceConfig) -> list[Intent]:
    out: list[Intent] = []
    p1 = sorted(cfg.p1, key=lambda p: p.priority)
    v2 = _v2_offer(cfg)
    life_s = cfg.ipsec_lifetime_s or 3600
    life_kb = cfg.ipsec_lifetime_kb or 4608000
    for ifname, iface in cfg.interfaces.items():
        if iface.get("shutdown"):
            continue
        tag = iface.get("crypto_map")
        local = iface.get("ip")
        vrf = iface.get("vrf")
        if isinstance(tag, str) and isinstance(local, str):
            for (mtag, seq), body in sorted(cfg.maps.items()):
                if mtag != tag or not body.get("peers"):
                    continue
                peer = str(body["peers"][0])  # type: ignore[index]
                if ":" in peer and iface.get("ip6"):
                    local = str(iface["ip6"])
                prof2 = str(body.get("ikev2_profile") or "") or None
                version = 2 if prof2 else 1
                it = Intent(
                    router=router,
                    platform="cisco_ios",
                    kind="crypto_map",
                    local_addr=local,
                    peer_addr=peer.lower(),
                    interface=ifname,
                    ike_version=version,
                    map_tag=mtag,
                    seq=seq,
                    acl=str(body.get("acl") or "") or None,
                    vrf=vrf if isinstance(vrf, str) else None,
                    ikev2_profile=prof2,
                    isakmp_profile=str(body.get("isakmp_profile") or "") or None,
                    pfs=body.get("pfs"),  # type: ignore[arg-type]
                    lifetime_s=int(str(body.get("lifetime_s", life_s))),
                    lifetime_kb=int(str(body.get("lifetime_kb", life_kb))),
                    description=str(body.get("description") or "") or None,
                )
                it.selectors = list(cfg.acls.get(it.acl or "", []))
                it.transforms = [
                    cfg.transform_sets[n]
                    for n in body["transforms"]  # type: ignore[attr-defined]
                    if n in cfg.transform_sets
                ]
                _ios_auth(cfg, it, p1, v2)
                out.append(it)
        dest = iface.get("tunnel_destination")
        prof = iface.get("ipsec_profile")
        if isinstance(dest, str) and isinstance(prof, str) and prof in cfg.ipsec_profiles:
            src = iface.get("tunnel_source")
            src_if = cfg.interfaces.get(str(src), {})
            v6 = ":" in dest
            local6 = src_if.get("ip6") if v6 else src_if.get("ip")
            if not isinstance(local6, str):
                continue
            body = cfg.ipsec_profiles[prof]
            prof2 = str(body.get("ikev2_profile") or "") or None
            any_net = _net("::/0" if v6 else "0.0.0.0/0")
            it = Intent(
                router=router,
                platform="cisco_ios",
                kind="vti",
                local_addr=local6,
                peer_addr=dest,
                interface=ifname,
                ike_version=2 if prof2 else 1,
                ipsec_profile=prof,
                ikev2_profile=prof2,
                pfs=body.get("pfs"),  # type: ignore[arg-type]
                selectors=[(any_net, any_net)],
                lifetime_s=int(str(body.get("lifetime_s", life_s))),
                lifetime_kb=life_kb,
            )
            it.transforms = [
                cfg.transform_sets[n]
                for n in body["transforms"]  # type: ignore[attr-defined]
                if n in cfg.transform_sets
            ]
            _ios_auth(cfg, it, p1, v2)
            out.append(it)
    return out


def _ios_auth(cfg: DeviceConfig, it: Intent, p1: list[P1Policy], v2: list[V2Proposal]) -> None:
    """Proposals and the key this device would use towards ``it.peer_addr``."""
    if it.ike_version == 1:
        it.p1 = p1
        keys: list[tuple[Net, str]] = []
        prof = cfg.isakmp_profiles.get(it.isakmp_profile or "")
        if prof is not None:
            ring = cfg.keyrings.get(str(prof.get("keyring")))
            if ring is not None:
                keys = ring[1]
        else:
            keys = [(n, k) for n, k, vrf in cfg.v1_keys if vrf is None]
            for vrf_name, ring_keys in cfg.keyrings.values():
                if vrf_name == it.vrf:
                    keys += ring_keys
        it.psk = _longest(keys, it.peer_addr)
        return
    it.v2 = v2
    prof2 = cfg.v2_profiles.get(it.ikev2_profile or "")
    if prof2 is None:
        return
    matches = [str(m) for m in prof2.get("match", [])]  # type: ignore[attr-defined]
    if matches and not any(_covers(_net(m), it.peer_addr) for m in matches):
        return  # the profile does not match the peer's identity: no key is found
    ring2 = cfg.v2_keyrings.get(str(prof2.get("keyring")), [])
    it.psk = _longest(ring2, it.peer_addr)
    life = prof2.get("lifetime")
    if isinstance(life, int):
        it.v2 = [V2Proposal(p.name, p.encryption, p.integrity, p.groups, p.prf, life) for p in v2]


def _asa_intents(router: str, cfg: DeviceConfig) -> list[Intent]:
    out: list[Intent] = []
    by_nameif = {str(i.get("nameif")): i for i in cfg.interfaces.values() if i.get("nameif")}
    p1 = sorted(cfg.p1, key=lambda p: p.priority)
    v2 = _v2_offer(cfg)
    for (tag, seq), body in sorted(cfg.maps.items()):
        nameif = cfg.map_interfaces.get(tag)
        iface = by_nameif.get(nameif or "")
        if iface is None or iface.get("shutdown") or not body.get("peers"):
            continue
        local = iface.get("ip")
        if not isinstance(local, str):
            continue
        peer = str(body["peers"][0])  # type: ignore[index]
        version = int(str(body.get("ike_version", 1)))
        it = Intent(
            router=router,
            platform="cisco_asa",
            kind="crypto_map",
            local_addr=local,
            peer_addr=peer,
            interface=str(nameif),
            ike_version=version,
            map_tag=tag,
            seq=seq,
            acl=str(body.get("acl") or "") or None,
            pfs=body.get("pfs"),  # type: ignore[arg-type]
            lifetime_s=int(str(body.get("lifetime_s", 28800))),
            lifetime_kb=int(str(body.get("lifetime_kb", 4608000))),
        )
        it.selectors = list(cfg.acls.get(it.acl or "", []))
        group = cfg.tunnel_groups.get(peer, {})
        if version == 1:
            it.transforms = [
                cfg.transform_sets[n]
                for n in body["transforms"]  # type: ignore[attr-defined]
                if n in cfg.transform_sets
            ]
            it.p1 = p1
            it.psk = group.get("v1")
        else:
            it.transforms = [
                cfg.transform_sets["v2:" + n]
                for n in body.get("v2_proposals", [])  # type: ignore[attr-defined]
                if "v2:" + n in cfg.transform_sets
            ]
            it.v2 = v2
            # what the ASA proves (local) must be what the peer checks, and vice versa:
            # the lab compares the remote key against the peer's key for us
            it.psk = group.get("v2_remote")
        out.append(it)
    return out
