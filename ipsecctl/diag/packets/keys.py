"""Security-association key files: five formats in, one :class:`SecurityAssociation` list out.

Formats (auto-detected from the content, or forced with ``fmt``):

- ``wireshark``: Wireshark's ``esp_sa`` UAT file, one quoted CSV row per SA:
  ``"IPv4","192.168.0.1","192.168.0.100","0x070883c2","AES-CBC [RFC3602]","0x5de1..",
  "HMAC-SHA-1-96 [RFC2404]","0x51c9.."`` (``*`` is a wildcard address/SPI).
- ``tcpdump``: tcpdump's ``-E`` secrets file: ``[0xSPI@dst ]alg:0xKEY`` (``-hmac96`` suffix:
  a 12-byte ICV that tcpdump never checks).
- ``ipsecctl``: YAML or JSON ``{sas: [{spi, src, dst, protocol, encryption, enc_key, integrity,
  auth_key, esn}]}`` with strongSwan keywords.
- ``xfrm``: ``ip xfrm state`` output (with keys: ``ip -s xfrm state`` or plain ``ip xfrm state``).
- ``cisco``: crypto map ``ipsec-manual`` blocks with ``set session-key inbound|outbound esp SPI
  cipher HEX [authenticator HEX]`` and the transform set they reference.

Keys are secrets: they live only in ``repr=False`` fields and never reach messages or JSON.
A malformed entry raises :class:`InputFileError` naming the file and the 1-based line.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ipsecctl.diag.packets.common import YamlInt, load_key_yaml, parse_hex
from ipsecctl.diag.packets.suites import (
    INTEGRITY,
    EncSuite,
    IntegSuite,
    SuiteError,
    encryption_suite,
    integrity_suite,
)
from ipsecctl.errors import InputFileError

FORMATS = ("wireshark", "tcpdump", "ipsecctl", "xfrm", "cisco")


@dataclass(slots=True)
class SecurityAssociation:
    """One direction of one SA. ``src``/``dst`` None means any address."""

    spi: int
    protocol: str = "esp"
    src: str | None = None
    dst: str | None = None
    encryption: EncSuite | None = None
    enc_key: bytes = field(default=b"", repr=False)
    integrity: IntegSuite = INTEGRITY["null"]
    auth_key: bytes = field(default=b"", repr=False)
    esn: bool = False
    origin: str = ""
    """Where it was read: ``file:line`` (for messages; no secret)."""
    spi_wildcard: bool = False

    def describe(self) -> dict[str, Any]:
        """JSON-safe description without key material."""
        return {
            "spi": self.spi,
            "protocol": self.protocol,
            "src": self.src,
            "dst": self.dst,
            "encryption": self.encryption.name if self.encryption else None,
            "integrity": self.integrity.name,
            "esn": self.esn,
            "origin": self.origin,
        }


class _Err:
    """Builds InputFileError messages that name the file and line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __call__(self, line: int, msg: str) -> InputFileError:
        where = f"{self.path}:{line}" if line else str(self.path)
        return InputFileError(
            f"bad key file {where}: {msg}", hint="formats: docs/keys.md, `ipsecctl diag esp --help`"
        )


def _hex(text: object, err: _Err, line: int, what: str) -> bytes:
    try:
        return parse_hex(text)
    except ValueError as exc:
        raise err(line, f"{what} {exc}") from None


def _spi(text: str | int, err: _Err, line: int) -> int:
    if isinstance(text, int) and not isinstance(text, bool):
        value = int(text)  # a plain int: SAs are pickled to worker processes
    else:
        t = str(text).strip().strip("'\"")
        try:
            value = int(t, 16) if t.lower().startswith("0x") else int(t, 10)
        except ValueError:
            raise err(line, f"SPI {t!r} is not a number (use 0x1234abcd or decimal)") from None
    if not 0 <= value <= 0xFFFFFFFF:
        raise err(line, f"SPI {value} does not fit 32 bits")
    return value


def _addr(text: Any, err: _Err, line: int) -> str | None:
    if text is None:
        return None
    t = str(text).strip().strip("'\"")
    if t in ("", "*", "any", "0.0.0.0", "::"):
        return None
    try:
        return str(ipaddress.ip_address(t))
    except ValueError:
        raise err(line, f"{t!r} is not an IP address") from None


