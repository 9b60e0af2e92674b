"""IKEv1/IKEv2 message decoder: bytes -> plain dicts (the ``messages`` of ``diag ike --json``).

Pure functions. A malformed or truncated message yields a dict with ``errors`` and whatever was
decoded before the fault; nothing here raises on packet content (hypothesis fuzzes this).
SK payloads are decrypted when a :class:`~ipsecctl.diag.ike.keys.KeyTable` has the SA's keys.
"""

from __future__ import annotations

import hashlib
import ipaddress
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ipsecctl.diag.ike import names as N
from ipsecctl.diag.ike.keys import KeyTable
from ipsecctl.diag.ike.sk import decrypt_sk
from ipsecctl.diag.packets.pcap import KIND_IKE, Frame
from ipsecctl.diag.packets.reader import CaptureInfo, open_capture

HEADER_LEN = 28
MAX_PAYLOADS = 256

Payload = dict[str, Any]


class Malformed(Exception):
    """Internal: a length or count that does not fit the bytes; becomes an ``errors`` entry."""


def _need(data: bytes, n: int, what: str) -> None:
    if len(data) < n:
        raise Malformed(f"{what}: needs {n} bytes, has {len(data)}")


# -- header ---------------------------------------------------------------------------------


def parse_header(data: bytes) -> dict[str, Any]:
    """The 28-byte ISAKMP/IKEv2 header as a dict (raises Malformed if too short)."""
    _need(data, HEADER_LEN, "IKE header")
    spi_i, spi_r = data[0:8].hex(), data[8:16].hex()
    np, ver, xchg, flags = data[16], data[17], data[18], data[19]
    msgid, length = struct.unpack("!II", data[20:28])
    major = ver >> 4
    hdr: dict[str, Any] = {
        "version": major,
        "minor": ver & 0x0F,
        "exchange_type": xchg,
        "spi_i": spi_i,
        "spi_r": spi_r,
        "message_id": msgid,
        "length": length,
        "flags": flags,
        "next_payload": np,
    }
    if major == 2:
        hdr["exchange"] = N.name_of(N.EXCHANGES_V2, xchg)
        hdr["initiator"] = bool(flags & 0x08)
        hdr["response"] = bool(flags & 0x20)
        hdr["encrypted"] = False
    else:
        hdr["exchange"] = N.name_of(N.EXCHANGES_V1, xchg)
        hdr["initiator"] = None
        hdr["response"] = None
        hdr["encrypted"] = bool(flags & 0x01)
        hdr["commit"] = bool(flags & 0x02)
    return hdr


# -- attributes and SA ----------------------------------------------------------------------


def _attributes(data: bytes) -> list[tuple[int, int | bytes]]:
    """ISAKMP data attributes: TV (AF bit set, 2-byte value) or TLV."""
    out: list[tuple[int, int | bytes]] = []
    off = 0
    while off < len(data):
        _need(data[off:], 4, "attribute")
        atype, aval = struct.unpack("!HH", data[off : off + 4])
        if atype & 0x8000:
            out.append((atype & 0x7FFF, aval))
            off += 4
        else:
            _need(data[off + 4 :], aval, "attribute value")
            out.append((atype, data[off + 4 : off + 4 + aval]))
            off += 4 + aval
    return out


def _int_value(v: int | bytes) -> int:
    return v if isinstance(v, int) else int.from_bytes(v, "big") if len(v) <= 8 else -1


def _v1_transform_attrs(attrs: list[tuple[int, int | bytes]], phase1: bool) -> dict[str, Any]:
    names = N.V1_P1_ATTRS if phase1 else N.V1_P2_ATTRS
    values = N.V1_P1_VALUES if phase1 else N.V1_P2_VALUES
    group_key = 4 if phase1 else 3
    out: dict[str, Any] = {}
    for atype, val in attrs:
        key = names.get(atype, f"attr_{atype}")
        num = _int_value(val)
        if atype == group_key:
            out[key] = num
            out[f"{key}_name"] = N.DH_GROUPS.get(num, f"UNKNOWN_{num}")
        elif values.get(atype):
            out[key] = values[atype].get(num, f"UNKNOWN_{num}")
        elif isinstance(val, bytes) and len(val) > 8:
            out[key] = val.hex()
        else:
            out[key] = num
    return out


