"""The tunnel specification: one YAML document describes both ends of one site-to-site tunnel.

Why one document for both ends: every value the two ends must agree on (proposals, transform,
PFS, lifetimes, the pre-shared key, the protected networks) is written once, so the rendered
configurations agree by construction; only what is genuinely per end (device, platform,
outside interface and address, inside networks, VTI interface) lives under ``ends``.

Algorithms use strongSwan keywords (the product's vocabulary, as the README's JSON values
say) and are validated against Cisco's Next Generation Encryption guidance: DES, 3DES, MD5,
SHA-1 and DH groups 1, 2 and 5 are refused unless the caller passes ``allow_weak``
(``--allow-weak``), because the crypto audit would flag them anyway and a generator should not
produce what the audit condemns.

The pre-shared key is never a literal in the spec: ``psk: ${ENV_VAR}``, ``psk_file: PATH`` or
``psk: prompt``. The resolved value is a :class:`pydantic.SecretStr` and reaches device text only
inside :mod:`ipsecctl.provision.push` at send time; everything shown or written uses
:meth:`PskSource.placeholder`.
"""

from __future__ import annotations

import getpass
import ipaddress
import os
import re
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ipsecctl import errors

Platform = Literal["cisco_ios", "cisco_iosxe", "cisco_asa", "strongswan"]
CISCO_IOS = ("cisco_ios", "cisco_iosxe")

# strongSwan keyword -> (strong?, Cisco IKE spelling pieces); order = preference in tables
ENCRYPTION = {
    "aes128": True,
    "aes192": True,
    "aes256": True,
    "aes128gcm16": True,
    "aes192gcm16": True,
    "aes256gcm16": True,
    "3des": False,
    "des": False,
}
INTEGRITY = {"sha256": True, "sha384": True, "sha512": True, "sha1": False, "md5": False}
DH_GROUPS = {
    "modp2048": (14, True),
    "modp3072": (15, True),
    "modp4096": (16, True),
    "ecp256": (19, True),
    "ecp384": (20, True),
    "ecp521": (21, True),
    "modp768": (1, False),
    "modp1024": (2, False),
    "modp1536": (5, False),
}
_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


def is_aead(enc: str) -> bool:
    return "gcm" in enc


def dh_number(keyword: str) -> int:
    return DH_GROUPS[keyword][0]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Proposal(_M):
    """One IKE proposal: encryption, integrity (also the PRF), DH group."""

    encryption: str = "aes256"
    integrity: str = "sha256"
    dh_group: str = "ecp256"

    @field_validator("encryption")
    @classmethod
    def _enc(cls, v: str) -> str:
        v = v.lower()
        if v not in ENCRYPTION:
            raise ValueError(f"unknown encryption {v!r} (use one of {', '.join(ENCRYPTION)})")
        if is_aead(v):
            raise ValueError(
                f"{v}: AEAD ciphers are not offered for IKE here (IKEv1 has none, and the "
                "pair check models IKEv2 proposals with an integrity); use aes256 + sha256 "
                "for IKE and GCM for ESP"
            )
        return v

    @field_validator("integrity")
    @classmethod
    def _integ(cls, v: str) -> str:
        v = v.lower()
        if v not in INTEGRITY:
            raise ValueError(f"unknown integrity {v!r} (use one of {', '.join(INTEGRITY)})")
        return v

    @field_validator("dh_group")
    @classmethod
    def _dh(cls, v: str) -> str:
        v = v.lower()
        if v not in DH_GROUPS:
            raise ValueError(f"unknown DH group {v!r} (use one of {', '.join(DH_GROUPS)})")
        return v

    def keyword(self) -> str:
        return f"{self.encryption}-{self.integrity}-{self.dh_group}"


