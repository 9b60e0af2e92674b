"""IOS / IOS-XE / ASA ``show crypto ipsec sa`` -> ``tunnels`` records, one per ident.

A 10,000-peer hub prints ~20 MB, ~40 lines per peer. TTP costs dozens of Python calls per
matched line, so the text is prepared in C first, one chunk (~256 KB of whole interface or
ident blocks) at a time:

1. whitespace is normalised (templates never depend on indentation);
2. every physical line is checked against the command's line grammar
   (``<slug>.lines`` + ``<slug>.known``) with one possessive regex over the whole chunk
   (``Template.whole_text``); only when that fails does a line-by-line pass take the unknown
   lines out and report them (line number and text) as warnings;
3. lines are joined (``str.replace``) into one logical line per interface header and per
   ident, SAs included, parts separated by `` ; ``;
4. the logical lines give the structure (interface [-> ASA crypto map entry] -> idents):
   read with string methods (:func:`structure`) in the usual output, by TTP otherwise;
   each ident's parts (selectors, peer, counters, MTUs, SA sections) are split here.

Block boundaries are explicit. An ident is opened by its ``protected vrf:`` / ``access-list``
/ ``local ident`` line; when that line is missing, its remaining header lines (``remote
ident``, ``current_peer``) follow another block's SAs, and are split off into a record of
their own (selectors unknown) with a warning, never merged into the block before. A ``Crypto
map tag:`` line whose ``interface:`` line is missing opens a block with no interface (reported).

Memory is bounded by one chunk and its records: :func:`iter_tunnels` streams from a file, an
iterable of lines or a whole string. Single-threaded and free of process-wide side effects:
callers parse devices on worker threads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from parsers._convert import (
    group_number,
    mask_to_prefix,
    spi_to_int,
    to_int,
    transform_keywords,
)
from parsers._engine import _PROMPT, LazyPattern, Notes, Template, is_echo, normalise

#: Characters of device text handed to TTP per run: large enough to amortise TTP's per-call
#: cost, small enough to keep memory flat (about 200 idents).
CHUNK_CHARS = 1 << 18
#: Past this a chunk is cut at any line end, block boundary or not: output without structure
#: (garbage, a flood of unknown lines) must not be held whole. No real block comes close.
MAX_CHUNK_CHARS = 1 << 22

#: Device counter labels whose snake_case differs from the established record key.
COUNTER_NAMES = {
    "pkts_decaps_failed_rcv": "decrypt_failed",
    "pkts_verify_failed": "verify_failed",
    "pkts_replay_failed_rcv": "replay_failed",
    "decapsulated_frgs_needing_reassembly": "decapsulated_frags_needing_reassembly",
}

_INNER = re.compile(r"  +")
#: An ident's first line when it has a ``protected vrf:`` (IOS) or ``access-list`` (ASA) line
#: before ``local ident``: joined back into one logical line.
#: (Two patterns with a literal first word: the regex engine then skips ahead in C.)
_VRF_JOIN = re.compile(r"(protected vrf: [^\n]*)\nlocal ident")
# Patterns that only other layouts need (ASA, older IOS, a line out of the usual order) are
# compiled the first time such output is read (LazyPattern).
_IVRF_JOIN = LazyPattern(r"(Protected vrf \(ivrf\): [^\n]*)\nlocal ident")  # ASA 9.x
_NO_MAP = LazyPattern(
    r"(?m)^((?:interface|peer address): [^\n]*)\n(?=access-list |Protected vrf|local ident)"
)
_ACL_JOIN = LazyPattern(r"(access-list [^\n]*)\n(local ident|Protected vrf)")
#: Lines that start a logical line; every other line is joined to the one before.
_STARTS = ("interface:", "peer address:", "protected vrf:", "Protected vrf (ivrf):", "local ident")
#: ASA prints a crypto map line per map entry, several under one interface, and an ACL line
#: per ident: both start logical lines there (``templates/cisco_asa``).
_ASA_STARTS = (
    "interface:",
    "peer address:",
    "Crypto map tag:",
    "access-list ",
    "Protected vrf (ivrf):",
    "local ident",
)
_SECTION = re.compile(r" ; ((?i:in|out)bound) (\w+) sas:")

#: IOS ``current_peer X port N``; ASA ``current_peer: X`` (``, username: U`` for remote access).
_PEER = LazyPattern(r"current_peer:? ([^\s,]+)(?: port (\d+))?(?:, username: (.+))?")
#: IOS 12.4/15.0 may print no blank after the colon: ``remote crypto endpt.:10.0.0.2``.
_ENDPT = LazyPattern(r", remote crypto endpt\.: ?")
_MTU = LazyPattern(
    r"(plaintext mtu|path mtu|ipv6 mtu idb|ip mtu idb|ipv6 mtu|ip mtu|ipsec overhead"
    r"|override mtu|media mtu)"
    r" ([^,]+)"
)
_MTU_KEYS = {
    "plaintext mtu": "plaintext_mtu",
    "path mtu": "path_mtu",
    "ip mtu": "ip_mtu",
    "ipv6 mtu": "ip_mtu",
    "ip mtu idb": "ip_mtu_idb",
    "ipv6 mtu idb": "ip_mtu_idb",
    "ipsec overhead": "ipsec_overhead",
    "override mtu": "override_mtu",
    "media mtu": "media_mtu",
}
_PFS = LazyPattern(r"PFS \(Y/N\): (\S+), DH group: ([^,]+)(?:, (.*))?")
_HEADER = re.compile(r"Crypto map tag: (.*?)(?:, seq num: (\d+))?, local addr:? (\S+)")
_CONN = LazyPattern(
    r"conn id: (\d+), flow_id: (.*?)(?:, sibling_flags (\S+))?, crypto map: ([^,]*)"
    r"(?:, initiator : (\S+))?"
)
_TIMING = LazyPattern(
    r"sa timing: remaining key lifetime (?:\(k[bB]?/sec\): \((\d+)/(\d+)\)"
    r"|\(sec\): (\d+)|(\d+) hours, (\d+) mins)"
)
_REPLAY = LazyPattern(r"replay detection support: (\S+)(?: replay window size: (\d+))?")
_counter_keys: dict[str, str] = {}


def _counter_key(label: str) -> str:
    """``pkts no sa (send)`` -> ``pkts_no_sa_send``, ``pkts verify failed:`` -> ``verify_failed``.

    Cached: a hub repeats the same few dozen labels for every peer.
    """
    key = _counter_keys.get(label)
    if key is None:
        key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        key = COUNTER_NAMES.get(key, key)
        if len(_counter_keys) < 512:
            _counter_keys[label] = key
    return key


# ------------------------------------------------------------------ text preparation


def normalise_text(text: str) -> str:
    """Whitespace as templates see it (blank lines dropped), in a few C-level passes."""
    if "\t" in text:
        text = text.replace("\t", " ")
    text = "\n".join([line.strip() for line in text.split("\n") if line and not line.isspace()])
    if "  " in text:
        text = _INNER.sub(" ", text)
    return text + "\n" if text else ""


#: What a device prints instead of SAs (ASA, IOS-XE 17): recognised lines that open no block.
_NOTHING = ("There are no ipsec sas\n", "No SAs found\n")


class _Checker:
    """Echo, trailing prompt and unknown-line handling for one chunk of one output."""

    def __init__(self, command: str, template: Template, notes: Notes) -> None:
        self.command = command
        self.template = template
        self.notes = notes
        self.echo = normalise(command).lower()

    def check(self, raw: str, offset: int, first: bool, final: bool, header: str = "") -> str:
        """Return normalised ``raw`` minus echo/prompt and unknown lines (reported).

        ``offset``: raw lines before this chunk; ``first``: no content seen before it;
        ``final``: nothing follows it; ``header``: the (already checked) interface header
        lines a chunk that starts mid-interface is parsed under.
        """
        text = self._check(raw, offset, first, final)
        if "no ipsec sas\n" in text or "No SAs found\n" in text:
            text = "".join(line for line in text.splitlines(True) if line not in _NOTHING)
        if text and not text.startswith(_HEADS):
            # idents before any interface line (it was lost, or this chunk continues one)
            text = (normalise_text(header) if header else "interface: -\n") + text
        return text

    def _check(self, raw: str, offset: int, first: bool, final: bool) -> str:
        text = normalise_text(raw)
        if first and text:
            head, _, rest = text.partition("\n")
            if is_echo(head, self.echo):
                text = rest
        if final and text:
            head, _, last = text[:-1].rpartition("\n")
            if _PROMPT.match(last) and not self.template.recognises(last):
                text = head + "\n" if head else ""
        if not self.template.knows_all(text):
            return self._locate(raw, offset, first, final)
        self.notes.known += text.count("\n")
        return text

    def _locate(self, raw: str, offset: int, first: bool, final: bool) -> str:
        """Slow path, only when something is unknown: report each unknown line, drop it."""
        lines = raw.splitlines()
        content = [(i, normalise(line)) for i, line in enumerate(lines, offset + 1)]
        content = [(i, line) for i, line in content if line]
        if first and content and is_echo(content[0][1], self.echo):
            content = content[1:]
        last = content[-1][1] if content else ""
        if final and _PROMPT.match(last) and not self.template.recognises(last):
            content = content[:-1]
        kept: list[str] = []
        for lineno, line in content:
            if self.template.recognises(line):
                kept.append(line + "\n")
            else:
                self.notes.unknown_line(lineno, line)
        self.notes.known += len(kept)
        return "".join(kept)


#: Logical lines a block of the structure starts with (anything else before the first one is
#: an ident whose interface line is missing).
_HEADS = ("interface:", "peer address:")


def _logical(text: str, starts: tuple[str, ...] = _STARTS) -> str:
    """Checked, normalised text -> one line per interface header and per ident (SAs included)."""
    text = text.replace("\n", " ; ")
    for start in starts:
        text = text.replace(" ; " + start, "\n" + start)
    if text.endswith(" ; "):
        text = text[:-3] + "\n"
    text = _VRF_JOIN.sub(r"\1 ; local ident", text)
    if "Protected vrf (ivrf):" in text:
        text = _IVRF_JOIN.compiled.sub(r"\1 ; local ident", text)
    if starts is _ASA_STARTS:
        text = _ACL_JOIN.compiled.sub(r"\1 ; \2", text)
        # idents whose crypto map line is missing still need a map entry to belong to
        text = _NO_MAP.compiled.sub(r"\1\nCrypto map tag: -\n", text)
    return text


#: Lines a chunk may start at: an interface, or an ident of a long interface (a crypto-map
#: hub prints thousands of idents under one ``interface:``).
_CUT_MARKS = ("interface:", "peer address:", "protected vrf:", "Crypto map tag:", "access-list ")


def iter_chunks(lines: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """Cut raw output into ``(text, is_last)`` chunks that end before an interface or ident.

    A whole ``str`` is sliced; file objects are read in large blocks (no Python work per
    line); other iterables of lines (an SSH channel, ``str.splitlines()``) are gathered line
    by line.
    """
    if isinstance(lines, str):  # a whole output: slices, no copy of the whole
        start = 0
        while len(lines) - start > CHUNK_CHARS:
            cut = _mark_before(lines, start + CHUNK_CHARS, start + 1)
            if cut < 0:
                cut = _mark_after(lines, start + CHUNK_CHARS)
                if cut < 0 or cut > start + MAX_CHUNK_CHARS:
                    if len(lines) - start <= MAX_CHUNK_CHARS:
                        break  # the rest is small enough to be the last chunk
                    cut = lines.find("\n", start + CHUNK_CHARS) + 1  # no structure: any line end
                    if cut <= 0:
                        break
            yield lines[start:cut], False
            start = cut
        yield lines[start:], True
        return
    read = getattr(lines, "read", None)
    pending = ""
    if callable(read):
        while True:
            block = read(CHUNK_CHARS)
            if not block:
                break
            pending += block
            if len(pending) >= CHUNK_CHARS:
                cut = _mark_before(pending, len(pending), 1)
                if cut <= 0 and len(pending) >= MAX_CHUNK_CHARS:  # no structure: any line end
                    cut = pending.rfind("\n") + 1
                if cut > 0:
                    yield pending[:cut], False
                    pending = pending[cut:]
        yield pending, True
        return
    buf: list[str] = []
    size = 0
    for line in lines:
        if size >= CHUNK_CHARS and (
            line.lstrip().startswith(_CUT_MARKS) or size >= MAX_CHUNK_CHARS
        ):
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


def _mark_before(text: str, end: int, start: int = 0, marks: tuple[str, ...] = _CUT_MARKS) -> int:
    """Start of the last line in ``text[start:end]`` that begins (after blanks) with a mark."""
    best = -1
    for mark in marks:
        stop = end
        while True:
            at = text.rfind(mark, max(start, best + 1), stop)
            if at < 0:
                break
            line_start = text.rfind("\n", 0, at) + 1
            if line_start >= start and not text[line_start:at].strip(" \t"):
                best = max(best, line_start)
                break
            stop = at
    return best


def _mark_after(text: str, start: int) -> int:
    """Start of the first line at or after ``start`` that begins with a mark (or -1)."""
    found = [
        at
        for mark in _CUT_MARKS
        for at in (text.find("\n" + mark, start), text.find("\n " + mark, start))
        if at >= 0
    ]
    return min(found) + 1 if found else -1


def _line_at(text: str, at: int) -> str:
    end = text.find("\n", at)
    return text[at:] + "\n" if end < 0 else text[at : end + 1]


def _headers(chunks: Iterable[tuple[str, bool]]) -> Iterator[tuple[str, bool, str]]:
    """Add to each chunk the raw header of the interface it continues (``""`` if none): the
    last ``interface:`` line and the last ``Crypto map tag:`` / ``IPsecv6 policy name:``
    line after it, which is what the next ident's record takes from."""
    iface = ""
    maps = ""
    for raw, final in chunks:
        yield raw, final, iface + maps
        at = _mark_before(raw, len(raw), 0, ("interface:",))
        if at >= 0:
            iface, maps = _line_at(raw, at), ""
        for mark in ("Crypto map tag:", "IPsecv6 policy name:"):
            where = _mark_before(raw, len(raw), max(at, 0), (mark,))
            if where >= 0:
                maps = _line_at(raw, where)


