"""IOS / IOS-XE ``show crypto isakmp sa [detail]`` and ``show crypto ikev2 sa [detailed]``
-> ``ike_sas`` records (keys = ``IkeSa`` field names).

Status is normalised here, once, so that every view agrees: an IKEv1 SA is ``up`` only in
QM_IDLE / MM_ACTIVE / AM_ACTIVE; MM_NO_STATE counts as ``negotiating`` (IOS shows it while it
retries an unanswered peer) and so does every other MM_/AG_ state. IKEv2 READY is ``up``,
IN-NEG ``negotiating``, DELETE ``down``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from parsers._convert import (
    auth_keyword,
    cipher_keyword,
    hash_keyword,
    hms_to_seconds,
    split_addr_port,
    to_int,
)
from parsers._engine import LazyPattern, Notes, Template, convert_each

_V1_UP = {"QM_IDLE", "MM_ACTIVE", "AM_ACTIVE"}


def _list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(value)


def _text(numbered: Iterable[tuple[int, str]]) -> str:
    return "".join(line + "\n" for _, line in numbered)


def v1_status(state: str | None, cisco_status: str | None) -> str:
    status = (cisco_status or "").upper()
    if "DELETED" in status and state in _V1_UP:
        return "down"
    if state is None:
        # Detail rows carry no state column: the status column is all there is.
        return "up" if status == "ACTIVE" else "down"
    if state in _V1_UP:
        return "up"
    return "negotiating"


def build_isakmp(
    numbered: Iterable[tuple[int, str]], template: Template, notes: Notes
) -> dict[str, Any]:
    text = _text(numbered)
    sections: list[tuple[str | None, list[dict[str, Any]]]] | None = usual_isakmp(text)
    if sections is None:  # any other layout: the template's grammar, line by line
        result = template.run(text)
        sections = [(s.get("family"), _list(s.get("rows"))) for s in _list(result.get("sections"))]
    records: list[dict[str, Any]] = []
    for family, rows in sections:
        records += convert_each(notes, rows, lambda r, f=family: _isakmp_record(r, f), "IKE SA")
    return {"ike_sas": records}


# The layouts IOS prints on nearly every device (and on a hub, tens of thousands of rows) are
# read with a few whole-text regexes instead of the template's per-line machinery. Each
# pattern accepts only lines that exactly one template line matches, with the same captures,
# so the rows are the ones the template gives; text with anything else in it (IPv6 rows over
# three lines, a slot column, a wrapped or repeated line, rows before a section header)
# returns None and goes to the template.
_ADDR = r"[0-9A-Fa-f.:]+"
_SA_STATUS = r"(?:ACTIVE|STDBY|DELETED)"
#: The detail row's I-VRF column, when it holds a name, is one more word before the status;
#: a name that is itself a status word (or a status word in the Encr column) would let two
#: template lines read the row, so such rows are the template's.
_ROW = (
    rf"({_ADDR}) ({_ADDR}) ([A-Z]+_[A-Z_]+) (\d+) ([A-Za-z]\S*)\n"
    rf"|(\d+) ({_ADDR}) ({_ADDR}) (?:(?!{_SA_STATUS} )(\S+) )?({_SA_STATUS})"
    rf" (?!{_SA_STATUS} )(\S+) (\S+) (\S+) (\d+) (\S+)"
    r"(?: (\S+))?\n(?:Engine-id:Conn-id = (\S+)\n)?"
)
#: header and legend lines (the ``.known`` list) that no template line can match
_LEGEND = (
    r"(?:Codes:|K - |X - |T - |psk - |renc - |C-id Local Remote I-VRF |dst src state conn-id "
    r"|Cap\.)(?![^\n]*Crypto ISAKMP SA)[^\n_]*\n"
)
_SECTIONS = re.compile(r"^(IPv4|IPv6) Crypto ISAKMP SA\n", re.M)
_LEGEND_ONLY = re.compile(f"(?:{_LEGEND})*+")
_BODY = re.compile(f"(?:{_LEGEND}|{_ROW})*+")
_ROWS = re.compile(f"(?m)^(?:{_ROW})")


def usual_isakmp(text: str) -> list[tuple[str | None, list[dict[str, Any]]]] | None:
    """Checked, normalised ``show crypto isakmp sa [detail]`` text in IOS's usual layouts ->
    ``[(family, rows)]`` as the template gives them; ``None`` for any other layout."""
    parts = _SECTIONS.split(text)
    if _LEGEND_ONLY.fullmatch(parts[0]) is None:
        return None
    sections: list[tuple[str | None, list[dict[str, Any]]]] = []
    for i in range(1, len(parts), 2):
        body = parts[i + 1]
        if _BODY.fullmatch(body) is None:
            return None
        rows: list[dict[str, Any]] = []
        for m in _ROWS.finditer(body):
            g = m.groups()
            if g[0] is not None:
                rows.append(
                    {"dst": g[0], "src": g[1], "state": g[2], "conn_id": g[3], "status": g[4]}
                )
                continue
            row = {"conn_id": g[5], "local": g[6], "remote": g[7]}
            if g[8] is not None:
                row["ivrf"] = g[8]
            row.update(status=g[9], encr=g[10], hash=g[11], auth=g[12], dh=g[13], remaining=g[14])
            if g[15] is not None:
                row["cap"] = g[15]
            if g[16] is not None:
                row["engine_conn"] = g[16]
            rows.append(row)
        sections.append((parts[i], rows))
    return sections


def _isakmp_record(row: dict[str, Any], family: str | None) -> dict[str, Any]:
    state = row.get("state")
    extra: dict[str, Any] = {"cisco_status": row.get("status"), "family": family}
    for key in ("cap", "engine_conn"):
        if key in row:
            extra["capabilities" if key == "cap" else "engine_conn_id"] = row[key]
    if "slot" in row:
        extra["slot"] = to_int(row["slot"])
    if "encr" in row:
        extra.update(encr_raw=row["encr"], hash_raw=row.get("hash"), auth_raw=row.get("auth"))
        if cipher_keyword(row["encr"]) is None:
            extra["encryption_raw"] = row["encr"]
    return {
        "version": 1,
        "local": row.get("local"),
        "remote": row.get("remote"),
        "src": row.get("src"),
        "dst": row.get("dst"),
        "state": state,
        "status": v1_status(state, row.get("status")),
        "conn_id": to_int(row.get("conn_id")),
        "role": None,
        "encryption": cipher_keyword(row.get("encr")),
        "integrity": hash_keyword(row.get("hash")),
        "dh_group": to_int(row.get("dh")),
        "auth": auth_keyword(row.get("auth")),
        "remaining_s": hms_to_seconds(row.get("remaining")),
        "ivrf": row.get("ivrf"),
        "nat_t": _nat_cap(row.get("cap")),
        "extra": extra,
    }


def _nat_cap(cap: str | None) -> bool | None:
    """The detail row's ``Cap.`` letters (legend: ``N - NAT-traversal``): ``N`` there says
    NAT-T is in use; without it the row does not say (the column can be cut or wrapped)."""
    letters = (cap or "").strip()
    return True if letters.isalpha() and letters.isupper() and "N" in letters else None


def v2_status(state: str | None) -> str:
    state = (state or "").upper()
    if state == "READY":
        return "up"
    if state.startswith("DELETE"):
        return "down"
    return "negotiating"


def build_ikev2(
    numbered: Iterable[tuple[int, str]], template: Template, notes: Notes
) -> dict[str, Any]:
    lines = [line for _, line in numbered]
    sas = usual_ikev2(lines)
    if sas is None:  # any other layout: the template's grammar
        sas = _list(template.run("".join(line + "\n" for line in lines)).get("sas"))
    return {"ike_sas": convert_each(notes, sas, _ikev2_record, "IKE SA")}


_PHRASE = r"(\S+(?: \S+)*)"
#: the usual ``show crypto ikev2 sa detailed`` lines by first word: each form is one template
#: line that no other template line matches (with the same captures); compiled the first time
#: an IKEv2 table is read
_V2_FORMS: dict[str, list[tuple[LazyPattern, tuple[str, ...]]]] = {}
for _first, _pattern, _keys in (
    (
        "Encr:",
        r"Encr: (\S+), keysize: (\d+), PRF: (\S+), Hash: (\S+), DH Grp:(\d+), "
        rf"Auth sign: (\S+), Auth verify: (\S+)(?:, {_PHRASE})?",
        ("encr", "keysize", "prf", "hash", "dh", "auth_sign", "auth_verify", "flags"),
    ),
    (
        "Encr:",
        r"Encr: (\S+), keysize: (\d+), Hash: (\S+), DH Grp:(\d+), Auth sign: (\S+), "
        r"Auth verify: (\S+)",
        ("encr", "keysize", "hash", "dh", "auth_sign", "auth_verify"),
    ),
    (
        "Encr:",
        r"Encr: (\S+), PRF: (\S+), Hash: (\S+), DH Grp:(\d+), Auth sign: (\S+), "
        r"Auth verify: (\S+)",
        ("encr", "prf", "hash", "dh", "auth_sign", "auth_verify"),
    ),
    ("Life/Active", r"Life/Active Time: (\d+)/(\d+) sec", ("lifetime", "active_time")),
    ("CE", r"CE id: (\d+), Session-id: (\d+)", ("ce_id", "session_id")),
    ("Status", rf"Status Description: {_PHRASE}", ("status_description",)),
    ("Local", r"Local spi: (\S+) Remote spi: (\S+)", ("spi_i", "spi_r")),
    ("Local", rf"Local id: {_PHRASE}", ("local_id",)),
    ("Remote", rf"Remote id: {_PHRASE}", ("remote_id",)),
    ("DPD", r"DPD configured for (\d+) seconds, retry (\d+)", ("dpd_s", "dpd_retry")),
    ("NAT-T", rf"NAT-T is {_PHRASE}", ("nat_t",)),
    ("Initiator", r"Initiator of SA : (\S+)", ("initiator",)),
    ("Pushed", r"Pushed IP address: (\S+)", ("pushed_ip",)),
    ("PEER", rf"PEER TYPE: {_PHRASE}", ("peer_type",)),
):
    _V2_FORMS.setdefault(_first, []).append((LazyPattern(_pattern), _keys))
_V2_ROW = LazyPattern(r"(\d+) (\S+) (\S+) (\S+) (\S+)")
_V2_ROW_KEYS = ("tunnel_id", "local", "remote", "vrfs", "status")
#: header and informational lines (the ``.known`` list) that match no template line; the
#: template reads ``Remote subnets:`` as ``Remote {{ remote }}``, so it is not among them
_V2_LEGEND = (
    "IPv4 Crypto IKEv2 SA",
    "IPv6 Crypto IKEv2 SA",
    "Tunnel-id ",
    "Local req msg id: ",
    "Local next msg id: ",
    "Local req queued: ",
    "Local window: ",
    "Local Sys Id: ",
    "Fragmentation",
    "Dynamic Route Update:",
    "Extended Authentication",
    "Cisco Trust Security SGT",
    "Quantum",
    "PQC Key Exchange:",
)


def _v2_form(first: str, line: str) -> tuple[re.Match[str], tuple[str, ...]] | None:
    for pattern, keys in _V2_FORMS.get(first, ()):
        m = pattern.compiled.fullmatch(line)
        if m is not None:
            return m, keys
    return None


def usual_ikev2(lines: list[str]) -> list[dict[str, Any]] | None:
    """Checked, normalised lines of ``show crypto ikev2 sa [detailed]`` in the usual layout
    (IPv4 rows on one line, each field once per SA) -> the SA groups as the template gives
    them; ``None`` for any other layout (IPv6 addresses on their own lines, remote subnets,
    a repeated or stray line), which the template reads."""
    sas: list[dict[str, Any]] = []
    sa: dict[str, Any] | None = None
    for line in lines:
        first = line.split(" ", 1)[0]
        if first.isdigit():
            m = _V2_ROW.compiled.fullmatch(line)
            if m is None:
                return None
            sa = dict(zip(_V2_ROW_KEYS, m.groups(), strict=True))
            sas.append(sa)
            continue
        found = _v2_form(first, line)
        if found is None:
            if line.startswith(_V2_LEGEND) and line.count(" ") >= 2:
                continue
            return None
        m, keys = found
        if sa is None or any(k in sa for k in keys):
            return None
        for key, value in zip(keys, m.groups(), strict=True):
            if value is not None:
                sa[key] = value
    return sas


def _vrf(value: str | None) -> str | None:
    return None if value in (None, "", "none", "(none)") else value


def _ikev2_record(sa: dict[str, Any]) -> dict[str, Any]:
    local, local_port = split_addr_port(sa.get("local"))
    remote, remote_port = split_addr_port(sa.get("remote"))
    fvrf, _, ivrf = (sa.get("vrfs") or "").partition("/")
    initiator = (sa.get("initiator") or "").lower()
    role = "initiator" if initiator == "yes" else "responder" if initiator == "no" else None
    spi_local, spi_remote = sa.get("spi_i"), sa.get("spi_r")
    spi_i = spi_local if role == "initiator" else spi_remote if role == "responder" else None
    spi_r = spi_remote if role == "initiator" else spi_local if role == "responder" else None
    nat = sa.get("nat_t")
    prf = hash_keyword(sa.get("prf"))
    extra: dict[str, Any] = {}
    for key in (
        "session_id",
        "ce_id",
        "active_time",
        "status_description",
        "local_id",
        "remote_id",
        "dpd_s",
        "dpd_retry",
        "pushed_ip",
        "peer_type",
        "flags",
        "auth_verify",
        "encr",
        "keysize",
        "hash",
        "nat_t",
    ):
        if key in sa:
            value = sa[key]
            number = to_int(value) if key in ("session_id", "ce_id", "dpd_s", "dpd_retry") else None
            extra[{"active_time": "active_time_s", "nat_t": "nat_t_raw"}.get(key, key)] = (
                number if number is not None else to_int(value) if key == "active_time" else value
            )
    if spi_local is not None:
        extra["spi_local"], extra["spi_remote"] = spi_local, spi_remote
    encryption = cipher_keyword(sa.get("encr"), to_int(sa.get("keysize")))
    if encryption is None and sa.get("encr"):
        extra["encryption_raw"] = sa["encr"]
    if "subnet" in sa:
        addrs = str(sa["subnet"]).split(",")
        masks = str(sa.get("subnet_mask", "")).split(",")
        extra["remote_subnets"] = [f"{a} {m}" for a, m in zip(addrs, masks, strict=False)]
    return {
        "version": 2,
        "local": local,
        "remote": remote,
        "local_port": local_port,
        "remote_port": remote_port,
        "state": sa.get("status"),
        "status": v2_status(sa.get("status")),
        "conn_id": to_int(sa.get("tunnel_id")),
        "spi_i": spi_i,
        "spi_r": spi_r,
        "role": role,
        "encryption": encryption,
        "integrity": hash_keyword(sa.get("hash")),
        "prf": f"prf{prf}" if prf else None,
        "dh_group": to_int(sa.get("dh")),
        "auth": auth_keyword(sa.get("auth_sign")),
        "lifetime_s": to_int(sa.get("lifetime")),
        "nat_t": None if nat is None else not nat.lower().startswith("not"),
        "fvrf": _vrf(fvrf),
        "ivrf": _vrf(ivrf),
        "extra": extra,
    }