def _v2_transform(ttype: int, tid: int, attrs: list[tuple[int, int | bytes]]) -> dict[str, Any]:
    table = N.TRANSFORM_IDS.get(ttype, {})
    t: dict[str, Any] = {
        "type": N.name_of(N.TRANSFORM_TYPES, ttype),
        "id": tid,
        "name": table.get(tid, f"UNKNOWN_{tid}"),
    }
    for atype, val in attrs:
        if atype == 14:
            t["keylen"] = _int_value(val)
        else:
            t[f"attr_{atype}"] = _int_value(val)
    if ttype == 4:
        t["group"] = tid
    return t


def transform_keyword(t: dict[str, Any]) -> str | None:
    """strongSwan keyword of an IKEv2 transform dict (``aes256``, ``prfsha256``, ``modp2048``)."""
    kind, tid = t.get("type"), int(t.get("id", -1))
    if kind == "ENCR" and tid in N.ENCR_KEYWORDS:
        return N.ENCR_KEYWORDS[tid].format(k=t.get("keylen", ""))
    if kind == "PRF":
        return N.PRF_KEYWORDS.get(tid)
    if kind == "INTEG":
        return N.INTEG_KEYWORDS.get(tid)
    if kind == "DH":
        return N.DH_GROUPS.get(tid)
    if kind == "ESN":
        return "esn" if tid == 1 else "noesn"
    return None


_Attrs = list[tuple[int, int | bytes]]
_TransformReader = Callable[[int, int, int, int, _Attrs], dict[str, Any]]


def _proposals(body: bytes, read_transform: _TransformReader) -> list[dict[str, Any]]:
    """Walk the proposal and transform substructures of an SA payload.

    IKEv1 (RFC 2408 3.5/3.6) and IKEv2 (RFC 7296 3.3.1/3.3.2) lay both out alike, lengths and
    counts included; only the four bytes after a transform's length mean different things, so
    ``read_transform(protocol, byte4, byte5, bytes6_7, attributes)`` interprets them.
    """
    proposals = []
    off = 0
    while off < len(body):
        _need(body[off:], 8, "proposal")
        more, _r, plen, pnum, proto, spisz, ntr = struct.unpack("!BBHBBBB", body[off : off + 8])
        if plen < 8 or off + plen > len(body):
            raise Malformed(f"proposal {pnum}: length {plen} does not fit")
        pb = body[off + 8 : off + plen]
        _need(pb, spisz, "proposal SPI")
        prop: dict[str, Any] = {
            "number": pnum,
            "protocol": N.name_of(N.PROTOCOLS, proto),
            "spi": pb[:spisz].hex() or None,
            "transforms": [],
        }
        toff = spisz
        for _ in range(ntr):
            _need(pb[toff:], 8, "transform")
            _more, _r2, tlen, b4, b5, b67 = struct.unpack("!BBHBBH", pb[toff : toff + 8])
            if tlen < 8 or toff + tlen > len(pb):
                raise Malformed(f"transform length {tlen} does not fit")
            attrs = _attributes(pb[toff + 8 : toff + tlen])
            prop["transforms"].append(read_transform(proto, b4, b5, b67, attrs))
            toff += tlen
        proposals.append(prop)
        off += plen
        if more == 0:
            break
    return proposals


def _sa_v2(body: bytes) -> dict[str, Any]:
    def transform(_proto: int, ttype: int, _r: int, tid: int, attrs: _Attrs) -> dict[str, Any]:
        return _v2_transform(ttype, tid, attrs)

    return {"proposals": _proposals(body, transform)}


