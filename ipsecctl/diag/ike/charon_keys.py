"""Key material from a strongSwan charon log, and the Wireshark key files written from it.

charon prints the keys it derives when its ``ike`` and ``chd`` log groups are at level 4
(strongSwan 5.9, checked against charon 5.9.8)::

    12[IKE] <lab|1> Sk_ei secret => 16 bytes @ 0x7f87f40023e0
    12[IKE] <lab|1>    0: 07 21 49 80 5C F8 37 7B 91 6B 4B 2A DC B8 0D 76  .!I.\\.7{.kK*...v
    01[CFG] <lab|1> selected proposal: ESP:AES_CBC_128/HMAC_SHA1_96/NO_EXT_SEQ
    01[CHD] <lab|1> encryption initiator key => 16 bytes @ 0x7f87e0003cc0
    01[CHD] <lab|1> adding inbound ESP SA
    01[CHD] <lab|1>   SPI 0x5a917789, src 10.220.0.2 dst 10.220.0.1

From these lines :func:`parse_charon_log` builds the ESP SA table ``diag esp`` decrypts with
(:class:`~ipsecctl.diag.packets.keys.SecurityAssociation`, both directions, algorithms from the
``selected proposal`` line) and the IKEv2 key sets ``diag ike`` decrypts with. The log does not
print IKE SPIs: a key set is bound to its IKE SA either from ``swanctl --list-sas``
(``uniqueid`` -> ``initiator-spi``/``responder-spi``, :func:`bind_from_list_sas`) or by trying
it on the capture's encrypted messages (:func:`bind_from_messages`: the ICV verifies with one
key set only).

Which CHILD_SA keys protect which direction: RFC 7296 2.17 takes the "initiator" keys for
the traffic the *exchange's* initiator sends. The log tells who that was: the key lines come
after this charon parsed the exchange's response (it initiated) or its request (it responded).

Keys stay in memory only (``repr=False`` everywhere); nothing here logs. The PSK that charon
also prints at level 4 (``secret => N bytes``) is never kept. Files written by
:func:`write_wireshark_keys` are created 0600 in a 0700 folder.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipsecctl.diag.ike.keys import Ikev2Keys, KeyTable, encr_spec, integ_spec
from ipsecctl.diag.ike.keys import wireshark_uat_line as ike_uat_line
from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.suites import INTEGRITY, SuiteError, encryption_suite
from ipsecctl.errors import InputFileError

_LINE = re.compile(r"(\d+)\[(\w{3})\] (?:<([^>]*)> )?(.*)$")
_KEY = re.compile(r"^(Sk_(?:ei|er|ai|ar|d|pi|pr) secret|(?:encryption|integrity) "
                  r"(?:initiator|responder) key) => (\d+) bytes")  # fmt: skip
_HEX = re.compile(r"^\s*\d+: ((?:[0-9A-F]{2} ){1,16})")
_PROPOSAL = re.compile(r"^selected proposal: (IKE|ESP|AH):(\S+)")
_ADDING = re.compile(r"^adding (inbound|outbound) (ESP|AH) SA")
_SPI = re.compile(r"^\s*SPI 0x([0-9a-f]{8}), src (\S+) dst (\S+)")
_PARSED = re.compile(r"^parsed (IKE_AUTH|CREATE_CHILD_SA|QUICK_MODE) (request|response)")

# strongSwan proposal tokens (``proposal_t`` printing) -> the project's keywords.
_ENCR = {"AES_CBC": "aes{b}", "AES_CTR": "aes{b}ctr", "AES_GCM_16": "aes{b}gcm16",
         "AES_GCM_12": "aes{b}gcm12", "AES_GCM_8": "aes{b}gcm8", "AES_CCM_16": "aes{b}ccm16",
         "AES_CCM_12": "aes{b}ccm12", "AES_CCM_8": "aes{b}ccm8", "3DES_CBC": "3des",
         "CHACHA20_POLY1305": "chacha20poly1305", "NULL": "null",
         "NULL_AES_GMAC": "aes{b}gmac"}  # fmt: skip
_INTEG = {
    "HMAC_SHA1_96": "sha1",
    "HMAC_SHA2_256_128": "sha256",
    "HMAC_SHA2_384_192": "sha384",
    "HMAC_SHA2_512_256": "sha512",
    "HMAC_MD5_96": "md5",
    "HMAC_SHA2_256_96": "sha256_96",
}


@dataclass
class IkeKeySet:
    """The SK_* keys of one IKE SA (``uniqueid`` as charon numbers it)."""

    uniqueid: str
    name: str
    encryption: str | None = None
    """Project keyword (``aes128``, ``aes256gcm16``); None when the proposal was not logged."""
    integrity: str | None = None
    keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    spi_i: str | None = None
    spi_r: str | None = None

    def to_keys(self, spi_i: str | None = None, spi_r: str | None = None) -> Ikev2Keys | None:
        """The decryption entry for ``diag ike`` (None without SPIs, algorithms or keys)."""
        si, sr = spi_i or self.spi_i, spi_r or self.spi_r
        if not si or not sr or self.encryption is None or "sk_ei" not in self.keys:
            return None
        encr = encr_spec(self.encryption)
        integ = None if encr.aead else integ_spec(self.integrity or "NONE")
        k = self.keys
        return Ikev2Keys(si, sr, encr, integ, k["sk_ei"], k.get("sk_er", b""),
                         k.get("sk_ai", b""), k.get("sk_ar", b""))  # fmt: skip


@dataclass
class CharonKeys:
    """What one charon log holds."""

    esp: list[SecurityAssociation] = field(default_factory=list)
    ike: list[IkeKeySet] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def ike_table(self) -> KeyTable:
        """The IKEv2 keys whose SPIs are known (see the binding functions)."""
        table = KeyTable()
        for ks in self.ike:
            k = ks.to_keys()
            if k is not None:
                table.ikev2[(k.spi_i, k.spi_r)] = k
        return table


@dataclass
class _Child:
    sa: str
    proposal: str | None
    exchange_initiator: bool | None
    keys: dict[str, bytes] = field(default_factory=dict, repr=False)
    sas: list[tuple[str, str, int, str, str]] = field(default_factory=list)
    """(direction, protocol, spi, src, dst) from the ``adding ... SA`` lines."""


def _uid(sa: str | None) -> str:
    return (sa or "").rsplit("|", 1)[-1]


def _suite_names(proposal: str) -> tuple[str | None, str | None, bool]:
    """(encryption keyword, integrity keyword, esn) of a logged proposal body."""
    enc = integ = None
    esn = False
    for tok in proposal.split("/"):
        if tok == "EXT_SEQ":
            esn = True
            continue
        m = re.fullmatch(r"(.+?)(?:_(\d{3}))?", tok)
        base, bits = (m.group(1), m.group(2)) if m else (tok, None)
        if tok in _INTEG:
            integ = _INTEG[tok]
        elif base in _ENCR and enc is None:
            enc = _ENCR[base].replace("{b}", bits or "128")
    return enc, integ, esn


def parse_charon_log(text: str, source: str = "charon log") -> CharonKeys:
    """ESP SAs and IKE key sets printed in a charon log (``ike 4``/``chd 4``); pure."""
    out = CharonKeys()
    pending: dict[str, tuple[str, bytearray, int]] = {}  # thread -> (label, bytes, size)
    ike_by_uid: dict[str, IkeKeySet] = {}
    ike_prop: dict[str, str] = {}
    child: dict[str, _Child] = {}  # uid -> the CHILD_SA being installed
    child_prop: dict[str, str] = {}
    last_parsed: dict[str, bool] = {}  # uid -> this charon initiated the last exchange
    adding: dict[str, str] = {}  # uid -> direction of the SA announced on the next line

    def finish_child(uid: str) -> None:
        ch = child.pop(uid, None)
        if ch is not None:
            _child_sas(ch, out, source)

    for line in text.splitlines():
        m = _LINE.search(line)
        if m is None:
            continue
        thread, _grp, sa, msg = m.groups()
        uid = _uid(sa)
        hm = _HEX.match(msg)
        if hm and thread in pending:
            label, buf, size = pending[thread]
            buf += bytes.fromhex(hm.group(1).replace(" ", ""))
            if len(buf) >= size:
                del pending[thread]
                _store(label, bytes(buf[:size]), uid, sa or "", ike_by_uid, child, out)
            continue
        pending.pop(thread, None)
        if (km := _KEY.match(msg)) is not None:
            label = km.group(1)
            if label.startswith(("encryption", "integrity")) and uid not in child:
                child[uid] = _Child(sa or "", child_prop.get(uid), last_parsed.get(uid))
            pending[thread] = (label, bytearray(), int(km.group(2)))
            continue
        if (pm := _PROPOSAL.match(msg)) is not None:
            (ike_prop if pm.group(1) == "IKE" else child_prop)[uid] = pm.group(2)
            if pm.group(1) == "IKE" and uid in ike_by_uid:
                _ike_algs(ike_by_uid[uid], pm.group(2))
        elif (pa := _PARSED.match(msg)) is not None:
            last_parsed[uid] = pa.group(2) == "response"
        elif (am := _ADDING.match(msg)) is not None:
            adding[uid] = f"{am.group(1)} {am.group(2)}"
        elif (sm := _SPI.match(msg)) is not None and uid in adding and uid in child:
            direction, proto = adding.pop(uid).split()
            child[uid].sas.append((direction, proto.lower(), int(sm.group(1), 16),
                                   sm.group(2), sm.group(3)))  # fmt: skip
            if len(child[uid].sas) == 2:
                finish_child(uid)
        if uid in ike_by_uid and uid in ike_prop and ike_by_uid[uid].encryption is None:
            _ike_algs(ike_by_uid[uid], ike_prop[uid])
    for uid in list(child):
        finish_child(uid)
    for uid, ks in ike_by_uid.items():
        if ks.encryption is None and uid in ike_prop:
            _ike_algs(ks, ike_prop[uid])
    out.ike.extend(ike_by_uid.values())
    return out


def _store(label: str, value: bytes, uid: str, sa: str, ike: dict[str, IkeKeySet],
           child: dict[str, _Child], out: CharonKeys) -> None:  # fmt: skip
    if label.startswith("Sk_"):
        key = label.split()[0].lower()
        ks = ike.get(uid)
        if ks is None or key in ks.keys:  # a rekeyed IKE SA logs a new Sk_d first
            if ks is not None:
                out.ike.append(ks)  # the old key set stays usable for older messages
            ks = ike[uid] = IkeKeySet(uid, sa)
        ks.keys[key] = value
        if sa and "|" in sa:
            ks.name = sa
        return
    words = label.split()
    ch = child.get(uid)
    if ch is not None:
        ch.keys[f"{words[0][:5]}_{words[1][0]}"] = value  # encry_i / integ_r


def _ike_algs(ks: IkeKeySet, proposal: str) -> None:
    enc, integ, _esn = _suite_names(proposal)
    ks.encryption, ks.integrity = enc, integ


def _child_sas(ch: _Child, out: CharonKeys, source: str) -> None:
    """Two SecurityAssociations from one installed CHILD_SA (see the module docstring)."""
    if ch.proposal is None or not ch.sas:
        out.warnings.append(f"{source}: CHILD_SA <{ch.sa}> keys without their proposal or SPIs")
        return
    enc, integ, esn = _suite_names(ch.proposal)
    we_initiated = ch.exchange_initiator
    for direction, proto, spi, src, dst in ch.sas:
        if we_initiated is None:
            out.warnings.append(f"{source}: CHILD_SA <{ch.sa}>: cannot tell who initiated "
                                "its exchange; keys not used")  # fmt: skip
            return
        # traffic we send (outbound) uses the initiator keys when we initiated
        initiator_keys = (direction == "outbound") == we_initiated
        side = "i" if initiator_keys else "r"
        enc_key = ch.keys.get(f"encry_{side}", b"")
        auth_key = ch.keys.get(f"integ_{side}", b"")
        try:
            suite = encryption_suite(enc, len(enc_key)) if proto == "esp" and enc else None
        except SuiteError as exc:
            out.warnings.append(f"{source}: CHILD_SA <{ch.sa}> SPI 0x{spi:08x}: {exc}")
            continue
        out.esp.append(SecurityAssociation(
            spi, proto, _addr(src), _addr(dst), suite, enc_key,
            INTEGRITY[integ] if integ else INTEGRITY["null"], auth_key, esn,
            origin=f"{source} <{ch.sa}> {direction}",
        ))  # fmt: skip


def _addr(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def load_charon_log(path: str | Path) -> CharonKeys:
    """:func:`parse_charon_log` of a file; InputFileError when unreadable or keyless."""
    p = Path(path)
    try:
        text = p.read_text(errors="replace")
    except OSError as exc:
        raise InputFileError(f"cannot read charon log {p}: {exc.strerror or exc}") from None
    keys = parse_charon_log(text, p.name)
    if not keys.esp and not keys.ike:
        raise InputFileError(
            f"charon log {p} prints no keys",
            hint="set charon's filelog `ike = 4` and `chd = 4` (strongswan.conf) before the "
            "SAs are established",
        )
    return keys


# ------------------------------------------------------------------------- binding SPIs
_LIST_SAS = re.compile(
    r"uniqueid=(\d+) .*?initiator-spi=([0-9a-f]{16}) responder-spi=([0-9a-f]{16})"
)


def bind_from_list_sas(keys: CharonKeys, list_sas: str) -> int:
    """Give IKE key sets their SPIs from ``swanctl --list-sas --raw``; returns how many."""
    spis = {uid: (si, sr) for uid, si, sr in _LIST_SAS.findall(list_sas)}
    n = 0
    for ks in keys.ike:
        if ks.uniqueid in spis and ks.spi_i is None:
            ks.spi_i, ks.spi_r = spis[ks.uniqueid]
            n += 1
    return n


def bind_from_messages(keys: CharonKeys, messages: Iterable[dict[str, Any]],
                       raw: dict[int, bytes]) -> int:  # fmt: skip
    """Bind unbound key sets to the IKE SAs of decoded messages whose SK payload verifies.

    ``messages`` are :func:`~ipsecctl.diag.ike.decode.decode_frames` dicts, ``raw`` maps their
    frame numbers to the message bytes. A key set is bound to an SA only when the ICV (or the
    AEAD tag) verifies with it: a wrong key set cannot be bound by accident.
    """
    from ipsecctl.diag.ike.decode import decode_message

    unbound = [ks for ks in keys.ike if ks.spi_i is None and ks.encryption]
    n = 0
    for m in messages:
        if not unbound:
            break
        if m.get("version") != 2 or m.get("icv") not in (None, "no_key"):
            continue
        if not any(p.get("type") in ("SK", "SKF") for p in m.get("payloads", [])):
            continue
        data = raw.get(m.get("frame", -1))
        if data is None:
            continue
        for ks in unbound:
            entry = ks.to_keys(m["spi_i"], m["spi_r"])
            if entry is None:
                continue
            table = KeyTable()
            table.ikev2[(entry.spi_i, entry.spi_r)] = entry
            if decode_message(data, table).get("icv") == "ok":
                ks.spi_i, ks.spi_r = entry.spi_i, entry.spi_r
                unbound.remove(ks)
                n += 1
                break
    return n


# ------------------------------------------------------------------------- Wireshark files
_WS_ESP_ENC = {"null": "NULL", "3des": "TripleDES-CBC [RFC2451]", "des": "DES-CBC [RFC2405]",
               "cbc": "AES-CBC [RFC3602]", "ctr": "AES-CTR [RFC3686]",
               "gcm8": "AES-GCM with 8 octet ICV [RFC4106]",
               "gcm12": "AES-GCM with 12 octet ICV [RFC4106]",
               "gcm16": "AES-GCM with 16 octet ICV [RFC4106]",
               "gmac": "NULL_AUTH_AES_GMAC [RFC4543]",
               "chacha": "ChaCha20 with Poly1305 [RFC7634]"}  # fmt: skip
_WS_ESP_AUTH = {"null": "NULL", "sha1": "HMAC-SHA-1-96 [RFC2404]",
                "sha256_96": "HMAC-SHA-256-96 [draft-ietf-ipsec-ciph-sha-256-00]",
                "sha256": "HMAC-SHA-256-128 [RFC4868]", "sha384": "HMAC-SHA-384-192 [RFC4868]",
                "sha512": "HMAC-SHA-512-256 [RFC4868]", "md5": "HMAC-MD5-96 [RFC2403]"}  # fmt: skip


def esp_sa_line(sa: SecurityAssociation) -> str:
    """One Wireshark ``esp_sa`` UAT row (holds keys: a secret)."""
    enc = sa.encryption
    if enc is None:
        key = "null"
    elif enc.kind == "gcm":
        key = f"gcm{enc.icv_len}"
    elif enc.kind == "cbc" and enc.cipher in ("3des", "des"):
        key = enc.cipher
    else:
        key = enc.kind
    proto = "IPv6" if sa.dst and ":" in sa.dst else "IPv4"
    auth = _WS_ESP_AUTH.get(sa.integrity.name, "NULL")
    fields = [proto, sa.src or "*", sa.dst or "*", f"0x{sa.spi:08x}", _WS_ESP_ENC[key],
              f"0x{sa.enc_key.hex()}" if sa.enc_key else "", auth,
              f"0x{sa.auth_key.hex()}" if sa.auth_key else ""]  # fmt: skip
    return ",".join(f'"{f}"' for f in fields)


def _private_file(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def write_wireshark_keys(folder: str | Path, esp: Iterable[SecurityAssociation] = (),
                         ike: Iterable[Ikev2Keys] = ()) -> list[Path]:  # fmt: skip
    """Write ``esp_sa`` and ``ikev2_decryption_table`` into ``folder`` (a Wireshark profile:
    ``WIRESHARK_CONFIG_DIR=folder tshark ...``); 0600 files in a 0700 folder."""
    d = Path(folder)
    written = []
    try:
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(d, 0o700)
        esp_rows = [esp_sa_line(sa) for sa in esp if sa.protocol == "esp"]
        ike_rows = []
        for k in ike:
            try:
                ike_rows.append(ike_uat_line(k))
            except ValueError:
                continue  # an algorithm Wireshark cannot take (ChaCha20 in 4.0)
        for name, rows in (("esp_sa", esp_rows), ("ikev2_decryption_table", ike_rows)):
            if rows:
                _private_file(d / name, "\n".join(rows) + "\n")
                written.append(d / name)
    except OSError as exc:
        raise InputFileError(f"cannot write keys to {d}: {exc.strerror or exc}") from None
    return written


__all__ = ["CharonKeys", "IkeKeySet", "bind_from_list_sas",
           "bind_from_messages", "esp_sa_line", "load_charon_log", "parse_charon_log",
           "write_wireshark_keys"]  # fmt: skip