# ------------------------------------------------------------------ parsing

_Job = tuple[str, int, bool, bool, str]
#: Turns a normalised line back into its line number in the chunk (slow path: warnings only).
Locate = Callable[[str], "int | None"]


def _jobs(lines: Iterable[str]) -> Iterator[_Job]:
    """Chunks with what checking them needs: (raw, lines before, first content, final,
    header of the interface the chunk continues)."""
    offset = 0
    first = True
    for raw, final, header in _headers(iter_chunks(lines)):
        yield raw, offset, first, final, header
        offset += raw.count("\n")
        first = first and (not raw or raw.isspace())


def iter_tunnels(
    lines: Iterable[str], command: str, template: Template, notes: Notes | None = None
) -> Iterator[dict[str, Any]]:
    """Stream tunnel records, chunk by chunk; unknown lines and broken blocks go to ``notes``.

    Never raises for device text: deciding that an output had nothing of this command in it
    is the caller's (``Notes.reject_if_unrecognisable``), once the stream has ended.
    """
    notes = notes if notes is not None else Notes(command)
    checker = _Checker(command, template, notes)
    for raw, offset, first, final, header in _jobs(lines):
        text = checker.check(raw, offset, first, final, header)
        yield from parse_checked(text, template, notes, _Locator(raw, offset))