def _v1_transform(proto: int, tnum: int, tid: int, _r: int, attrs: _Attrs) -> dict[str, Any]:
    is_p1 = proto == 1
    if is_p1:
        tname = "KEY_IKE" if tid == 1 else f"UNKNOWN_{tid}"
    elif proto == 3:
        tname = N.V1_ESP_IDS.get(tid, f"UNKNOWN_{tid}")
    elif proto == 2:
        tname = N.V1_AH_IDS.get(tid, f"UNKNOWN_{tid}")
    else:
        tname = f"ID_{tid}"
    return {
        "number": tnum,
        "id": tid,
        "name": tname,
        "attributes": _v1_transform_attrs(attrs, is_p1),
    }


def _sa_v1(body: bytes) -> dict[str, Any]:
    _need(body, 8, "SA DOI/situation")
    doi, situation = struct.unpack("!II", body[:8])
    return {"doi": doi, "situation": situation, "proposals": _proposals(body[8:], _v1_transform)}


# -- other payload bodies ---------------------------------------------------------------


def _id_value(id_type: int, data: bytes) -> str:
    try:
        if id_type == 1 and len(data) == 4:
            return str(ipaddress.IPv4Address(data))
        if id_type == 5 and len(data) == 16:
            return str(ipaddress.IPv6Address(data))
        if id_type in (2, 3):
            return data.decode("utf-8", errors="replace")
        if id_type == 4 and len(data) == 8:
            return f"{ipaddress.IPv4Address(data[:4])}/{ipaddress.IPv4Address(data[4:])}"
        if id_type == 6 and len(data) == 32:
            return f"{ipaddress.IPv6Address(data[:16])}/{ipaddress.IPv6Address(data[16:])}"
        if id_type == 7 and len(data) == 8:
            return f"{ipaddress.IPv4Address(data[:4])}-{ipaddress.IPv4Address(data[4:])}"
        if id_type == 8 and len(data) == 32:
            return f"{ipaddress.IPv6Address(data[:16])}-{ipaddress.IPv6Address(data[16:])}"
    except ValueError:
        pass
    return data.hex()


def _notify(body: bytes, version: int) -> dict[str, Any]:
    if version == 1:
        _need(body, 8, "notify")
        doi, proto, spisz, ntype = struct.unpack("!IBBH", body[:8])
        rest = body[8:]
    else:
        _need(body, 4, "notify")
        proto, spisz, ntype = struct.unpack("!BBH", body[:4])
        rest = body[4:]
        doi = None
    _need(rest, spisz, "notify SPI")
    spi, data = rest[:spisz], rest[spisz:]
    table = N.NOTIFY_V1 if version == 1 else N.NOTIFY_V2
    n: dict[str, Any] = {
        "notify_type": ntype,
        "name": N.name_of(table, ntype),
        "protocol": N.PROTOCOLS.get(proto) if proto else None,
        "spi": spi.hex() or None,
        "data_len": len(data),
    }
    if doi is not None:
        n["doi"] = doi
    if ntype == 17 and version == 2 and len(data) >= 2:
        n["group"] = struct.unpack("!H", data[:2])[0]
        n["group_name"] = N.DH_GROUPS.get(n["group"], f"UNKNOWN_{n['group']}")
    elif ntype in (16388, 16389, 16390, 16401) or (ntype >= 16384 and len(data) <= 64):
        n["data"] = data.hex()
    elif ntype == 9101 or (ntype < 16384 and data and all(32 <= b < 127 or b == 0 for b in data)):
        n["text"] = data.decode("latin-1")
    elif len(data) <= 64:
        n["data"] = data.hex()
    if ntype == 16407 and len(data) >= 2:  # REDIRECT: gateway identity type, length, value
        gtype, glen = data[0], data[1]
        gw = data[2 : 2 + glen]
        n["gateway"] = (
            str(ipaddress.IPv4Address(gw))
            if gtype == 1 and glen == 4
            else str(ipaddress.IPv6Address(gw))
            if gtype == 2 and glen == 16
            else gw.decode("latin-1")
        )
    return n


