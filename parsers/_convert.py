"""Device spellings -> the product's vocabulary (strongSwan keywords, ints, seconds).

Kept apart from the templates because the mapping is the same for every Cisco command and
every template: a transform set, an IKE proposal column and a session line all say "aes 256".
Unknown spellings give ``None`` (the raw text stays in the record), never a guess. The ESP
transform names carry their key size by definition (IOS and ASA print ``esp-aes`` only for
128-bit keys, ``esp-192-aes`` / ``esp-aes-256`` otherwise; ``esp-gcm`` is 128 unless a size
follows), which is why ``esp-aes`` maps to ``aes128`` while the IKE table's bare ``aes`` does
not map at all. DH groups are IANA numbers (``DH_KEYWORDS`` gives strongSwan's names, for
people).
"""

from __future__ import annotations

import functools
import re

#: strongSwan's keywords of the IANA Diffie-Hellman groups (RFC 2409, 3526, 5114, 5903, 6932,
#: 7748, 8031): the one table; the IKE decoder, the probe and the tables use it too.
DH_KEYWORDS: dict[int, str] = {
    1: "modp768",
    2: "modp1024",
    5: "modp1536",
    14: "modp2048",
    15: "modp3072",
    16: "modp4096",
    17: "modp6144",
    18: "modp8192",
    19: "ecp256",
    20: "ecp384",
    21: "ecp521",
    22: "modp1024s160",
    23: "modp2048s224",
    24: "modp2048s256",
    25: "ecp192",
    26: "ecp224",
    27: "ecp224bp",
    28: "ecp256bp",
    29: "ecp384bp",
    30: "ecp512bp",
    31: "curve25519",
    32: "curve448",
}

_HASH = {
    "sha": "sha1",
    "sha1": "sha1",
    "sha96": "sha1",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "md5": "md5",
    "md596": "md5",
}


def to_int(value: object) -> int | None:
    """Digits -> int; ``None`` for no value or not a number.

    Raises ``ValueError`` for more than 20 digits (past any 64-bit counter): such a value is
    malformed output, which the parsers report rather than carry.
    """
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > 20 and text.lstrip("-").isdigit():
        raise ValueError(f"number out of range: {text[:24]}...")
    try:
        return int(text)
    except ValueError:
        return None


_SPI = re.compile(r"\s*(?:0x)?([0-9A-Fa-f]+)")


def spi_to_int(text: str | None) -> int | None:
    """``0x658F7C11(1703902225)`` / ``0x658F7C11`` / ``658F7C11`` -> int; the hex part wins."""
    if not text:
        return None
    head = text.split("(", 1)[0].strip()
    if head[:2] in ("0x", "0X"):
        head = head[2:]
    if head.isalnum():  # the usual case, without a regex (hubs print tens of thousands)
        try:
            return int(head, 16)
        except ValueError:
            pass
    match = _SPI.match(text)
    if not match:
        return None
    return int(match.group(1), 16)


