"""IOS / IOS-XE ``show crypto session [detail]`` -> ``sessions`` records (plain dicts).

Record keys (``None`` when the output does not show them):

- ``interface``, ``profile``, ``username``, ``group``, ``assigned_address``, ``phase1_id``,
  ``desc``, ``session_id`` (int), ``uptime`` (raw) and ``uptime_s`` (int),
- ``status``: raw ``UP-ACTIVE`` | ``UP-IDLE`` | ``UP-NO-IKE`` | ``DOWN-NEGOTIATING`` | ``DOWN``,
- ``peer``, ``peer_port`` (int), ``fvrf``, ``ivrf`` (``(none)`` -> ``None``),
- ``system_ip``, ``peer_interface`` (FlexVPN ``System IP: X Interface: Tu1``),
- ``ike_sas``: ``[{version (1|2|None), local, local_port, remote, remote_port, state
  ("Active"/"Inactive"), capabilities, conn_id, lifetime_s}]``,
- ``flows``: ``[{flow (the ACL line), active_sas, origin, pkts_in, drop_in, pkts_out,
  drop_out, remaining_kb_in, remaining_s_in, remaining_kb_out, remaining_s_out}]``.

A session groups everything the router holds for one peer, which is why the collector uses
it for the per-peer IKE state and "active SAs" count without a second command.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from parsers._convert import hms_to_seconds, split_addr_port, to_int
from parsers._engine import Notes, Template, convert_each


def _list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return [value] if isinstance(value, dict) else list(value)


def _vrf(value: str | None) -> str | None:
    return None if value in (None, "(none)", "none") else value


def build_sessions(
    numbered: Iterable[tuple[int, str]], template: Template, notes: Notes
) -> dict[str, Any]:
    lines = [line for _, line in numbered]
    sessions = usual_sessions(lines)
    if sessions is None:  # any other layout: the template's grammar
        sessions = _list(template.run("".join(line + "\n" for line in lines)).get("sessions"))
    return {"sessions": convert_each(notes, sessions, _session, "session")}


# The usual layout (a session's own lines, then its IKE SAs, then its flows, each line once)
# is read line by line with one regex per line form instead of the template's machinery.
# Each form below is one template line, and a line it accepts matches no other template line
# (the legend lines match none), so the records are the ones the template gives. Anything
# else (a wrapped IPv6 IKE SA line, a line out of that order or repeated, a line before the
# first ``Interface:``) returns None and the template reads the output.
_SESSION_LINES: dict[str, tuple[re.Pattern[str], tuple[str, ...]]] = {
    prefix: (re.compile(pattern), keys)
    for prefix, pattern, keys in (
        ("Username:", r"Username: (\S+)", ("username",)),
        ("Profile:", r"Profile: (\S+)", ("profile",)),
        ("Group:", r"Group: (\S+)", ("group",)),
        ("Assigned", r"Assigned address: (\S+)", ("assigned_address",)),
        ("Uptime:", r"Uptime: (\S+)", ("uptime",)),
        ("Session", r"Session status: (\S+)", ("status",)),
        ("Phase1_id:", r"Phase1_id: (\S+)", ("phase1_id",)),
        ("Desc:", r"Desc: (?!\S+ local )(\S+(?: \S+)*)", ("desc",)),
        ("System", r"System IP: (\S+) Interface: (\S+)", ("system_ip", "peer_interface")),
    )
}
_SESSION_ID = re.compile(r"Session ID: (\d+)")
_PEER = re.compile(r"Peer: (\S+) port (\d+)(?: fvrf: (\S+) ivrf: (\S+))?")
_IKE = re.compile(r"(IKEv[12]) SA: local (\S+) remote (\S+) (\S+)")
_CAPS = re.compile(r"Capabilities:(\S+) connid:(\d+) lifetime:(\S+)")
_FLOW = re.compile(r"IPSEC FLOW: (\S+(?: \S+)*)")
_ACTIVE = re.compile(r"Active SAs: (\d+), origin: (\S+(?: \S+)*)")
_COUNTS = re.compile(
    r"(?:(In)bound: #pkts dec|Outbound: #pkts enc)'ed (\d+) drop (\d+) life \(KB/Sec\) "
    r"(?:(\d+)|KB Vol Rekey Disabled)/(\d+)"
)
_LEGEND = ("Crypto session current status", "Code: ", "K - ", "X - ", "R - ", "S - SIP VPN")


def usual_sessions(lines: list[str]) -> list[dict[str, Any]] | None:
    """Checked, normalised lines of ``show crypto session [detail]`` in the usual layout ->
    the session groups as the template gives them; ``None`` for any other layout."""
    sessions: list[dict[str, Any]] = []
    session: dict[str, Any] | None = None
    child: dict[str, Any] | None = None  # the IKE SA or flow the last lines belong to
    for line in lines:
        if line.startswith("Interface: "):
            name = line[11:]
            if " " in name:
                return None
            session, child = {"interface": name}, None
            sessions.append(session)
            continue
        if line.startswith(_LEGEND):
            continue
        if session is None:
            return None
        head = line.split(" ", 1)[0]
        form = (
            (_SESSION_ID, ("session_id",))
            if line.startswith("Session ID: ")
            else (_PEER, ("peer", "port", "fvrf", "ivrf"))
            if head == "Peer:"
            else _SESSION_LINES.get(head)
        )
        if form is not None:
            if child is not None:
                return None
            pattern, keys = form
            m = pattern.fullmatch(line)
            if m is None or any(k in session for k in keys):
                return None
            for key, value in zip(keys, m.groups(), strict=True):
                if value is not None:
                    session[key] = value
            continue
        if head in ("IKEv1", "IKEv2"):
            m = _IKE.fullmatch(line)
            if m is None or "flows" in session:
                return None
            child = dict(zip(("version", "local", "remote", "state"), m.groups(), strict=True))
            session.setdefault("ike_sas", []).append(child)
            continue
        if head.startswith("Capabilities:"):
            m = _CAPS.fullmatch(line)
            if m is None or child is None or "version" not in child or "conn_id" in child:
                return None
            child.update(zip(("capabilities", "conn_id", "lifetime"), m.groups(), strict=True))
            continue
        if head == "IPSEC":
            m = _FLOW.fullmatch(line)
            if m is None:
                return None
            child = {"flow": m.group(1)}
            session.setdefault("flows", []).append(child)
            continue
        if child is None or "flow" not in child:
            return None
        if head == "Active":
            m = _ACTIVE.fullmatch(line)
            if m is None or "active_sas" in child:
                return None
            child["active_sas"], child["origin"] = m.groups()
            continue
        m = _COUNTS.fullmatch(line)
        if m is None:
            return None
        side, pkts, drop, kb, secs = m.groups()
        way = "in" if side else "out"
        if f"pkts_{way}" in child:
            return None
        child[f"pkts_{way}"], child[f"drop_{way}"] = pkts, drop
        if kb is not None:
            child[f"life_{way}_kb"] = kb
        child[f"life_{way}_s"] = secs
    return sessions


def _session(raw: dict[str, Any]) -> dict[str, Any]:
    ike = []
    for sa in _list(raw.get("ike_sas")):
        local, local_port = split_addr_port(sa.get("local"))
        remote, remote_port = split_addr_port(sa.get("remote"))
        version = {"IKEv1": 1, "IKEv2": 2}.get(sa.get("version", ""))
        ike.append(
            {
                "version": version,
                "local": local,
                "local_port": local_port,
                "remote": remote,
                "remote_port": remote_port,
                "state": sa.get("state"),
                "capabilities": sa.get("capabilities"),
                "conn_id": to_int(sa.get("conn_id")),
                "lifetime_s": hms_to_seconds(sa.get("lifetime")),
            }
        )
    flows = [
        {
            "flow": f.get("flow"),
            "active_sas": to_int(f.get("active_sas")),
            "origin": f.get("origin"),
            "pkts_in": to_int(f.get("pkts_in")),
            "drop_in": to_int(f.get("drop_in")),
            "pkts_out": to_int(f.get("pkts_out")),
            "drop_out": to_int(f.get("drop_out")),
            "remaining_kb_in": to_int(f.get("life_in_kb")),
            "remaining_s_in": to_int(f.get("life_in_s")),
            "remaining_kb_out": to_int(f.get("life_out_kb")),
            "remaining_s_out": to_int(f.get("life_out_s")),
        }
        for f in _list(raw.get("flows"))
    ]
    return {
        "interface": raw.get("interface"),
        "profile": raw.get("profile"),
        "username": raw.get("username"),
        "group": raw.get("group"),
        "assigned_address": raw.get("assigned_address"),
        "phase1_id": raw.get("phase1_id"),
        "desc": raw.get("desc"),
        "session_id": to_int(raw.get("session_id")),
        "uptime": raw.get("uptime"),
        "uptime_s": hms_to_seconds(raw.get("uptime")),
        "status": raw.get("status"),
        "peer": raw.get("peer"),
        "peer_port": to_int(raw.get("port")),
        "fvrf": _vrf(raw.get("fvrf")),
        "ivrf": _vrf(raw.get("ivrf")),
        "system_ip": raw.get("system_ip"),
        "peer_interface": raw.get("peer_interface"),
        "ike_sas": ike,
        "flows": flows,
    }