class _Locator:
    """Line numbers of normalised lines in one raw chunk, built only if a warning needs one."""

    def __init__(self, raw: str, offset: int) -> None:
        self.raw = raw
        self.offset = offset
        self.index: dict[str, int] | None = None

    def __call__(self, line: str) -> int | None:
        if self.index is None:
            self.index = {}
            for lineno, text in enumerate(self.raw.splitlines(), self.offset + 1):
                self.index.setdefault(normalise(text), lineno)
        return self.index.get(line)


def parse_checked(
    text: str, template: Template, notes: Notes | None = None, locate: Locate | None = None
) -> list[dict[str, Any]]:
    """Normalised, checked text of whole interface blocks -> tunnel records."""
    if not text.strip():
        return []
    notes = notes if notes is not None else Notes("show crypto ipsec sa")
    locate = locate or (lambda _line: None)
    asa = template.path.parent.name == "cisco_asa"
    logical = _logical(text, _ASA_STARTS if asa else _STARTS)
    ifaces = structure(logical, asa)
    if ifaces is None:  # a line the usual reading does not know: the template's grammar
        ifaces = _as_list(template.run(logical).get("ifaces"))
    records: list[dict[str, Any]] = []
    for iface in ifaces:
        maps = _as_list(iface.get("maps"))
        header, orphans = _header(iface, {}, notes, locate)
        if orphans:
            _blocks(header, orphans, notes, locate, records)
        for entry in maps or [{}]:
            if entry:
                header, orphans = _header(iface, entry, notes, locate)
                if orphans:
                    _blocks(header, orphans, notes, locate, records)
            for ident in _as_list(entry.get("idents") if entry else iface.get("idents")):
                header = _blocks(header, ident.get("body") or "", notes, locate, records)
    return records