def hms_to_seconds(text: str | None) -> int | None:
    """``hh:mm:ss`` (or ``mm:ss``, or ``NdNh``) -> seconds."""
    if not text:
        return None
    parts = text.strip().split(":")
    if all(parts) and "".join(parts).isdigit():  # every part digits (C-level, no generator)
        total = 0
        for part in parts:
            total = total * 60 + int(part)
        return total
    match = re.fullmatch(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?", text.strip())
    if match and any(match.groups()):
        w, d, h, m = (int(g) if g else 0 for g in match.groups())
        return ((w * 7 + d) * 24 + h) * 3600 + m * 60
    return None


@functools.lru_cache(maxsize=512)  # pure; a hub repeats a few spellings
def hash_keyword(text: str | None) -> str | None:
    if not text:
        return None
    return _HASH.get(text.strip().lower().replace("-", "").replace("hmac", ""))


@functools.lru_cache(maxsize=512)  # pure; a hub repeats a few spellings
def cipher_keyword(name: str | None, keysize: int | None = None) -> str | None:
    """IKE column spellings: ``aes`` ``AES-CBC`` ``AES-GCM`` ``aes-256`` ``3des`` (+ key size).

    An AES spelling without a key size (the IOS ISAKMP table prints ``aes`` for 128, 192 and
    256 alike) gives ``None``: the size is not in the output, so it is not guessed.
    """
    if not name:
        return None
    raw = name.strip().lower()
    match = re.fullmatch(r"(aes(?:-cbc|-gcm|-gmac)?)[-:]?(\d+)", raw)
    if match:
        raw, keysize = match.group(1), int(match.group(2))
    if raw in ("aes", "aes-cbc"):
        return f"aes{keysize}" if keysize else None
    if raw == "aes-gcm":
        return f"aes{keysize}gcm16" if keysize else None
    if raw in ("aes-gmac",):
        return f"aes{keysize}gmac" if keysize else None
    if raw in ("3des", "des", "null"):
        return raw
    return None


@functools.lru_cache(maxsize=512)  # pure; a hub repeats a few spellings
def auth_keyword(text: str | None) -> str | None:
    if not text:
        return None
    raw = text.strip().lower()
    return {
        "psk": "psk",
        "pre-share": "psk",
        "rsig": "rsig",
        "rsa": "rsig",
        "rsa-sig": "rsig",
        "ecdsa": "ecdsa",
        "eap": "eap",
        "renc": "renc",
    }.get(raw, raw or None)


_ESP_CIPHERS = {
    "esp-des": ("des", None),
    "esp-3des": ("3des", None),
    "esp-aes": ("aes", 128),
    "esp-128-aes": ("aes", 128),
    "esp-192-aes": ("aes", 192),
    "esp-256-aes": ("aes", 256),
    "esp-gcm": ("gcm", 128),
    "esp-gmac": ("gmac", 128),
    "esp-null": ("null", None),
    # ASA spells the key size after the cipher
    "esp-aes-128": ("aes", 128),
    "esp-aes-192": ("aes", 192),
    "esp-aes-256": ("aes", 256),
    "esp-aes-gcm": ("gcm", 128),
    "esp-aes-gcm-192": ("gcm", 192),
    "esp-aes-gcm-256": ("gcm", 256),
    "esp-aes-gmac": ("gmac", 128),
    "esp-aes-gmac-256": ("gmac", 256),
}


def transform_keywords(transform: str | None) -> tuple[str | None, str | None]:
    """``esp-256-aes esp-sha-hmac`` -> (``aes256``, ``sha1``); ``esp-gcm 256`` -> aes256gcm16."""
    if not transform:
        return None, None
    encryption: str | None = None
    integrity: str | None = None
    family: str | None = None
    size: int | None = None
    for token in transform.replace(",", " ").split():
        low = token.lower()
        if low.isdigit() and family is not None:
            size = int(low)
        elif low in _ESP_CIPHERS:
            family, size = _ESP_CIPHERS[low]
        elif low.endswith("-hmac"):
            integrity = hash_keyword(low.split("-", 1)[1])
    if family == "aes":
        encryption = f"aes{size}"
    elif family == "gcm":
        encryption = f"aes{size}gcm16"
    elif family == "gmac":
        encryption = f"aes{size}gmac"
    elif family is not None:
        encryption = family
    return encryption, integrity


def group_number(text: str | None) -> int | None:
    """``group14`` / ``14`` / ``none`` -> 14 / 14 / None."""
    if not text:
        return None
    match = re.search(r"(\d+)", text)
    return int(match.group(1)) if match else None


def split_addr_port(text: str | None) -> tuple[str | None, int | None]:
    """``10.1.1.1/500`` or ``2001:db8::1/4500`` -> (address, port)."""
    if not text:
        return None, None
    addr, sep, port = text.rpartition("/")
    if sep and port.isdigit():
        return addr, int(port)
    return text, None


def mask_to_prefix(addr: str, mask: str) -> str:
    """``10.1.0.0`` + ``255.255.255.0`` -> ``10.1.0.0/24``; IPv6 masks are already lengths."""
    if mask.isdigit():
        return f"{addr}/{mask}"
    try:
        bits = sum(bin(int(octet)).count("1") for octet in mask.split("."))
    except ValueError:
        return f"{addr}/{mask}"
    return f"{addr}/{bits}"
