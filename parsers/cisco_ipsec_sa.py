"""IOS / IOS-XE ``show crypto ipsec sa`` -> ``tunnels`` records, one per ident.

A 10,000-peer hub prints ~20 MB, ~40 lines per peer. Handing that to TTP line by line costs
one TTP match (dozens of Python calls) per line, so the text is prepared in C first, a chunk
of whole interface blocks at a time:

1. whitespace is normalised with ``re.sub`` (templates never depend on indentation);
2. every physical line is checked against the command's line grammar with one alternation
   regex (``Template.whole``): ``sub("")`` leaves only unknown lines, the first of which is
   reported with its line number;
3. lines are joined into one logical line per interface header, ident and SA (`` ; ``
   between parts) and empty ``ah``/``pcp`` section headers are dropped;
4. TTP parses the logical lines (structure and identity fields); the remainders are split
   here, part by part.

Memory is bounded by one chunk (a few hundred KB), and :func:`iter_tunnels` streams records as
lines arrive. Big whole texts can be parsed by two processes (:func:`parse_text`).
"""

from __future__ import annotations

import re
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
from parsers._engine import _PROMPT, ParseError, Template, normalise

#: Characters of device text handed to TTP per run: large enough to amortise TTP's per-call
#: cost, small enough to keep memory flat (about 200 idents).
CHUNK_CHARS = 1 << 18

#: Device counter labels whose snake_case differs from the established record key.
COUNTER_NAMES = {
    "pkts_decaps_failed_rcv": "decrypt_failed",
    "pkts_verify_failed": "verify_failed",
    "pkts_replay_failed_rcv": "replay_failed",
}

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

_TRAILING = re.compile(r"[ \t]+\n")
_LEADING = re.compile(r"\n\s+")
_INNER = re.compile(r"[ \t]{2,}|\t")
_VRF_JOIN = re.compile(r"(protected vrf: [^\n]*)\nlocal ident")
#: Lines that start a logical line; every other line is joined to the one before.
_STARTS = ("interface:", "protected vrf:", "local ident", "inbound ", "outbound ", "spi:")
_EMPTY_SECTION = re.compile(r"(?:in|out)bound \w+ sas:\n(?!spi:)")
_FIRST_LINE = re.compile(r"(?m)^.+$")
_IFACE_START = re.compile(r"(?m)^[ \t]*interface:")

_COUNTER = re.compile(r"#+([A-Za-z][\w .()/-]*?):? (\d+)")
_PEER = re.compile(r"current_peer:? (\S+)(?: port (\d+))?")
_MTU = re.compile(r"(plaintext mtu|path mtu|ipv6 mtu idb|ip mtu idb|ipv6 mtu|ip mtu) ([^,]+)")
_MTU_KEYS = {
    "plaintext mtu": "plaintext_mtu",
    "path mtu": "path_mtu",
    "ip mtu": "ip_mtu",
    "ipv6 mtu": "ip_mtu",
    "ip mtu idb": "ip_mtu_idb",
    "ipv6 mtu idb": "ip_mtu_idb",
}
_PFS = re.compile(r"PFS \(Y/N\): (\S+), DH group: ([^,]+)(?:, (.*))?")
_HEADER = re.compile(r"Crypto map tag: (.*?), local addr:? (\S+)")
_CONN = re.compile(
    r"conn id: (\d+), flow_id: (.*?), sibling_flags (\S+), crypto map: ([^,]*)"
    r"(?:, initiator : (\S+))?"
)
_TIMING = re.compile(
    r"sa timing: remaining key lifetime (?:\(k/sec\): \((\d+)/(\d+)\)"
    r"|\(sec\): (\d+)|(\d+) hours, (\d+) mins)"
)
_REPLAY = re.compile(r"replay detection support: (\S+)(?: replay window size: (\d+))?")
_counter_keys: dict[str, str] = {}


def _counter_key(label: str) -> str:
    key = _counter_keys.get(label)
    if key is None:
        key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        key = COUNTER_NAMES.get(key, key)
        _counter_keys[label] = key
    return key


