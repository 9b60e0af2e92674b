"""IKE key material: algorithm specs and the key-file formats operators already have.

Formats read (detected per line/document):

* Wireshark ``ikev2_decryption_table`` UAT: ``"SPIi","SPIr","SK_ei","SK_er","<encryption>",
  "SK_ai","SK_ar","<integrity>"`` with Wireshark's algorithm names (``AES-CBC-256 [RFC3602]``,
  ``AES-GCM-256 with 16 octet ICV [RFC5282]``, ``HMAC_SHA2_256_128 [RFC4868]``, ...).
* Wireshark ``ikev1_decryption_table`` UAT: ``"<initiator cookie>","<encryption key>"``.
* tcpdump ``-E`` IKEv2 secrets: ``ikev2 I|R <SPIi> <SPIr> <integ>:0x<SK_a> <encr>:0x<SK_e>``.
* ipsecctl YAML: ``ikev2: [{spi_i, spi_r, sk_ei, sk_er, sk_ai, sk_ar, encryption,
  integrity}]`` and ``ikev1: [{cookie_i, key}]``; algorithm names may be strongSwan keywords
  (``aes256``, ``aes256gcm16``, ``sha256``), IANA (``AES_CBC`` + ``keysize``) or Wireshark's.

Why specs instead of names everywhere: the SK decryptor needs key/salt/IV/ICV lengths, and
those are the same facts whichever spelling the file used. Keys never appear in reprs.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ipsecctl.diag.packets.common import load_key_yaml, parse_hex
from ipsecctl.diag.packets.suites import ENCRYPTION, INTEGRITY
from ipsecctl.errors import InputFileError


@dataclass(frozen=True)
class EncrSpec:
    """How to run one IKE encryption algorithm (AEAD when ``icv_len`` is set)."""

    keyword: str  # strongSwan keyword, e.g. aes256gcm16
    mode: str  # null | cbc | ctr | gcm | ccm | chacha | 3des
    key_len: int = 0  # bytes, without the salt
    salt_len: int = 0
    iv_len: int = 0
    icv_len: int = 0  # AEAD tag length; 0 for non-AEAD

    @property
    def aead(self) -> bool:
        return self.mode in ("gcm", "ccm", "chacha")


@dataclass(frozen=True)
class IntegSpec:
    """An IKE integrity algorithm: HMAC/CMAC truncated to ``icv_len`` (check=False: skip)."""

    keyword: str
    digest: str  # md5 | sha1 | sha256 | sha384 | sha512 | cmac | none
    icv_len: int
    check: bool = True


@dataclass(frozen=True)
class Ikev2Keys:
    spi_i: str
    spi_r: str
    encr: EncrSpec
    integ: IntegSpec | None
    sk_ei: bytes = field(repr=False, default=b"")
    sk_er: bytes = field(repr=False, default=b"")
    sk_ai: bytes = field(repr=False, default=b"")
    sk_ar: bytes = field(repr=False, default=b"")


@dataclass
class KeyTable:
    """Keys by IKE SA: IKEv2 by (SPIi, SPIr), IKEv1 by initiator cookie (16 hex digits)."""

    ikev2: dict[tuple[str, str], Ikev2Keys] = field(default_factory=dict)
    ikev1: dict[str, bytes] = field(default_factory=dict, repr=False)

    def lookup(self, spi_i: str, spi_r: str) -> Ikev2Keys | None:
        return self.ikev2.get((spi_i.lower(), spi_r.lower()))

    def __len__(self) -> int:
        return len(self.ikev2) + len(self.ikev1)


def _from_esp(name: str) -> EncrSpec:
    """The IKE view of an ESP suite: the key/salt/IV/ICV lengths are the same transform's.

    One algorithm table (:mod:`ipsecctl.diag.packets.suites`) serves ESP and IKE; only what
    IKE alone uses (AES-CCM) is added here.
    """
    e = ENCRYPTION[name]
    mode = "3des" if e.cipher == "3des" else e.kind
    return EncrSpec(e.name, mode, e.key_len, e.salt_len, e.iv_len, e.icv_len)


_ENCR_FIXED = {"NULL": _from_esp("null"), "3DES": _from_esp("3des"), "ENCR_3DES": _from_esp("3des")}


def encr_spec(name: str, keysize: int | None = None) -> EncrSpec:
    """An encryption spec from any accepted spelling; ValueError when unknown."""
    raw = name.split("[")[0].strip()
    up = raw.upper().replace("ENCR_", "")
    if up in _ENCR_FIXED:
        return _ENCR_FIXED[up]
    if "CHACHA20" in up:
        return _from_esp("chacha20poly1305")
    m = re.fullmatch(
        r"AES[-_](CBC|CTR|GCM|CCM)(?:[-_](\d+))?(?:[-_ ](?:WITH )?(\d+)"
        r"(?: OCTET ICV)?)?",
        up,
    )
    if m:
        mode, bits, icv = m.group(1).lower(), m.group(2), m.group(3)
        if mode in ("gcm", "ccm") and bits and icv is None and keysize:
            # IANA spelling: AES_GCM_16 + keysize 256 (the number is the ICV length)
            icv, bits = bits, str(keysize)
        if bits is None or (mode in ("gcm", "ccm") and bits in ("8", "12", "16") and icv is None):
            if keysize is None:
                raise ValueError(f"{name}: key size missing")
            if mode in ("gcm", "ccm") and bits:
                icv = bits
            bits = str(keysize)
        return _aes(mode, int(bits), int(icv) if icv else 16)
    m = re.fullmatch(r"aes(128|192|256)?(ctr|cbc|gcm(\d+)|ccm(\d+))?", raw.lower())
    if m:
        bits_s = m.group(1) or (str(keysize) if keysize else "128")
        kind = m.group(2) or "cbc"
        mode = kind[:3]
        icv = int(m.group(3) or m.group(4) or 16)
        return _aes(mode, int(bits_s), icv)
    raise ValueError(f"unknown IKE encryption algorithm {name!r}")


def _aes(mode: str, bits: int, icv: int) -> EncrSpec:
    if bits not in (128, 192, 256) or icv not in (8, 12, 16):
        raise ValueError(f"unsupported AES key size {bits} / ICV {icv}")
    if mode == "ccm":  # RFC 5282: 3-byte salt; no ESP suite in the shared table uses CCM
        return EncrSpec(f"aes{bits}ccm{icv}", "ccm", bits // 8, 3, 8, icv)
    return _from_esp({"cbc": f"aes{bits}", "ctr": f"aes{bits}ctr"}.get(mode, f"aes{bits}gcm{icv}"))


def _integ_from_esp(name: str) -> IntegSpec:
    """IKE integrity from the shared ESP table (same HMAC, same truncation)."""
    t = INTEGRITY[name]
    assert t.hash is not None
    return IntegSpec(t.name, t.hash, t.icv_len)


_INTEG = {
    "NONE": None,
    "HMAC_MD5_96": _integ_from_esp("md5"),
    "HMAC_MD5_128": IntegSpec("md5_128", "md5", 16),
    "HMAC_SHA1_96": _integ_from_esp("sha1"),
    "HMAC_SHA1_160": IntegSpec("sha1_160", "sha1", 20),
    "HMAC_SHA2_256_96": _integ_from_esp("sha256_96"),
    "HMAC_SHA2_256_128": _integ_from_esp("sha256"),
    "HMAC_SHA2_384_192": _integ_from_esp("sha384"),
    "HMAC_SHA2_512_256": _integ_from_esp("sha512"),
    "AES_CMAC_96": IntegSpec("aescmac", "cmac", 12),
}
_INTEG_KEYWORDS = {
    "none": "NONE",
    "md5": "HMAC_MD5_96",
    "md5_128": "HMAC_MD5_128",
    "sha1": "HMAC_SHA1_96",
    "sha": "HMAC_SHA1_96",
    "sha1_160": "HMAC_SHA1_160",
    "sha256_96": "HMAC_SHA2_256_96",
    "sha256": "HMAC_SHA2_256_128",
    "sha2_256": "HMAC_SHA2_256_128",
    "sha384": "HMAC_SHA2_384_192",
    "sha512": "HMAC_SHA2_512_256",
    "aescmac": "AES_CMAC_96",
}


def integ_spec(name: str) -> IntegSpec | None:
    """An integrity spec (None for NONE/AEAD); ``ANY n-bits`` means length known, no check."""
    raw = name.split("[")[0].strip()
    m = re.match(r"ANY (\d+)-BITS", raw.upper())
    if m:
        return IntegSpec(f"any{m.group(1)}", "none", int(m.group(1)) // 8, check=False)
    up = raw.upper().removeprefix("AUTH_")
    if up in _INTEG:
        return _INTEG[up]
    low = raw.lower()
    if low in _INTEG_KEYWORDS:
        return _INTEG[_INTEG_KEYWORDS[low]]
    raise ValueError(f"unknown IKE integrity algorithm {name!r}")


def _hex(value: Any, what: str) -> bytes:
    try:
        return parse_hex(value)
    except ValueError as exc:
        raise ValueError(f"{what} {exc}") from None


def _spi(value: Any) -> str:
    text = str(value).strip().lower().removeprefix("0x")
    if not re.fullmatch(r"[0-9a-f]{16}", text):
        raise ValueError(f"IKE SPI {value!r} is not 16 hex digits")
    return text


def ikev2_keys(
    spi_i: Any,
    spi_r: Any,
    sk_ei: Any,
    sk_er: Any,
    encryption: str,
    sk_ai: Any,
    sk_ar: Any,
    integrity: str,
    keysize: int | None = None,
) -> Ikev2Keys:
    """Validated keys for one IKEv2 SA (ValueError naming the bad field)."""
    encr = encr_spec(encryption, keysize)
    integ = None if encr.aead else integ_spec(integrity or "NONE")
    keys = Ikev2Keys(
        _spi(spi_i),
        _spi(spi_r),
        encr,
        integ,
        _hex(sk_ei, "SK_ei"),
        _hex(sk_er, "SK_er"),
        _hex(sk_ai, "SK_ai"),
        _hex(sk_ar, "SK_ar"),
    )
    want = encr.key_len + encr.salt_len
    for label, key in (("SK_ei", keys.sk_ei), ("SK_er", keys.sk_er)):
        if encr.mode != "null" and len(key) != want:
            raise ValueError(f"{label} has {len(key)} bytes, {encr.keyword} needs {want}")
    return keys


def parse_keys(text: str, source: str = "<keys>") -> KeyTable:
    """Parse any supported key format; InputFileError names the file and line on bad input."""
    table = KeyTable()
    stripped = text.strip()
    if stripped.startswith(("ikev2:", "ikev1:", "{")) or re.match(r"^(ikev[12]|-)\s*:", stripped):
        _parse_yaml(text, source, table)
        return table
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        try:
            if s.startswith("ikev2 "):
                _tcpdump_line(s, table)
                continue
            if s.startswith("ikev1 ") or (s.startswith("0x") and " " not in s):
                continue
            fields = next(csv.reader([s], skipinitialspace=True))
            if len(fields) == 8:
                k = ikev2_keys(
                    fields[0],
                    fields[1],
                    fields[2],
                    fields[3],
                    fields[4],
                    fields[5],
                    fields[6],
                    fields[7],
                )
                table.ikev2[(k.spi_i, k.spi_r)] = k
            elif len(fields) == 2:
                table.ikev1[_spi(fields[0])] = _hex(fields[1], "IKEv1 key")
            else:
                raise ValueError(
                    f"expected 8 fields (ikev2_decryption_table) or 2 "
                    f"(ikev1_decryption_table), found {len(fields)}"
                )
        except (ValueError, StopIteration) as exc:
            raise InputFileError(
                f"{source}:{lineno}: bad key line: {exc}",
                hint="see `ipsecctl diag ike --help` for the key formats",
            ) from exc
    return table


def _tcpdump_line(line: str, table: KeyTable) -> None:
    """``ikev2 I|R SPIi SPIr integ:0xKEY encr:0xKEY`` (tcpdump -E): one direction per line."""
    parts = line.split()
    if len(parts) != 6 or parts[1] not in ("I", "R"):
        raise ValueError("tcpdump ikev2 line needs: ikev2 I|R SPIi SPIr integ:0x.. encr:0x..")
    spi_i, spi_r = _spi(parts[2]), _spi(parts[3])
    ialg, ikey = parts[4].split(":", 1)
    ealg, ekey = parts[5].split(":", 1)
    old = table.ikev2.get((spi_i, spi_r))
    ei = _hex(ekey, "SK_e") if parts[1] == "I" else (old.sk_ei if old else b"")
    er = _hex(ekey, "SK_e") if parts[1] == "R" else (old.sk_er if old else b"")
    ai = _hex(ikey, "SK_a") if parts[1] == "I" else (old.sk_ai if old else b"")
    ar = _hex(ikey, "SK_a") if parts[1] == "R" else (old.sk_ar if old else b"")
    encr = encr_spec(ealg)
    integ = integ_spec(ialg)
    table.ikev2[(spi_i, spi_r)] = Ikev2Keys(spi_i, spi_r, encr, integ, ei, er, ai, ar)


def _parse_yaml(text: str, source: str, table: KeyTable) -> None:
    try:
        doc = load_key_yaml(text) or {}
    except yaml.YAMLError as exc:
        # not str(exc): its snippet of the offending line could print key material
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InputFileError(
            f"{where}: not valid YAML: {problem}",
            hint="see `ipsecctl diag ike --help` for the key formats",
        ) from None
    if not isinstance(doc, dict):
        raise InputFileError(f"{source}: expected a mapping with ikev2:/ikev1: lists")
    for i, row in enumerate(doc.get("ikev2") or [], 1):
        try:
            k = ikev2_keys(
                row["spi_i"],
                row["spi_r"],
                row.get("sk_ei"),
                row.get("sk_er"),
                str(row["encryption"]),
                row.get("sk_ai"),
                row.get("sk_ar"),
                str(row.get("integrity") or "NONE"),
                row.get("keysize"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(
                f"{source}: ikev2 entry {i}: {exc}",
                hint="each entry needs spi_i, spi_r, sk_ei, sk_er, "
                "encryption, sk_ai, sk_ar, integrity",
            ) from exc
        table.ikev2[(k.spi_i, k.spi_r)] = k
    for i, row in enumerate(doc.get("ikev1") or [], 1):
        try:
            table.ikev1[_spi(row["cookie_i"])] = _hex(row["key"], "key")
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(f"{source}: ikev1 entry {i}: {exc}") from exc


def load_keys(path: str | Path) -> KeyTable:
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(
            f"{p}: cannot read key file: {exc}",
            hint="give a Wireshark ikev2_decryption_table, tcpdump secrets "
            "or ipsecctl YAML key file",
        ) from exc
    table = parse_keys(text, str(p))
    if not len(table):
        raise InputFileError(f"{p}: no IKE keys found", hint="see the key formats in --help")
    return table


_WS_ENCR = {
    "cbc": "AES-CBC-{b} [RFC3602]",
    "ctr": "AES-CTR-{b} [RFC5930]",
    "gcm": "AES-GCM-{b} with {i} octet ICV [RFC5282]",
    "ccm": "AES-CCM-{b} with {i} octet ICV [RFC5282]",
}
_WS_INTEG = {
    "md5": "HMAC_MD5_96 [RFC2403]",
    "sha1": "HMAC_SHA1_96 [RFC2404]",
    "sha1_160": "HMAC_SHA1_160 [RFC4595]",
    "sha256": "HMAC_SHA2_256_128 [RFC4868]",
    "sha384": "HMAC_SHA2_384_192 [RFC4868]",
    "sha512": "HMAC_SHA2_512_256 [RFC4868]",
}


def wireshark_uat_line(k: Ikev2Keys) -> str:
    """One ``ikev2_decryption_table`` line for Wireshark/tshark (keys are in it: handle as
    a secret)."""
    e = k.encr
    if e.mode == "null":
        enc = "NULL [RFC2410]"
    elif e.mode == "3des":
        enc = "3DES [RFC2451]"
    elif e.mode == "chacha":
        raise ValueError("Wireshark 4.0 has no ChaCha20-Poly1305 for IKEv2")
    else:
        enc = _WS_ENCR[e.mode].format(b=e.key_len * 8, i=e.icv_len)
    integ = "NONE [RFC4306]" if k.integ is None else _WS_INTEG[k.integ.keyword]
    # UAT byte fields are bare hex; enumerations are quoted strings
    return ",".join(
        [
            k.spi_i,
            k.spi_r,
            k.sk_ei.hex(),
            k.sk_er.hex(),
            f'"{enc}"',
            k.sk_ai.hex(),
            k.sk_ar.hex(),
            f'"{integ}"',
        ]
    )
