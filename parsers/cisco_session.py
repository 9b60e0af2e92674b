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
    result = template.run("".join(line + "\n" for _, line in numbered))
    return {"sessions": convert_each(notes, _list(result.get("sessions")), _session, "session")}


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
