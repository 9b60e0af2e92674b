"""IOS / IOS-XE / ASA ``show crypto ipsec sa`` -> ``tunnels`` records, one per ident.

A 10,000-peer hub prints ~20 MB, ~40 lines per peer. TTP costs dozens of Python calls per
matched line, so the text is prepared in C first, one chunk (~256 KB of whole interface or
ident blocks) at a time:

1. whitespace is normalised (templates never depend on indentation);
2. every physical line is checked against the command's line grammar (``<slug>.lines`` +
   ``<slug>.known``) with one possessive regex over the whole chunk
   (``Template.whole_text``); only when that fails does a line-by-line pass find the first
   unknown line and its number for the :class:`ParseError`;
3. lines are joined (``str.replace``) into one logical line per interface header and per
   ident, SAs included, parts separated by `` ; ``;
4. TTP parses the logical lines: structure (interface -> [ASA crypto map entry] -> idents)
   and identity fields; each ident's remainder (counters, MTUs, SA sections) is split here.

Memory is bounded by one chunk and its records: :func:`iter_tunnels` streams from a file, an
iterable of lines or a whole string. Outputs over ``PARALLEL_MIN_CHARS`` are shared, chunk by
chunk, with one forked process (:func:`default_workers`).
"""

from __future__ import annotations

import gc
import itertools
import os
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
    "decapsulated_frgs_needing_reassembly": "decapsulated_frags_needing_reassembly",
}

_INNER = re.compile(r"  +")
#: An ident's first line when it has a ``protected vrf:`` (IOS) or ``access-list`` (ASA) line
#: before ``local ident``: joined back into one logical line.
#: (Two patterns with a literal first word: the regex engine then skips ahead in C.)
_VRF_JOIN = re.compile(r"(protected vrf: [^\n]*)\nlocal ident")
_ACL_JOIN = re.compile(r"(access-list [^\n]*)\nlocal ident")
#: Lines that start a logical line; every other line is joined to the one before.
_STARTS = ("interface:", "protected vrf:", "local ident")
#: ASA prints a crypto map line per map entry, several under one interface, and an ACL line
#: per ident: both start logical lines there (``templates/cisco_asa``).
_ASA_STARTS = ("interface:", "Crypto map tag:", "access-list ", "local ident")
_SECTION = re.compile(r" ; ((?:in|out)bound) (\w+) sas:")

_PEER = re.compile(r"current_peer:? (\S+)(?: port (\d+))?")
_MTU = re.compile(
    r"(plaintext mtu|path mtu|ipv6 mtu idb|ip mtu idb|ipv6 mtu|ip mtu|ipsec overhead|media mtu)"
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
    "media mtu": "media_mtu",
}
_PFS = re.compile(r"PFS \(Y/N\): (\S+), DH group: ([^,]+)(?:, (.*))?")
_HEADER = re.compile(r"Crypto map tag: (.*?)(?:, seq num: (\d+))?, local addr:? (\S+)")
_CONN = re.compile(
    r"conn id: (\d+), flow_id: (.*?), sibling_flags (\S+), crypto map: ([^,]*)"
    r"(?:, initiator : (\S+))?"
)
_TIMING = re.compile(
    r"sa timing: remaining key lifetime (?:\(k[bB]?/sec\): \((\d+)/(\d+)\)"
    r"|\(sec\): (\d+)|(\d+) hours, (\d+) mins)"
)
_REPLAY = re.compile(r"replay detection support: (\S+)(?: replay window size: (\d+))?")
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