class Esp(_M):
    """The ESP transform; an AEAD cipher (GCM) takes no separate integrity."""

    encryption: str = "aes256gcm16"
    integrity: str | None = None

    @field_validator("encryption")
    @classmethod
    def _enc(cls, v: str) -> str:
        v = v.lower()
        if v not in ENCRYPTION:
            raise ValueError(f"unknown ESP encryption {v!r} (use one of {', '.join(ENCRYPTION)})")
        return v

    @field_validator("integrity")
    @classmethod
    def _integ(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.lower()
        if v not in INTEGRITY:
            raise ValueError(f"unknown ESP integrity {v!r} (use one of {', '.join(INTEGRITY)})")
        return v

    def keyword(self) -> str:
        return self.encryption + (f"-{self.integrity}" if self.integrity else "")


class Lifetimes(_M):
    ike_s: int = Field(default=86400, ge=120, le=86400)
    ipsec_s: int = Field(default=3600, ge=120, le=86400)
    ipsec_kb: int = Field(default=4608000, ge=2560)


class Vti(_M):
    """A route-based tunnel end: tunnel interface and its /30 (or /31) address."""

    interface: str = "Tunnel100"
    address: str  # "172.30.0.1/30"

    @field_validator("address")
    @classmethod
    def _addr(cls, v: str) -> str:
        iface = ipaddress.ip_interface(v)
        if iface.version != 4:
            raise ValueError("VTI addresses must be IPv4 A.B.C.D/LEN")
        return str(iface)


class End(_M):
    """What differs between the two ends."""

    name: str
    device: str | None = None  # inventory name; needed for diff/push, not for render
    platform: Platform
    outside_interface: str = "GigabitEthernet1"  # ASA: the nameif (e.g. outside)
    outside_address: str
    inside_networks: list[str] = Field(min_length=1)
    crypto_map: str = "VPNMAP"
    map_seq: int = Field(default=10, ge=1, le=65535)
    vti: Vti | None = None
    swanctl_file: str | None = None  # strongSwan: where push writes (default conf.d)

    @field_validator("outside_address")
    @classmethod
    def _outside(cls, v: str) -> str:
        addr = ipaddress.ip_address(v)
        if addr.version != 4:
            raise ValueError("only IPv4 outside addresses are generated for now")
        return str(addr)

    @field_validator("inside_networks")
    @classmethod
    def _inside(cls, v: list[str]) -> list[str]:
        nets = [ipaddress.ip_network(n, strict=True) for n in v]
        if any(n.version != 4 for n in nets):
            raise ValueError("only IPv4 inside networks are generated for now")
        return [str(n) for n in nets]

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,40}", v):
            raise ValueError("end names are letters, digits, '_', '.', '-' (max 41)")
        return v

    @property
    def target(self) -> str:
        """The inventory name to reach this end (falls back to the end's name)."""
        return self.device or self.name


class CryptoSettings(_M):
    """What every tunnel of a spec shares: written once, so both ends agree by construction.

    ``auth``: ``psk`` (pre-shared keys: one from ``psk``/``psk_file``, or one generated per
    pair with ``psk: generate``), ``cert`` (certificates: see the topology's ``pki``) or
    ``manual`` (IOS ``ipsec-manual`` crypto maps: SPIs and session keys generated per pair).
    """

    ike_version: Literal[1, 2] = 2
    mode: Literal["crypto_map", "vti"] = "crypto_map"
    proposals: list[Proposal] = Field(default_factory=lambda: [Proposal()], min_length=1)
    esp: Esp = Field(default_factory=Esp)
    pfs_group: str | None = "ecp256"
    lifetimes: Lifetimes = Field(default_factory=lambda: Lifetimes())
    ike_policy_priority: int = Field(default=100, ge=1, le=10000)
    # strongSwan ends: force UDP encapsulation (encap = yes), e.g. kernel-libipsec hosts
    force_encap: bool = False
    auth: Literal["psk", "cert", "manual"] = "psk"
    psk: str | None = None  # "${ENV_VAR}", "prompt" or "generate"
    psk_file: str | None = None
    key_store: str | None = None  # generated keys (psk: generate, auth: manual) live here

    @field_validator("pfs_group")
    @classmethod
    def _pfs(cls, v: str | None) -> str | None:
        if v is None:
            return None
        v = v.lower()
        if v not in DH_GROUPS:
            raise ValueError(f"unknown PFS group {v!r} (use one of {', '.join(DH_GROUPS)})")
        return v

    def psk_source(self) -> PskSource:
        return PskSource.from_spec(self.psk, self.psk_file)

    def key_source(self) -> PskSource | None:
        """Where pre-shared keys come from; None when the spec authenticates otherwise."""
        if self.auth != "psk":
            return None
        return self.psk_source()


class TunnelSpec(CryptoSettings):
    """One tunnel, both ends (see the module docstring for why one document)."""

    name: str
    ends: list[End] = Field(min_length=2, max_length=2)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,30}", v):
            raise ValueError(
                "tunnel names are letters, digits, '_' and '-' (max 31): they "
                "become ACL, transform-set and connection names"
            )
        return v

    @property
    def a(self) -> End:
        return self.ends[0]

    @property
    def b(self) -> End:
        return self.ends[1]

    def peer_of(self, end: End) -> End:
        return self.b if end is self.a else self.a