# ------------------------------------------------------------------ text preparation


def normalise_text(text: str) -> str:
    """Whitespace as templates see it, in a few C passes: blank lines go too."""
    if "\r" in text:
        text = text.replace("\r", "")
    text = _LEADING.sub("\n", _TRAILING.sub("\n", "\n" + text + "\n"))
    if "  " in text or "\t" in text:
        text = _INNER.sub(" ", text)
    return text[1:]


class _Checker:
    """Echo, trailing prompt and unknown-line handling across the chunks of one output."""

    def __init__(self, command: str, template: Template) -> None:
        self.command = command
        self.template = template
        self.echo = normalise(command).lower()
        self.first = True
        self.lineno = 0  # raw lines before the current chunk

    def check(self, raw: str, final: bool) -> str:
        """Return normalised ``raw`` minus echo/prompt; raise on the first unknown line."""
        offset = self.lineno
        self.lineno += raw.count("\n")
        first = self.first
        text = normalise_text(raw)
        if first:
            if not text:
                return ""
            self.first = False
            head, _, rest = text.partition("\n")
            if head.lower().endswith(self.echo):
                text = rest
        if final and text:
            head, _, last = text[:-1].rpartition("\n")
            if _PROMPT.match(last) and not self.template.recognises(last):
                text = head + "\n" if head else ""
        if self.template.whole().sub("", text).strip("\n"):
            return self._locate(raw, offset, first, final)
        return text

    def _locate(self, raw: str, offset: int, first: bool, final: bool) -> str:
        """Slow path, only when something is unknown: find its line and number."""
        lines = raw.splitlines()
        content = [(i, normalise(line)) for i, line in enumerate(lines, offset + 1)]
        content = [(i, line) for i, line in content if line]
        if first and content and content[0][1].lower().endswith(self.echo):
            content = content[1:]
        if final and content and _PROMPT.match(content[-1][1]):
            if not self.template.recognises(content[-1][1]):
                content = content[:-1]
        for lineno, line in content:
            if not self.template.recognises(line):
                reason = "device error" if line.startswith("%") else "unrecognised output"
                raise ParseError(self.command, line, lineno, reason)
        return "".join(line + "\n" for _, line in content)


def _logical(text: str) -> str:
    """Checked, normalised text -> one line per interface header, ident and SA."""
    text = text.replace("\n", " ; ")
    for start in _STARTS:
        text = text.replace(" ; " + start, "\n" + start)
    if text.endswith(" ; "):
        text = text[:-3] + "\n"
    text = _VRF_JOIN.sub(r"\1 ; local ident", text)
    return _EMPTY_SECTION.sub("", text)