#: An ident's logical line (the template's ``IDENT``): ASA opens an ident with its ACL line.
_IDENT_HEADS = ("protected vrf: ", "Protected vrf (ivrf): ", "local ident ")
_ASA_IDENT_HEADS = ("access-list ", *_IDENT_HEADS)


def structure(logical: str, asa: bool) -> list[dict[str, Any]] | None:
    """Logical lines -> the interface groups the template gives (``ifaces``: interface or
    peer address, header, [ASA crypto map entries ->] idents), read with string methods.

    TTP costs a few hundred Python calls per run whatever the input's size, and a poll runs
    it once per device; this reading costs a few calls per logical line. Each form below is
    one template line with the same captures, and the lines _logical() makes are all of
    these forms in the usual output, so the groups are the template's. Anything else (a line
    of no form, an interface name TTP's word would not take, an ident or map entry outside
    its group) returns None and the template reads the text; tests check both readings
    agree on every sample.
    """
    heads = _ASA_IDENT_HEADS if asa else _IDENT_HEADS
    ifaces: list[dict[str, Any]] = []
    iface: dict[str, Any] | None = None
    entry: dict[str, Any] | None = None
    for line in logical.split("\n"):
        if not line:
            continue
        if line.startswith(heads):
            parent = entry if asa else iface
            if parent is None:
                return None
            parent.setdefault("idents", []).append({"body": line})
        elif line.startswith(("interface: ", "peer address: ")):
            key, _, rest = line.partition(": ")
            value, sep, header = rest.partition(" ; ")
            if not value or " " in value or (sep and not header):
                return None
            iface = {"interface" if key == "interface" else "peer_address": value}
            if sep:
                iface["header"] = header
            ifaces.append(iface)
            entry = None
        elif asa and line.startswith("Crypto map tag: ") and iface is not None:
            entry = {"map_header": line[16:]}
            iface.setdefault("maps", []).append(entry)
        else:
            return None
    return ifaces


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return list(value)


_HEADER_PARTS = ("Crypto map tag:", "IPsecv6 policy name:")


def _header(
    iface: dict[str, Any], entry: dict[str, Any], notes: Notes, locate: Locate
) -> tuple[dict[str, Any], str]:
    """Interface (+ ASA crypto map entry) group -> (the fields its idents' records share,
    what follows the header lines on their logical line: parts of an ident that lost its
    opening line)."""
    interface = iface.get("interface")
    out: dict[str, Any] = {"interface": None if interface == "-" else interface}
    if iface.get("peer_address"):
        out["interface"] = None
        out["peer_address"] = iface["peer_address"]
    if interface == "-" and not entry:
        notes.add(None, "interface: (missing)", "idents before any 'interface:' line")
    parts = (entry.get("map_header") if entry else iface.get("header")) or ""
    if entry and parts.split(" ; ", 1)[0] == "-":
        notes.add(None, "Crypto map tag: (missing)", "idents without their 'Crypto map tag:' line")
        parts = parts[4:]
    elif entry:
        parts = "Crypto map tag: " + parts
    orphans: list[str] = []
    for part in parts.split(" ; ") if parts else ():
        if orphans:
            orphans.append(part)
        elif part.startswith("Crypto map tag:"):
            _map_line(out, part)
        elif part.startswith("IPsecv6 policy name:"):
            out.setdefault("extra", {})["policy_name"] = part.split(": ", 1)[1]
        else:
            orphans.append(part)
    return out, " ; ".join(orphans)


def _map_line(out: dict[str, Any], part: str) -> None:
    match = _HEADER.match(part)
    if match:
        out["crypto_map"], seq, out["local_addr"] = match.groups()
        out["map_seq"] = _small(seq) if seq else None
    else:
        out["crypto_map"] = part.split(": ", 1)[1].split(",", 1)[0]


#: Order of an ident's opening lines; a header line that does not come after the ones
#: already seen in a block (or comes after its body) opens another block.
_RANK = (
    ("access-list ", 0),
    ("protected vrf:", 1),
    ("Protected vrf (ivrf):", 1),
    ("local ident", 2),
    ("remote ident", 3),
    ("current_peer", 4),
)
_BODY = 5


def _rank(part: str) -> int:
    for prefix, rank in _RANK:
        if part.startswith(prefix):
            return rank
    return _BODY