class PskSource:
    """Where the pre-shared key comes from; never holds it longer than ``resolve`` returns."""

    def __init__(self, kind: Literal["env", "file", "prompt", "generate"], ref: str) -> None:
        self.kind = kind
        self.ref = ref

    @classmethod
    def from_spec(cls, psk: str | None, psk_file: str | None) -> PskSource:
        if psk_file is not None and psk is not None:
            raise errors.UsageError("spec: give either psk or psk_file, not both")
        if psk_file is not None:
            return cls("file", psk_file)
        if psk is None:
            raise errors.UsageError(
                "spec: no pre-shared key source: add psk: ${ENV_VAR}, psk: prompt or psk_file"
            )
        if psk.strip().lower() == "prompt":
            return cls("prompt", "prompt")
        if psk.strip().lower() == "generate":
            return cls("generate", "generate")
        m = _ENV_REF.match(psk.strip())
        if m is None:
            raise errors.UsageError(
                "spec: psk must be an environment reference like ${VPN_PSK}, 'prompt', "
                "'generate', or use psk_file: a literal key in a spec file would end up in "
                "repositories"
            )
        return cls("env", m.group(1))

    @property
    def per_pair(self) -> bool:
        """A key of its own for every pair: generated and kept in the key store, or one
        file per pair (``psk_file: keys/{pair}.psk``, ``{pair}`` = ``hub--br01``)."""
        return self.kind == "generate" or (self.kind == "file" and "{pair}" in self.ref)

    def for_pair(self, pair: str) -> PskSource:
        """The source of one pair's key (a per-pair file reference filled in)."""
        if self.kind == "file" and "{pair}" in self.ref:
            return PskSource("file", self.ref.replace("{pair}", pair))
        return self

    def placeholder(self, pair: str | None = None) -> str:
        """The token written where the key goes in anything shown or saved (one word)."""
        if self.kind == "generate":
            return "${psk:" + (pair or "pair") + "}"
        if self.kind == "env":
            return "${" + self.ref + "}"
        if self.kind == "file":
            ref = self.ref.replace("{pair}", pair or "pair")
            return "${file:" + Path(ref).name.replace(" ", "_") + "}"
        return "${prompt}"

    def resolve(self, base: Path | None = None) -> SecretStr:
        """The key itself; bad or missing sources name the source and what to do.

        Generated keys are per pair: :func:`ipsecctl.provision.keys.resolve_psks` reads them.
        """
        if self.kind == "generate":
            raise errors.UsageError(
                "psk: generate gives one key per pair: resolve them through the key store"
            )
        if self.kind == "env":
            value = os.environ.get(self.ref)
            if not value:
                raise errors.UsageError(
                    f"psk: environment variable {self.ref} is not set; export it first"
                )
        elif self.kind == "file":
            path = Path(self.ref).expanduser()
            if base is not None and not path.is_absolute():
                path = base / path
            try:
                value = path.read_text().strip()
            except OSError as exc:
                raise errors.InputFileError(
                    f"psk_file {path}: cannot read it ({exc.strerror})"
                ) from None
            if not value:
                raise errors.InputFileError(f"psk_file {path}: the file is empty")
        else:
            if not sys.stdin.isatty():
                raise errors.RefusedError(
                    "psk: prompt needs a terminal", hint="use psk: ${ENV_VAR} or psk_file"
                )
            value = getpass.getpass("pre-shared key: ")
        if any(c.isspace() for c in value) or len(value) < 8:
            raise errors.UsageError(
                f"psk from {self.kind} {self.ref}: the key must be one word of at least 8 "
                "characters (devices split keys at spaces)"
            )
        return SecretStr(value)


def strength_problems(spec: CryptoSettings) -> list[str]:
    weak: list[str] = []
    for i, p in enumerate(spec.proposals, 1):
        if not ENCRYPTION[p.encryption]:
            weak.append(f"proposal {i} encryption {p.encryption}")
        if not INTEGRITY[p.integrity]:
            weak.append(f"proposal {i} integrity {p.integrity}")
        if not DH_GROUPS[p.dh_group][1]:
            weak.append(f"proposal {i} DH group {p.dh_group}")
    if not ENCRYPTION[spec.esp.encryption]:
        weak.append(f"esp encryption {spec.esp.encryption}")
    if spec.esp.integrity and not INTEGRITY[spec.esp.integrity]:
        weak.append(f"esp integrity {spec.esp.integrity}")
    if spec.pfs_group and not DH_GROUPS[spec.pfs_group][1]:
        weak.append(f"pfs_group {spec.pfs_group}")
    return weak