def _ts(body: bytes) -> list[dict[str, Any]]:
    _need(body, 4, "traffic selector")
    count = body[0]
    out = []
    off = 4
    for _ in range(count):
        _need(body[off:], 8, "traffic selector")
        tstype, proto, slen, sport, eport = struct.unpack("!BBHHH", body[off : off + 8])
        if slen < 8 or off + slen > len(body):
            raise Malformed(f"traffic selector length {slen} does not fit")
        addrs = body[off + 8 : off + slen]
        ts: dict[str, Any] = {
            "type": N.name_of(N.TS_TYPES, tstype),
            "protocol": proto,
            "start_port": sport,
            "end_port": eport,
        }
        alen = 4 if tstype == 7 else 16 if tstype == 8 else 0
        if alen and len(addrs) >= 2 * alen:
            start = ipaddress.ip_address(addrs[:alen])
            end = ipaddress.ip_address(addrs[alen : 2 * alen])
            ts["start"], ts["end"] = str(start), str(end)
            nets = (
                list(ipaddress.summarize_address_range(start, end))
                if int(start) <= int(end)
                else []
            )
            if len(nets) == 1:
                ts["prefix"] = str(nets[0])
        out.append(ts)
        off += slen
    return out


def _cp(body: bytes) -> dict[str, Any]:
    _need(body, 4, "configuration")
    attrs = []
    off = 4
    while off < len(body):
        _need(body[off:], 4, "configuration attribute")
        atype, alen = struct.unpack("!HH", body[off : off + 4])
        _need(body[off + 4 :], alen, "configuration attribute value")
        val = body[off + 4 : off + 4 + alen]
        a: dict[str, Any] = {"type": N.name_of(N.CP_ATTRS, atype & 0x7FFF), "length": alen}
        if (atype & 0x7FFF) in (1, 2, 3, 4, 6, 13) and alen >= 4:
            a["value"] = str(ipaddress.IPv4Address(val[:4]))
        elif alen:
            a["value"] = val.hex()
        attrs.append(a)
        off += 4 + alen
    return {"cfg_type": N.name_of(N.CP_TYPES, body[0]), "attributes": attrs}


def _body(ptype: int, body: bytes, version: int) -> dict[str, Any]:
    """Fields of one payload (by its IKEv1/IKEv2 type); Malformed when lengths lie."""
    name = (N.PAYLOADS_V2 if version == 2 else N.PAYLOADS_V1).get(ptype)
    if name == "SA":
        return _sa_v2(body) if version == 2 else _sa_v1(body)
    if name == "KE":
        if version == 2:
            _need(body, 4, "KE")
            group = struct.unpack("!H", body[:2])[0]
            return {
                "group": group,
                "group_name": N.DH_GROUPS.get(group, f"UNKNOWN_{group}"),
                "data_len": len(body) - 4,
            }
        return {"data_len": len(body)}
    if name in ("Nonce", "NONCE", "HASH", "SIG"):
        return {"data_len": len(body)}
    if name in ("ID", "IDi", "IDr"):
        _need(body, 4, "ID")
        id_type = body[0]
        out: dict[str, Any] = {
            "id_type": N.name_of(N.ID_TYPES, id_type),
            "value": _id_value(id_type, body[4:]),
        }
        if version == 1:
            out["protocol"], out["port"] = body[1], struct.unpack("!H", body[2:4])[0]
        return out
    if name in ("CERT", "CR", "CERTREQ"):
        _need(body, 1, name)
        return {"encoding": N.name_of(N.CERT_ENCODINGS, body[0]), "data_len": len(body) - 1}
    if name == "AUTH":
        _need(body, 4, "AUTH")
        return {"method": N.name_of(N.AUTH_METHODS_V2, body[0]), "data": body[4:].hex()}
    if name == "N":
        return _notify(body, version)
    if name == "D":
        if version == 1:
            _need(body, 12, "delete")
            proto, spisz, count = body[8], body[9], struct.unpack("!H", body[10:12])[0]
            spis = body[12:]
        else:
            _need(body, 4, "delete")
            proto, spisz, count = body[0], body[1], struct.unpack("!H", body[2:4])[0]
            spis = body[4:]
        _need(spis, spisz * count, "delete SPIs")
        return {
            "protocol": N.PROTOCOLS.get(proto, str(proto)),
            "spis": [spis[i * spisz : (i + 1) * spisz].hex() for i in range(count)],
        }
    if name in ("V", "VID"):
        return {"data": body.hex(), "name": N.vendor_name(body)}
    if name in ("TSi", "TSr"):
        return {"selectors": _ts(body)}
    if name == "CP":
        return _cp(body)
    if name == "NAT-D":
        return {"hash": body.hex()}
    if name == "NAT-OA":
        _need(body, 4, "NAT-OA")
        return {"id_type": N.name_of(N.ID_TYPES, body[0]), "value": _id_value(body[0], body[4:])}
    if name == "EAP":
        _need(body, 4, "EAP")
        return {
            "code": body[0],
            "identifier": body[1],
            "eap_type": body[4] if len(body) > 4 else None,
        }
    if name == "FRAG":
        return {"data_len": len(body)}
    return {"data_len": len(body)}