def iter_chunks(lines: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Cut raw output into ``(text, is_last)`` chunks that end just before an ``interface:``.

    File objects are read in large blocks (no Python work per line); other iterables of lines
    (an SSH channel, ``str.splitlines()``) are gathered line by line.
    """
    read = getattr(lines, "read", None)
    pending = ""
    if callable(read):
        while True:
            block = read(CHUNK_CHARS)
            if not block:
                break
            pending += block
            if len(pending) >= CHUNK_CHARS:
                head, pending = _cut(pending)
                if head:
                    yield head, False
        yield pending, True
        return
    buf: list[str] = []
    size = 0
    for line in lines:
        if size >= CHUNK_CHARS and line.lstrip().startswith("interface:"):
            yield _join(buf), False
            buf, size = [], 0
        buf.append(line)
        size += len(line) + 1
    yield _join(buf), True


def _join(buf: list[str]) -> str:
    if not buf:
        return ""
    if buf[0].endswith("\n"):
        return "".join(buf) if buf[-1].endswith("\n") else "".join(buf) + "\n"
    return "\n".join(buf) + "\n"


def _cut(text: str) -> tuple[str, str]:
    """Split before the last ``interface:`` line (none: keep everything pending)."""
    last = None
    for last in _IFACE_START.finditer(text, len(text) // 2):
        pass
    if last is None or last.start() == 0:
        return "", text
    return text[: last.start()], text[last.start() :]


def split_text(text: str, parts: int) -> list[str]:
    """Cut a whole output into ``parts`` pieces at ``interface:`` lines (for workers)."""
    pieces: list[str] = []
    start = 0
    for k in range(1, parts):
        match = _IFACE_START.search(text, max(start, len(text) * k // parts))
        if match is None:
            break
        pieces.append(text[start : match.start()])
        start = match.start()
    pieces.append(text[start:])
    return pieces


# ------------------------------------------------------------------ parsing


def iter_tunnels(
    lines: Iterable[str], command: str, template: Template
) -> Iterator[dict[str, Any]]:
    """Stream tunnel records; raises ``ParseError`` at the first unrecognised line."""
    checker = _Checker(command, template)
    for chunk, final in iter_chunks(lines):
        yield from parse_checked(checker.check(chunk, final), template)


def parse_checked(text: str, template: Template) -> Iterator[dict[str, Any]]:
    """Normalised, checked text of whole interface blocks -> tunnel records."""
    if not text.strip():
        return
    result = template.run(_logical(text))
    for iface in _as_list(result.get("ifaces")):
        header = _header(iface)
        for ident in _as_list(iface.get("idents")):
            yield tunnel_record(header, ident)


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return list(value)


def _header(iface: dict[str, Any]) -> dict[str, Any]:
    interface = iface.get("interface")
    out: dict[str, Any] = {"interface": None if interface == "-" else interface}
    for part in (iface.get("header") or "").split(" ; "):
        if part.startswith("Crypto map tag:"):
            match = _HEADER.match(part)
            if match:
                out["crypto_map"], out["local_addr"] = match.groups()
        elif part.startswith("IPsecv6 policy name:"):
            out["policy_name"] = part.split(": ", 1)[1]
    return out


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


def tunnel_record(header: dict[str, Any], ident: dict[str, Any]) -> dict[str, Any]:
    """Interface header + TTP ident group -> a ``Tunnel``-shaped dict (model field names)."""
    crypto_map = header.get("crypto_map")
    vrf = ident.get("vrf")
    extra: dict[str, Any] = {}
    if "policy_name" in header:
        extra["policy_name"] = header["policy_name"]
    counters: dict[str, int] = {}
    peer: str | None = None
    peer_port: int | None = None
    dh: int | None = None
    for part in (ident.get("rest") or "").split(" ; "):
        first = part[:1]
        if first == "#":
            for label, value in _COUNTER.findall(part):
                counters[_counter_key(label)] = int(value)
        elif part.startswith("current_peer"):
            match = _PEER.match(part)
            if match:
                peer, port = match.groups()
                peer_port = int(port) if port else None
        elif part.startswith("local crypto endpt.:"):
            local, _, remote = part.partition(", remote crypto endpt.: ")
            extra["local_crypto_endpt"] = local[len("local crypto endpt.: ") :].rstrip(",")
            if remote:
                extra["remote_crypto_endpt"] = remote
        elif part.startswith("remote crypto endpt.:"):
            extra["remote_crypto_endpt"] = part.split(": ", 1)[1]
        elif part.startswith("plaintext mtu"):
            for name, value in _MTU.findall(part):
                key = _MTU_KEYS[name]
                extra[key] = value if key == "ip_mtu_idb" else to_int(value)
        elif part.startswith("current outbound spi:"):
            extra["current_outbound_spi"] = spi_to_int(part.split(": ", 1)[1])
        elif part.startswith("PFS"):
            match = _PFS.match(part)
            if match:
                flag, group, pfs_extra = match.groups()
                extra["pfs_flag"], extra["pfs_group"] = flag, group
                if pfs_extra:
                    extra["pfs_extra"] = pfs_extra
                dh = group_number(group) if flag == "Y" else None
        elif ", flags=" in part:
            action, _, flags = part.partition(", flags=")
            extra["action"], extra["flags"] = action, flags
    sas, no_spi = _sas(ident.get("sas"))
    if no_spi:
        extra["sas_without_spi"] = no_spi
    return {
        "kind": "vti" if crypto_map and "-head-" in crypto_map else "crypto_map",
        "interface": header.get("interface"),
        "crypto_map": crypto_map,
        "local_addr": header.get("local_addr"),
        "vrf": None if vrf in (None, "(none)") else vrf,
        "peer": peer,
        "peer_port": peer_port,
        "local_ts": _selector(ident.get("local_ident")),
        "remote_ts": _selector(ident.get("remote_ident")),
        "pfs": DH_KEYWORDS.get(dh) if dh is not None else None,
        "dh_group": dh,
        "counters": counters,
        "sas": sas,
        "extra": extra,
    }


def _sas(lists: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sas: list[dict[str, Any]] = []
    no_spi: list[dict[str, Any]] = []
    for section in _as_list(lists):
        direction = "in" if section.get("direction") == "inbound" else "out"
        protocol = section.get("protocol", "esp")
        for raw in _as_list(section.get("sa")):
            record = sa_record(split_sa(raw), direction, protocol)
            if record["spi"] is None:
                record.pop("spi")
                no_spi.append(record)
            else:
                sas.append(record)
    return sas, no_spi


def split_sa(raw: dict[str, Any]) -> dict[str, Any]:
    """TTP's ``{spi, rest}`` -> the SA's fields by name (the parts of ``rest``)."""
    out: dict[str, Any] = {"spi": raw.get("spi")}
    for part in (raw.get("rest") or "").split(" ; "):
        if part.startswith("transform:"):
            out["transform"] = part[len("transform: ") :].rstrip(" ,")
        elif part.startswith("in use settings ="):
            out["settings"] = part[len("in use settings =") :]
        elif part.startswith("conn id:"):
            match = _CONN.match(part)
            if match:
                conn_id, flow_id, sibling, sa_map, initiator = match.groups()
                out.update(
                    conn_id=conn_id, flow_id=flow_id, sibling_flags=sibling, sa_crypto_map=sa_map
                )
                if initiator is not None:
                    out["initiator"] = initiator
        elif part.startswith("sa timing:"):
            match = _TIMING.match(part)
            if match:
                kb, sec, only_sec, hours, mins = match.groups()
                out["remaining_kb"] = kb
                out["remaining_s"] = sec or only_sec
                if hours is not None:
                    out["remaining_h"], out["remaining_m"] = hours, mins
        elif part.startswith("Kilobyte Volume Rekey has been disabled"):
            out["kilobyte_volume_rekey"] = "disabled"
        elif part.startswith("IV size:"):
            out["iv_size"] = part.split()[2]
        elif part.startswith("replay detection support:"):
            match = _REPLAY.match(part)
            if match:
                out["replay_detection"], out["replay_window"] = match.groups()
        elif part.startswith("Status:"):
            out["status"] = part[len("Status: ") :]
    return out


def sa_record(raw: dict[str, Any], direction: str, protocol: str) -> dict[str, Any]:
    """One SA's fields -> an ``IpsecSa``-shaped dict."""
    settings = (raw.get("settings") or "").strip("{} ")
    flags = {f.strip().lower() for f in settings.replace(",", " ").split()}
    transform = raw.get("transform")
    encryption, integrity = transform_keywords(transform)
    mode = "tunnel" if "tunnel" in flags else "transport" if "transport" in flags else None
    remaining_s = to_int(raw.get("remaining_s"))
    if remaining_s is None and raw.get("remaining_h") is not None:
        remaining_s = (to_int(raw["remaining_h"]) or 0) * 3600 + (
            to_int(raw.get("remaining_m")) or 0
        ) * 60
    extra = {k: raw[k] for k in _SA_EXTRA if raw.get(k) is not None}
    if "iv_size" in extra:
        extra["iv_size"] = to_int(extra["iv_size"])
    spi = raw.get("spi")
    return {
        "direction": direction,
        "protocol": protocol,
        "spi": spi_to_int(spi) if str(spi or "").startswith("0x") else None,
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