def _consistency_problems(spec: TunnelSpec) -> list[str]:
    out: list[str] = []
    if is_aead(spec.esp.encryption) and spec.esp.integrity:
        out.append(f"esp: {spec.esp.encryption} is AEAD; drop esp.integrity")
    if not is_aead(spec.esp.encryption) and not spec.esp.integrity:
        out.append(f"esp: {spec.esp.encryption} needs an integrity (e.g. sha256)")
    if spec.a.name == spec.b.name:
        out.append("ends: the two ends need different names")
    if spec.a.outside_address == spec.b.outside_address:
        out.append("ends: the two ends have the same outside address")
    for end in spec.ends:
        if spec.mode == "vti" and end.platform in CISCO_IOS and end.vti is None:
            out.append(f"end {end.name}: mode vti needs vti: {{interface, address}}")
        if spec.mode == "vti" and end.platform == "cisco_asa":
            out.append(f"end {end.name}: VTI on ASA is not generated; use mode crypto_map")
        if spec.mode == "vti" and spec.ike_version == 1 and end.platform in CISCO_IOS:
            out.append(f"end {end.name}: the VTI template is IKEv2; set ike_version: 2")
        if end.platform == "cisco_asa" and spec.ike_version == 1:
            out.append(
                f"end {end.name}: ASA IKEv1 offers SHA-1 at best in policies and transform "
                "sets; use ike_version: 2"
            )
    mine = [ipaddress.ip_network(n) for n in spec.a.inside_networks]
    theirs = [ipaddress.ip_network(n) for n in spec.b.inside_networks]
    for x in mine:
        for y in theirs:
            if x.overlaps(y):
                out.append(f"inside networks overlap: {x} ({spec.a.name}) and {y} ({spec.b.name})")
    if spec.mode == "vti" and spec.a.vti and spec.b.vti:
        ia, ib = (
            ipaddress.ip_interface(spec.a.vti.address),
            ipaddress.ip_interface(spec.b.vti.address),
        )
        if ia.network != ib.network or ia.ip == ib.ip:
            out.append("vti: the two tunnel addresses must be different hosts of one subnet")
    return out


def validate(spec: TunnelSpec, *, allow_weak: bool = False, source: str = "spec") -> TunnelSpec:
    """Refuse inconsistent or (unless ``allow_weak``) weak specs with one line naming why."""
    problems = _consistency_problems(spec)
    if problems:
        raise errors.InputFileError(f"{source}: " + "; ".join(problems))
    weak = strength_problems(spec)
    if weak and not allow_weak:
        raise errors.InputFileError(
            f"{source}: weak crypto refused: {', '.join(weak)} (Cisco NGE: avoid DES, 3DES, "
            "MD5, SHA-1, DH groups 1/2/5); choose aes256/sha256/ecp256 or pass --allow-weak"
        )
    return spec


def first_error(exc: ValidationError) -> str:
    e = exc.errors()[0]
    where = ".".join(str(x) for x in e["loc"]) or "(top)"
    msg = str(e["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg}" + (
        f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    )


def parse_spec(data: Any, *, source: str = "spec", allow_weak: bool = False) -> TunnelSpec:
    if not isinstance(data, dict):
        raise errors.InputFileError(f"{source}: expected a mapping with name, ends, ...")
    try:
        spec = TunnelSpec.model_validate(data)
    except ValidationError as exc:
        raise errors.InputFileError(f"{source}: {first_error(exc)}") from None
    spec.key_source()  # a literal key is refused before anything is rendered
    return validate(spec, allow_weak=allow_weak, source=source)


def read_spec_file(path: Path) -> Any:
    """A spec file's YAML data (tunnel or topology); an unreadable file or bad YAML is one
    line naming the file (and the line)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise errors.InputFileError(f"{path}: cannot read the spec ({exc.strerror})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise errors.InputFileError(f"{path}:{where} not valid YAML") from None


def load_spec(path: Path, *, allow_weak: bool = False) -> TunnelSpec:
    """Read and validate a spec file; every failure is one line naming the file."""
    return parse_spec(read_spec_file(path), source=str(path), allow_weak=allow_weak)