def _check(sa: SecurityAssociation, err: _Err, line: int) -> SecurityAssociation:
    """Reject key lengths that cannot work, so a typo is not reported as 'wrong key' later."""
    enc = sa.encryption
    spi = f"SPI 0x{sa.spi:08x}"
    if enc is not None and len(sa.enc_key) != enc.total_key_len:
        salt = f" (+{enc.salt_len}-byte salt)" if enc.salt_len else ""
        raise err(
            line,
            f"{spi}: {enc.name} needs a {enc.key_len}-byte key{salt}, got {len(sa.enc_key)} bytes",
        )
    integ = sa.integrity
    if integ.hash and not sa.auth_key:
        raise err(line, f"{spi}: integrity {integ.name} needs an authentication key")
    if enc is not None and enc.aead and integ.hash:
        raise err(line, f"{spi}: {enc.name} is a combined mode; integrity must be none")
    return sa


def _suites(
    enc_name: str | None,
    enc_key: bytes,
    integ_name: str | None,
    err: _Err,
    line: int,
    icv_bits: int | None = None,
    auth_bits: int | None = None,
) -> tuple[EncSuite | None, IntegSuite]:
    try:
        enc = encryption_suite(enc_name, len(enc_key), icv_bits) if enc_name is not None else None
        integ = integrity_suite(integ_name or "null", auth_bits)
    except SuiteError as exc:
        raise err(line, str(exc)) from None
    return enc, integ


# --------------------------------------------------------------------------- wireshark
_CSV_FIELD = re.compile(r'"((?:[^"\\]|\\.)*)"')


def parse_wireshark(text: str, path: Path) -> list[SecurityAssociation]:
    err = _Err(path)
    out: list[SecurityAssociation] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = _CSV_FIELD.findall(line)
        if len(fields) < 8:
            raise err(no, f"expected 8 quoted fields (esp_sa UAT row), found {len(fields)}")
        proto, src, dst, spi_t, enc_n, enc_k, auth_n, auth_k = fields[:8]
        wildcard = spi_t.strip() in ("*", "")
        spi = 0 if wildcard else _spi(spi_t, err, no)
        enc_key = _hex(enc_k, err, no, "encryption key")
        auth_key = _hex(auth_k, err, no, "authentication key")
        enc, integ = _suites(enc_n, enc_key, auth_n, err, no)
        sa = SecurityAssociation(
            spi, "esp", _addr(src, err, no), _addr(dst, err, no), enc, enc_key, integ, auth_key,
            origin=f"{path.name}:{no}", spi_wildcard=wildcard,
        )  # fmt: skip
        _ = proto
        out.append(_check(sa, err, no))
    return out


# --------------------------------------------------------------------------- tcpdump
_TCPDUMP = re.compile(
    r"^(?:(?P<spi>0x[0-9a-fA-F]+|\d+)@(?P<addr>\S+)\s+)?(?P<alg>[A-Za-z0-9_-]+):(?P<key>\S+)$"
)


def parse_tcpdump(text: str, path: Path) -> list[SecurityAssociation]:
    err = _Err(path)
    out: list[SecurityAssociation] = []
    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#") or line.startswith("ikev2 "):
            continue
        for item in (i.strip() for i in line.split(",") if i.strip()):
            m = _TCPDUMP.match(item)
            if not m:
                raise err(no, "expected `[0xSPI@address ]algorithm:0xKEY` (tcpdump -E syntax)")
            alg = m.group("alg").lower()
            integ_name = "null"
            if alg.endswith("-hmac96"):
                alg, integ_name = alg[: -len("-hmac96")], "any96"
            key = _hex(m.group("key"), err, no, "key")
            enc, integ = _suites(alg, key, integ_name, err, no)
            spi_t = m.group("spi")
            sa = SecurityAssociation(
                _spi(spi_t, err, no) if spi_t else 0, "esp", None,
                _addr(m.group("addr"), err, no), enc, key, integ, b"",
                origin=f"{path.name}:{no}", spi_wildcard=spi_t is None,
            )  # fmt: skip
            out.append(_check(sa, err, no))
    return out