def _blocks(
    header: dict[str, Any],
    body: str,
    notes: Notes,
    locate: Locate,
    records: list[dict[str, Any]],
) -> dict[str, Any]:
    """One ident's logical line -> its record(s); returns the header for the idents after it.

    The usual ident has one ``remote ident`` and one ``current_peer``: one C-level count
    each decides that, and only a broken block takes the part-by-part path.
    """
    if (
        body.count("current_peer") == 1
        and body.count("remote ident") <= 1
        and "; Crypto map tag:" not in body
        and "; IPsecv6 policy name:" not in body
    ):
        _record(header, body, notes, locate, records, opened=True)
        return header
    block: list[str] = []
    top = -1
    opened = True
    for part in body.split(" ; "):
        if part.startswith(_HEADER_PARTS):  # its interface line is missing
            if block:
                _record(header, " ; ".join(block), notes, locate, records, opened)
            block, top, opened = [], -1, True
            header = {"interface": None}
            if part.startswith("Crypto map tag:"):
                _map_line(header, part)
            notes.add(locate(part), part, "crypto map line without its 'interface:' line")
            continue
        rank = _rank(part)
        if rank < _BODY and rank <= top and block:
            _record(header, " ; ".join(block), notes, locate, records, opened)
            block, top, opened = [], -1, rank <= 2
        top = max(top, rank)
        block.append(part)
    if block:
        _record(header, " ; ".join(block), notes, locate, records, opened)
    return header


def _record(
    header: dict[str, Any],
    body: str,
    notes: Notes,
    locate: Locate,
    records: list[dict[str, Any]],
    opened: bool,
) -> None:
    first = body.split(" ; ", 1)[0]
    if not opened or _rank(first) > 2:
        notes.add(
            locate(first), first, "ident block without its 'local ident' line: selectors unknown"
        )
    try:
        record = tunnel_record(header, body, notes)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        notes.add(locate(first), first, f"malformed ident block left out ({exc})")
        return
    if record["peer"] is None and record["sas"]:
        notes.add(locate(first), first, "ident block without a 'current_peer' line: peer unknown")
    for side in ("local", "remote"):
        raw = record["extra"].get(f"{side}_ident_raw")
        if raw is not None:
            line = f"{side} ident (addr/mask/prot/port): ({raw})"
            if side == "local":
                line = "local  " + line[6:]  # IOS pads "local" to "remote"'s width
            notes.add(
                locate(line) or locate(line.replace("local  ", "local ")),
                line,
                "traffic selector is not an address/mask, kept as printed in extra",
            )
    records.append(record)


#: An address and a mask (or IPv6 length) as devices print them, octets an operator redacted
#: (``X.X.X.149``) allowed; anything else (a guide's placeholder such as
#: ``vpc_subnet/subnet_mask``) is no selector.
_ADDR_CHARS = "0123456789abcdefABCDEFxX*:."  # str.strip: one C-level pass, no regex
_MASK_CHARS = "0123456789."
#: ASA ``(10.0.0.0/255.255.255.0/6/0 - 65535)``: a port range covering every port.
_EVERY_PORT = ("0 - 65535", "0-65535")


