"""ASA ``show crypto ikev1 sa`` / ``show crypto isakmp sa`` and ``show crypto ikev2 sa``
-> ``ike_sas`` records (keys = ``IkeSa`` field names), same contract as :mod:`cisco_ike`.

ASA names the side and role itself (``Role : initiator``), unlike the IOS IKEv1 table, so
``local``/``remote`` are set where the output shows them and ``src``/``dst`` stay empty.
IKEv1 states: MM_ACTIVE / AM_ACTIVE are ``up``; every other MM_/AM_ state (MM_WAIT_MSG2, ...)
is ``negotiating``. IKEv2 READY is ``up``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from parsers._convert import (
    auth_keyword,
    cipher_keyword,
    hash_keyword,
    split_addr_port,
    to_int,
)
from parsers._engine import Notes, Template, convert_each
from parsers.cisco_ike import v2_status

_ACTIVE = {"MM_ACTIVE", "AM_ACTIVE"}
_ASA_AUTH = {"preshared": "psk", "preshrd": "psk", "rsa": "rsig", "rsa-sig": "rsig"}


def _list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(value)


def _text(numbered: Iterable[tuple[int, str]]) -> str:
    return "".join(line + "\n" for _, line in numbered)


def v1_status(state: str | None) -> str:
    """ASA IKEv1 state -> up / negotiating / down (``AM_Active`` happens: case-insensitive)."""
    upper = (state or "").upper()
    if upper in _ACTIVE:
        return "up"
    if upper.startswith(("MM_", "AM_")):
        return "negotiating"
    return "down"


def build_ikev1(
    numbered: Iterable[tuple[int, str]], template: Template, notes: Notes
) -> dict[str, Any]:
    text = _text(numbered)
    rows = usual_ikev1(text)
    if rows is None:  # any other layout: the template's grammar
        result = template.run(text)
        rows = [*_list(result.get("blocks")), *_list(result.get("rows"))]
    rows.sort(key=lambda r: (len(r.get("index") or ""), r.get("index") or ""))  # numeric order
    return {"ike_sas": convert_each(notes, rows, _v1_record, "IKE SA")}


# The block layout every ASA since 8.4 prints (``1 IKE Peer: P`` and its detail lines, each
# once and in this order, after the summary lines) is read with one pass of whole-line
# regexes instead of TTP, which costs more per device than the rest of its poll's IKE work.
# Each pattern takes exactly what the template line of the same key takes; anything else (the
# older one-row-per-SA table, a repeated, reordered or unknown line) returns None and goes to
# the template.
_V1_SUMMARY = re.compile(
    r"(?:IKEv1 SAs:|Active SA:|Rekey SA:|Total IKE SA:|There are no IKEv1 SAs"
    r"|There are no isakmp sas)[^\n]*\n"
)
_V1_START = re.compile(r"(\d+) IKE Peer: (\S+)")
#: the lines after a block's start, in the order the ASA prints them: (pattern, keys)
_V1_LINES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"Type : (\S+) Role : (\S+)"), ("type", "role")),
    (re.compile(r"Rekey : (\S+) State : (\S+)"), ("rekey", "state")),
    (re.compile(r"Encrypt : (\S+) Hash : (\S+)"), ("encr", "hash")),
    (re.compile(r"Auth : (\S+) Lifetime: (\d+)"), ("auth", "lifetime")),
    (re.compile(r"Lifetime Remaining: (\d+)"), ("remaining",)),
)


def usual_ikev1(text: str) -> list[dict[str, Any]] | None:
    """Checked, normalised ASA ``show crypto ikev1 sa [detail]`` text in the block layout ->
    the template's ``blocks`` rows; ``None`` for any other layout."""
    pos = 0
    while (summary := _V1_SUMMARY.match(text, pos)) is not None:
        pos = summary.end()
    rows: list[dict[str, Any]] = []
    row: dict[str, Any] | None = None
    step = len(_V1_LINES)  # the next detail line the current block may have
    for line in text[pos:].splitlines():
        start = _V1_START.fullmatch(line)
        if start is not None:
            row = {"index": start.group(1), "peer": start.group(2)}
            rows.append(row)
            step = 0
            continue
        found = next(
            (
                (i, m)
                for i in range(step, len(_V1_LINES))
                if (m := _V1_LINES[i][0].fullmatch(line)) is not None
            ),
            None,
        )
        if found is None or row is None:
            return None  # before any block, repeated, out of order, or another layout
        step, match = found[0] + 1, found[1]
        row.update(zip(_V1_LINES[found[0]][1], match.groups(), strict=True))
    return rows


def _v1_record(row: dict[str, Any]) -> dict[str, Any]:
    state = row.get("state")
    role = (
        row.get("role")
        or {"init": "initiator", "resp": "responder"}.get((row.get("dir") or "").lower(), "")
    ).lower()
    auth = (row.get("auth") or "").lower()
    extra: dict[str, Any] = {"index": to_int(row.get("index"))}
    for key in ("type", "rekey", "encr", "hash", "auth"):
        if key in row:
            extra[f"{key}_raw" if key in ("encr", "hash", "auth") else key] = row[key]
    if row.get("encr") and cipher_keyword(row["encr"]) is None:
        extra["encryption_raw"] = row["encr"]
    return {
        "version": 1,
        "local": None,
        "remote": row.get("peer"),
        "state": state.upper() if state else None,
        "status": v1_status(state),
        "role": role if role in ("initiator", "responder") else None,
        "encryption": cipher_keyword(row.get("encr")),
        "integrity": hash_keyword(row.get("hash")),
        "auth": _ASA_AUTH.get(auth) or auth_keyword(auth),
        "lifetime_s": to_int(row.get("lifetime")),
        "remaining_s": to_int(row.get("remaining")),
        "extra": extra,
    }


