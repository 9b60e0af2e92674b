"""IPsec overhead and the largest packet that still fits in one outer packet.

Why a formula and not a table: the overhead depends on the cipher's block size (CBC padding),
the IV, the ICV, the mode, NAT-T and GRE together, and operators ask for odd combinations.
The per-algorithm sizes (IV, alignment, AEAD tag, truncated HMAC) come from the one ESP table
that ``diag esp`` decrypts with (:mod:`ipsecctl.diag.packets.suites`), so both commands accept
the same suites and cannot disagree on a size.

The formula (RFC 4303 / 3948 / 4302 layouts; sizes in docs/mtu.md)::

    room     = path_mtu - outer_ip - [UDP 8] - [AH 12+ICV_ah] - ESP header 8 - IV - ICV
    payload  = floor(room / block) * block - 2        # pad length + next header
    tunnel:    plaintext = payload                    # the whole inner packet is encrypted
    transport: plaintext = payload + ip_header        # the IP header stays in front, unencrypted

``block`` is the cipher's block size (AES-CBC 16, DES/3DES 8) or ESP's 4-byte alignment for
counter modes (GCM/GMAC/NULL).

Checked against every ``plaintext mtu`` line of the real IOS/IOS-XE ``show crypto ipsec sa``
outputs in tests/fixtures/mtu (tunnel, transport, NAT-T transport, IPv6, AH, jumbo path MTU);
``tests/diag/test_mtu.py`` recomputes each one. Where the router's figure differs, the router
is not wrong and the formula is not bent:

* An ident **without SAs** prints either the path MTU (no SA ever: no overhead to subtract) or
  the figure of the **last** SA it had (``current outbound spi: 0x0`` with 1438 on a 1500 path):
  the value is kept per ident, not recomputed.
* One ident (IOS-XE, ``esp-gcm 256``, ``{Tunnel, esn}``) prints 1438 where the formula gives
  1446 (the 1446 of an identical GCM tunnel elsewhere in the corpus). 1438 is exactly the
  figure of ``esp-256-aes esp-sha256-hmac``: the ident keeps the value computed for an earlier
  SA, as above. ESN itself adds nothing on the wire (RFC 4303 2.2.1: the high 32 bits are not
  sent). The test records this sample as an explained exception.
* With GRE, the router's figure is the plaintext of the GRE packet (the idents are protocol 47);
  the ``ip mtu`` to put on the tunnel interface is that figure minus GRE (4) and the delivery IP
  header (20 or 40), which is what ``ip_mtu`` reports here.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING, Literal, NamedTuple

from ipsecctl.diag.packets.suites import (
    EncSuite,
    IntegSuite,
    SuiteError,
    encryption_suite,
    integrity_suite,
)
from ipsecctl.errors import UsageError

if TYPE_CHECKING:
    from ipsecctl.models import IpsecSa, Tunnel

ACCEPTED_SYNTAX = (
    "Cisco transform-set words (esp-aes [128|192|256], esp-256-aes, esp-gcm [128|192|256], "
    "esp-gmac, esp-3des, esp-des, esp-null, esp-md5-hmac, esp-sha-hmac, esp-sha256-hmac, "
    "esp-sha384-hmac, esp-sha512-hmac, ah-md5-hmac, ah-sha-hmac, ah-sha256-hmac) or a "
    "strongSwan ESP proposal (aes256gcm16, aes128-sha1, aes128ctr-sha256, chacha20poly1305, "
    "3des-md5, aes256-sha256, null-sha1): every suite `diag esp` decrypts"
)

Mode = Literal["tunnel", "transport"]

_AH_FIXED = 12  # next header, length, reserved, SPI, sequence
# IOS-XE transform sets have no ChaCha20-Poly1305 (its YANG model's esp choices are esp-aes,
# esp-192-aes, esp-256-aes, esp-gcm, esp-gmac, esp-3des, esp-des, esp-null, esp-seal: read in
# CiscoDevNet/terraform-provider-iosxe docs/resources/crypto_ipsec_transform_set.md).
_NOT_CISCO = {
    "esp-chacha20-poly1305": "IOS/IOS-XE transform sets have no ChaCha20-Poly1305 "
    "(strongSwan spelling: chacha20poly1305)",
    "esp-seal": "esp-seal (SEAL stream cipher) is not supported here",
}


class Transform(NamedTuple):
    """The sizes that matter for overhead; ``name`` is the input as given."""

    name: str
    esp: bool
    iv: int = 0
    block: int = 4
    icv: int = 0
    ah_icv: int | None = None  # None: no AH


def _unknown(text: str, word: str | None = None, why: str = "") -> UsageError:
    what = f"unknown transform word {word!r} in {text!r}" if word else f"empty transform {text!r}"
    return UsageError(f"{what}{f' ({why})' if why else ''}; accepted: {ACCEPTED_SYNTAX}")


@functools.lru_cache(maxsize=256)  # pure; a hub repeats a handful of transforms per poll
def parse_transform(text: str) -> Transform:
    """Parse Cisco or strongSwan syntax; raise :class:`UsageError` naming the bad word."""
    words = text.strip().lower().replace(",", " ").split()
    if not words:
        raise _unknown(text)
    if any(w.startswith(("esp-", "ah-")) or w == "comp-lzs" for w in words):
        return _parse_cisco(text, words)
    if len(words) != 1:
        raise _unknown(text, words[1])
    return _parse_strongswan(text, words[0])


def _enc(name: str, bits: int | None = None) -> EncSuite | None:
    """The shared ESP table's suite for ``name`` (a family takes ``bits``, default 128).

    The key size never changes the overhead (AES has one block size), so a family without a
    size is resolved as AES-128 only to reach its IV, alignment and tag sizes.
    """
    for key_len in (None, (bits or 128) // 8, (bits or 128) // 8 + 4):
        try:
            return encryption_suite(name, key_len=key_len)
        except SuiteError:
            continue
    return None


def _integ(name: str) -> IntegSuite | None:
    try:
        return integrity_suite(name)
    except SuiteError:
        return None


def _sizes(text: str, enc: EncSuite, integ_icv: int | None, ah_icv: int | None) -> Transform:
    icv = enc.icv_len if enc.aead else (integ_icv or 0)
    return Transform(
        name=text.strip(), esp=True, iv=enc.iv_len, block=enc.align, icv=icv, ah_icv=ah_icv
    )


def _parse_cisco(text: str, words: list[str]) -> Transform:
    enc: EncSuite | None = None
    integ_icv: int | None = None
    ah_icv: int | None = None
    i = 0
    while i < len(words):
        w = given = words[i]
        nxt = words[i + 1] if i + 1 < len(words) else ""
        bits = int(nxt) if nxt in ("128", "192", "256") else None
        i += 2 if nxt.isdigit() else 1
        if w in _NOT_CISCO:
            raise _unknown(text, w, _NOT_CISCO[w])
        if w in ("comp-lzs", "no", "compression"):
            continue
        hmac = re.fullmatch(r"(esp|ah)-\S+-hmac", w)
        if hmac:
            suite = _integ(w)
            if suite is None:
                raise _unknown(text, w)
            if hmac.group(1) == "esp":
                integ_icv = suite.icv_len
            else:
                ah_icv = suite.icv_len
            continue
        # Show-output spelling esp-256-aes and the dashed esp-aes-256 / esp-gcm-256 forms.
        shown = re.fullmatch(r"esp-(128|192|256)-aes", w)
        dashed = re.fullmatch(r"(esp-(?:aes|gcm|gmac))-?(128|192|256)", w)
        if shown:
            w, bits = "esp-aes", int(shown.group(1))
        elif dashed:
            w, bits = dashed.group(1), int(dashed.group(2))
        found = _enc(w, bits) if w.startswith("esp-") else None
        if found is None:
            raise _unknown(text, given)
        enc = found
    if enc is None:
        if ah_icv is None:
            raise _unknown(text)
        return Transform(name=text.strip(), esp=False, ah_icv=ah_icv)
    return _sizes(text, enc, integ_icv, ah_icv)


def _parse_strongswan(text: str, proposal: str) -> Transform:
    enc: EncSuite | None = None
    integ_icv: int | None = None
    ccm: Transform | None = None
    for token in proposal.split("-"):
        if re.fullmatch(r"(modp|ecp|curve|prf|esn|noesn|x25519|x448|ke\d)\w*", token):
            continue  # DH group, PRF, ESN: no bytes in an ESP packet
        found = _enc(token)
        if found is not None and enc is None:
            enc = found
            continue
        suite = _integ(token)
        if suite is not None:
            integ_icv = suite.icv_len
            continue
        # AES-CCM: not decrypted by `diag esp`, but its sizes are those of GCM (RFC 4309).
        m = re.fullmatch(r"aes(128|192|256)?ccm(8|12|16)?", token)
        if m and enc is None:
            ccm = Transform(name=text.strip(), esp=True, iv=8, block=4, icv=int(m.group(2) or 16))
            continue
        raise _unknown(text, token)
    if ccm is not None:
        return ccm
    if enc is None:
        raise _unknown(text)
    return _sizes(text, enc, integ_icv, None)


class MtuResult(NamedTuple):
    """What ``ipsecctl diag mtu --json`` prints (plus the inputs, for the record)."""

    transform: str
    mode: Mode
    nat_t: bool
    gre: bool
    ipv6: bool
    path_mtu: int
    overhead_min: int
    overhead_max: int
    plaintext_mtu: int
    ip_mtu: int
    tcp_mss: int

    def as_dict(self) -> dict[str, object]:
        return self._asdict()

    def summary(self) -> dict[str, object]:
        """What ``assemble`` stores in ``tunnel.extra['mtu']`` (a stable, small subset)."""
        return {
            "plaintext_mtu": self.plaintext_mtu,
            "overhead_min": self.overhead_min,
            "overhead_max": self.overhead_max,
            "ip_mtu": self.ip_mtu,
            "tcp_mss": self.tcp_mss,
            "path_mtu": self.path_mtu,
            "transform": self.transform,
            "mode": self.mode,
            "nat_t": self.nat_t,
            "gre": self.gre,
            "ipv6": self.ipv6,
        }


def compute(
    transform: Transform | str,
    *,
    mode: Mode = "tunnel",
    nat_t: bool = False,
    gre: bool = False,
    ipv6: bool = False,
    path_mtu: int = 1500,
) -> MtuResult:
    """Overhead range and the largest inner packet for one outer packet of ``path_mtu``."""
    return _compute(transform, mode, nat_t, gre, ipv6, path_mtu)


@functools.lru_cache(maxsize=1024)  # pure: every tunnel of a hub asks the same few questions
def _compute(
    transform: Transform | str, mode: Mode, nat_t: bool, gre: bool, ipv6: bool, path_mtu: int
) -> MtuResult:
    t = parse_transform(transform) if isinstance(transform, str) else transform
    if path_mtu < 68:
        raise UsageError(f"path MTU {path_mtu} is below the IPv4 minimum of 68")
    ip_hdr = 40 if ipv6 else 20
    outer = ip_hdr if mode == "tunnel" else 0
    udp = 8 if nat_t else 0
    ah = 0
    if t.ah_icv is not None:
        align = 8 if ipv6 else 4
        ah = -(-(_AH_FIXED + t.ah_icv) // align) * align
    esp_fixed = 8 + t.iv + t.icv + 2 if t.esp else 0
    pad_max = (t.block - 1) if t.esp else 0
    gre_bytes = (4 + ip_hdr) if gre else 0
    fixed = outer + udp + ah + esp_fixed
    # Tunnel: the new outer header; transport: the packet's own header, left unencrypted.
    room = path_mtu - ip_hdr - udp - ah - (8 + t.iv + t.icv if t.esp else 0)
    payload = (room // t.block) * t.block - 2 if t.esp else room
    plaintext = payload if mode == "tunnel" else payload + ip_hdr
    ip_mtu = plaintext - gre_bytes
    if ip_mtu < 68:
        raise UsageError(f"path MTU {path_mtu} leaves no room for a packet with {t.name!r}")
    return MtuResult(
        transform=t.name,
        mode=mode,
        nat_t=nat_t,
        gre=gre,
        ipv6=ipv6,
        path_mtu=path_mtu,
        overhead_min=fixed + gre_bytes,
        overhead_max=fixed + pad_max + gre_bytes,
        plaintext_mtu=plaintext,
        ip_mtu=ip_mtu,
        tcp_mss=ip_mtu - ip_hdr - 20,
    )


def _int_or(value: object, default: int) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _figures_sa(sas: list[IpsecSa]) -> IpsecSa | None:
    """The SA whose transform the figures come from: the first outbound ESP SA, else the
    first inbound ESP SA, else the first outbound SA, else the first SA (one pass: this
    runs for every tunnel of every document)."""
    first_out = first_esp = None
    for sa in sas:
        if sa.direction == "out":
            if sa.protocol == "esp":
                return sa
            if first_out is None:
                first_out = sa
        elif first_esp is None and sa.protocol == "esp":
            first_esp = sa
    return first_esp or first_out or (sas[0] if sas else None)


def for_tunnel(tunnel: Tunnel) -> MtuResult | None:
    """The MTU figures of one polled tunnel, or ``None`` when they cannot be computed.

    Pure and total on purpose: ``assemble`` calls it for every tunnel of every poll, so an
    unknown transform, a tunnel without SAs or an odd path MTU means "no figure", never an
    exception. Inputs: the outbound SA's transform (the inbound one when there is no outbound),
    its mode and UDP encapsulation, the ``path_mtu`` the parser put in ``extra`` (1500 when
    absent), IPv6 from the tunnel's addresses, and GRE when the selectors are protocol 47.
    """
    sa = _figures_sa(tunnel.sas)
    if sa is None:
        return None
    candidates: list[str] = []
    if sa.transform:
        candidates.append(sa.transform)
    ah = [s.transform for s in tunnel.sas if s.protocol == "ah" and s.transform]
    if sa.transform and ah and sa.protocol == "esp":
        candidates.insert(0, f"{ah[0]} {sa.transform}")
    if sa.encryption:
        candidates.append(f"{sa.encryption}-{sa.integrity}" if sa.integrity else sa.encryption)
    extra = tunnel.extra or {}
    path_mtu = _int_or(extra.get("path_mtu"), 1500)
    addr = tunnel.local_addr or tunnel.peer or ""
    gre = bool(tunnel.local_ts and tunnel.local_ts.protocol == 47)
    mode: Mode = "transport" if sa.mode == "transport" else "tunnel"
    for text in candidates:
        try:
            return compute(
                text, mode=mode, nat_t=sa.udp_encap, gre=gre, ipv6=":" in addr, path_mtu=path_mtu
            )
        except (UsageError, ValueError, KeyError):
            continue
    return None