# --------------------------------------------------------------------------- ipsecctl yaml/json
def _key_field(entry: dict[str, Any], name: str, err: _Err, line: int, size: int | None) -> bytes:
    """A hex key field; an unquoted value that YAML read as a number is taken as hex text.

    ``size`` (bytes, from the algorithm) restores leading zero bytes of a number that came
    without its text (a JSON/YAML int built elsewhere).
    """
    value = entry.get(name)
    if value is None or value == "":
        return b""
    if isinstance(value, bool):
        raise err(line, f"{name} must be hexadecimal text, not {value!r}")
    if isinstance(value, YamlInt):
        return _hex(value, err, line, name)
    if isinstance(value, int):
        if value < 0:
            raise err(line, f"{name} must be hexadecimal text, not a negative number")
        n = max(size or 0, (value.bit_length() + 7) // 8)
        return value.to_bytes(n, "big")
    if not isinstance(value, str):
        raise err(line, f"{name} must be hexadecimal text (quote it: {name}: '0x0011..')")
    return _hex(value, err, line, name)


def _expected_key_len(kind: str, name: object) -> int | None:
    """Key bytes a named algorithm needs (None for AES families sized by their key)."""
    try:
        if kind == "enc":
            return encryption_suite(str(name)).total_key_len
        return integrity_suite(str(name)).key_len or None
    except SuiteError:
        return None


def parse_ipsecctl(text: str, path: Path) -> list[SecurityAssociation]:
    """The ipsecctl YAML/JSON key format (documented in docs/keys.md)."""
    err = _Err(path)
    try:
        doc = load_key_yaml(text)  # JSON is YAML
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise err(mark.line + 1 if mark else 0, "not valid YAML/JSON") from None
    entries = doc.get("sas") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise err(0, "expected a top-level `sas:` list")
    # yaml does not keep line numbers on plain loads: find each entry's line by its index.
    starts = [i + 1 for i, ln in enumerate(text.splitlines()) if ln.lstrip().startswith("- ")]
    out: list[SecurityAssociation] = []
    for idx, entry in enumerate(entries):
        no = starts[idx] if idx < len(starts) else 0
        if not isinstance(entry, dict):
            raise err(no, f"SA #{idx + 1} is not a mapping")
        if "spi" not in entry:
            raise err(no, f"SA #{idx + 1} has no spi")
        proto = str(entry.get("protocol", "esp")).lower()
        if proto not in ("esp", "ah"):
            raise err(no, f"protocol {proto!r} is neither esp nor ah")
        # YAML reads a bare `null` as None: for ESP that still means ENCR_NULL.
        enc_name = (entry.get("encryption") or "null") if proto == "esp" else None
        enc_size = _expected_key_len("enc", enc_name) if enc_name is not None else None
        auth_size = _expected_key_len("integ", entry.get("integrity") or "null")
        enc_key = _key_field(entry, "enc_key", err, no, enc_size)
        auth_key = _key_field(entry, "auth_key", err, no, auth_size)
        enc, integ = _suites(
            str(enc_name) if enc_name is not None else None, enc_key,
            str(entry.get("integrity", "null") or "null"), err, no,
        )  # fmt: skip
        sa = SecurityAssociation(
            _spi(entry["spi"], err, no), proto, _addr(entry.get("src"), err, no),
            _addr(entry.get("dst"), err, no), enc, enc_key, integ, auth_key,
            bool(entry.get("esn", False)), origin=f"{path.name}:{no}",
        )  # fmt: skip
        out.append(_check(sa, err, no))
    return out


# --------------------------------------------------------------------------- ip xfrm state
_XFRM_ALG_KINDS = ("enc", "auth", "auth-trunc", "aead")
_XFRM_ENC_NAMES = {
    "cbc(aes)": "aes", "cbc(des3_ede)": "3des", "cbc(des)": "des", "ecb(cipher_null)": "null",
    "cipher_null": "null", "rfc3686(ctr(aes))": "aesctr", "rfc4106(gcm(aes))": "aesgcm",
    "rfc4543(gcm(aes))": "aesgmac", "rfc7539esp(chacha20,poly1305)": "chacha20poly1305",
}  # fmt: skip
_XFRM_AUTH_NAMES = {
    "hmac(md5)": "md5", "hmac(sha1)": "sha1", "hmac(sha256)": "sha256",
    "hmac(sha384)": "sha384", "hmac(sha512)": "sha512", "digest_null": "null",
}  # fmt: skip


def _xfrm_alg(words: list[str], cur: dict[str, Any], err: _Err, no: int) -> dict[str, Any]:
    """One ``enc|auth|auth-trunc|aead NAME KEY [BITS]`` line of ``ip xfrm state``, strictly.

    Why strict: a key line with anything after the key (a pasted word, a second key, a
    truncated copy) would otherwise decrypt with a key the kernel does not have, and every
    packet would read as "wrong key" instead of the file being wrong.
    """
    kind = words[0]
    spi = f"SPI 0x{cur['spi']:08x} " if "spi" in cur else ""
    what = f"{spi}{kind} key"
    want = 4 if kind in ("aead", "auth-trunc") else 3
    if len(words) < 3:
        raise err(no, f"{what}: expected `{kind} ALGORITHM 0xKEY`, the key is missing")
    name, key_t = words[1], words[2]
    if key_t in ("''", '""'):
        key_t = ""
    elif not key_t.lower().startswith("0x"):
        raise err(no, f"{what} ({name}) must be written 0x followed by hex digits, as ip xfrm "
                      "prints it")  # fmt: skip
    key = _hex(key_t, err, no, f"{what} ({name})")
    bits: int | None = None
    if want == 4 and len(words) == 4:
        if not words[3].isdigit():
            raise err(no, f"{what} ({name}): the bit length after the key is not a number")
        bits = int(words[3])
    if len(words) > want:
        raise err(no, f"{what} ({name}): unexpected text after the key "
                      f"({len(words) - want} extra word(s)); one key per line")  # fmt: skip
    if kind in ("enc", "aead"):
        mapped = _XFRM_ENC_NAMES.get(name.lower())
        if mapped is None:
            raise err(no, f"unsupported xfrm algorithm {name}")
        return {"enc": (mapped, key, bits if kind == "aead" else None)}
    mapped = _XFRM_AUTH_NAMES.get(name.lower())
    if mapped is None:
        raise err(no, f"unsupported xfrm algorithm {name}")
    if kind == "auth" and mapped != "null":  # untruncated `auth`: the kernel uses 96 bits
        bits = 96
    return {"auth": (mapped, key, bits)}


def parse_xfrm(text: str, path: Path) -> list[SecurityAssociation]:
    err = _Err(path)
    out: list[SecurityAssociation] = []
    cur: dict[str, Any] | None = None

    def finish() -> None:
        if cur is None or cur.get("proto") not in ("esp", "ah"):
            return
        no = cur["line"]
        enc_name, enc_key, icv_bits = cur.get("enc", (None, b"", None))
        auth_name, auth_key, auth_bits = cur.get("auth", ("null", b"", None))
        if cur["proto"] == "esp" and enc_name is None:
            enc_name = "null"
        enc, integ = _suites(enc_name, enc_key, auth_name, err, no, icv_bits, auth_bits)
        sa = SecurityAssociation(
            cur["spi"], cur["proto"], cur.get("src"), cur.get("dst"), enc, enc_key, integ,
            auth_key, cur.get("esn", False), origin=f"{path.name}:{no}",
        )  # fmt: skip
        out.append(_check(sa, err, no))

    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        m = re.match(r"^src\s+(\S+)\s+dst\s+(\S+)", line)
        if m and not raw[:1].isspace():
            finish()
            cur = {"line": no, "src": _addr(m.group(1), err, no), "dst": _addr(m.group(2), err, no)}
            continue
        if cur is None:
            continue
        m = re.match(r"^proto\s+(\S+)\s+spi\s+(\S+)", line)
        if m:
            cur["proto"] = m.group(1).lower()
            cur["spi"] = _spi(m.group(2), err, no)
            continue
        if re.search(r"\bflag\b.*\besn\b", line):
            cur["esn"] = True
        words = line.split()
        if words[0] in _XFRM_ALG_KINDS:
            cur.update(_xfrm_alg(words, cur, err, no))
    finish()
    return out


# --------------------------------------------------------------------------- cisco ipsec-manual
_CISCO_TSET = re.compile(r"^crypto ipsec transform-set\s+(\S+)\s+(.*)$", re.I)
_CISCO_KEY = re.compile(r"^set session-key\s+(inbound|outbound)\s+(esp|ah)\s+(\d+)\s+(.*)$", re.I)
_CISCO_ENC = {
    "esp-des": "des", "esp-3des": "3des", "esp-aes": "aes", "esp-null": "null",
    "esp-gcm": "aesgcm", "esp-gmac": "aesgmac",
}  # fmt: skip
_CISCO_AUTH = {
    "esp-md5-hmac": "md5", "esp-sha-hmac": "sha1", "esp-sha256-hmac": "sha256",
    "esp-sha384-hmac": "sha384", "esp-sha512-hmac": "sha512", "ah-md5-hmac": "md5",
    "ah-sha-hmac": "sha1", "ah-sha256-hmac": "sha256", "ah-sha384-hmac": "sha384",
    "ah-sha512-hmac": "sha512",
}  # fmt: skip


_CISCO_BLOCK_END = ("crypto ", "interface ")


def parse_cisco(text: str, path: Path) -> list[SecurityAssociation]:
    err = _Err(path)
    tsets: dict[str, tuple[str | None, str | None, str | None]] = {}
    for raw in text.splitlines():
        m = _CISCO_TSET.match(raw.strip())
        if m:
            words = m.group(2).lower().split()
            enc = next((_CISCO_ENC[w] for w in words if w in _CISCO_ENC), None)
            auth = next((_CISCO_AUTH[w] for w in words if w in _CISCO_AUTH), None)
            ah_auth = next((_CISCO_AUTH[w] for w in words if w.startswith("ah-")), None)
            tsets[m.group(1)] = (enc, auth, ah_auth)
    out: list[SecurityAssociation] = []
    # A crypto map entry is a block: `set peer`, `set transform-set` and the session keys may
    # come in any order inside it, so keys are resolved when the block ends.
    block: dict[str, Any] = {"peer": None, "tset": None, "keys": []}

    def finish() -> None:
        for no, m in block["keys"]:
            out.append(_cisco_sa(m, no, block["peer"], block["tset"], tsets, err, path))
        block.update(peer=None, tset=None, keys=[])

    for no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.lower().startswith(_CISCO_BLOCK_END) or (raw[:1] == "!" or line == "end"):
            finish()  # `crypto map ..` starts the next entry; `!`, `interface ..` end this one
            continue
        m = re.match(r"^set peer\s+(\S+)", line, re.I)
        if m:
            block["peer"] = _addr(m.group(1), err, no)
            continue
        m = re.match(r"^set transform-set\s+(\S+)", line, re.I)
        if m:
            block["tset"] = m.group(1)
            continue
        m = _CISCO_KEY.match(line)
        if m:
            block["keys"].append((no, m))
    finish()
    return out


def _cisco_sa(
    m: re.Match[str],
    no: int,
    peer: str | None,
    tset: str | None,
    tsets: dict[str, tuple[str | None, str | None, str | None]],
    err: _Err,
    path: Path,
) -> SecurityAssociation:
    """One `set session-key` line of a crypto map entry, with the entry's peer and transform."""
    direction, proto, spi_t, rest = m.groups()
    proto = proto.lower()
    if tset is None:
        raise err(no, "session key in a crypto map entry without `set transform-set`")
    if tset not in tsets:
        raise err(no, f"transform set {tset!r} is not defined (have: {sorted(tsets)})")
    enc_name, auth_name, ah_auth = tsets[tset]
    words = rest.split()
    enc_key, auth_key = b"", b""
    what = f"SPI {spi_t}"
    if proto == "esp":
        used: set[int] = set()
        for word in ("cipher", "authenticator"):
            if word in words:
                i = words.index(word)
                if i + 1 >= len(words):
                    raise err(no, f"{what}: `{word}` without key")
                key = _hex(words[i + 1], err, no, f"{what} {word} key")
                if word == "cipher":
                    enc_key = key
                else:
                    auth_key = key
                used.update((i, i + 1))
        extra = [i for i in range(len(words)) if i not in used]
        if extra:
            raise err(no, f"{what}: unexpected text ({len(extra)} word(s)) besides "
                          "`cipher KEY [authenticator KEY]`")  # fmt: skip
        enc_s, integ = _suites(enc_name or "null", enc_key, auth_name, err, no)
    else:
        if len(words) > 1:
            raise err(no, f"{what}: unexpected text after the AH key (one key per line)")
        auth_key = _hex(words[0] if words else "", err, no, f"{what} AH key")
        enc_s, integ = _suites(None, b"", ah_auth, err, no)
    inbound = direction.lower() == "inbound"
    sa = SecurityAssociation(
        _spi(spi_t, err, no), proto, peer if inbound else None, None if inbound else peer,
        enc_s, enc_key, integ, auth_key, origin=f"{path.name}:{no}",
    )  # fmt: skip
    return _check(sa, err, no)


_PARSERS = {
    "wireshark": parse_wireshark,
    "tcpdump": parse_tcpdump,
    "ipsecctl": parse_ipsecctl,
    "xfrm": parse_xfrm,
    "cisco": parse_cisco,
}


def detect_format(text: str) -> str | None:
    """Guess the key-file format from its content."""
    body = "\n".join(
        ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")
    )
    if re.search(r"^\s*set session-key\s", body, re.M | re.I):
        return "cisco"
    if re.search(r"^\s*proto\s+(esp|ah)\s+spi\s", body, re.M):
        return "xfrm"
    if re.search(r'^\s*"[^"]*"\s*,\s*"', body, re.M):
        return "wireshark"
    stripped = body.lstrip()
    if stripped.startswith(("{", "[")) or re.search(r"^sas\s*:", body, re.M):
        return "ipsecctl"
    if re.search(r"^\s*(0x[0-9a-fA-F]+@\S+\s+)?[A-Za-z0-9_-]+:(0x)?[0-9a-fA-F]+", body, re.M):
        return "tcpdump"
    return None


def load_keys(path: str | Path, fmt: str | None = None) -> list[SecurityAssociation]:
    """Read a key file (format auto-detected unless ``fmt``); InputFileError on any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"cannot read key file {path}: {exc}") from None
    if fmt is not None and fmt not in _PARSERS:
        raise InputFileError(f"unknown key format {fmt!r}", hint=f"one of {', '.join(FORMATS)}")
    fmt = fmt or detect_format(text)
    if fmt is None:
        raise InputFileError(
            f"cannot tell the format of key file {path}",
            hint=f"pass --keys-format ({', '.join(FORMATS)})",
        )
    sas = _PARSERS[fmt](text, path)
    if not sas:
        raise InputFileError(f"key file {path} ({fmt}) holds no SA", hint="check the format")
    return sas


class KeyTable:
    """SA lookup by (protocol, SPI, dst, src): exact addresses first, wildcards after."""

    def __init__(self, sas: list[SecurityAssociation]) -> None:
        self._by_spi: dict[tuple[str, int], list[SecurityAssociation]] = {}
        self._wild: list[SecurityAssociation] = []
        for sa in sas:
            if sa.spi_wildcard:
                self._wild.append(sa)
            else:
                self._by_spi.setdefault((sa.protocol, sa.spi), []).append(sa)
        for lst in self._by_spi.values():
            lst.sort(key=lambda s: (s.dst is None, s.src is None))

    def lookup(self, protocol: str, spi: int, src: str, dst: str) -> SecurityAssociation | None:
        for sa in self._by_spi.get((protocol, spi), ()):
            if (sa.dst is None or sa.dst == dst) and (sa.src is None or sa.src == src):
                return sa
        for sa in self._wild:
            if (
                sa.protocol == protocol
                and (sa.dst is None or sa.dst == dst)
                and (sa.src is None or sa.src == src)
            ):
                return sa
        return None