def build_ikev2(
    numbered: Iterable[tuple[int, str]], template: Template, notes: Notes
) -> dict[str, Any]:
    result = template.run(_text(numbered))
    records: list[dict[str, Any]] = []
    for session in _list(result.get("sessions")):
        children = [
            {
                "local_selector": c.get("local_selector"),
                "remote_selector": c.get("remote_selector"),
                "spi_in": _hex(c.get("spi_in")),
                "spi_out": _hex(c.get("spi_out")),
                **_child_detail(c),
            }
            for c in _list(session.get("children"))
        ]
        records += convert_each(
            notes,
            _list(session.get("sas")),
            lambda sa, s=session, c=children: _v2_record(sa, s, c),
            "IKE SA",
        )
    return {"ike_sas": records}


def _child_detail(child: dict[str, Any]) -> dict[str, Any]:
    """The detail lines of a child SA (AH SPIs, CPIs, ESP cipher, mode) that it printed."""
    out: dict[str, Any] = {}
    for key in ("ah_spi_in", "ah_spi_out", "cpi_in", "cpi_out"):
        if key in child:
            out[key] = _hex(child[key])
    if "esp_encr" in child:
        size = to_int(child.get("esp_keysize"))
        out["encryption"] = cipher_keyword(child["esp_encr"], size)
        out["encr_raw"] = child["esp_encr"] if size is None else f"{child['esp_encr']}-{size}"
    if "esp_hmac" in child:
        out["integrity"] = hash_keyword(child["esp_hmac"])
        out["esp_hmac_raw"] = child["esp_hmac"]
    for key in ("ah_hmac", "comp", "mode"):
        if key in child:
            out[key] = child[key]
    return out


def _hex(text: str | None) -> int | None:
    try:
        return int(text, 16) if text else None
    except ValueError:
        return None


def _v2_record(
    sa: dict[str, Any], session: dict[str, Any], children: list[dict[str, Any]]
) -> dict[str, Any]:
    local, local_port = split_addr_port(sa.get("local"))
    remote, remote_port = split_addr_port(sa.get("remote"))
    role = (sa.get("role") or "").lower() or None
    spi_local, spi_remote = sa.get("spi_local"), sa.get("spi_remote")
    spi_i = spi_local if role == "initiator" else spi_remote
    spi_r = spi_remote if role == "initiator" else spi_local
    prf = hash_keyword(sa.get("prf"))
    extra: dict[str, Any] = {
        "session_id": to_int(session.get("session_id")),
        "session_status": session.get("session_status"),
        "ike_count": to_int(session.get("ike_count")),
        "child_count": to_int(session.get("child_count")),
        "active_time_s": to_int(sa.get("active_time")),
        "child_sas": children,
        "encr": sa.get("encr"),
        "hash": sa.get("hash"),
        "auth_verify": sa.get("auth_verify"),
    }
    for key in ("status_description", "local_id", "remote_id"):
        if key in sa:
            extra[key] = sa[key]
    for key in (
        "local_req_msg_id",
        "remote_req_msg_id",
        "local_next_msg_id",
        "remote_next_msg_id",
        "local_req_queued",
        "remote_req_queued",
        "local_window",
        "remote_window",
        "dpd_s",
        "dpd_retry",
    ):
        if key in sa:
            extra[key] = to_int(sa[key])
    nat = sa.get("nat_t")
    if nat is not None:
        extra["nat_t_raw"] = nat
    if sa.get("encr") and cipher_keyword(sa["encr"], to_int(sa.get("keysize"))) is None:
        extra["encryption_raw"] = sa["encr"]
    if spi_local is not None:
        extra["spi_local"], extra["spi_remote"] = spi_local, spi_remote
    return {
        "version": 2,
        "local": local,
        "remote": remote,
        "local_port": local_port,
        "remote_port": remote_port,
        "state": sa.get("status"),
        "status": v2_status(sa.get("status")),
        "conn_id": to_int(sa.get("tunnel_id")),
        "spi_i": spi_i if spi_local is not None else None,
        "spi_r": spi_r if spi_local is not None else None,
        "role": role if role in ("initiator", "responder") else None,
        "encryption": cipher_keyword(sa.get("encr"), to_int(sa.get("keysize"))),
        "integrity": hash_keyword(sa.get("hash")),
        "prf": f"prf{prf}" if prf else None,
        "dh_group": to_int(sa.get("dh")),
        "auth": auth_keyword(sa.get("auth_sign")),
        "lifetime_s": to_int(sa.get("lifetime")),
        "nat_t": None if nat is None else not nat.lower().startswith("not"),
        "extra": extra,
    }
