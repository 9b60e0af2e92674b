"""ESP (RFC 4303) open and seal with per-SA cipher state, all primitives from ``cryptography``.

:class:`EspCipher` is built once per SA and reused for every packet of that SA: the AES/3DES
algorithm objects, the AEAD objects and a keyed HMAC template (copied per packet) are created
up front, which is what makes 100k-packet captures fast. ``open()`` never raises on packet bytes;
problems come back in :class:`EspResult.error`.

ICV handling: non-AEAD suites check a truncated HMAC over SPI..payload (+ the ESN high half,
RFC 4303 2.2.1) in constant time *before* decrypting; AEAD suites authenticate while decrypting.
Suites without integrity (or tcpdump's "hmac96" placeholder) are ``unverified``. For every
suite, even after a good ICV (which proves only the *authentication* key), the decrypted payload
must pass :mod:`~ipsecctl.diag.packets.plausible` (RFC 4303 padding, next header, inner IP
header in tunnel mode); an implausible result is reported as ``wrong_key_suspected`` with the
reason, never as a decrypted packet.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import constant_time, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.ciphers.algorithms import AES

from ipsecctl.diag.packets.common import TripleDES, hmac_template
from ipsecctl.diag.packets.keys import SecurityAssociation
from ipsecctl.diag.packets.plausible import PLAUSIBLE_NEXT_HEADERS, payload_problem

__all__ = ["PLAUSIBLE_NEXT_HEADERS", "EspCipher", "EspResult", "check_padding", "parse_header"]

ICV_OK = "ok"
ICV_BAD = "bad"
ICV_NO_KEY = "no_key"
ICV_UNVERIFIED = "unverified"


_SEQ = struct.Struct("!II")


@dataclass(slots=True)
class EspResult:
    """Outcome of opening one ESP packet."""

    icv: str = ICV_NO_KEY
    decrypted: bool = False
    plaintext: bytes | None = None
    """Payload without padding/trailer (only when ``decrypted``)."""
    pad_len: int | None = None
    pad_ok: bool | None = None
    next_header: int | None = None
    wrong_key_suspected: bool = False
    error: str | None = None


def check_padding(pt: bytes) -> tuple[int, bool, int] | None:
    """(pad_len, monotonic padding ok, next header) of a decrypted ESP payload, or None."""
    n = len(pt)
    if n < 2:
        return None
    pad_len = pt[n - 2]
    nh = pt[n - 1]
    if pad_len + 2 > n:
        return pad_len, False, nh
    if pad_len:
        start = n - 2 - pad_len
        ok = pt[start : n - 2] == bytes(range(1, pad_len + 1))
    else:
        ok = True
    return pad_len, ok, nh


def _wrong_key_message(icv: str, reason: str) -> str:
    """The per-packet error for an implausible plaintext (says which key is suspect)."""
    if icv == ICV_OK:
        return (
            f"ICV ok but the decrypted payload is implausible ({reason}): "
            "wrong encryption key or algorithm (the authentication key is right)"
        )
    return f"decrypted payload implausible ({reason}): wrong key or algorithm?"


class EspCipher:
    """Everything needed to open (and, for tests/benchmarks, seal) packets of one SA."""

    __slots__ = (
        "_aead",
        "_algo",
        "_ctr_nonce",
        "_hmac",
        "_salt",
        "align",
        "esn",
        "icv_len",
        "integrity_checked",
        "iv_len",
        "kind",
        "sa",
        "tag_len",
    )

    def __init__(self, sa: SecurityAssociation) -> None:
        enc = sa.encryption
        if enc is None:
            raise ValueError("ESP SA without an encryption transform")
        self.sa = sa
        self.kind = enc.kind
        self.iv_len = enc.iv_len
        self.align = enc.align
        self.esn = sa.esn
        self._salt = b""
        self._ctr_nonce = b""
        self._aead: AESGCM | ChaCha20Poly1305 | None = None
        self._algo: CipherAlgorithm | None = None
        self._hmac: hmac.HMAC | None = None
        key = sa.enc_key[: enc.key_len]
        if enc.kind == "cbc":
            if enc.cipher == "aes":
                self._algo = AES(key)
            else:
                self._algo = TripleDES(key * 3 if enc.cipher == "des" else key)
        elif enc.kind == "ctr":
            self._algo = AES(key)
            self._ctr_nonce = sa.enc_key[enc.key_len :]
        elif enc.kind in ("gcm", "gmac"):
            self._salt = sa.enc_key[enc.key_len :]
            self._aead = AESGCM(key)
            self._algo = AES(key)
        elif enc.kind == "chacha":
            self._salt = sa.enc_key[enc.key_len :]
            self._aead = ChaCha20Poly1305(key)
        integ = sa.integrity
        if enc.aead:
            self.tag_len = enc.icv_len
            self.icv_len = enc.icv_len
            self.integrity_checked = True
        else:
            self.tag_len = 0
            self.icv_len = integ.icv_len
            self.integrity_checked = integ.hash is not None
            if integ.hash is not None:
                self._hmac = hmac_template(integ.hash, sa.auth_key)

    # ------------------------------------------------------------------ open
    def open(self, data: bytes, off: int, end: int, seq_hi: int = 0) -> EspResult:
        """Authenticate and decrypt the ESP packet ``data[off:end]`` (never raises)."""
        res = EspResult()
        icv_len = self.icv_len
        iv_len = self.iv_len
        if end - off < 8 + iv_len + icv_len:
            res.icv = ICV_UNVERIFIED  # cannot be checked: counted as malformed, not as bad keys
            res.error = "truncated ESP packet (shorter than header, IV, trailer and ICV)"
            return res
        icv_start = end - icv_len
        body_start = off + 8 + iv_len
        kind = self.kind
        esn_hi = struct.pack("!I", seq_hi) if self.esn else b""
        try:
            if kind in ("gcm", "chacha"):
                iv = data[off + 8 : body_start]
                aad = data[off : off + 4] + esn_hi + data[off + 4 : off + 8]
                ct = data[body_start:end]  # ciphertext || tag
                pt = self._aead_open(self._salt + iv, ct, aad, icv_len)
                if pt is None:
                    res.icv = ICV_BAD
                    return res
                res.icv = ICV_OK
            elif kind == "gmac":
                iv = data[off + 8 : body_start]
                if esn_hi:
                    aad = data[off : off + 4] + esn_hi + data[off + 4 : icv_start]
                else:
                    aad = data[off:icv_start]
                tag = data[icv_start:end]
                assert self._aead is not None
                try:
                    self._aead.decrypt(self._salt + iv, tag, aad)
                except InvalidTag:
                    res.icv = ICV_BAD
                    return res
                res.icv = ICV_OK
                pt = data[body_start:icv_start]
            else:
                if self._hmac is not None:
                    h = self._hmac.copy()
                    h.update(data[off:icv_start])
                    if esn_hi:
                        h.update(esn_hi)
                    mac = h.finalize()[:icv_len]
                    if not constant_time.bytes_eq(mac, data[icv_start:end]):
                        res.icv = ICV_BAD
                        return res
                    res.icv = ICV_OK
                else:
                    res.icv = ICV_UNVERIFIED
                ct = data[body_start:icv_start]
                if kind == "cbc":
                    if len(ct) % self.align or not ct:
                        why = (
                            "the encryption algorithm is not the key file's"
                            if res.icv == ICV_OK
                            else "wrong algorithm, wrong ICV length or truncated"
                        )
                        res.error = (
                            f"ciphertext length {len(ct)} is not a multiple of the "
                            f"{self.align}-byte block ({why})"
                        )
                        # After a good ICV the sender really sent this length: the
                        # algorithm in the key file is not the one in use.
                        res.wrong_key_suspected = True
                        return res
                    iv = data[off + 8 : body_start]
                    assert self._algo is not None
                    dec = Cipher(self._algo, modes.CBC(iv)).decryptor()
                    pt = dec.update(ct) + dec.finalize()
                elif kind == "ctr":
                    iv = data[off + 8 : body_start]
                    assert self._algo is not None
                    block = self._ctr_nonce + iv + b"\x00\x00\x00\x01"
                    dec = Cipher(self._algo, modes.CTR(block)).decryptor()
                    pt = dec.update(ct) + dec.finalize()
                else:  # null
                    pt = ct
        except (ValueError, TypeError) as exc:  # cryptography rejects odd lengths
            res.error = f"decryption failed: {exc}"
            return res
        trailer = check_padding(pt)
        if trailer is None:
            res.error = "decrypted payload too short for the ESP trailer"
            res.wrong_key_suspected = True
            return res
        pad_len, pad_ok, nh = trailer
        res.pad_len, res.pad_ok, res.next_header = pad_len, pad_ok, nh
        if pad_len + 2 > len(pt):
            reason: str | None = f"pad length {pad_len} exceeds the {len(pt)}-byte payload"
            payload = b""
        else:
            payload = pt[: len(pt) - 2 - pad_len]
            reason = payload_problem(payload, pad_ok, nh)
        if reason is not None:
            res.wrong_key_suspected = True
            res.error = _wrong_key_message(res.icv, reason)
            return res
        res.plaintext = payload
        res.decrypted = True
        return res

    def _aead_open(self, nonce: bytes, ct_tag: bytes, aad: bytes, tag_len: int) -> bytes | None:
        if tag_len == 16:
            assert self._aead is not None
            try:
                return self._aead.decrypt(nonce, ct_tag, aad)
            except InvalidTag:
                return None
        # Short GCM tags (RFC 4106 ICV 8/12): the AESGCM class only takes 16-byte tags.
        assert self._algo is not None
        ct, tag = ct_tag[:-tag_len], ct_tag[-tag_len:]
        dec = Cipher(self._algo, modes.GCM(nonce, tag, min_tag_length=tag_len)).decryptor()
        dec.authenticate_additional_data(aad)
        pt = dec.update(ct)
        try:
            dec.finalize()
        except InvalidTag:
            return None
        return pt

    # ------------------------------------------------------------------ seal
    def seal(
        self,
        seq: int,
        payload: bytes,
        next_header: int,
        iv: bytes | None = None,
        pad_extra: int = 0,
    ) -> bytes:
        """Build an ESP packet (SPI..ICV) for ``payload``; ``seq`` may be 64-bit (ESN).

        Used by tests and benchmarks to make captures; it follows RFC 4303/4106/4543/7634 so the
        same bytes a peer would send come out.
        """
        seq_lo = seq & 0xFFFFFFFF
        esn_hi = struct.pack("!I", seq >> 32) if self.esn else b""
        header = _SEQ.pack(self.sa.spi, seq_lo)
        if iv is None:
            iv = os.urandom(self.iv_len)
        kind = self.kind
        align = self.align
        pad_len = (-(len(payload) + 2)) % align + pad_extra * align
        pt = payload + bytes(range(1, pad_len + 1)) + bytes((pad_len, next_header))
        if kind in ("gcm", "chacha"):
            aad = header[:4] + esn_hi + header[4:]
            nonce = self._salt + iv
            if self.icv_len == 16:
                assert self._aead is not None
                body = self._aead.encrypt(nonce, pt, aad)
            else:
                assert self._algo is not None
                enc = Cipher(self._algo, modes.GCM(nonce)).encryptor()
                enc.authenticate_additional_data(aad)
                body = enc.update(pt) + enc.finalize() + enc.tag[: self.icv_len]
            return header + iv + body
        if kind == "gmac":
            aad = (header[:4] + esn_hi + header[4:] if esn_hi else header) + iv + pt
            assert self._aead is not None
            tag = self._aead.encrypt(self._salt + iv, b"", aad)
            return header + iv + pt + tag
        if kind == "cbc":
            assert self._algo is not None
            e = Cipher(self._algo, modes.CBC(iv)).encryptor()
            ct = e.update(pt) + e.finalize()
        elif kind == "ctr":
            assert self._algo is not None
            e = Cipher(
                self._algo, modes.CTR(self._ctr_nonce + iv + b"\x00\x00\x00\x01")
            ).encryptor()
            ct = e.update(pt) + e.finalize()
        else:
            ct = pt
        packet = header + iv + ct
        if self._hmac is not None:
            h = self._hmac.copy()
            h.update(packet + esn_hi)
            packet += h.finalize()[: self.icv_len]
        elif self.icv_len:
            packet += bytes(self.icv_len)
        return packet


def parse_header(data: bytes, off: int, end: int) -> tuple[int, int] | None:
    """(SPI, sequence number) of the ESP header at ``off``, or None when truncated."""
    if end - off < 8:
        return None
    seq: tuple[int, int] = _SEQ.unpack_from(data, off)
    return seq