class _Checker:
    """Echo, trailing prompt and unknown-line handling for one chunk of one output."""

    def __init__(self, command: str, template: Template) -> None:
        self.command = command
        self.template = template
        self.echo = normalise(command).lower()

    def check(self, raw: str, offset: int, first: bool, final: bool, header: str = "") -> str:
        """Return normalised ``raw`` minus echo/prompt; raise on the first unknown line.

        ``offset``: raw lines before this chunk; ``first``: no content seen before it;
        ``final``: nothing follows it; ``header``: the (already checked) interface header
        lines a chunk that starts mid-interface is parsed under.
        """
        text = self._check(raw, offset, first, final)
        if header and text and not text.startswith("interface:"):
            text = normalise_text(header) + text
        return text

    def _check(self, raw: str, offset: int, first: bool, final: bool) -> str:
        text = normalise_text(raw)
        if first and text:
            head, _, rest = text.partition("\n")
            if head.lower().endswith(self.echo):
                text = rest
        if final and text:
            head, _, last = text[:-1].rpartition("\n")
            if _PROMPT.match(last) and not self.template.recognises(last):
                text = head + "\n" if head else ""
        checked = self.template.whole_text().match(text)
        if checked is None or checked.end() != len(text):
            return self._locate(raw, offset, first, final)
        return text

    def _locate(self, raw: str, offset: int, first: bool, final: bool) -> str:
        """Slow path, only when something is unknown: find its line and number."""
        lines = raw.splitlines()
        content = [(i, normalise(line)) for i, line in enumerate(lines, offset + 1)]
        content = [(i, line) for i, line in content if line]
        if first and content and content[0][1].lower().endswith(self.echo):
            content = content[1:]
        last = content[-1][1] if content else ""
        if final and _PROMPT.match(last) and not self.template.recognises(last):
            content = content[:-1]
        for lineno, line in content:
            if not self.template.recognises(line):
                reason = "device error" if line.startswith("%") else "unrecognised output"
                raise ParseError(self.command, line, lineno, reason)
        return "".join(line + "\n" for _, line in content)


def _logical(text: str, starts: tuple[str, ...] = _STARTS) -> str:
    """Checked, normalised text -> one line per interface header and per ident (SAs included)."""
    text = text.replace("\n", " ; ")
    for start in starts:
        text = text.replace(" ; " + start, "\n" + start)
    if text.endswith(" ; "):
        text = text[:-3] + "\n"
    text = _VRF_JOIN.sub(r"\1 ; local ident", text)
    if starts is _ASA_STARTS:
        text = _ACL_JOIN.sub(r"\1 ; local ident", text)
    return text


#: Lines a chunk may start at: an interface, or an ident of a long interface (a crypto-map
#: hub prints thousands of idents under one ``interface:``).
_CUT_MARKS = ("interface:", "protected vrf:", "Crypto map tag:", "access-list ")


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
                if cut < 0:
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
                if cut > 0:
                    yield pending[:cut], False
                    pending = pending[cut:]
        yield pending, True
        return
    buf: list[str] = []
    size = 0
    for line in lines:
        if size >= CHUNK_CHARS and line.lstrip().startswith(_CUT_MARKS):
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

#: Below this many characters of output a second process costs more than it saves.
PARALLEL_MIN_CHARS = 1 << 20


def default_workers() -> int:
    """Processes for big outputs: 2 where this process may use 2+ CPUs and can fork, else 1."""
    if not hasattr(os, "fork"):
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return 2 if cpus >= 2 else 1


_Job = tuple[str, int, bool, bool, str]


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
    lines: Iterable[str], command: str, template: Template, workers: int | None = None
) -> Iterator[dict[str, Any]]:
    """Stream tunnel records; raises ``ParseError`` at the first unrecognised line.

    With ``workers`` > 1 (default: :func:`default_workers`) an output over
    ``PARALLEL_MIN_CHARS`` is shared with one forked process, chunk by chunk (one chunk in
    flight each), so memory stays bounded and records still come out in device order.
    """
    checker = _Checker(command, template)
    jobs = _jobs(lines)
    workers = default_workers() if workers is None else workers
    head: list[_Job] = []
    size = 0
    for job in jobs:
        head.append(job)
        size += len(job[0])
        if job[3] or size >= PARALLEL_MIN_CHARS:
            break
    if workers <= 1 or size < PARALLEL_MIN_CHARS or not hasattr(os, "fork"):
        for job in itertools.chain(head, jobs):
            yield from _work(checker, job)
        return
    yield from _paired(itertools.chain(head, jobs), checker)


def _work(checker: _Checker, job: _Job) -> list[dict[str, Any]]:
    return list(parse_checked(checker.check(*job), checker.template))


