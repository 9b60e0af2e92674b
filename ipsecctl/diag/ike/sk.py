"""Decrypt and verify one IKEv2 SK/SKF payload (RFC 7296 3.14, RFC 5282, RFC 7634, RFC 7383).

Why separate: this is the only place IKE touches ciphers, every primitive comes from
``cryptography``, and the result always says whether the ICV verified -- a wrong key must be
reported as ``icv: bad``, never as a plausible plaintext.
"""

from __future__ import annotations

import hmac as std_hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, ChaCha20Poly1305

from ipsecctl.diag.ike.keys import EncrSpec, IntegSpec
from ipsecctl.diag.packets.common import TripleDES, hmac_template


@dataclass(frozen=True)
class SkResult:
    plaintext: bytes | None  # inner payloads (padding removed), None when not decryptable
    icv: str  # ok | bad | unverified
    error: str | None = None


def _mac(integ: IntegSpec, key: bytes, data: bytes) -> bytes:
    if integ.digest == "cmac":
        c = cmac.CMAC(algorithms.AES(key))
        c.update(data)
        return c.finalize()[: integ.icv_len]
    h = hmac_template(integ.digest, key)
    h.update(data)
    return h.finalize()[: integ.icv_len]


def _strip_padding(plain: bytes) -> bytes | None:
    if not plain:
        return None
    pad = plain[-1]
    if pad + 1 > len(plain):
        return None
    return plain[: len(plain) - pad - 1]


def decrypt_sk(
    message: bytes,
    body_start: int,
    end: int,
    encr: EncrSpec,
    integ: IntegSpec | None,
    sk_e: bytes,
    sk_a: bytes,
) -> SkResult:
    """Decrypt the SK/SKF body ``message[body_start:end]`` (IV..ICV).

    ``body_start`` is where the IV begins (after the generic header, and for SKF after the
    fragment number/total); everything before it is the AEAD associated data, and everything
    before the ICV is what the HMAC covers.
    """
    body = message[body_start:end]
    if encr.aead:
        icv_len = encr.icv_len
    elif integ is not None:
        icv_len = integ.icv_len
    else:
        icv_len = 0
    iv_len = encr.iv_len
    if len(body) < iv_len + icv_len + 1:
        return SkResult(None, "bad", "SK payload shorter than IV + ICV")
    iv = body[:iv_len]
    ct = body[iv_len : len(body) - icv_len]
    tag = body[len(body) - icv_len :] if icv_len else b""
    key, salt = sk_e[: encr.key_len], sk_e[encr.key_len :]
    try:
        if encr.aead:
            aad = message[:body_start]
            nonce = salt + iv
            try:
                if encr.mode == "gcm":
                    dec = Cipher(
                        algorithms.AES(key), modes.GCM(nonce, tag, min_tag_length=icv_len)
                    ).decryptor()
                    dec.authenticate_additional_data(aad)
                    plain = dec.update(ct) + dec.finalize()
                elif encr.mode == "ccm":
                    plain = AESCCM(key, tag_length=icv_len).decrypt(nonce, ct + tag, aad)
                else:
                    plain = ChaCha20Poly1305(key).decrypt(nonce, ct + tag, aad)
            except InvalidTag:
                return SkResult(None, "bad", "ICV does not verify (wrong keys or corrupt)")
            return SkResult(_strip_padding(plain), "ok")
        icv = "unverified"
        if integ is not None and integ.check:
            expect = _mac(integ, sk_a, message[: end - icv_len])
            icv = "ok" if std_hmac.compare_digest(expect, tag) else "bad"
        if encr.mode == "null":
            plain = ct
        elif encr.mode == "cbc":
            if len(ct) % 16:
                return SkResult(None, icv, "ciphertext is not a whole number of AES blocks")
            d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
            plain = d.update(ct) + d.finalize()
        elif encr.mode == "3des":
            if len(ct) % 8:
                return SkResult(None, icv, "ciphertext is not a whole number of 3DES blocks")
            d = Cipher(TripleDES(key), modes.CBC(iv)).decryptor()
            plain = d.update(ct) + d.finalize()
        elif encr.mode == "ctr":
            d = Cipher(algorithms.AES(key), modes.CTR(salt + iv + b"\x00\x00\x00\x01")).decryptor()
            plain = d.update(ct) + d.finalize()
        else:
            return SkResult(None, icv, f"unsupported encryption {encr.keyword}")
    except ValueError as exc:  # wrong key length for the cipher
        return SkResult(None, "bad", f"cannot decrypt: {exc}")
    stripped = _strip_padding(plain)
    if stripped is None:
        return SkResult(None, icv, "bad padding length (wrong key?)")
    return SkResult(stripped, icv)
