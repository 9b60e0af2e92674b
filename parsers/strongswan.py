"""strongSwan ``swanctl --list-sas`` (text, and ``--raw``) -> ``ike_sas`` and ``tunnels``.

Keys are ``IkeSa`` / ``Tunnel`` / ``IpsecSa`` field names, as for the Cisco commands:

- one ``ike_sas`` record per IKE_SA: ``version``, ``local``/``remote`` (+ ports), ``state``
  (ESTABLISHED, CONNECTING, ...) and ``status`` (ESTABLISHED/REKEYING/REKEYED/PASSIVE ->
  ``up``, CREATED/CONNECTING -> ``negotiating``, DELETING/DESTROYING -> ``down``),
  ``spi_i``/``spi_r`` from the ``_i``/``_r`` suffixes and ``role`` from the ``*`` that marks
  our own SPI, algorithms as strongSwan keywords (``aes256``, ``sha256``, ``prfsha256``,
  ``modp2048``), ``remaining_s`` from ``expires in``, ``extra.established_s``/``rekey_s``.
- one ``tunnels`` record (``kind`` ``child_sa``) per CHILD_SA, with an ``in`` and an ``out``
  SA (SPI as int), ``udp_encap`` from ``-in-UDP``, mode TUNNEL/TRANSPORT, counters
  ``bytes_in``/``bytes_out``/``pkts_decaps``/``pkts_encaps``, ``remaining_s`` from
  ``expires in``.

Several traffic selectors on one CHILD_SA: the record keeps the first pair as
``local_ts``/``remote_ts`` and every selector in ``extra.local_ts_all``/``remote_ts_all``. One
record per pair would repeat the same SPIs and byte counters in several tunnels, and every
sum over tunnels (traffic, SA counts) would count them twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from parsers._convert import DH_KEYWORDS
from parsers._engine import Notes, ParseError, Template, convert_each

_UP = {"ESTABLISHED", "REKEYING", "REKEYED", "PASSIVE"}
_NEGOTIATING = {"CREATED", "CONNECTING"}
_CHILD_UP = {"INSTALLED", "REKEYING", "REKEYED", "UPDATING"}
_CHILD_NEGOTIATING = {"CREATED", "ROUTED", "INSTALLING"}

_HOST = re.compile(r"(\S+?)\[(\d+)\](?: (.*))?$")
_TIMER = re.compile(r"(rekeying|reauth|expires) in (\d+)s")
#: ``SPI[/CPI][ (MARKS)], N bytes, N packets[, Ns ago]``; since 5.8 the brackets also carry the
#: XFRM interface ID: ``(0xMARK[/0xMASK]|0xIFID)``, with ``-`` for no mark: ``(-|0x00000001)``.
_SA_LINE = re.compile(
    r"([0-9a-f]+)(?:/([0-9a-f]+))?"
    r"(?: \((?:0x([0-9a-f]+)(?:/0x([0-9a-f]+))?|-)(?:\|0x([0-9a-f]+))?\))?,"
    r" (\d+) bytes, (\d+) packets(?:, (\d+)s ago)?$"
)
_TS = re.compile(r"(.+?)(?:\[([^\]/]*)(?:/([^\]]*))?\])?$")

#: swanctl (libstrongswan enum names) -> strongSwan proposal keywords.
_ENCR = {
    "AES_CBC": "aes",
    "AES_CTR": "aesctr",
    "AES_GCM_16": "aes{}gcm16",
    "AES_GCM_12": "aes{}gcm12",
    "AES_GCM_8": "aes{}gcm8",
    "AES_CCM_16": "aes{}ccm16",
    "CHACHA20_POLY1305": "chacha20poly1305",
    "3DES_CBC": "3des",
    "CAMELLIA_CBC": "camellia",
    "NULL": "null",
}
_INTEG = {
    "HMAC_SHA1_96": "sha1",
    "HMAC_SHA2_256_128": "sha256",
    "HMAC_SHA2_384_192": "sha384",
    "HMAC_SHA2_512_256": "sha512",
    "HMAC_MD5_96": "md5",
    "AES_XCBC_96": "aesxcbc",
    "AES_CMAC_96": "aescmac",
}
_PRF = {
    "PRF_HMAC_SHA1": "prfsha1",
    "PRF_HMAC_SHA2_256": "prfsha256",
    "PRF_HMAC_SHA2_384": "prfsha384",
    "PRF_HMAC_SHA2_512": "prfsha512",
    "PRF_HMAC_MD5": "prfmd5",
    "PRF_AES128_XCBC": "prfaesxcbc",
    "PRF_AES128_CMAC": "prfaescmac",
}
_DH = {
    **{f"MODP_{bits}": f"modp{bits}" for bits in (768, 1024, 1536, 2048, 3072, 4096, 6144, 8192)},
    "ECP_256": "ecp256",
    "ECP_384": "ecp384",
    "ECP_521": "ecp521",
    "CURVE_25519": "curve25519",
    "CURVE_448": "curve448",
    "MODP_2048_256": "modp2048s256",
}
_DH_NUMBER = {keyword: number for number, keyword in DH_KEYWORDS.items()}
_PROTOCOLS = {
    "icmp": 1,
    "tcp": 6,
    "udp": 17,
    "gre": 47,
    "esp": 50,
    "ah": 51,
    "ipv6-icmp": 58,
    "sctp": 132,
}
#: Port names as getservbyport() gives them; UDP 1701 is "l2f" in /etc/services, "l2tp" as alias.
_SERVICES = {
    "http": 80,
    "https": 443,
    "domain": 53,
    "ssh": 22,
    "isakmp": 500,
    "ipsec-nat-t": 4500,
    "l2tp": 1701,
    "l2f": 1701,
}


def _list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(value)


def ike_status(state: str | None) -> str:
    if state in _UP:
        return "up"
    if state in _NEGOTIATING:
        return "negotiating"
    return "down"


def algorithms(text: str | None) -> dict[str, Any]:
    """``AES_CBC-256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048[/ESN]`` -> keywords."""
    out: dict[str, Any] = {
        "encryption": None,
        "integrity": None,
        "prf": None,
        "dh": None,
        "esn": False,
        "additional_ke": [],
    }
    for part in (text or "").split("/"):
        name, _, size = part.partition("-")
        # 6.x: KE1_KYBER_L3 (RFC 9370); the 6.0dr1 prototype printed KE_KYBER_L3, no round
        if part[:2] == "KE" and (part[2:3].isdigit() or part[2:3] == "_"):
            out["additional_ke"].append(part)
        elif name in _ENCR:
            keyword = _ENCR[name]
            out["encryption"] = keyword.format(size) if "{}" in keyword else keyword + size
        elif name in _INTEG:
            out["integrity"] = _INTEG[name]
        elif name in _PRF:
            out["prf"] = _PRF[name]
        elif part in _DH:
            out["dh"] = _DH[part]
        elif name == "ESN":
            out["esn"] = True
    return out


def _timers(text: str | None) -> dict[str, int]:
    return {name: int(value) for name, value in _TIMER.findall(text or "")}


def _spi(marked: str | None) -> tuple[str | None, bool]:
    """``5a9e9c289b466bef_i*`` -> (``5a9e9c289b466bef``, True: ours)."""
    if not marked:
        return None, False
    ours = marked.endswith("*")
    return marked.rstrip("*").rsplit("_", 1)[0], ours


def _host(text: str | None) -> tuple[str | None, int | None, str | None]:
    match = _HOST.match(text or "")
    if not match:
        return text, None, None
    return match.group(1), int(match.group(2)), match.group(3)


_MORE = re.compile(
    r"(?:EAP: '(?P<eap>[^']*)')? ?(?:XAuth: '(?P<xauth>[^']*)')? ?(?:\[(?P<vips>[^\]]*)\])?"
)


def _host_more(side: str, more: str) -> dict[str, Any]:
    """What swanctl prints after ``host[port]``: ``EAP: 'id'``, ``XAuth: 'id'`` (remote side)
    and the virtual IPs ``[10.3.0.1 fd00::1]`` -> ``{side}_eap_id``, ``{side}_xauth_id``,
    ``{side}_vips``; anything else stays in ``{side}_more`` alone."""
    match = _MORE.fullmatch(more.strip())
    if match is None:
        return {}
    out: dict[str, Any] = {}
    if match["eap"] is not None:
        out[f"{side}_eap_id"] = match["eap"]
    if match["xauth"] is not None:
        out[f"{side}_xauth_id"] = match["xauth"]
    if match["vips"] is not None:
        out[f"{side}_vips"] = match["vips"].split()
    return out


def selector(text: str) -> dict[str, Any] | None:
    """``10.1.0.0/16`` / ``10.1.0.0/16[tcp/http]`` -> ``{prefix, protocol, port}``.

    ``None`` when the brackets hold what one protocol and port number cannot say: a port range
    (``[tcp/1024-65535]``), ``OPAQUE``, or a protocol or service name not in the tables above.
    Reading those as 0 would widen the selector to "any"; the caller keeps the text as printed.
    """
    match = _TS.match(text)
    assert match is not None  # the pattern matches any non-empty text
    prefix, proto, port = match.groups()
    if not proto:
        protocol: int | None = 0
    else:
        protocol = int(proto) if proto.isdigit() else _PROTOCOLS.get(proto)
    if not port:
        port_no: int | None = 0
    else:
        port_no = int(port) if port.isdigit() else _SERVICES.get(port)
    if protocol is None or port_no is None or protocol > 255 or port_no > 65535:
        return None
    return {"prefix": prefix, "protocol": protocol, "port": port_no}


def build_list_sas(
    numbered: Iterable[tuple[int, str]], template: Template, notes: Notes
) -> dict[str, Any]:
    lines = _with_headers(numbered, notes)
    result = template.run("".join(line + "\n" for line in lines))
    ike_sas: list[dict[str, Any]] = []
    tunnels: list[dict[str, Any]] = []
    for ike in _list(result.get("ikes")):
        (record,) = convert_each(notes, [ike], ike_record, "IKE_SA") or (None,)
        if record is None:
            continue
        ike_sas.append(record)
        children = convert_each(
            notes,
            _list(ike.get("children")),
            lambda child, r=record: child_record(child, r, notes),
            "CHILD_SA",
        )
        _nat_from_children(record, children)
        tunnels += children
    return {"ike_sas": ike_sas, "tunnels": tunnels}


_IKE_HEADER = re.compile(r"\S+: #\d+, [A-Z_]+, IKEv")
_CHILD_HEADER = re.compile(r"\S+: #\d+, reqid \d+, ")
_IKE_LINES = (("local '", "local"), ("remote '", "remote"), ("established ", "established"))
_CHILD_LINES = (
    ("installed ", "installed"),
    ("in ", "in"),
    ("out ", "out"),
    ("local ", "ts_local"),
    ("remote ", "ts_remote"),
)


def _with_headers(numbered: Iterable[tuple[int, str]], notes: Notes) -> Iterable[str]:
    """Lines of blocks that have their header; a block whose header line is missing is left
    out and reported, so its CHILD_SAs are never credited to the IKE_SA printed before it.

    A block lost its header when one of its lines comes a second time in the block before it
    (a second ``remote '...'`` in one IKE_SA, a second ``in`` in one CHILD_SA), or when an
    IKE_SA line follows a CHILD_SA.
    """
    ike_seen: set[str] | None = None
    child_seen: set[str] | None = None
    skipping = ""  # "ike" or "child" while the lines of a headless block are dropped
    dropped = 0
    start: tuple[int, str] = (0, "")

    def report() -> None:
        if skipping:
            what = "IKE_SA" if skipping == "ike" else "CHILD_SA"
            notes.add(*start, f"{what} block without its header line: {dropped} line(s) left out")

    for lineno, line in numbered:
        if _IKE_HEADER.match(line):
            report()
            skipping, ike_seen, child_seen = "", set(), None
            yield line
            continue
        if _CHILD_HEADER.match(line):
            if skipping == "ike" or ike_seen is None:
                skipping = skipping or "ike"
                start = start if dropped else (lineno, line)
                dropped += 1
                continue
            report()
            skipping, child_seen, dropped = "", set(), 0
            yield line
            continue
        kind = _kind(line, child_seen is not None)
        if not skipping:
            if child_seen is None:
                broken = ike_seen is None or (kind in ike_seen and kind != "other")
                if broken:
                    skipping, start, dropped = "ike", (lineno, line), 0
                else:
                    ike_seen.add(kind)  # type: ignore[union-attr]
            elif kind in ("local", "remote", "established"):
                skipping, start, dropped = "ike", (lineno, line), 0
            elif kind in child_seen and kind != "other":
                skipping, start, dropped = "child", (lineno, line), 0
            else:
                child_seen.add(kind)
        if skipping:
            dropped += 1
            continue
        yield line
    report()


def _kind(line: str, in_child: bool) -> str:
    for prefix, kind in _IKE_LINES:
        if line.startswith(prefix):
            return kind
    if in_child:
        for prefix, kind in _CHILD_LINES:
            if line.startswith(prefix):
                return kind
    return "other"


def ike_record(ike: dict[str, Any]) -> dict[str, Any]:
    state = ike.get("state")
    if ike.get("spis"):  # before 5.3: "ISPI:RSPI", our side not marked
        first, _, second = ike["spis"].partition(":")
        ike = {**ike, "spi_i": f"{first}_i", "spi_r": f"{second}_r"}
    spi_i, i_ours = _spi(ike.get("spi_i"))
    spi_r, r_ours = _spi(ike.get("spi_r"))
    role = "initiator" if i_ours else "responder" if r_ours else None
    unset = [k for k, v in (("spi_i", spi_i), ("spi_r", spi_r)) if v and not v.strip("0")]
    local, local_port, local_more = _host(ike.get("local_host"))
    remote, remote_port, remote_more = _host(ike.get("remote_host"))
    algs = algorithms(ike.get("ike_algs"))
    timers = _timers(ike.get("ike_timers"))
    extra: dict[str, Any] = {
        "name": ike.get("name"),
        "unique_id": _int(ike.get("uniqueid")),
        "local_id": ike.get("local_id"),
        "remote_id": ike.get("remote_id"),
    }
    if ike.get("ike_algs"):
        extra["proposal"] = ike["ike_algs"]
    if ike.get("established") is not None:
        extra["established_s"] = int(ike["established"])
    if "rekeying" in timers:
        extra["rekey_s"] = timers["rekeying"]
    if "reauth" in timers:
        extra["reauth_s"] = timers["reauth"]
    if algs["additional_ke"]:
        extra["additional_ke"] = algs["additional_ke"]
    for side, more in (("local", local_more), ("remote", remote_more)):
        if more:
            extra[f"{side}_more"] = more
            extra.update(_host_more(side, more))
    for key in ("queued", "active", "passive"):
        if ike.get(key):
            extra[f"tasks_{key}"] = ike[key].split()
    for key in unset:  # all zeros: the responder has not answered yet, no SPI to show
        extra[f"{key}_raw"] = spi_i if key == "spi_i" else spi_r
    spi_i = None if "spi_i" in unset else spi_i
    spi_r = None if "spi_r" in unset else spi_r
    dh = algs["dh"]
    version = _int(ike.get("version"))
    if version not in (None, 1, 2):
        raise ValueError(f"IKE version {version} is neither 1 nor 2")
    return {
        "version": version,
        "local": local,
        "remote": remote,
        "local_port": local_port,
        "remote_port": remote_port,
        "state": state,
        "status": ike_status(state),
        "conn_id": _int(ike.get("uniqueid")),
        "spi_i": spi_i,
        "spi_r": spi_r,
        "role": role,
        "encryption": algs["encryption"],
        "integrity": algs["integrity"],
        "prf": algs["prf"],
        "dh_group": _DH_NUMBER.get(dh) if dh else None,
        "remaining_s": timers.get("expires"),
        "nat_t": _nat_t(ike.get("nat"), local_port, remote_port),
        "extra": extra,
    }


def _nat_t(raw: str | None, local_port: int | None, remote_port: int | None) -> bool | None:
    """What the IKE_SA says of NAT traversal: ``--raw`` has ``nat-any``; the text prints no NAT
    flag, and IKE on port 4500 is no proof (strongSwan moves there for MOBIKE too), so it stays
    unknown until a CHILD_SA tells (:func:`_nat_from_children`)."""
    if raw is not None:
        return raw == "yes"
    if local_port is None:
        return None
    return None if 4500 in (local_port, remote_port) else False


def _nat_from_children(record: dict[str, Any], children: list[dict[str, Any]]) -> None:
    """An IKE_SA on port 4500 behind a NAT puts its ESP in UDP (``TUNNEL-in-UDP``), one
    without a NAT does not (``TUNNEL``): the installed CHILD_SAs settle an unknown NAT-T."""
    if record.get("nat_t") is not None or 4500 not in (record["local_port"], record["remote_port"]):
        return
    encaps = {sa["udp_encap"] for child in children for sa in child["sas"] if sa.get("mode")}
    if len(encaps) == 1:
        record["nat_t"] = encaps.pop()


def _int(text: Any) -> int | None:
    """Digits -> int, ``None`` when absent; more than 20 digits is malformed (ValueError)."""
    if text is None or text == "":
        return None
    text = str(text)
    if len(text) > 20:
        raise ValueError(f"number out of range: {text[:24]}...")
    return int(text)


def _sa(
    direction: str, line: str | None, proto: str, common: dict[str, Any]
) -> dict[str, Any] | None:
    match = _SA_LINE.match(line or "")
    if not match:
        return None
    spi, cpi, mark, mask, if_id, nbytes, packets, use = match.groups()
    if len(spi) > 8:
        raise ValueError(f"SPI longer than 32 bits: {spi[:24]}")
    fields = (("cpi", cpi), ("mark", mark), ("mark_mask", mask), ("if_id", if_id))
    extra = {k: v for k, v in fields if v}
    if use is not None:
        extra["last_use_s"] = int(use)
    return {
        "direction": direction,
        "protocol": proto,
        "spi": int(spi, 16),
        **common,
        "extra": extra,
        "_bytes": _int(nbytes),
        "_packets": _int(packets),
    }


def _first_selector(printed: list[str], notes: Notes | None) -> dict[str, Any] | None:
    """The first selector of a side (all of them stay in ``extra.*_ts_all`` as printed)."""
    if not printed:
        return None
    ts = selector(printed[0])
    if ts is None and notes is not None:
        notes.add(None, printed[0], "traffic selector kept as printed (extra): no single port")
    return ts


def child_record(
    child: dict[str, Any], ike: dict[str, Any], notes: Notes | None = None
) -> dict[str, Any]:
    mode_raw = child.get("mode") or ""
    proto, _, alg_text = (child.get("child_algs") or "").partition(":")
    algs = algorithms(alg_text)
    timers = _timers(child.get("child_timers"))
    state = child.get("child_state")
    common = {
        "transform": alg_text or None,
        "encryption": algs["encryption"],
        "integrity": algs["integrity"],
        "mode": mode_raw.removesuffix("-in-UDP").lower() or None,
        "udp_encap": mode_raw.endswith("-in-UDP"),
        "esn": algs["esn"],
        "remaining_s": timers.get("expires"),
        "status": state,
    }
    if common["mode"] not in ("tunnel", "transport"):
        common["mode"] = None
    sas = []
    for direction, key in (("in", "sa_in"), ("out", "sa_out")):
        if child.get(key):
            sa = _sa(direction, child[key], proto.lower() or "esp", common)
            if sa is None:
                if notes is not None:
                    notes.add(None, f"{direction} {child[key]}"[:200], "SA line not understood")
                continue
            sas.append(sa)
    counters: dict[str, int] = {}
    for sa in sas:
        nbytes, packets = sa.pop("_bytes"), sa.pop("_packets")
        if sa["direction"] == "in":
            counters.update(bytes_in=nbytes, pkts_decaps=packets)
        else:
            counters.update(bytes_out=nbytes, pkts_encaps=packets)
    local_all = (child.get("local_ts") or "").split()
    remote_all = (child.get("remote_ts") or "").split()
    dh = algs["dh"]
    extra: dict[str, Any] = {
        "name": child.get("child_name"),
        "unique_id": _int(child.get("child_id")),
        "reqid": _int(child.get("reqid")),
        "ike_name": ike["extra"]["name"],
        "ike_unique_id": ike["conn_id"],
        "installed_s": _int(child.get("installed")),
        "local_ts_all": local_all,
        "remote_ts_all": remote_all,
    }
    if "rekeying" in timers:
        extra["rekey_s"] = timers["rekeying"]
    if algs["additional_ke"]:
        extra["additional_ke"] = algs["additional_ke"]
    if state in _CHILD_UP:
        tunnel_state = "up"
    elif state in _CHILD_NEGOTIATING:
        tunnel_state = "negotiating"
    else:
        tunnel_state = "down"
    return {
        "kind": "child_sa",
        "local_addr": ike["local"],
        "peer": ike["remote"],
        "peer_port": ike["remote_port"],
        "local_ts": _first_selector(local_all, notes),
        "remote_ts": _first_selector(remote_all, notes),
        "pfs": True if dh else None,
        "dh_group": _DH_NUMBER.get(dh) if dh else None,
        "counters": counters,
        "sas": sas,
        "ike_state": ike["state"],
        "ike_status": ike["status"],
        "state": tunnel_state,
        "uptime_s": extra["installed_s"],
        "extra": extra,
    }


# ------------------------------------------------------------------ --raw (vici dump)

#: A list value may hold selectors with their protocol/port in brackets: ``[10.1.0.1/32[icmp]]``.
_RAW_TOKEN = re.compile(
    r"\s*(?:(?P<close>\})|(?P<section>[\w.-]+) \{|(?P<key>[\w.-]+)="
    r"(?:\[(?P<list>(?:[^\[\]]|\[[^\[\]]*\])*)\]|(?P<value>.*?)(?= [\w.-]+=| [\w.-]+ \{| \}|\s*$)))"
)


def parse_raw_tree(
    text: str, command: str = "swanctl --list-sas --raw", notes: Notes | None = None
) -> list[Any]:
    """``list-sa event {lab {uniqueid=1 ... child-sas {...}}}`` lines -> nested dicts.

    Returns one ``(message name, dict)`` per top-level message (``list-sa event`` ...).
    """
    messages: list[Any] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        head, brace, body = line.partition(" {")
        if not brace:
            if notes is None:
                raise ParseError(command, line, lineno, "not a vici message")
            notes.unknown_line(lineno, line)
            continue
        stack: list[dict[str, Any]] = [{}]
        pos = 0
        body = "{" + body  # the message's own section
        pos = 1
        while pos < len(body):
            match = _RAW_TOKEN.match(body, pos)
            if match is None or match.end() == pos:
                if notes is None:
                    raise ParseError(command, line, lineno, "unrecognised vici dump")
                notes.add(lineno, line[pos : pos + 200], "vici dump not understood: rest left out")
                break
            pos = match.end()
            if match.group("close"):
                if len(stack) == 1:
                    break
                stack.pop()
            elif match.group("section"):
                child: dict[str, Any] = {}
                stack[-1][match.group("section")] = child
                stack.append(child)
            elif match.group("list") is not None:
                stack[-1][match.group("key")] = match.group("list").split()
            else:
                stack[-1][match.group("key")] = match.group("value")
        if notes is not None:
            notes.known += 1
        messages.append((head, stack[0]))
    return messages


def _raw_algs(sa: dict[str, Any]) -> str:
    """The proposal text swanctl prints for these vici keys (list_sas.c order)."""
    parts = []
    if sa.get("encr-alg"):
        parts.append(sa["encr-alg"] + (f"-{sa['encr-keysize']}" if sa.get("encr-keysize") else ""))
    if sa.get("integ-alg"):
        parts.append(
            sa["integ-alg"] + (f"-{sa['integ-keysize']}" if sa.get("integ-keysize") else "")
        )
    for key in ("prf-alg", "dh-group"):
        if sa.get(key):
            parts.append(sa[key])
    if sa.get("esn"):
        parts.append("ESN")
    return "/".join(parts)


def _raw_timers(sa: dict[str, Any], keys: tuple[str, ...]) -> str:
    names = {"rekey-time": "rekeying", "reauth-time": "reauth", "life-time": "expires"}
    return "".join(f", {names[k]} in {sa[k]}s" for k in keys if sa.get(k))


def build_list_sas_raw(text: str, command: str, notes: Notes | None = None) -> dict[str, Any]:
    """``swanctl --list-sas --raw`` -> the same records as the text form.

    A key the message does not carry is a missing value (``None``), never the text "None".
    """
    notes = notes if notes is not None else Notes(command)
    messages = parse_raw_tree(text, command, notes)
    try:
        return _raw_records(messages, notes)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ParseError):
            raise
        # Well-formed vici but not a list-sas reply (a section where a value belongs, ...).
        raise ParseError(
            command,
            text.strip().splitlines()[0][:120],
            1,
            f"not a list-sas reply ({type(exc).__name__})",
        ) from None


def _host_text(sa: dict[str, Any], side: str) -> str | None:
    """The vici fields of one side as swanctl prints them: ``host[port] EAP: 'id' [vips]``."""
    host = sa.get(f"{side}-host")
    if not host:
        return None
    port = sa.get(f"{side}-port")
    text = f"{host}[{port}]" if port else host
    for key, label in (("eap-id", "EAP"), ("xauth-id", "XAuth")):
        if isinstance(sa.get(f"{side}-{key}"), str):
            text += f" {label}: '{sa[f'{side}-{key}']}'"
    vips = sa.get(f"{side}-vips")
    if isinstance(vips, list) and vips:
        text += f" [{' '.join(str(v) for v in vips)}]"
    return text


def _spi_text(value: Any, suffix: str, ours: bool) -> str | None:
    if not value:
        return None
    return f"{value}_{suffix}{'*' if ours else ''}"


def _raw_records(messages: list[Any], notes: Notes) -> dict[str, Any]:
    ike_sas: list[dict[str, Any]] = []
    tunnels: list[dict[str, Any]] = []
    for head, message in messages:
        if head != "list-sa event":
            continue
        for name, sa in message.items():
            if not isinstance(sa, dict):
                notes.add(None, f"{name}={sa}"[:200], "not an IKE_SA section")
                continue
            ours = sa.get("initiator") == "yes"
            ike = {
                "name": name,
                "uniqueid": sa.get("uniqueid"),
                "state": sa.get("state"),
                "version": sa.get("version"),
                "spi_i": _spi_text(sa.get("initiator-spi"), "i", ours),
                "spi_r": _spi_text(sa.get("responder-spi"), "r", not ours),
                "local_id": sa.get("local-id"),
                "local_host": _host_text(sa, "local"),
                "remote_id": sa.get("remote-id"),
                "remote_host": _host_text(sa, "remote"),
                "ike_algs": _raw_algs(sa) if sa.get("encr-alg") else None,
                "established": sa.get("established"),
                "ike_timers": _raw_timers(sa, ("rekey-time", "reauth-time", "life-time")),
                "nat": "yes" if sa.get("nat-any") == "yes" else "no",
                **{
                    task: " ".join(sa[f"tasks-{task}"])
                    for task in ("queued", "active", "passive")
                    if isinstance(sa.get(f"tasks-{task}"), list) and sa[f"tasks-{task}"]
                },
            }
            (record,) = convert_each(notes, [ike], ike_record, "IKE_SA") or (None,)
            if record is None:
                continue
            ike_sas.append(record)
            children = sa.get("child-sas", {})
            children = children.values() if isinstance(children, dict) else []
            tunnels += convert_each(
                notes,
                [_raw_child(c) for c in children if isinstance(c, dict)],
                lambda c, r=record: child_record(c, r, notes),
                "CHILD_SA",
            )
    return {"ike_sas": ike_sas, "tunnels": tunnels}


def _raw_child(child: dict[str, Any]) -> dict[str, Any]:
    encap = "-in-UDP" if child.get("encap") == "yes" else ""
    sa_lines = {}
    for d in ("in", "out"):
        if not child.get(f"spi-{d}"):
            continue
        use = f", {child[f'use-{d}']}s ago" if child.get(f"use-{d}") else ""
        sa_lines[f"sa_{d}"] = (
            f"{child.get(f'spi-{d}')}, {child.get(f'bytes-{d}', 0)} bytes,"
            f" {child.get(f'packets-{d}', 0)} packets{use}"
        )
    return {
        "child_name": child.get("name"),
        "child_id": child.get("uniqueid"),
        "reqid": child.get("reqid"),
        "child_state": child.get("state"),
        "mode": f"{child.get('mode', '')}{encap}",
        "child_algs": f"{child.get('protocol', 'ESP')}:{_raw_algs(child)}",
        "installed": child.get("install-time"),
        "child_timers": _raw_timers(child, ("rekey-time", "life-time")),
        "local_ts": " ".join(child.get("local-ts", [])),
        "remote_ts": " ".join(child.get("remote-ts", [])),
        **sa_lines,
    }
