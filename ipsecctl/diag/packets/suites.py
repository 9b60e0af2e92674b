"""ESP/AH algorithm table as data, and the spellings each key-file format uses for it.

Canonical names are strongSwan keywords (the project's JSON vocabulary). Every other spelling
(Wireshark UAT, tcpdump -E, ``ip xfrm state``, Cisco transform sets) is an alias that maps to a
canonical entry, or to a *family* whose key size is only known from the key itself (Wireshark's
"AES-CBC [RFC3602]" covers AES-128/192/256).
"""

from __future__ import annotations

import re
from typing import NamedTuple


class EncSuite(NamedTuple):
    """An ESP encryption (or combined-mode) transform."""

    name: str
    kind: str
    """null | cbc | ctr | gcm | gmac | chacha."""
    cipher: str
    """aes | des | 3des | chacha20 | '' (null)."""
    key_len: int
    """Cipher key bytes, without the salt/nonce."""
    salt_len: int
    iv_len: int
    align: int
    """Padding alignment: the cipher block size, at least 4 (RFC 4303 2.4)."""
    icv_len: int
    """AEAD tag length; 0 for non-AEAD transforms (the integrity suite gives the ICV)."""

    @property
    def aead(self) -> bool:
        return self.kind in ("gcm", "gmac", "chacha")

    @property
    def total_key_len(self) -> int:
        return self.key_len + self.salt_len


class IntegSuite(NamedTuple):
    """An integrity transform (truncated HMAC), or a length-only 'no checking' placeholder."""

    name: str
    hash: str | None
    """md5 | sha1 | sha256 | sha384 | sha512; None: skip icv_len bytes without checking."""
    key_len: int
    icv_len: int


def _build_enc() -> dict[str, EncSuite]:
    t: dict[str, EncSuite] = {
        "null": EncSuite("null", "null", "", 0, 0, 0, 4, 0),
        "des": EncSuite("des", "cbc", "des", 8, 0, 8, 8, 0),
        "3des": EncSuite("3des", "cbc", "3des", 24, 0, 8, 8, 0),
        "chacha20poly1305": EncSuite("chacha20poly1305", "chacha", "chacha20", 32, 4, 8, 4, 16),
    }
    for bits in (128, 192, 256):
        k = bits // 8
        t[f"aes{bits}"] = EncSuite(f"aes{bits}", "cbc", "aes", k, 0, 16, 16, 0)
        t[f"aes{bits}ctr"] = EncSuite(f"aes{bits}ctr", "ctr", "aes", k, 4, 8, 4, 0)
        t[f"aes{bits}gmac"] = EncSuite(f"aes{bits}gmac", "gmac", "aes", k, 4, 8, 4, 16)
        for icv in (8, 12, 16):
            n = f"aes{bits}gcm{icv}"
            t[n] = EncSuite(n, "gcm", "aes", k, 4, 8, 4, icv)
    return t