# -- payload chain ---------------------------------------------------------------------------


def _chain(
    data: bytes, off: int, end: int, np: int, version: int, errors: list[str], base: int = 0
) -> tuple[list[Payload], int | None]:
    """Walk a payload chain in ``data[off:end]``; returns payloads and the SK offset if any."""
    payloads: list[Payload] = []
    names = N.PAYLOADS_V2 if version == 2 else N.PAYLOADS_V1
    sk_at = None
    count = 0
    while np != 0:
        count += 1
        if count > MAX_PAYLOADS:
            errors.append("too many payloads (loop?)")
            break
        if off + 4 > end:
            errors.append(f"payload {names.get(np, np)} at offset {base + off}: truncated header")
            break
        nxt, crit, plen = data[off], data[off + 1], struct.unpack("!H", data[off + 2 : off + 4])[0]
        if plen < 4 or off + plen > end:
            errors.append(
                f"payload {names.get(np, np)} at offset {base + off}: length {plen} "
                f"does not fit ({end - off} bytes left)"
            )
            break
        p: Payload = {"type": names.get(np, f"UNKNOWN_{np}"), "type_id": np, "length": plen}
        if version == 2 and crit & 0x80:
            p["critical"] = True
        if version == 2 and np in (46, 53):
            p["inner_next"] = names.get(nxt, f"UNKNOWN_{nxt}") if nxt else None
            p["inner_next_id"] = nxt
            if np == 53 and plen >= 8:
                p["fragment_number"], p["total_fragments"] = struct.unpack(
                    "!HH", data[off + 4 : off + 8]
                )
            p["encrypted_len"] = plen - (8 if np == 53 else 4)
            payloads.append(p)
            sk_at = off
            break  # SK/SKF is always last; its next-payload names the first inner payload
        try:
            p.update(_body(np, data[off + 4 : off + plen], version))
        except (Malformed, ValueError, struct.error, IndexError) as exc:
            p["error"] = str(exc)
            errors.append(f"payload {p['type']} at offset {base + off}: {exc}")
        payloads.append(p)
        np = nxt
        off += plen
    return payloads, sk_at


def notifies(payloads: Iterable[Payload]) -> list[dict[str, Any]]:
    """All notify payloads, including those decrypted inside SK."""
    out: list[dict[str, Any]] = []
    for p in payloads:
        if p.get("type") in ("N",) and "notify_type" in p:
            n = {
                k: v for k, v in p.items() if k not in ("type", "type_id", "length", "notify_type")
            }
            out.append({"type": p["notify_type"], **n})
        if isinstance(p.get("payloads"), list):
            out.extend(notifies(p["payloads"]))
    return out


