"""IOS / IOS-XE ``show crypto map`` -> ``crypto_maps`` records (one per map entry).

Record keys: ``name``, ``seq`` (int), ``family`` (``IPv4``/``IPv6``), ``type``
(``ipsec-isakmp`` | ``ipsec-manual`` | ``gdoi``...), ``peers`` (list), ``current_peer``,
``acl`` (name/number), ``acl_entries`` (list of ACL lines as printed), ``transform_sets``
(list of names), ``transforms`` (list, same order), ``pfs`` (bool or ``None``),
``pfs_group`` (int), ``lifetime_kb``, ``lifetime_s``, ``ikev2_profile``, ``isakmp_profile``,
``interfaces`` (list), ``incomplete`` (bool: IOS warns the entry lacks a peer or ACL),
``extra`` (the remaining Y/N flags, and ``idle_time_s`` from ``set security-association
idle-time``). Diagnostics compare both ends' entries with these.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from parsers._convert import group_number, to_int
from parsers._engine import Notes, Template, convert_each


def _split(value: Any, sep: str) -> list[str]:
    return [v.strip() for v in str(value).split(sep) if v.strip()] if value else []


def _yn(value: str | None) -> bool | None:
    return None if value is None else value.upper().startswith("Y")


def build_maps(
    numbered: Iterable[tuple[int, str]], template: Template, notes: Notes
) -> dict[str, Any]:
    result = template.run("".join(line + "\n" for _, line in numbered))
    entries = result.get("entries") or []
    if isinstance(entries, dict):
        entries = [entries]
    return {"crypto_maps": convert_each(notes, entries, _entry, "crypto map entry")}


def _entry(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": raw.get("name"),
        "seq": to_int(raw.get("seq")),
        "family": raw.get("family"),
        "type": raw.get("type"),
        "peers": _split(raw.get("peers"), ","),
        "current_peer": raw.get("current_peer"),
        "acl": raw.get("acl"),
        "acl_entries": _split(raw.get("acl_entries"), ";"),
        "transform_sets": _split(raw.get("transform_sets"), ";"),
        "transforms": _split(raw.get("transforms"), ";"),
        "pfs": _yn(raw.get("pfs")),
        "pfs_group": group_number(raw.get("pfs_group")),
        "lifetime_kb": to_int(raw.get("lifetime_kb")),
        "lifetime_s": to_int(raw.get("lifetime_s")),
        "ikev2_profile": raw.get("ikev2_profile"),
        "isakmp_profile": raw.get("isakmp_profile"),
        "interfaces": _split(raw.get("interfaces"), ","),
        "incomplete": bool(raw.get("incomplete")),
        "extra": {
            **{
                k: raw[k]
                for k in (
                    "dualstack",
                    "responder_only",
                    "mixed_mode",
                    "acl_ss_dynamic",
                    "acl_in_check",
                )
                if k in raw
            },
            **({"idle_time_s": to_int(raw["idle_time_s"])} if "idle_time_s" in raw else {}),
        },
    }
