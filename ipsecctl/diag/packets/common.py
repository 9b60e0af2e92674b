"""Helpers shared by the ESP/AH and the IKE diagnostics: one copy of each.

Why a module of its own: key files for ESP and for IKE spell key bytes the same ways, both
decryptors need the same hash table and HMAC template, and both reports print capture times in
the same ISO-8601 form. Keeping them here means a fix (a new hex spelling, a new hash) lands
once for both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, hmac

__all__ = ["HASHES", "TripleDES", "hmac_template", "iso_utc", "parse_hex"]

HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
"""Hash names used by both algorithm tables (ESP ``IntegSuite.hash``, IKE ``IntegSpec``)."""


def hmac_template(hash_name: str, key: bytes) -> hmac.HMAC:
    """A keyed HMAC to ``copy()`` per packet (saves the key schedule on every packet)."""
    return hmac.HMAC(key, HASHES[hash_name]())


def parse_hex(text: object) -> bytes:
    """Key bytes from the spellings key files use: ``0x..``, ``aa:bb``, spaces, quotes.

    Empty text gives ``b""``; anything else that is not hexadecimal raises ``ValueError``
    (callers turn it into an error naming their file and line).
    """
    t = str(text if text is not None else "").strip().strip("'\"").strip()
    if t[:2].lower() == "0x":
        t = t[2:]
    t = t.replace(":", "").replace(" ", "")
    if not t:
        return b""
    return bytes.fromhex(t)


def iso_utc(ts: Any) -> str | None:
    """A capture timestamp (seconds) as ISO-8601 UTC with ``Z``; None when it is no time."""
    try:
        return datetime.fromtimestamp(float(ts), UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError, OSError):
        return None