def _paired(jobs: Iterator[_Job], checker: _Checker) -> Iterator[dict[str, Any]]:
    """Alternate chunks between this process and one forked child (pickles over pipes).

    Plain ``os.fork`` + two pipes rather than a pool: no manager thread, no extra imports,
    and the child inherits the compiled template.
    """
    import pickle

    checker.template.run("")  # compile TTP and the line regexes once, before forking
    checker.template.whole_text()
    job_r, job_w = os.pipe()
    res_r, res_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, reported through the pipe
        code = 0
        try:
            os.close(job_w)
            os.close(res_r)
            with os.fdopen(job_r, "rb") as inp, os.fdopen(res_w, "wb") as out:
                while (job := pickle.load(inp)) is not None:
                    try:
                        reply: tuple[str, Any] = ("ok", _work(checker, job))
                    except ParseError as exc:
                        reply = ("err", exc)
                    pickle.dump(reply, out, protocol=pickle.HIGHEST_PROTOCOL)
                    out.flush()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(job_r)
    os.close(res_w)
    inp = os.fdopen(res_r, "rb")
    out = os.fdopen(job_w, "wb")
    try:
        for job in jobs:
            pickle.dump(job, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
            local = next(jobs, None)
            mine: list[dict[str, Any]] = []
            failure: ParseError | None = None
            if local is not None:
                try:
                    mine = _work(checker, local)
                except ParseError as exc:
                    failure = exc  # the child's earlier chunk may hold an earlier error
            gc.disable()  # tens of thousands of fresh acyclic dicts: no cycles to find
            try:
                status, payload = pickle.load(inp)
            finally:
                gc.enable()
            if status == "err":
                raise payload
            yield from payload
            if failure is not None:
                raise failure
            yield from mine
    finally:
        inp.close()  # first: a child blocked writing a result gets EPIPE and exits
        try:
            pickle.dump(None, out)
            out.close()
        except OSError:
            pass
        os.waitpid(pid, 0)


def parse_checked(text: str, template: Template) -> Iterator[dict[str, Any]]:
    """Normalised, checked text of whole interface blocks -> tunnel records."""
    if not text.strip():
        return
    # Tens of thousands of small acyclic dicts: the cyclic GC would rescan them (and TTP's
    # result tree) over and over for nothing. Paused per chunk, never across a yield.
    paused = gc.isenabled()
    gc.disable()
    try:
        starts = _ASA_STARTS if template.path.parent.name == "cisco_asa" else _STARTS
        result = template.run(_logical(text, starts))
        records = [
            tunnel_record(header, ident)
            for iface in _as_list(result.get("ifaces"))
            for entry in (_as_list(iface.get("maps")) or [{}])
            for header in (_header(iface, entry),)
            for ident in _as_list(entry.get("idents") or iface.get("idents"))
        ]
    finally:
        if paused:
            gc.enable()
    yield from records


def _as_list(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    return list(value)


def _header(iface: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Interface (+ ASA crypto map entry) group -> the fields its idents' records share."""
    interface = iface.get("interface")
    out: dict[str, Any] = {"interface": None if interface == "-" else interface}
    if entry:
        out["crypto_map"] = entry.get("crypto_map")
        out["local_addr"] = entry.get("local_addr")
        out["map_seq"] = to_int(entry.get("map_seq"))
    for part in (iface.get("header") or "").split(" ; "):
        if part.startswith("Crypto map tag:"):
            match = _HEADER.match(part)
            if match:
                out["crypto_map"], seq, out["local_addr"] = match.groups()
                if seq:
                    out["map_seq"] = int(seq)
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
        "prefix": _prefix(addr, mask),
        "protocol": int(prot) if prot.isdigit() else 0,
        "port": int(port) if port.isdigit() else 0,
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
_NO_DIGITS = str.maketrans("", "", "0123456789")
_counter_layouts: dict[str, list[str | None]] = {}


def _counters(text: str) -> dict[str, int]:
    """The ``#pkts ...`` region of an ident -> {counter key: value}.

    A hub prints the same labels for every peer: the label layout (the region without its
    digits) is resolved to keys once and cached, so each ident costs two C-level passes.
    """
    layout = text.translate(_NO_DIGITS)
    names = _counter_layouts.get(layout)
    if names is None:
        parts = _COUNTER_VALUE.split(text)
        names = [
            _counter_key(p.rpartition("#")[2].strip()) if "#" in p else None for p in parts[0:-1:2]
        ]
        if len(_counter_layouts) < 64:
            _counter_layouts[layout] = names
    values = _COUNTER_VALUE.findall(text)
    return {n: int(v) for n, v in zip(names, values, strict=False) if n}


def tunnel_record(header: dict[str, Any], ident: dict[str, Any]) -> dict[str, Any]:
    """Interface header + TTP ident group -> a ``Tunnel``-shaped dict (model field names)."""
    crypto_map = header.get("crypto_map")
    vrf = ident.get("vrf")
    rest, _, sections = (ident.get("rest") or "").partition(" ; inbound ")
    if sections:
        sections = " ; inbound " + sections
    else:  # no inbound section printed: maybe outbound ones alone
        rest, _, sections = rest.partition(" ; outbound ")
        sections = " ; outbound " + sections if sections else ""
    extra: dict[str, Any] = {}
    if "policy_name" in header:
        extra["policy_name"] = header["policy_name"]
    peer: str | None = None
    peer_port: int | None = None
    dh: int | None = None
    region = _COUNTER_REGION.search(rest)
    counters: dict[str, int] = {}
    if region is not None:
        counters = _counters(region.group())
        # the region ends at "; local crypto ..." (its trailing blank included)
        rest = rest[: region.start()] + rest[region.end() :].lstrip("; ")
    for part in rest.split(" ; "):
        if part.startswith("current_peer"):
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
        elif part.startswith(("plaintext mtu", "path mtu")):
            for name, value in _MTU.findall(part):
                key = _MTU_KEYS[name]
                extra[key] = value if key == "ip_mtu_idb" else to_int(value.split("(")[0])
        elif part.startswith("current inbound spi :"):  # ASA
            extra["current_inbound_spi"] = spi_to_int(part[len("current inbound spi : ") :])
        elif part.startswith("dynamic allocated peer ip:"):  # ASA remote access
            extra["assigned_ip"] = part.split(": ", 1)[1]
        elif part.startswith("current outbound spi:"):
            extra["current_outbound_spi"] = spi_to_int(part[len("current outbound spi: ") :])
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
    sas, no_spi = _sas(sections)
    if no_spi:
        extra["sas_without_spi"] = no_spi
    if "acl" in ident:
        extra["acl"] = ident["acl"]
    if peer_port is None and "remote_crypto_endpt" in extra:  # ASA: the port sits there
        _, slash, port = extra["remote_crypto_endpt"].rpartition("/")
        peer_port = int(port) if slash and port.isdigit() else None
    return {
        "kind": "vti" if crypto_map and "-head-" in crypto_map else "crypto_map",
        "interface": header.get("interface"),
        "crypto_map": crypto_map,
        "map_seq": header.get("map_seq"),
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


def _sas(sections: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`` ; inbound esp sas: ; spi: ... ; outbound ...`` -> SA records (with SPI, without)."""
    sas: list[dict[str, Any]] = []
    no_spi: list[dict[str, Any]] = []
    parts = _SECTION.split(sections)
    # parts: [before, direction, protocol, body, direction, protocol, body, ...]
    for k in range(1, len(parts) - 2, 3):
        direction = "in" if parts[k] == "inbound" else "out"
        protocol = parts[k + 1]
        for chunk in parts[k + 2].split(" ; spi: ")[1:]:
            spi, _, rest = chunk.partition(" ; ")
            record = sa_record(spi, rest, direction, protocol)
            if record["spi"] is None:
                record.pop("spi")
                no_spi.append(record)
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
    r"transform: (.*?) , ; in use settings =(\{[^}]*\}) ; conn id: (\d+), flow_id: ([^,]*),"
    r" sibling_flags (\S+), crypto map: ([^,;]*) ; sa timing: remaining key lifetime"
    r" \(k/sec\): \((\d+)/(\d+)\) ; IV size: (\d+) bytes ; replay detection support: (\S+)"
    r"(?: replay window size: (\d+))? ; Status: ([^;]*)"
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
            match = _CONN.match(part)
            if match:
                cid, flow_id, sibling, sa_map, initiator = match.groups()
                conn_id = int(cid)
                extra["flow_id"], extra["sibling_flags"] = flow_id, sibling
                extra["sa_crypto_map"] = sa_map
                if initiator is not None:
                    extra["initiator"] = initiator
        elif first == "sa" and part.startswith("sa timing:"):
            match = _TIMING.match(part)
            if match:
                kb, sec, only_sec, hours, mins = match.groups()
                remaining_kb = int(kb) if kb else None
                if sec or only_sec:
                    remaining_s = int(sec or only_sec)
                elif hours is not None:
                    remaining_s = int(hours) * 3600 + int(mins) * 60
        elif first == "IV":
            extra["iv_size"] = to_int(part.split()[2]) if part.count(" ") >= 2 else None
        elif first == "re" and part.startswith("replay detection support:"):
            match = _REPLAY.match(part)
            if match:
                extra["replay_detection"], window = match.groups()
                replay_window = int(window) if window else None
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
