"""Helpers shared by the ESP/AH and the IKE diagnostics: one copy of each.

Why a module of its own: key files for ESP and for IKE spell key bytes the same ways, both
decryptors need the same hash table and HMAC template, and both reports print capture times in
the same ISO-8601 form. Keeping them here means a fix (a new hex spelling, a new hash) lands
once for both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import yaml
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, hmac

__all__ = [
    "HASHES", "TripleDES", "YamlInt", "hex_problem", "hmac_template", "iso_utc", "load_key_yaml",
    "parse_hex",
]  # fmt: skip

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


class YamlInt(int):
    """An int YAML read from a plain scalar, with the scalar's original text.

    Why: YAML 1.1 reads an unquoted ``enc_key: 0x0011..`` (or an all-digit hex key) as an
    integer, which loses leading zero bytes and, through ``str()``, turns hex into decimal.
    Key files hold hex text, so ``str()`` gives the text back (``parse_hex`` then sees what
    the user wrote) while SPIs and sizes still work as numbers.
    """

    text: str

    def __new__(cls, value: int, text: str) -> YamlInt:
        obj = super().__new__(cls, value)
        obj.text = text
        return obj

    def __str__(self) -> str:
        return self.text

    def __reduce__(self) -> tuple[type[int], tuple[int]]:
        return int, (int(self),)  # pickles as the plain number (SAs go to worker processes)


class _KeyLoader(yaml.SafeLoader):
    """SafeLoader whose ints remember their source text (see :class:`YamlInt`)."""


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    value = yaml.SafeLoader.construct_yaml_int(loader, node)
    return YamlInt(value, str(node.value))


_KeyLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def load_key_yaml(text: str) -> Any:
    """``yaml.safe_load`` for key files: unquoted numbers keep their text (:class:`YamlInt`)."""
    return yaml.load(text, Loader=_KeyLoader)


def parse_hex(text: object) -> bytes:
    """Key bytes from the spellings key files use: ``0x..``, ``aa:bb``, spaces, quotes.

    Empty text gives ``b""``; anything else that is not hexadecimal raises ``ValueError``
    (callers turn it into an error naming their file and line). A number YAML read from an
    unquoted key is taken as the hex text it was written as (:class:`YamlInt`).
    """
    t = str(text if text is not None else "").strip().strip("'\"").strip()
    if t[:2].lower() == "0x":
        t = t[2:]
    t = t.replace(":", "").replace(" ", "")
    if isinstance(text, YamlInt):
        t = t.replace("_", "")
    if not t:
        return b""
    problem = hex_problem(t)
    if problem is not None:
        raise ValueError(problem)
    return bytes.fromhex(t)


_HEX = frozenset("0123456789abcdefABCDEF")


def hex_problem(t: str) -> str | None:
    """What is wrong with hex digits ``t`` (separators already removed), or None.

    The message says where, never what: the text is key material, so it names a position and
    a count, not the characters (a stray ``)`` or a pasted word after the key is common).
    """
    for i, ch in enumerate(t):
        if ch not in _HEX:
            return (f"is not hexadecimal: character {i + 1} is not a hex digit "
                    f"(after {i} hex digits)")  # fmt: skip
    if len(t) % 2:
        return f"is not whole bytes: {len(t)} hex digits (an odd number)"
    return None


def iso_utc(ts: Any) -> str | None:
    """A capture timestamp (seconds) as ISO-8601 UTC with ``Z``; None when it is no time."""
    try:
        return datetime.fromtimestamp(float(ts), UTC).isoformat().replace("+00:00", "Z")
    except (TypeError, ValueError, OverflowError, OSError):
        return None