def _build_integ() -> dict[str, IntegSuite]:
    t = {
        "null": IntegSuite("null", None, 0, 0),
        "md5": IntegSuite("md5", "md5", 16, 12),
        "sha1": IntegSuite("sha1", "sha1", 20, 12),
        "sha256_96": IntegSuite("sha256_96", "sha256", 32, 12),
        "sha256": IntegSuite("sha256", "sha256", 32, 16),
        "sha384": IntegSuite("sha384", "sha384", 48, 24),
        "sha512": IntegSuite("sha512", "sha512", 64, 32),
    }
    for bits in (64, 96, 128, 192, 256):
        t[f"any{bits}"] = IntegSuite(f"any{bits}", None, 0, bits // 8)
    return t


ENCRYPTION: dict[str, EncSuite] = _build_enc()
INTEGRITY: dict[str, IntegSuite] = _build_integ()

# Aliases, keyed by normalised spelling (lower case, bracketed references and punctuation gone).
# A value with "{bits}" is a family: the AES key size comes from the key length.
_ENC_ALIASES: dict[str, str] = {
    "null": "null",
    "none": "null",
    "encrnull": "null",
    "espnull": "null",
    "ecbciphernull": "null",
    "ciphernull": "null",
    "des": "des",
    "descbc": "des",
    "espdes": "des",
    "cbcdes": "des",
    "3des": "3des",
    "3descbc": "3des",
    "tripledescbc": "3des",
    "tripledes": "3des",
    "esp3des": "3des",
    "cbcdes3ede": "3des",
    "des3ede": "3des",
    "des3": "3des",
    "aes": "aes{bits}",
    "aescbc": "aes{bits}",
    "espaes": "aes{bits}",
    "cbcaes": "aes{bits}",
    "aesctr": "aes{bits}ctr",
    "rfc3686ctraes": "aes{bits}ctr",
    "ctraes": "aes{bits}ctr",
    "aesgcmwith8octeticv": "aes{bits}gcm8",
    "aesgcmwith12octeticv": "aes{bits}gcm12",
    "aesgcmwith16octeticv": "aes{bits}gcm16",
    "aesgcm": "aes{bits}gcm16",
    "espgcm": "aes{bits}gcm16",
    "gcmaes": "aes{bits}gcm16",
    "rfc4106gcmaes": "aes{bits}gcm16",
    "espgmac": "aes{bits}gmac",
    "rfc4543gcmaes": "aes{bits}gmac",
    "aesgmac": "aes{bits}gmac",
    "nullencryptionwithaesgmac": "aes{bits}gmac",
    "aesnullgmac": "aes{bits}gmac",
    "chacha20withpoly1305": "chacha20poly1305",
    "chacha20poly1305": "chacha20poly1305",
    "rfc7539espchacha20poly1305": "chacha20poly1305",
    "chacha20poly1305esp": "chacha20poly1305",
}
_INTEG_ALIASES: dict[str, str] = {
    "null": "null", "none": "null", "noauth": "null", "authnull": "null", "":
    "null",
    "md5": "md5", "hmacmd5": "md5", "hmacmd596": "md5", "espmd5hmac": "md5", "md596": "md5",
    "ahmd5hmac": "md5",
    "sha1": "sha1", "sha": "sha1", "hmacsha1": "sha1", "hmacsha196": "sha1", "espshahmac": "sha1",
    "sha196": "sha1", "ahshahmac": "sha1", "espsha1hmac": "sha1",
    "sha256": "sha256", "sha2256": "sha256", "hmacsha256": "sha256", "hmacsha256128": "sha256",
    "espsha256hmac": "sha256", "sha256128": "sha256", "sha2256128": "sha256",
    "ahsha256hmac": "sha256",
    "sha25696": "sha256_96", "hmacsha25696": "sha256_96",
    "sha384": "sha384", "sha2384": "sha384", "hmacsha384": "sha384", "hmacsha384192": "sha384",
    "espsha384hmac": "sha384", "sha384192": "sha384", "ahsha384hmac": "sha384",
    "sha512": "sha512", "sha2512": "sha512", "hmacsha512": "sha512", "hmacsha512256": "sha512",
    "espsha512hmac": "sha512", "sha512256": "sha512", "ahsha512hmac": "sha512",
    "hmac96": "any96",
}  # fmt: skip

# strongSwan-style keywords with an explicit tag length in bits (aes256gcm128 == aes256gcm16).
_GCM_BITS = re.compile(r"^aes(128|192|256)gcm(64|96|128)$")
_ANY_BITS = re.compile(r"^any(64|96|128|192|256)bit")


class SuiteError(ValueError):
    """An algorithm name or key length that no suite matches (message is operator-facing)."""


def normalise(name: str) -> str:
    """Lower case, drop bracketed references ("[RFC3602]") and every non-alphanumeric byte."""
    name = re.sub(r"[\[(]\s*rfc\w*[\])]|\[[^\]]*\]", "", name.lower())
    return re.sub(r"[^a-z0-9]", "", name)


def encryption_suite(
    name: str, key_len: int | None = None, icv_bits: int | None = None
) -> EncSuite:
    """Resolve any known spelling to a suite; ``key_len`` (bytes, salt included) picks the size.

    ``icv_bits`` overrides the tag length of a GCM family (``ip xfrm`` prints it separately).
    """
    norm = normalise(name)
    if norm in ENCRYPTION:
        return ENCRYPTION[norm]
    m = _GCM_BITS.match(norm)
    if m:
        return ENCRYPTION[f"aes{m.group(1)}gcm{int(m.group(2)) // 8}"]
    if norm.endswith("cbc") and norm[:-3] in ENCRYPTION:  # aes256-cbc (tcpdump / OpenSSL)
        return ENCRYPTION[norm[:-3]]
    target = _ENC_ALIASES.get(norm)
    if target is None:
        raise SuiteError(f"unknown encryption algorithm {name!r}")
    if "{bits}" not in target:
        return ENCRYPTION[target]
    if key_len is None:
        raise SuiteError(f"encryption {name!r} needs a key to tell the AES key size")
    if icv_bits is not None and "gcm" in target:
        target = target.replace("gcm16", f"gcm{icv_bits // 8}")
    salt = 4 if ("ctr" in target or "gcm" in target or "gmac" in target) else 0
    bits = (key_len - salt) * 8
    if bits not in (128, 192, 256):
        raise SuiteError(
            f"a {key_len}-byte key fits no AES size for {name!r} "
            f"({'16/24/32 + 4-byte salt' if salt else '16, 24 or 32 bytes'})"
        )
    resolved = target.replace("{bits}", str(bits))
    if resolved not in ENCRYPTION:
        raise SuiteError(f"unsupported encryption {name!r} ({resolved})")
    return ENCRYPTION[resolved]


def integrity_suite(name: str, icv_bits: int | None = None) -> IntegSuite:
    """Resolve any known spelling; ``icv_bits`` (``auth-trunc ... 128``) must match the suite."""
    norm = normalise(name)
    m = _ANY_BITS.match(norm)
    if m:
        return INTEGRITY[f"any{m.group(1)}"]
    target = norm if norm in INTEGRITY else _INTEG_ALIASES.get(norm)
    if target is None:
        raise SuiteError(f"unknown integrity algorithm {name!r}")
    suite = INTEGRITY[target]
    if icv_bits is not None and suite.hash and icv_bits // 8 != suite.icv_len:
        if suite.hash == "sha256" and icv_bits == 96:
            return INTEGRITY["sha256_96"]
        raise SuiteError(
            f"{name} truncated to {icv_bits} bits is not a standard ESP integrity transform"
        )
    return suite