def decode_message(data: bytes, keys: KeyTable | None = None) -> dict[str, Any]:
    """Decode one IKE message (UDP payload without the non-ESP marker). Never raises."""
    msg: dict[str, Any] = {
        "payloads": [],
        "notify": [],
        "decrypted": None,
        "icv": None,
        "errors": [],
    }
    try:
        hdr = parse_header(data)
    except Malformed as exc:
        msg["errors"].append(str(exc))
        msg.update(
            version=None,
            exchange=None,
            spi_i=None,
            spi_r=None,
            message_id=None,
            response=None,
            initiator=None,
        )
        return msg
    msg.update(hdr)
    if hdr["version"] not in (1, 2):
        msg["errors"].append(f"unknown IKE major version {hdr['version']}")
        return msg
    length = hdr["length"]
    end = len(data)
    if length < HEADER_LEN:
        msg["errors"].append(f"IKE length {length} shorter than the header")
    elif length > len(data):
        msg["errors"].append(f"truncated: header says {length} bytes, capture has {len(data)}")
    else:
        end = length
    version = hdr["version"]
    if version == 1 and hdr["encrypted"]:
        msg["payloads"] = [
            {
                "type": "encrypted",
                "first_payload": N.PAYLOADS_V1.get(hdr["next_payload"], hdr["next_payload"]),
                "encrypted_len": end - HEADER_LEN,
            }
        ]
        msg["decrypted"] = False
        return msg
    try:
        payloads, sk_at = _chain(data, HEADER_LEN, end, hdr["next_payload"], version, msg["errors"])
        msg["payloads"] = payloads
        if sk_at is not None:
            _decrypt_into(msg, data[:end], sk_at, keys)
    except Exception as exc:
        msg["errors"].append(f"internal decode error: {type(exc).__name__}: {exc}")
    msg["notify"] = notifies(msg["payloads"])
    return msg


def _decrypt_into(msg: dict[str, Any], data: bytes, sk_at: int, keys: KeyTable | None) -> None:
    sk = msg["payloads"][-1]
    is_frag = sk["type_id"] == 53
    body_start = sk_at + (8 if is_frag else 4)
    end = sk_at + sk["length"]
    k = keys.lookup(msg["spi_i"], msg["spi_r"]) if keys else None
    if k is None:
        msg["decrypted"] = False
        msg["icv"] = "no_key" if keys else None
        return
    from_i = bool(msg["initiator"])
    res = decrypt_sk(
        data,
        body_start,
        end,
        k.encr,
        k.integ,
        k.sk_ei if from_i else k.sk_er,
        k.sk_ai if from_i else k.sk_ar,
    )
    msg["icv"] = res.icv
    if res.plaintext is None:
        msg["decrypted"] = False
        if res.error:
            msg["errors"].append(f"SK payload: {res.error}")
        return
    msg["decrypted"] = True
    if is_frag:
        sk["_plain"] = res.plaintext  # joined by reassemble(); removed before output
        return
    inner, _ = _chain(
        res.plaintext, 0, len(res.plaintext), sk["inner_next_id"], 2, msg["errors"], base=body_start
    )
    sk["payloads"] = inner


def is_raw_message(data: bytes) -> bool:
    """Whether a file's bytes are one IKE message (ike-scan ``.dat``), not random data.

    Why so strict: anything at all decodes "as IKE" with errors, so a text or random file
    would otherwise become an invented SA. Required: the 28-byte header (after an optional
    non-ESP marker), version 1.0 or 2.0 and an exchange type of that version. Random bytes
    pass with a probability of about 1e-4.
    """
    if data[:4] == b"\x00\x00\x00\x00" and len(data) >= HEADER_LEN + 4:
        data = data[4:]
    if len(data) < HEADER_LEN:
        return False
    version, xchg = data[17], data[18]
    if version == 0x10:
        return xchg in N.EXCHANGES_V1 and xchg != 0
    if version == 0x20:
        return xchg in N.EXCHANGES_V2
    return False