def _selector(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    parts = text.rsplit("/", 3)
    if len(parts) != 4:
        return None
    addr, mask, prot, port = parts
    if addr.strip(_ADDR_CHARS) or mask.strip(_MASK_CHARS) or not addr or not mask:
        return None
    if port.isdigit():
        port_no = _small(port)
    elif port in _EVERY_PORT:  # ASA prints a port range; the whole range is "any" (0)
        port_no = 0
    else:  # a narrower range is no single port: the caller keeps the ident raw
        return None
    return {
        "prefix": _prefix(addr, mask),
        "protocol": _small(prot) if prot.isdigit() else 0,
        "port": port_no,
    }


_mask_bits: dict[str, str] = {}


def _prefix(addr: str, mask: str) -> str:
    bits = _mask_bits.get(mask)
    if bits is None:
        bits = mask_to_prefix("", mask)[1:]
        if len(_mask_bits) < 512:
            _mask_bits[mask] = bits
    return f"{addr}/{bits}"


_COUNTER_REGION = re.compile(r"#[^;]*(?:; #[^;]*)*")
#: Values follow a blank: the literal first character lets the regex engine skip ahead fast.
_COUNTER_VALUE = re.compile(r" (\d+)")


class _Layout(NamedTuple):
    """One counter layout: its labels as a pattern with a group per value (None for a layout
    past the cache's 64), and the key of each value (None: a value that is no counter)."""

    pattern: re.Pattern[str] | None
    names: list[str | None]


_counter_layouts: dict[tuple[str, ...], _Layout] = {}
#: the layout the last region had: a hub prints the same one for every peer
_last_layout: _Layout | None = None


def _counters(text: str, notes: Notes | None = None) -> dict[str, int]:
    """The ``#pkts ...`` region of an ident -> {counter key: value}.

    A hub prints the same labels for every peer: the last region's layout is tried first,
    one C-level match that yields the values; any other region is split at its values, and
    its labels are resolved to keys once and cached (with the pattern that matches them).
    """
    layout = _last_layout
    pattern = None if layout is None else layout.pattern
    found = None if pattern is None else pattern.fullmatch(text)
    if found is not None and layout is not None:
        values: Sequence[str] = found.groups()
    else:
        layout, values = _split_counters(text)
    if values and max(map(len, values)) > 20:  # past 2**64: not a counter
        if notes is not None:
            notes.add(None, text[:200], "counter value out of range: counters left out")
        return {}
    # C-level: no Python per value
    counters = dict(zip(layout.names, map(int, values), strict=False))
    counters.pop(None, None)
    return counters  # type: ignore[return-value]


def _split_counters(text: str) -> tuple[_Layout, list[str]]:
    """The region split at its values: its layout (cached) and the values.

    The pattern is the labels, escaped, with ``(\\d+)`` after each blank that preceded a
    value: a label never holds a blank before a digit (the split would have cut there) and
    never starts with a digit (the value before it took them all), so the pattern matches
    exactly the regions that split into these very labels, the values in the same places.
    """
    global _last_layout
    parts = _COUNTER_VALUE.split(text)
    labels = tuple(parts[0::2])
    layout = _counter_layouts.get(labels)
    if layout is None:
        names = [
            _counter_key(p.rpartition("#")[2].strip()) if "#" in p else None for p in parts[0:-1:2]
        ]
        if len(_counter_layouts) >= 64:  # odd output, a layout per region: no pattern to build
            return _Layout(None, names), parts[1::2]
        pattern = re.compile(r" (\d+)".join(re.escape(label) for label in labels))
        layout = _counter_layouts[labels] = _Layout(pattern, names)
    _last_layout = layout
    return layout, parts[1::2]


#: The usual IOS ident opening in one match; any other takes the part-by-part path.
_IDENT_USUAL = re.compile(
    r"protected vrf: ([^;]*?) ; local ident \(addr/mask/prot/port\): \(([^;()]*)\) ;"
    r" remote ident \(addr/mask/prot/port\): \(([^;()]*)\) ; "
)


def _ident_head(body: str) -> tuple[dict[str, str], str]:
    """The opening parts of an ident (vrf/ACL line, selectors) -> (fields, the rest)."""
    usual = _IDENT_USUAL.match(body)
    if usual is not None:
        vrf, local, remote = usual.groups()
        return {"vrf": vrf, "local_ident": local, "remote_ident": remote}, body[usual.end() :]
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        end = body.find(" ; ", pos)
        part = body[pos:] if end < 0 else body[pos:end]
        if part.startswith("protected vrf: "):
            fields["vrf"] = part[15:]
        elif part.startswith("Protected vrf (ivrf): "):  # ASA 9.x
            fields["vrf"] = part[22:]
        elif part.startswith("access-list "):
            fields["acl"] = part[12:]
        elif part.startswith(("local ident", "remote ident")):
            side = "local_ident" if part[0] == "l" else "remote_ident"
            fields[side] = part[part.rfind("(") + 1 : part.rfind(")")]
        else:
            break
        pos = len(body) if end < 0 else end + 3
    return fields, body[pos:]


_NO_VRF = (None, "(none)", "none", "Global", "global")

#: The usual IOS ident remainder (counters taken out) in one match; any other layout takes
#: the part-by-part path, which gives the same fields.
_REST_USUAL = re.compile(
    r"current_peer (\S+) port (\d{1,5}) ; (\w+), flags=([^;]*) ;"
    r" local crypto endpt\.: ([^,;]*), remote crypto endpt\.: ([^;]*) ;"
    r" plaintext mtu (\d{1,9}), path mtu (\d{1,9}), ip mtu (\d{1,9}), ip mtu idb ([^;,]*) ;"
    r" current outbound spi: (0x[0-9A-Fa-f]{1,8}(?:\(\d+\))?) ;"
    r" PFS \(Y/N\): ([YN]), DH group: ([^;,]*)"
)


def tunnel_record(header: dict[str, Any], body: str, notes: Notes | None = None) -> dict[str, Any]:
    """Interface header + one ident's logical line -> a ``Tunnel``-shaped dict."""
    crypto_map = header.get("crypto_map")
    ident, rest = _ident_head(body)
    vrf = ident.get("vrf")
    rest, _, sections = rest.partition(" ; inbound ")
    if sections:
        sections = " ; inbound " + sections
    else:  # no inbound section printed: maybe outbound ones alone (or other spellings)
        found = _SECTION.search(" ; " + rest)
        if found is not None:
            at = max(found.start() - 3, 0)
            rest, sections = rest[:at], " ; " + rest[at:].lstrip(" ;")
    extra: dict[str, Any] = dict(header.get("extra", ()))
    if "peer_address" in header:
        extra["peer_address"] = header["peer_address"]
    if vrf in _NO_VRF and vrf is not None and vrf.lower() == "global":
        extra["ivrf_raw"] = vrf
    peer: str | None = None
    peer_port: int | None = None
    dh: int | None = None
    pfs: bool | None = None
    region = _COUNTER_REGION.search(rest)
    counters: dict[str, int] = {}
    if region is not None:
        counters = _counters(region.group(), notes)
        # the region ends at "; local crypto ..." (its trailing blank included)
        rest = rest[: region.start()] + rest[region.end() :].lstrip("; ")
    usual = _REST_USUAL.fullmatch(rest)
    if usual is not None:
        peer, port, action, flags, local, remote, plain, path, ip, idb, spi, flag, group = (
            usual.groups()
        )
        peer_port = int(port)
        extra.update(
            action=action,
            flags=flags,
            local_crypto_endpt=local,
            remote_crypto_endpt=remote,
            plaintext_mtu=int(plain),
            path_mtu=int(path),
            ip_mtu=int(ip),
            ip_mtu_idb=idb,
            current_outbound_spi=spi_to_int(spi),
            pfs_flag=flag,
            pfs_group=group,
        )
        pfs = flag == "Y"
        dh = group_number(group) if pfs else None
        rest = ""
    for part in rest.split(" ; ") if rest else ():
        if part.startswith("current_peer"):
            match = _PEER.compiled.match(part)
            if match:
                peer, port, username = match.groups()
                peer_port = _small(port) if port else None
                if username:
                    extra["username"] = username
        elif part.startswith("local crypto endpt.:"):
            local, *others = _ENDPT.compiled.split(part, 1)
            remote = others[0] if others else ""
            extra["local_crypto_endpt"] = local[len("local crypto endpt.: ") :].rstrip(",")
            if remote:
                extra["remote_crypto_endpt"] = remote
        elif part.startswith("remote crypto endpt.:"):
            extra["remote_crypto_endpt"] = part.split(": ", 1)[1]
        elif part.startswith(("plaintext mtu", "path mtu")):  # + ASA's "override mtu"
            for name, value in _MTU.compiled.findall(part):
                key = _MTU_KEYS[name]
                extra[key] = value if key == "ip_mtu_idb" else to_int(value.split("(")[0])
        elif part.startswith("current inbound spi :"):  # ASA
            extra["current_inbound_spi"] = spi_to_int(part[len("current inbound spi : ") :])
        elif part.startswith("dynamic allocated peer ip:"):  # ASA remote access
            extra["assigned_ip"] = part.split(": ", 1)[1]
        elif part.startswith(("dynamic allocated peer ipv6:", "dynamic allocated peer ip(ipv6):")):
            extra["assigned_ipv6"] = part.split(": ", 1)[1]  # ASA remote access
        elif part.startswith("current outbound spi:"):
            extra["current_outbound_spi"] = spi_to_int(part[len("current outbound spi: ") :])
        elif part.startswith("PFS"):
            match = _PFS.compiled.match(part)
            if match:
                flag, group, pfs_extra = match.groups()
                extra["pfs_flag"], extra["pfs_group"] = flag, group
                if pfs_extra:
                    extra["pfs_extra"] = pfs_extra
                pfs = flag.upper() == "Y" if flag.upper() in ("Y", "N") else None
                dh = group_number(group) if pfs else None
        elif ", flags=" in part:
            action, _, flags = part.partition(", flags=")
            extra["action"], extra["flags"] = action, flags
        elif part.startswith(("PMTU time remaining", "ICMP error validation")):  # ASA
            for key, _, value in (f.partition(": ") for f in part.split(", ")):
                extra[_counter_key(key)] = to_int(value) if value.isdigit() else value
    sas, no_spi = _sas(sections, notes)
    if pfs is None and sas:  # ASA: "in use settings ={L2L, Tunnel, PFS Group 2, }"
        settings = sas[0]["extra"].get("settings") or ""
        at = settings.find("PFS Group ")
        if at >= 0:
            group = settings[at + 10 :].split(",", 1)[0].strip()
            if group.isdigit():
                pfs, dh = True, int(group)
    if no_spi:
        extra["sas_without_spi"] = no_spi
    if "acl" in ident:
        extra["acl"] = ident["acl"]
    local_ts = _selector(ident.get("local_ident"))
    remote_ts = _selector(ident.get("remote_ident"))
    for side, ts in (("local", local_ts), ("remote", remote_ts)):
        if ts is None and ident.get(f"{side}_ident"):  # not an address/mask: kept as printed
            extra[f"{side}_ident_raw"] = ident[f"{side}_ident"]
    if peer_port is None and "remote_crypto_endpt" in extra:  # ASA: the port sits there
        _, slash, port = extra["remote_crypto_endpt"].rpartition("/")
        peer_port = _small(port) if slash and port.isdigit() else None
    return {
        "kind": "vti" if crypto_map and "-head-" in crypto_map else "crypto_map",
        "interface": header.get("interface"),
        "crypto_map": crypto_map,
        "map_seq": header.get("map_seq"),
        "local_addr": header.get("local_addr"),
        "vrf": None if vrf in _NO_VRF else vrf,
        "peer": peer,
        "peer_port": peer_port,
        "local_ts": local_ts,
        "remote_ts": remote_ts,
        "pfs": pfs,
        "dh_group": dh,
        "counters": counters,
        "sas": sas,
        "extra": extra,
    }


def _small(text: str) -> int:
    """A port, a conn id, a lifetime: digits the device printed, but not absurdly many."""
    if len(text) > 19:
        raise ValueError(f"number out of range: {text[:24]}...")
    return int(text)


def _sas(
    sections: str, notes: Notes | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`` ; inbound esp sas: ; spi: ... ; outbound ...`` -> SA records (with SPI, without)."""
    sas: list[dict[str, Any]] = []
    no_spi: list[dict[str, Any]] = []
    parts = _SECTION.split(sections)
    # parts: [before, direction, protocol, body, direction, protocol, body, ...]
    for k in range(1, len(parts) - 2, 3):
        direction = "in" if parts[k].lower() == "inbound" else "out"
        protocol = parts[k + 1].lower()
        body = parts[k + 2]
        if protocol not in ("esp", "ah", "pcp"):
            if " ; spi: " in body and notes is not None:
                line = f"{parts[k]} {parts[k + 1]} sas:"
                notes.add(None, line, "SAs of an unknown protocol left out")
            continue
        for chunk in body.split(" ; spi: ")[1:]:
            spi, _, rest = chunk.partition(" ; ")
            try:
                record = sa_record(spi, rest, direction, protocol)
            except ValueError as exc:
                if notes is not None:
                    notes.add(None, f"spi: {spi}"[:200], f"malformed SA left out ({exc})")
                continue
            if record["spi"] is None:
                record.pop("spi")
                no_spi.append(record)
            elif record["spi"] > 0xFFFFFFFF:
                if notes is not None:
                    notes.add(None, f"spi: {spi}"[:200], "SPI longer than 32 bits: SA left out")
            else:
                sas.append(record)
    return sas, no_spi


_transforms: dict[str, tuple[str | None, str | None]] = {}
_settings: dict[str, tuple[str | None, bool, bool]] = {}


def _transform(transform: str) -> tuple[str | None, str | None]:
    found = _transforms.get(transform)
    if found is None:
        found = transform_keywords(transform)
        if len(_transforms) < 256:
            _transforms[transform] = found
    return found


def _mode(settings: str) -> tuple[str | None, bool, bool]:
    """``{Transport UDP-Encaps, esn}`` -> (mode, udp_encap, esn)."""
    found = _settings.get(settings)
    if found is None:
        flags = {f.lower() for f in settings.strip("{} ").replace(",", " ").split()}
        mode = "tunnel" if "tunnel" in flags else "transport" if "transport" in flags else None
        found = (mode, "udp-encaps" in flags or "nat-t-encaps" in flags, "esn" in flags)
        if len(_settings) < 256:
            _settings[settings] = found
    return found


#: The commonest SA layout (IOS/IOS-XE hubs) in one match; anything else takes the per-part
#: path below. Both give the same record.
_SA_USUAL = re.compile(
    r"transform: (.*?) , ; in use settings =(\{[^}]*\}) ; conn id: (\d{1,19}), flow_id: ([^,]*),"
    r" sibling_flags (\S+), crypto map: ([^,;]*) ; sa timing: remaining key lifetime"
    r" \(k/sec\): \((\d{1,19})/(\d{1,19})\) ; IV size: (\d{1,5}) bytes ;"
    r" replay detection support: (\S+)(?: replay window size: (\d{1,19}))? ; Status: ([^;]*)"
)


def _usual_sa(
    usual: re.Match[str], spi: str | None, direction: str, protocol: str
) -> dict[str, Any]:
    transform, settings, conn, flow, sibling, sa_map, kb, sec, iv, replay, window, status = (
        usual.groups()
    )
    encryption, integrity = _transform(transform)
    mode, udp_encap, esn = _mode(settings)
    return {
        "direction": direction,
        "protocol": protocol,
        "spi": spi_to_int(spi) if spi and spi.startswith("0x") else None,
        "transform": transform,
        "encryption": encryption,
        "integrity": integrity,
        "mode": mode,
        "udp_encap": udp_encap,
        "esn": esn,
        "conn_id": int(conn),
        "remaining_kb": int(kb),
        "remaining_s": int(sec),
        "replay_window": int(window) if window else None,
        "status": status,
        "extra": {
            "settings": settings,
            "flow_id": flow,
            "sibling_flags": sibling,
            "sa_crypto_map": sa_map,
            "iv_size": int(iv),
            "replay_detection": replay,
        },
    }


def sa_record(spi: str | None, rest: str, direction: str, protocol: str) -> dict[str, Any]:
    """One SA (its spi + the `` ; ``-joined rest of its lines) -> an ``IpsecSa``-shaped dict."""
    usual = _SA_USUAL.fullmatch(rest)
    if usual is not None:
        return _usual_sa(usual, spi, direction, protocol)
    extra: dict[str, Any] = {}
    transform: str | None = None
    settings = ""
    conn_id = remaining_kb = remaining_s = replay_window = None
    status: str | None = None
    for part in rest.split(" ; "):
        first = part[:2]
        if first == "tr" and part.startswith("transform:"):
            transform = part[11:].rstrip(" ,")
        elif first == "in" and part.startswith("in use settings ="):
            settings = part[17:]
            extra["settings"] = settings
        elif first == "co" and part.startswith("conn id:"):
            match = _CONN.compiled.match(part)
            if match:
                cid, flow_id, sibling, sa_map, initiator = match.groups()
                conn_id = _small(cid)
                extra["flow_id"] = flow_id
                if sibling is not None:  # IOS 12.4 prints no sibling_flags
                    extra["sibling_flags"] = sibling
                extra["sa_crypto_map"] = sa_map
                if initiator is not None:
                    extra["initiator"] = initiator
        elif first == "sa" and part.startswith("sa timing:"):
            match = _TIMING.compiled.match(part)
            if match:
                kb, sec, only_sec, hours, mins = match.groups()
                remaining_kb = _small(kb) if kb else None
                if sec or only_sec:
                    remaining_s = _small(sec or only_sec)
                elif hours is not None:
                    remaining_s = _small(hours) * 3600 + _small(mins) * 60
        elif first == "IV":
            extra["iv_size"] = to_int(part.split()[2]) if part.count(" ") >= 2 else None
        elif first == "re" and part.startswith("replay detection support:"):
            match = _REPLAY.compiled.match(part)
            if match:
                extra["replay_detection"], window = match.groups()
                replay_window = _small(window) if window else None
        elif first == "St" and part.startswith("Status:"):
            status = part[8:]
        elif first == "SA" and part.startswith("SA State: "):  # ASA
            status = status or part[10:]
        elif first == "sl" and part.startswith("slot:"):  # ASA: slot: 0, conn_id: 3, crypto-map: X
            for key, _, value in (f.partition(": ") for f in part.split(", ")):
                if key == "conn_id":
                    conn_id = to_int(value)
                elif key == "crypto-map":
                    extra["sa_crypto_map"] = value
                elif key == "slot":
                    extra["slot"] = to_int(value)
        elif first == "Ki" and part.startswith("Kilobyte Volume Rekey has been disabled"):
            extra["kilobyte_volume_rekey"] = "disabled"
    encryption, integrity = _transform(transform) if transform else (None, None)
    mode, udp_encap, esn = _mode(settings)
    return {
        "direction": direction,
        "protocol": protocol,
        "spi": spi_to_int(spi) if spi and spi.startswith("0x") else None,
        "transform": transform,
        "encryption": encryption,
        "integrity": integrity,
        "mode": mode,
        "udp_encap": udp_encap,
        "esn": esn,
        "conn_id": conn_id,
        "remaining_kb": remaining_kb,
        "remaining_s": remaining_s,
        "replay_window": replay_window,
        "status": status,
        "extra": extra,
    }
