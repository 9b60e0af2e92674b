"""IOS / IOS-XE ``show crypto ipsec sa`` -> ``tunnels`` records, one per ident.

A 10,000-peer hub prints ~20 MB. Running TTP over all of it at once costs memory proportional
to the whole text and time that grows with it, so a cheap line scan first cuts the output into
ident blocks (each prefixed with its ``interface:``/``Crypto map tag:`` header, so a block is
self-contained) and TTP parses small batches of blocks. Memory is bounded by one batch, and
:func:`iter_tunnels` streams records as the lines arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from parsers._convert import (
    DH_KEYWORDS,
    group_number,
    mask_to_prefix,
    spi_to_int,
    to_int,
    transform_keywords,
)
from parsers._engine import Template, clean_lines

#: Idents handed to TTP per run: large enough to amortise TTP's per-call cost, small enough
#: to keep memory flat on huge hubs.
BATCH = 32

#: Counter keys as printed (snake_case of the device label) -> model names where one exists.
COUNTER_NAMES = {
    "pkts_decaps_failed_rcv": "decrypt_failed",
}
_NOT_COUNTERS = {"plaintext_mtu", "path_mtu", "ip_mtu"}

_TUNNEL_EXTRA = (
    "action",
    "flags",
    "plaintext_mtu",
    "path_mtu",
    "ip_mtu",
    "ip_mtu_idb",
    "local_crypto_endpt",
    "remote_crypto_endpt",
    "policy_name",
    "pfs_extra",
)
_SA_EXTRA = (
    "flow_id",
    "sibling_flags",
    "sa_crypto_map",
    "iv_size",
    "replay_detection",
    "initiator",
    "kilobyte_volume_rekey",
    "settings",
)
_SKIP_INTO_COUNTERS = {
    "interface",
    "crypto_map",
    "local_addr",
    "vrf",
    "local_ident",
    "remote_ident",
    "peer",
    "peer_port",
    "current_outbound_spi",
    "pfs_flag",
    "pfs_group",
    "sas",
    *_TUNNEL_EXTRA,
}


def iter_blocks(numbered: Iterable[tuple[int, str]]) -> Iterator[list[str]]:
    """Group normalised lines into ident blocks, each starting with its interface header."""
    header: list[str] = []
    block: list[str] | None = None
    has_ident = False
    for _lineno, line in numbered:
        if line.startswith("interface:"):
            if block is not None:
                yield block
            header, block, has_ident = [line], None, False
            continue
        if block is None and (
            line.startswith("Crypto map tag:") or line.startswith("IPsecv6 policy name:")
        ):
            header.append(line)
            continue
        new_ident = line.startswith("protected vrf:") or (
            line.startswith("local ident") and (block is None or has_ident)
        )
        if new_ident:
            if block is not None:
                yield block
            block = list(header) if header else ["interface: -"]
            has_ident = line.startswith("local ident")
            block.append(line)
            continue
        if block is None:
            # Lines before any ident (e.g. a VRF-less header variant) stay with the header.
            header.append(line)
            continue
        if line.startswith("local ident"):
            has_ident = True
        block.append(line)
    if block is not None:
        yield block


def iter_tunnels(
    lines: Iterable[str], command: str, template: Template
) -> Iterator[dict[str, Any]]:
    """Stream tunnel records; raises ``ParseError`` at the first unrecognised line."""
    batch: list[str] = []
    count = 0
    for block in iter_blocks(clean_lines(lines, command, template)):
        batch.extend(block)
        count += 1
        if count >= BATCH:
            yield from _run(batch, template)
            batch, count = [], 0
    if batch:
        yield from _run(batch, template)


def _run(lines: list[str], template: Template) -> Iterator[dict[str, Any]]:
    result = template.run("\n".join(lines) + "\n")
    groups = result.get("tunnels", [])
    if isinstance(groups, dict):
        groups = [groups]
    for group in groups:
        yield tunnel_record(group)


def _selector(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    parts = text.rsplit("/", 3)
    if len(parts) != 4:
        return None
    addr, mask, prot, port = parts
    return {
        "prefix": mask_to_prefix(addr, mask),
        "protocol": to_int(prot) or 0,
        "port": to_int(port) or 0,
    }


def tunnel_record(group: dict[str, Any]) -> dict[str, Any]:
    """TTP's ident group -> a ``Tunnel``-shaped dict (keys are model field names)."""
    interface = group.get("interface")
    crypto_map = group.get("crypto_map")
    vrf = group.get("vrf")
    pfs_group = group.get("pfs_group")
    dh = group_number(pfs_group) if group.get("pfs_flag") == "Y" else None
    counters: dict[str, int] = {}
    for key, value in group.items():
        if key in _SKIP_INTO_COUNTERS or key in _NOT_COUNTERS:
            continue
        number = to_int(value)
        if number is not None:
            counters[COUNTER_NAMES.get(key, key)] = number
    extra: dict[str, Any] = {}
    for key in _TUNNEL_EXTRA:
        if key in group:
            value = group[key]
            extra[key] = to_int(value) if key in _NOT_COUNTERS else value
    if "current_outbound_spi" in group:
        extra["current_outbound_spi"] = spi_to_int(group["current_outbound_spi"])
    if "pfs_flag" in group:
        extra["pfs_flag"] = group["pfs_flag"]
        extra["pfs_group"] = pfs_group
    sas, no_spi = _sas(group.get("sas"))
    if no_spi:
        extra["sas_without_spi"] = no_spi
    kind = "vti" if crypto_map and "-head-" in crypto_map else "crypto_map"
    record: dict[str, Any] = {
        "kind": kind,
        "interface": None if interface == "-" else interface,
        "crypto_map": crypto_map,
        "local_addr": group.get("local_addr"),
        "vrf": None if vrf in (None, "(none)") else vrf,
        "peer": group.get("peer"),
        "peer_port": to_int(group.get("peer_port")),
        "local_ts": _selector(group.get("local_ident")),
        "remote_ts": _selector(group.get("remote_ident")),
        "pfs": DH_KEYWORDS.get(dh) if dh is not None else None,
        "dh_group": dh,
        "counters": counters,
        "sas": sas,
        "extra": extra,
    }
    return record


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return list(value)