def decode_raw(data: bytes, keys: KeyTable | None = None) -> dict[str, Any]:
    """Decode a raw message file (ike-scan ``.dat``): strips a leading non-ESP marker."""
    if (
        len(data) > HEADER_LEN + 4
        and data[:4] == b"\x00\x00\x00\x00"
        and data[4 + 17] >> 4 in (1, 2)
        and struct.unpack("!I", data[4 + 24 : 4 + 28])[0] == len(data) - 4
    ):
        return {"nat_t": True, **decode_message(data[4:], keys)}
    return {"nat_t": False, **decode_message(data, keys)}


def ike_message(frame: Frame) -> bytes | None:
    """The IKE message a frame carries (after any non-ESP marker), or None.

    The packet reader (:mod:`ipsecctl.diag.packets.pcap`) already did the RFC 3948 demux:
    ``kind == "ike"`` on UDP/500, or on UDP/4500 after the four zero bytes.
    """
    if frame.kind != KIND_IKE or frame.ip is None:
        return None
    return frame.data[frame.payload_offset : frame.ip.end]


def decode_frames(frames: Iterable[Frame], keys: KeyTable | None = None) -> list[dict[str, Any]]:
    """Decode every IKE message of a capture, flag retransmissions, reassemble SKF fragments."""
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    frags: dict[tuple[Any, ...], dict[int, dict[str, Any]]] = {}
    for f in frames:
        raw = ike_message(f)
        if raw is None:
            continue
        assert f.ip is not None
        msg = decode_message(raw, keys)
        info = {
            "frame": f.number,
            "time": f.time,
            "src": f.ip.src,
            "dst": f.ip.dst,
            "sport": f.sport,
            "dport": f.dport,
            "nat_t": f.udp_encap,
            "size": len(raw),
        }
        msg = {**info, **msg}
        digest = hashlib.sha256(raw).hexdigest()
        if digest in seen:
            msg["retransmission_of"] = seen[digest]
        else:
            seen[digest] = f.number
        sk = msg["payloads"][-1] if msg["payloads"] else None
        if sk and sk.get("type") == "SKF" and "retransmission_of" not in msg:
            fkey = (msg["spi_i"], msg["spi_r"], msg["message_id"], msg["response"])
            group = frags.setdefault(fkey, {})
            group[int(sk.get("fragment_number", 0))] = msg
            total = int(sk.get("total_fragments", 0))
            if total and len(group) == total and all(i in group for i in range(1, total + 1)):
                _reassemble(msg, [group[i] for i in range(1, total + 1)])
        out.append(msg)
    for m in out:
        for p in m["payloads"]:
            p.pop("_plain", None)
    return out


def decode_capture(
    path: str | Path,
    keys: KeyTable | None = None,
    info: CaptureInfo | None = None,
    fmt: str | None = None,
) -> list[dict[str, Any]]:
    """Decode the IKE messages of a capture -- pcap, pcapng or a printed capture, ``fmt``
    forcing the format -- (InputFileError when unreadable or not a capture); ``info``
    collects the reader's file-level warnings (truncation, link types)."""
    return decode_frames(open_capture(path, info, fmt), keys)


def _reassemble(last: dict[str, Any], parts: list[dict[str, Any]]) -> None:
    first_sk = parts[0]["payloads"][-1]
    plains = [p["payloads"][-1].get("_plain") for p in parts]
    last["reassembled_from"] = [p["frame"] for p in parts]
    if any(pl is None for pl in plains):
        return
    data = b"".join(pl for pl in plains if pl is not None)
    inner, _ = _chain(data, 0, len(data), first_sk.get("inner_next_id") or 0, 2, last["errors"])
    last["payloads"][-1]["payloads"] = inner
    last["notify"] = notifies(last["payloads"])
