"""IKE prober: send a real first message to one peer and report what it accepts.

It behaves like a real initiator up to the first answer: IKEv2 IKE_SA_INIT (real KE for the
group, nonce, NAT-D, fragmentation-supported), resends with a COOKIE when asked, retries with
the group an INVALID_KE_PAYLOAD names -- and stops there: it never authenticates. Traffic goes
only to the address given, bounded in count and rate. This module and ``transport``/``lab``
are the only ones that open sockets.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from ipsecctl.diag.ike import names as N
from ipsecctl.diag.ike.decode import decode_message, transform_keyword
from ipsecctl.diag.ike.groups import SUPPORTED_GROUPS, public_value
from ipsecctl.errors import UsageError

NON_ESP_MARKER = b"\x00\x00\x00\x00"

_DH_BY_NAME = {v: k for k, v in N.DH_GROUPS.items() if k}
_DH_BY_NAME.update({"x25519": 31, "x448": 32})
_INTEG_BY_NAME = {
    "md5": 1,
    "sha1": 2,
    "sha": 2,
    "aesxcbc": 5,
    "md5_128": 6,
    "sha1_160": 7,
    "aescmac": 8,
    "sha256": 12,
    "sha2_256": 12,
    "sha384": 13,
    "sha2_384": 13,
    "sha512": 14,
    "sha2_512": 14,
}
_PRF_BY_NAME = {
    "prfmd5": 1,
    "prfsha1": 2,
    "prfaesxcbc": 4,
    "prfsha256": 5,
    "prfsha384": 6,
    "prfsha512": 7,
    "prfaescmac": 8,
}
_PRF_FROM_INTEG = {1: 1, 2: 2, 5: 4, 6: 1, 7: 2, 8: 8, 12: 5, 13: 6, 14: 7}


@dataclass(frozen=True)
class Proposal:
    """One proposal: transform ids per type (IKEv2 numbering; IKEv1 mapped when sent)."""

    text: str
    encr: list[tuple[int, int | None]] = field(default_factory=list)  # (id, keylen)
    integ: list[int] = field(default_factory=list)
    prf: list[int] = field(default_factory=list)
    dh: list[int] = field(default_factory=list)


def _encr_token(tok: str) -> tuple[int, int | None] | None:
    if tok == "3des":
        return 3, None
    if tok == "des":
        return 2, None
    if tok == "null":
        return 11, None
    if tok in ("chacha20poly1305", "chacha20poly1305compat"):
        return 28, None
    m = re.fullmatch(
        r"aes(128|192|256)?(ctr|gcm(8|12|16|64|96|128)?|ccm(8|12|16|64|96|128)?)?", tok
    )
    if not m:
        return None
    bits = int(m.group(1) or 128)
    mode = m.group(2) or ""
    if mode == "":
        return 12, bits
    if mode == "ctr":
        return 13, bits
    icv = int(m.group(3) or m.group(4) or 16)
    icv = {64: 8, 96: 12, 128: 16}.get(icv, icv)
    base = 18 if mode.startswith("gcm") else 14
    return base + {8: 0, 12: 1, 16: 2}[icv], bits


def parse_proposal(text: str, version: int = 2) -> Proposal:
    """A strongSwan-syntax proposal (``aes256-sha256-modp2048``); UsageError names the token."""
    prop = Proposal(text=text)
    tokens = [t for t in text.strip().lower().split("-") if t]
    if not tokens:
        raise UsageError("empty --proposal", hint="e.g. aes256-sha256-modp2048")
    for tok in tokens:
        enc = _encr_token(tok)
        if enc is not None:
            prop.encr.append(enc)
        elif tok in _INTEG_BY_NAME:
            prop.integ.append(_INTEG_BY_NAME[tok])
        elif tok in _PRF_BY_NAME:
            prop.prf.append(_PRF_BY_NAME[tok])
        elif tok in _DH_BY_NAME:
            prop.dh.append(_DH_BY_NAME[tok])
        else:
            raise UsageError(
                f"--proposal {text}: unknown algorithm {tok!r}",
                hint="use strongSwan keywords, e.g. aes256-sha256-modp2048 or "
                "aes256gcm16-prfsha256-ecp256",
            )
    aead = [e for e, _ in prop.encr if e in (14, 15, 16, 18, 19, 20, 28)]
    if not prop.encr:
        raise UsageError(f"--proposal {text}: no encryption algorithm", hint="add e.g. aes256")
    if not prop.dh:
        raise UsageError(f"--proposal {text}: no DH group", hint="add e.g. modp2048 or ecp256")
    for g in prop.dh:
        if g not in SUPPORTED_GROUPS:
            raise UsageError(
                f"--proposal {text}: DH group {N.DH_GROUPS.get(g, g)} cannot be probed",
                hint="use a MODP, ECP, or curve25519/448 group",
            )
    if version == 2:
        if aead and len(aead) != len(prop.encr):
            raise UsageError(f"--proposal {text}: AEAD and non-AEAD ciphers in one proposal")
        if not aead and not prop.integ:
            raise UsageError(f"--proposal {text}: no integrity algorithm", hint="add e.g. sha256")
        if aead and prop.integ:
            raise UsageError(f"--proposal {text}: AEAD cipher with an integrity algorithm")
        if not prop.prf:
            if aead:
                raise UsageError(f"--proposal {text}: AEAD needs a PRF", hint="add e.g. prfsha256")
            prop.prf.extend(dict.fromkeys(_PRF_FROM_INTEG[i] for i in prop.integ))
    else:
        if aead or any(e not in (2, 3, 12) for e, _ in prop.encr):
            raise UsageError(f"--proposal {text}: IKEv1 supports des, 3des, aes[128|192|256]")
        if not prop.integ or any(i not in (1, 2, 12, 13, 14) for i in prop.integ):
            raise UsageError(
                f"--proposal {text}: IKEv1 needs a hash (md5, sha1, sha256, sha384, sha512)"
            )
    return prop


# -- message building ---------------------------------------------------------------------


def _attr_tv(atype: int, value: int) -> bytes:
    return struct.pack("!HH", 0x8000 | atype, value)


def _payload(np: int, body: bytes) -> bytes:
    return struct.pack("!BBH", np, 0, 4 + len(body)) + body


def _chain(payloads: list[tuple[int, bytes]]) -> tuple[int, bytes]:
    """Link (type, body) payloads; returns the first payload type and the bytes."""
    out = b""
    for i, (_ptype, body) in enumerate(payloads):
        np = payloads[i + 1][0] if i + 1 < len(payloads) else 0
        out += _payload(np, body)
    return (payloads[0][0] if payloads else 0), out


def _header(
    spi_i: bytes,
    spi_r: bytes,
    np: int,
    version: int,
    exchange: int,
    flags: int,
    msgid: int,
    body_len: int,
) -> bytes:
    return (
        spi_i + spi_r + struct.pack("!BBBBII", np, version, exchange, flags, msgid, 28 + body_len)
    )


def _v2_sa(proposals: list[Proposal]) -> bytes:
    out = b""
    for pnum, prop in enumerate(proposals, 1):
        transforms: list[bytes] = []
        for tid, keylen in prop.encr:
            attrs = _attr_tv(14, keylen) if keylen and tid not in (3, 28) else b""
            transforms.append(struct.pack("!BBHBBH", 3, 0, 8 + len(attrs), 1, 0, tid) + attrs)
        for ttype, ids in ((2, prop.prf), (3, prop.integ), (4, prop.dh)):
            for tid in ids:
                transforms.append(struct.pack("!BBHBBH", 3, 0, 8, ttype, 0, tid))
        tbytes = b"".join(transforms[:-1]) + b"\x00" + transforms[-1][1:]
        last = 0 if pnum == len(proposals) else 2
        out += (
            struct.pack("!BBHBBBB", last, 0, 8 + len(tbytes), pnum, 1, 0, len(transforms)) + tbytes
        )
    return out


def _natd(spi_i: bytes, spi_r: bytes, addr: str, port: int) -> bytes:
    ip = ipaddress.ip_address(addr).packed
    return hashlib.sha1(
        spi_i + spi_r + ip + struct.pack("!H", port), usedforsecurity=False
    ).digest()


def build_ikev2_init(
    spi_i: bytes,
    proposals: list[Proposal],
    group: int,
    *,
    local: tuple[str, int],
    remote: tuple[str, int],
    cookie: bytes | None = None,
) -> bytes:
    """An IKE_SA_INIT request (SA, KE, Ni, NAT-D x2, IKEV2_FRAGMENTATION_SUPPORTED)."""
    zero = b"\x00" * 8
    payloads: list[tuple[int, bytes]] = []
    if cookie is not None:
        payloads.append((41, struct.pack("!BBH", 0, 0, 16390) + cookie))
    payloads += [
        (33, _v2_sa(proposals)),
        (34, struct.pack("!HH", group, 0) + public_value(group)),
        (40, os.urandom(32)),
        (41, struct.pack("!BBH", 0, 0, 16388) + _natd(spi_i, zero, *local)),
        (41, struct.pack("!BBH", 0, 0, 16389) + _natd(spi_i, zero, *remote)),
        (41, struct.pack("!BBH", 0, 0, 16430)),
    ]
    np, body = _chain(payloads)
    return _header(spi_i, zero, np, 0x20, 34, 0x08, 0, len(body)) + body


def _v1_transforms(prop: Proposal) -> list[bytes]:
    out = []
    n = 0
    for enc, keylen in prop.encr:
        for integ in prop.integ:
            for group in prop.dh:
                n += 1
                v1enc = {2: 1, 3: 5, 12: 7}[enc]
                v1hash = {1: 1, 2: 2, 12: 4, 13: 5, 14: 6}[integ]
                attrs = _attr_tv(1, v1enc)
                if enc == 12:
                    attrs += _attr_tv(14, keylen or 128)
                attrs += (
                    _attr_tv(2, v1hash)
                    + _attr_tv(3, 1)
                    + _attr_tv(4, group)
                    + _attr_tv(11, 1)
                    + _attr_tv(12, 28800)
                )
                out.append(struct.pack("!BBBB", n, 1, 0, 0) + attrs)
    return out


def build_ikev1(
    cookie_i: bytes,
    proposals: list[Proposal],
    *,
    aggressive: bool = False,
    identity: str = "probe@ipsecctl",
) -> bytes:
    """IKEv1 main mode message 1 (SA + VIDs), or aggressive mode 1 (SA, KE, Ni, IDii)."""
    bodies = [t for p in proposals for t in _v1_transforms(p)]
    if not bodies:
        raise UsageError("no IKEv1 transform to send")
    groups = {g for p in proposals for g in p.dh}
    if aggressive and len(groups) != 1:
        raise UsageError("aggressive mode sends one KE: use a single DH group for all proposals")
    tbytes = b""
    for i, t in enumerate(bodies):
        np = 3 if i + 1 < len(bodies) else 0
        tbytes += struct.pack("!BBH", np, 0, 4 + len(t)) + t
    prop = struct.pack("!BBBB", 1, 1, 0, len(bodies)) + tbytes
    sa = struct.pack("!II", 1, 1) + struct.pack("!BBH", 0, 0, 4 + len(prop)) + prop
    payloads: list[tuple[int, bytes]] = [(1, sa)]
    if aggressive:
        group = next(iter(groups))
        id_type = 3 if "@" in identity else 2
        payloads += [
            (4, public_value(group)),
            (10, os.urandom(20)),
            (5, struct.pack("!BBH", id_type, 17, 500) + identity.encode()),
        ]
    payloads += [
        (13, bytes.fromhex("4a131c81070358455c5728f20e95452f")),
        (13, bytes.fromhex("afcad71368a1f1c96b8696fc77570100")),
    ]
    np, body = _chain(payloads)
    return _header(cookie_i, b"\x00" * 8, np, 0x10, 4 if aggressive else 2, 0, 0, len(body)) + body


# -- the conversation ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeOptions:
    port: int = 500
    timeout: float = 2.0
    retries: int = 2
    aggressive: bool = False
    identity: str = "probe@ipsecctl"
    interval: float = 0.1  # seconds between enumeration probes
    max_probes: int = 80


DEFAULT_V2 = [
    "aes256-sha256-modp2048",
    "aes128-sha256-modp2048",
    "aes256-sha256-ecp256",
    "aes256gcm16-prfsha256-ecp256",
]
DEFAULT_V1 = ["aes256-sha256-modp2048", "aes128-sha1-modp2048", "3des-sha1-modp1024"]

ENUM_V2_CIPHERS = [
    "aes256-sha256",
    "aes128-sha256",
    "aes256-sha384",
    "aes256-sha512",
    "aes128-sha1",
    "aes256-sha1",
    "3des-sha1",
    "aes256gcm16-prfsha256",
    "aes128gcm16-prfsha256",
    "aes256gcm16-prfsha384",
    "chacha20poly1305-prfsha256",
]
ENUM_V1_CIPHERS = [
    "aes256-sha256",
    "aes128-sha256",
    "aes256-sha1",
    "aes128-sha1",
    "3des-sha1",
    "3des-md5",
    "des-sha1",
    "des-md5",
]
ENUM_GROUPS_V2 = ["modp2048", "ecp256", "ecp384", "curve25519", "modp1024", "modp1536", "modp3072"]
ENUM_GROUPS_V1 = ["modp2048", "modp1024", "modp1536", "modp768", "ecp256"]


def enumeration_list(version: int) -> list[str]:
    """The bounded list ``--enumerate`` walks (one transform of each type per proposal)."""
    ciphers = ENUM_V2_CIPHERS if version == 2 else ENUM_V1_CIPHERS
    groups = ENUM_GROUPS_V2 if version == 2 else ENUM_GROUPS_V1
    return [f"{c}-{g}" for g in groups for c in ciphers]


class _Peer:
    """One connected UDP socket to the peer (so only its answers reach us)."""

    def __init__(self, peer: str, port: int) -> None:
        try:
            addr = ipaddress.ip_address(peer)
        except ValueError as exc:
            raise UsageError(
                f"PEER {peer!r} is not an IP address",
                hint="give the responder's IPv4 or IPv6 address",
            ) from exc
        self.addr = str(addr)
        self.port = port
        fam = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_DGRAM)
        self.sock.connect((self.addr, port))
        self.local = self.sock.getsockname()[:2]

    def close(self) -> None:
        self.sock.close()

    def ask(
        self, data: bytes, spi_i: bytes, timeout: float, retries: int
    ) -> tuple[bytes | None, float | None, str | None]:
        """Send, wait, resend; (answer for our SPI, rtt ms, error text)."""
        wire = NON_ESP_MARKER + data if self.port == 4500 else data
        for _ in range(retries + 1):
            sent = time.monotonic()
            try:
                self.sock.send(wire)
            except OSError as exc:
                return None, None, f"send failed: {exc.strerror or exc}"
            deadline = sent + timeout
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                try:
                    reply = self.sock.recv(65535)
                except TimeoutError:
                    break
                except ConnectionRefusedError:
                    return None, None, "ICMP port unreachable: nothing listens there"
                except OSError as exc:
                    return None, None, f"receive failed: {exc.strerror or exc}"
                if self.port == 4500:
                    if reply[:4] != NON_ESP_MARKER:
                        continue
                    reply = reply[4:]
                if reply[:8] == spi_i:
                    return reply, (time.monotonic() - sent) * 1000.0, None
        return None, None, None


def _chosen_v2(msg: dict[str, Any]) -> dict[str, Any] | None:
    sa = next((p for p in msg["payloads"] if p.get("type") == "SA"), None)
    if not sa or not sa.get("proposals"):
        return None
    prop = sa["proposals"][0]
    out: dict[str, Any] = {"transforms": prop["transforms"]}
    words = []
    for t in prop["transforms"]:
        kw = transform_keyword(t)
        words.append(kw or t["name"])
        key = {"ENCR": "encryption", "INTEG": "integrity", "PRF": "prf", "DH": "dh_group"}.get(
            t["type"]
        )
        if key == "dh_group":
            out[key] = t["id"]
        elif key:
            out[key] = kw or t["name"]
    out["proposal"] = "-".join(words)
    return out


def _chosen_v1(msg: dict[str, Any]) -> dict[str, Any] | None:
    sa = next((p for p in msg["payloads"] if p.get("type") == "SA"), None)
    if not sa or not sa.get("proposals") or not sa["proposals"][0]["transforms"]:
        return None
    attrs = dict(sa["proposals"][0]["transforms"][0]["attributes"])
    enc = str(attrs.get("encryption", "?")).lower()
    if enc == "aes":
        enc = f"aes{attrs.get('key_length', 128)}"
    hsh = {
        "SHA1": "sha1",
        "MD5": "md5",
        "SHA2-256": "sha256",
        "SHA2-384": "sha384",
        "SHA2-512": "sha512",
    }.get(str(attrs.get("hash")), str(attrs.get("hash")))
    group = attrs.get("group")
    attrs["proposal"] = (
        f"{enc}-{hsh}-{N.DH_GROUPS.get(group, group)}" if isinstance(group, int) else f"{enc}-{hsh}"
    )
    return attrs


def _vendor_ids(msg: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"data": p["data"], "name": p.get("name")}
        for p in msg["payloads"]
        if p.get("type") in ("V", "VID") and "data" in p
    ]


def _classify(msg: dict[str, Any], version: int) -> str:
    names = [n["name"] for n in msg["notify"]]
    if version == 2:
        if "NO_PROPOSAL_CHOSEN" in names:
            return "no_proposal_chosen"
        if "INVALID_KE_PAYLOAD" in names:
            return "invalid_ke"
        if "COOKIE" in names:
            return "cookie"
        if any(p.get("type") == "SA" for p in msg["payloads"]):
            return "accepted"
        return "error"
    if "NO_PROPOSAL_CHOSEN" in names:
        return "no_proposal_chosen"
    if any(p.get("type") == "SA" for p in msg["payloads"]):
        return "accepted"
    return "error"


def probe(
    peer: str,
    version: int = 2,
    proposals: list[str] | None = None,
    opts: ProbeOptions | None = None,
) -> dict[str, Any]:
    """Probe one peer with one first message; the ``diag probe`` document (without envelope)."""
    opts = opts or ProbeOptions()
    texts = proposals or (DEFAULT_V2 if version == 2 else DEFAULT_V1)
    props = [parse_proposal(t, version) for t in texts]
    conn = _Peer(peer, opts.port)
    try:
        return _probe(conn, version, texts, props, opts)
    finally:
        conn.close()


def _probe(
    conn: _Peer, version: int, texts: list[str], props: list[Proposal], opts: ProbeOptions
) -> dict[str, Any]:
    spi_i = os.urandom(8)
    doc: dict[str, Any] = {
        "peer": conn.addr,
        "port": conn.port,
        "version": version,
        "mode": ("aggressive" if opts.aggressive else "main") if version == 1 else "ike_sa_init",
        "proposals": texts,
        "spi_i": spi_i.hex(),
        "result": "no_response",
        "chosen": None,
        "notify": [],
        "vendor_ids": [],
        "wanted_group": None,
        "rtt_ms": None,
        "attempts": [],
        "error": None,
    }
    group = props[0].dh[0]
    offered = {g for p in props for g in p.dh}
    cookie: bytes | None = None
    for _ in range(4):  # first try, COOKIE resend, INVALID_KE retry, one more COOKIE
        if version == 2:
            data = build_ikev2_init(
                spi_i, props, group, local=conn.local, remote=(conn.addr, conn.port), cookie=cookie
            )
        else:
            data = build_ikev1(spi_i, props, aggressive=opts.aggressive, identity=opts.identity)
        reply, rtt, err = conn.ask(data, spi_i, opts.timeout, opts.retries)
        attempt: dict[str, Any] = {
            "group": group if version == 2 else None,
            "cookie": cookie is not None,
        }
        if reply is None:
            attempt["result"] = "no_response"
            doc["attempts"].append(attempt)
            doc["result"], doc["error"] = "no_response", err
            return doc
        msg = decode_message(reply)
        result = _classify(msg, version)
        attempt.update(
            result=result, rtt_ms=round(rtt or 0.0, 3), notify=[n["name"] for n in msg["notify"]]
        )
        doc["attempts"].append(attempt)
        doc["notify"] = msg["notify"]
        doc["vendor_ids"] = _vendor_ids(msg)
        doc["rtt_ms"] = round(rtt or 0.0, 3)
        doc["spi_r"] = msg.get("spi_r")
        doc["result"] = result
        if msg["errors"]:
            doc["error"] = "; ".join(msg["errors"])
        if result == "cookie" and cookie is None:
            n = next(n for n in msg["notify"] if n["name"] == "COOKIE")
            cookie = bytes.fromhex(n.get("data") or "")
            continue
        if result == "invalid_ke":
            wanted = next(
                (n.get("group") for n in msg["notify"] if n["name"] == "INVALID_KE_PAYLOAD"), None
            )
            doc["wanted_group"] = wanted
            attempt["wanted_group"] = wanted
            if wanted in offered and wanted != group and wanted in SUPPORTED_GROUPS:
                group = wanted
                cookie = None
                continue
            return doc
        if result == "accepted":
            doc["chosen"] = _chosen_v2(msg) if version == 2 else _chosen_v1(msg)
        return doc
    return doc


def enumerate_peer(
    peer: str,
    version: int = 2,
    opts: ProbeOptions | None = None,
    proposals: list[str] | None = None,
) -> dict[str, Any]:
    """Walk a bounded list of single-choice proposals at a limited rate; stop if the peer is
    silent (no point hammering a host that does not answer)."""
    opts = opts or ProbeOptions()
    texts = proposals or enumeration_list(version)
    if len(texts) > opts.max_probes:
        texts = texts[: opts.max_probes]
    for t in texts:
        parse_proposal(t, version)  # syntax errors before any packet
    results = []
    accepted = []
    vids: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        if i:
            time.sleep(opts.interval)
        r = probe(peer, version, [text], opts)
        results.append(
            {
                k: r[k]
                for k in (
                    "proposals",
                    "result",
                    "chosen",
                    "notify",
                    "wanted_group",
                    "rtt_ms",
                    "error",
                )
            }
        )
        vids = vids or r["vendor_ids"]
        if r["result"] == "accepted":
            accepted.append(text)
        if r["result"] == "no_response" and i == 0:
            break
    return {
        "peer": peer,
        "port": opts.port,
        "version": version,
        "results": results,
        "accepted": accepted,
        "vendor_ids": vids,
        "result": "accepted" if accepted else (results[-1]["result"] if results else "no_response"),
    }