def _sas(lists: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sas: list[dict[str, Any]] = []
    no_spi: list[dict[str, Any]] = []
    for section in _as_list(lists):
        direction = "in" if section.get("direction") == "inbound" else "out"
        protocol = section.get("protocol", "esp")
        for raw in _as_list(section.get("sa")):
            record = sa_record(raw, direction, protocol)
            if record["spi"] is None:
                record.pop("spi")
                no_spi.append(record)
            else:
                sas.append(record)
    return sas, no_spi


def sa_record(raw: dict[str, Any], direction: str, protocol: str) -> dict[str, Any]:
    """One TTP SA group -> an ``IpsecSa``-shaped dict."""
    settings = (raw.get("settings") or "").strip("{} ")
    flags = {f.strip().lower() for f in settings.replace(",", " ").split()}
    transform = raw.get("transform")
    encryption, integrity = transform_keywords(transform)
    mode = "tunnel" if "tunnel" in flags else "transport" if "transport" in flags else None
    remaining_s = to_int(raw.get("remaining_s"))
    if remaining_s is None and "remaining_h" in raw:
        remaining_s = (to_int(raw["remaining_h"]) or 0) * 3600 + (
            to_int(raw.get("remaining_m")) or 0
        ) * 60
    extra = {k: raw[k] for k in _SA_EXTRA if k in raw}
    if "iv_size" in extra:
        extra["iv_size"] = to_int(extra["iv_size"])
    return {
        "direction": direction,
        "protocol": protocol,
        "spi": spi_to_int(raw.get("spi")) if str(raw.get("spi", "")).startswith("0x") else None,
        "transform": transform,
        "encryption": encryption,
        "integrity": integrity,
        "mode": mode,
        "udp_encap": "udp-encaps" in flags,
        "esn": "esn" in flags,
        "conn_id": to_int(raw.get("conn_id")),
        "remaining_kb": to_int(raw.get("remaining_kb")),
        "remaining_s": remaining_s,
        "replay_window": to_int(raw.get("replay_window")),
        "status": raw.get("status"),
        "extra": extra,
    }
