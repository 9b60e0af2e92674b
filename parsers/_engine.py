"""Template loading, text normalisation and the unrecognised-line check shared by all commands.

Device output is normalised before TTP sees it (blanks stripped at both ends, inner runs of
blanks collapsed) so that templates never depend on indentation or column padding: samples
whose indentation was stripped on the way into a bug report parse exactly like real ones.

Each template's own lines (plus an optional ``<slug>.known`` list of lines that carry nothing
we keep) define what the command may print; a command whose template sees pre-joined logical
lines (``show crypto ipsec sa``, for speed) keeps its physical line grammar in ``<slug>.lines``,
same syntax as a template.

A line matching none of them is not fatal: a newer or older image prints lines no grammar
has seen, and one such line must not cost a device all its SAs. It is left out of what the
template sees and reported as a :class:`ParseWarning` (line number and text) in the
:class:`ParseResult`. Only output with nothing recognisable in it (another command's output,
a device error, garbage) raises :class:`ParseError`, so it never passes as "no SAs".
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from functools import cache, cached_property
from pathlib import Path
from typing import Any, NamedTuple

TEMPLATE_DIR = Path(__file__).parent / "templates"

#: Platforms whose output is identical share one template folder.
PLATFORM_DIRS = {
    "cisco_ios": "cisco_ios",
    "cisco_iosxe": "cisco_ios",
    "cisco_xe": "cisco_ios",
    "ios": "cisco_ios",
    "iosxe": "cisco_ios",
    "cisco_asa": "cisco_asa",
    "asa": "cisco_asa",
    "strongswan": "strongswan",
}

_VAR = re.compile(r"\{\{.*?\}\}")
_PROMPT = re.compile(r"^[\w.\-@/:()]+(\(config[^)]*\))?[#>]$")
#: The echoed command as operators type it (a prompt, then ``sh cry ...`` / ``swanctl ...``).
_ECHO = re.compile(r"^(?:[^#>$]{0,80}[#>$] ?)?(?:sh(?:o|ow)?|swanctl|sudo swanctl) ", re.I)


def is_echo(line: str, echo: str) -> bool:
    """Whether the first line of an output is the command line itself (possibly abbreviated)."""
    return line.lower().endswith(echo) or bool(_ECHO.match(line))


class ParseError(ValueError):
    """Output a template does not recognise: names the command and the first unknown line."""

    def __init__(self, command: str, line: str, lineno: int | None, reason: str = "") -> None:
        self.command = command
        self.line = line
        self.lineno = lineno
        self.reason = reason
        where = f"line {lineno}" if lineno is not None else "input"
        why = reason or "unrecognised output"
        shown = line if len(line) <= 120 else line[:117] + "..."
        super().__init__(
            f"cannot parse {command!r}: {why} at {where}: {shown!r} "
            "(check that the command ran on a device of this platform)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Raised in parse worker processes: must cross a pickle intact.
        return (type(self), (self.command, self.line, self.lineno, self.reason))


#: Warnings kept per parse: a 50 MB file of garbage must not become 50 MB of warnings. The rest
#: are counted in one closing warning.
WARNING_LIMIT = 200


class ParseWarning(NamedTuple):
    """A line of device output that no grammar knows, or a block that lost its header.

    ``lineno`` is 1-based in the text handed to the parser (``None`` for a record-level
    problem that has no single line); ``line`` is the text as printed, whitespace-normalised.
    """

    lineno: int | None
    line: str
    reason: str = "unrecognised line"

    def __str__(self) -> str:
        where = f"line {self.lineno}" if self.lineno is not None else "record"
        shown = self.line if len(self.line) <= 160 else self.line[:157] + "..."
        return f"{where}: {self.reason}: {shown!r}"


class ParseResult(Mapping[str, list[dict[str, Any]]]):
    """Records by kind (``tunnels``, ``ike_sas``, ...) plus the :class:`ParseWarning` list.

    A mapping, so ``result["tunnels"]`` reads the records; ``result.warnings`` says what was
    left out and why.
    """

    __slots__ = ("records", "warnings")

    def __init__(
        self,
        records: Mapping[str, list[dict[str, Any]]] | None = None,
        warnings: Iterable[ParseWarning] = (),
    ) -> None:
        self.records: dict[str, list[dict[str, Any]]] = dict(records or {})
        self.warnings: list[ParseWarning] = list(warnings)

    def __getitem__(self, kind: str) -> list[dict[str, Any]]:
        return self.records[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ParseResult):
            return self.records == other.records and self.warnings == other.warnings
        return isinstance(other, Mapping) and not self.warnings and self.records == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={len(v)}" for k, v in self.records.items())
        return f"ParseResult({counts}, warnings={len(self.warnings)})"


class Notes:
    """Collects the warnings of one parse (one per call: nothing shared between threads).

    Also counts recognised lines, which decides whether an output with no record in it was
    merely empty or was not this command's output at all.
    """

    __slots__ = ("command", "dropped", "first_unknown", "items", "known", "limit", "unknown")

    def __init__(self, command: str, limit: int = WARNING_LIMIT) -> None:
        self.command = command
        self.items: list[ParseWarning] = []
        self.limit = limit
        self.dropped = 0
        self.known = 0
        self.unknown = 0
        self.first_unknown: ParseWarning | None = None

    def add(self, lineno: int | None, line: str, reason: str = "unrecognised line") -> None:
        if len(self.items) < self.limit:
            self.items.append(ParseWarning(lineno, line[:500], reason))
        else:
            self.dropped += 1

    def unknown_line(self, lineno: int, line: str) -> None:
        self.unknown += 1
        reason = "device error" if line.startswith("%") else "unrecognised line"
        if self.first_unknown is None or (
            reason == "device error" and self.first_unknown.reason != reason
        ):  # the device's own error message says most about what went wrong
            self.first_unknown = ParseWarning(lineno, line[:500], reason)
        self.add(lineno, line, reason)

    def warnings(self) -> list[ParseWarning]:
        if not self.dropped:
            return list(self.items)
        more = ParseWarning(None, f"{self.dropped} more warning(s) not listed", "truncated")
        return [*self.items, more]

    def reject_if_unrecognisable(self, records: int) -> None:
        """Raise :class:`ParseError` when nothing in the output was this command's.

        No record came out and unknown lines outnumber known ones: another command's output,
        a device error or garbage, never "no SAs".
        """
        if records or self.first_unknown is None or self.known >= self.unknown:
            return
        first = self.first_unknown
        reason = first.reason if first.reason == "device error" else "unrecognised output"
        raise ParseError(self.command, first.line, first.lineno, reason)


_MALFORMED = (ValueError, TypeError, KeyError, AttributeError, IndexError)


def convert_each(
    notes: Notes, rows: Iterable[Any], convert: Any, what: str = "record"
) -> list[dict[str, Any]]:
    """``[convert(row) for row in rows]``, except that a row whose values do not convert
    (a number out of range, a field in an unknown form) is left out and reported."""
    out: list[dict[str, Any]] = []
    for row in rows:
        try:
            out.append(convert(row))
        except _MALFORMED as exc:
            text = (
                " ".join(str(v) for v in row.values() if isinstance(v, str))
                if isinstance(row, dict)
                else str(row)
            )
            notes.add(None, text[:200], f"malformed {what} left out ({exc})")
    return out


def _var_regex(var: str, named: dict[str, str] | None = None) -> str:
    """What a TTP variable may match, for the recogniser (stricter than "anything")."""
    if "ignore(" in var:
        return r"\S+"
    literal = re.search(r'\bre\("([^"]+)"\)', var)
    if literal and named and literal.group(1) in named:  # a pattern from the <vars> block
        return f"(?:{named[literal.group(1)]})"
    if literal and not literal.group(1).isupper():
        return f"(?:{literal.group(1)})"
    if "ORPHRASE" in var or "PHRASE" in var or "re(" in var or "_line_" in var:
        return ".*?"
    if "DIGIT" in var:
        return r"\d+"
    if "| IP " in var or "| IP|" in var or var.endswith("| IP }}"):
        return r"[0-9.]+"
    if "set(" in var:
        return ""
    return r"\S+"


#: TTP re-reads its function cache file whenever a parser is created, and rewrites it when
#: the read fails: two threads creating parsers at once (a poll's first devices) could read
#: the file while the other truncates it ("Ran out of input"). One creation at a time.
_TTP_SETUP = threading.Lock()


class LazyPattern:
    """A regex compiled the first time it is used (``.compiled``), then as fast as any.

    For the patterns only some layouts need (ASA, older IOS, IKEv2 detail lines): a process
    reading other output never pays for compiling them, and one that reads such output pays
    once, not a lookup in ``re``'s cache on every call.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    @cached_property
    def compiled(self) -> re.Pattern[str]:
        return re.compile(self.pattern)


def normalise(line: str) -> str:
    """One line as templates see it: no leading/trailing blanks, single inner spaces."""
    return " ".join(line.split())


class Template:
    """One TTP template file, compiled once, plus the line recogniser derived from it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.text = path.read_text()
        grammar = path.with_suffix(".lines")
        self._lines_are_the_template = not grammar.exists()
        self.grammar = self.text if self._lines_are_the_template else grammar.read_text()
        self._parser: Any = None
        self._whole: re.Pattern[str] | None = None
        self._whole_text: re.Pattern[str] | None = None
        self._branches: list[str] = []
        self._pending: list[tuple[str | None, str]] = []
        # one ttp parser per template holds its input and results between calls: the
        # collector parses on several threads, so a call must own it from add_input to clear
        self._run_lock = threading.Lock()
        self._by_first: dict[str, list[re.Pattern[str]]] = {}
        self._wild: list[re.Pattern[str]] = []
        # Hub outputs repeat most lines verbatim ("inbound ah sas:", zero counters, ...):
        # remembering verdicts makes the check nearly free. Bounded so garbage cannot bloat it.
        self._seen: dict[str, bool] = {}
        self._known = self._known_prefixes()
        self._build_recogniser()

    def _template_lines(self) -> Iterator[str]:
        """The line forms of the grammar: ``<doc>`` text and ``<vars>`` definitions are none
        (a device never prints ``SA_STATUS = "..."``)."""
        block = ""  # the closing tag of the <doc> or <vars> block being skipped
        for raw in self.grammar.splitlines():
            line = raw.strip()
            if block:
                block = "" if block in line else block
                continue
            if line.startswith(("<doc", "<vars")):
                closing = "</doc>" if line.startswith("<doc") else "</vars>"
                block = "" if closing in line else closing
                continue
            if not line or line.startswith("<"):
                continue
            yield line

    def _known_prefixes(self) -> tuple[str, ...]:
        known = self.path.with_suffix(".known")
        if not known.exists():
            return ()
        lines = known.read_text().splitlines()
        return tuple(normalise(r) for r in lines if r.strip() and not r.startswith("#"))

    def _build_recogniser(self) -> None:
        # <vars> NAME = "regex" lines: the recogniser uses the same patterns TTP does
        named = dict(re.findall(r'^\s*([A-Z][A-Z0-9_]*)\s*=\s*"(.*)"\s*$', self.text, re.M))
        for line in self._template_lines():
            pieces = re.split(r"(\{\{.*?\}\})", line)
            body = "".join(
                _var_regex(p, named) if p.startswith("{{") else re.escape(re.sub(r"\s+", " ", p))
                for p in pieces
            )
            body = body.replace(r"\ ", " ").rstrip(" ")
            self._branches.append(body)
            first = line.split()[0]
            self._pending.append((None if "{{" in first else first, body))

    def _compiled(self) -> None:
        """Per-line patterns, compiled on first use: the whole-text path never needs them."""
        for first, body in self._pending:
            pattern = re.compile(body + r"\s*$")
            if first is None:
                self._wild.append(pattern)
            else:
                self._by_first.setdefault(first, []).append(pattern)
        self._pending = []

    def recognises(self, line: str) -> bool:
        """``line`` must already be normalised."""
        verdict = self._seen.get(line)
        if verdict is None:
            verdict = self._match(line)
            if len(self._seen) < 20000:
                self._seen[line] = verdict
        return verdict

    def _match(self, line: str) -> bool:
        return line.startswith(self._known) or self._template_line(line)

    def _template_line(self, line: str) -> bool:
        """Whether one of the grammar's own lines (not a ``.known`` prefix) matches."""
        if self._pending:
            self._compiled()
        first = line.split(" ", 1)[0]
        for pattern in self._by_first.get(first, ()):
            if pattern.match(line):
                return True
        return any(p.match(line) for p in self._wild)

    def _alternatives(self) -> str:
        """The regex alternation of every recognised line form (template lines + known)."""
        known = [re.escape(k) + ".*" for k in self._known]
        # Branches sharing a first word are factored (``\#pkts (?:a|b|...)``) so a line
        # costs one test per first word, not one per template line.
        groups: dict[str, list[str]] = {}
        for branch in [*self._branches, *known]:
            head, sep, tail = branch.partition(" ")
            if sep and "{" not in head and "(" not in head:
                groups.setdefault(head + " ", []).append(tail)
            else:
                groups.setdefault("", []).append(branch)
        return "|".join(
            f"{head}(?:{'|'.join(f'(?:{t})' for t in tails)})" for head, tails in groups.items()
        )

    def whole(self) -> re.Pattern[str]:
        """One regex matching any recognised (normalised) line, for whole-text checks."""
        if self._whole is None:
            self._whole = re.compile(f"(?m)^(?:{self._alternatives()}) ?$")
        return self._whole

    def whole_text(self) -> re.Pattern[str]:
        """Matches a run of recognised lines, each ending ``\n``: ``match(text).end()`` is
        ``len(text)`` exactly when every line is known.

        One C call over a multi-megabyte hub output, no output built, no Python per line.
        """
        if self._whole_text is None:
            self._whole_text = re.compile(f"(?:(?:{self._alternatives()}) ?\n)*+")
        return self._whole_text

    def knows_all(self, text: str) -> bool:
        """Whether every line of normalised ``text`` (each ending ``\n``) is recognised: one
        regex call, however long the text."""
        checked = self.whole_text().match(text)
        return checked is not None and checked.end() == len(text)

    def holds_records(self, text: str) -> bool:
        """Whether a line of checked, normalised ``text`` may be one of the template's own
        lines. ``False`` means every line is a header or summary line of the ``.known`` list
        that no template line matches ("There are no IKEv2 SAs", "Active SA: 3"): the
        template has nothing to take from it, and starting TTP for it would cost more than
        reading a device's whole IKE table."""
        if not self._lines_are_the_template:
            return True  # a separate grammar describes other lines than the template's
        return any(
            not line.startswith(self._known) or self._template_line(line)
            for line in text.splitlines()
        )

    def run(self, text: str) -> dict[str, Any]:
        """Parse normalised ``text``; returns the template's top-level result dict."""
        return self.run_ttp(text) if self.holds_records(text) else {}

    def run_ttp(self, text: str) -> dict[str, Any]:
        """:meth:`run` without the check that ``text`` can hold records: TTP, always."""
        with self._run_lock:
            if self._parser is None:
                from ttp import ttp  # ~25 ms of imports: paid only when something is parsed

                with _TTP_SETUP:
                    self._parser = ttp(template=self.text)
            parser = self._parser
            parser.add_input(text)
            try:
                parser.parse(one=True)
                # result is [template][input] -> dict; one template, one input. Take it before
                # clear_result(), which empties the very lists result() returned.
                result = parser.result()
                out = result[0][0] if result and result[0] else {}
            finally:
                parser.clear_input()
                parser.clear_result()
        if not isinstance(out, dict):
            return {}
        # TTP's parser object sits in a reference cycle (its closures) that holds this very
        # dict: handing out a copy and emptying the original lets the records go as soon as
        # the caller drops them, not at the cyclic collector's next pass (a 10,000-peer
        # output's records otherwise wait for it, tens of MB)
        found = dict(out)
        out.clear()
        return found


@cache
def load_template(platform: str, slug: str) -> Template:
    folder = PLATFORM_DIRS.get(platform, platform)
    path = TEMPLATE_DIR / folder / f"{slug}.ttp"
    if not path.exists():
        raise FileNotFoundError(path)
    return Template(path)


def checked_lines(
    lines: list[str], command: str, template: Template, notes: Notes
) -> list[tuple[int, str]]:
    """:func:`clean_lines` of a whole output held in memory, in a few C-level passes.

    A poll parses several short outputs of every device: checking line by line cost more
    than building the records. Here the lines are normalised in one comprehension and all of
    them checked with the template's whole-text pattern (one regex call); only output with
    an unknown line in it takes :func:`clean_lines`, which reports each one.
    """
    numbered = [(i, n) for i, raw in enumerate(lines, 1) if (n := " ".join(raw.split()))]
    if numbered and is_echo(numbered[0][1], normalise(command).lower()):
        del numbered[0]
    if numbered and _PROMPT.match(numbered[-1][1]) and not template.recognises(numbered[-1][1]):
        del numbered[-1]  # the trailing prompt
    if not template.knows_all("".join([line + "\n" for _, line in numbered])):
        return list(clean_lines(lines, command, template, notes))
    notes.known += len(numbered)
    return numbered


def clean_lines(
    lines: Iterable[str], command: str, template: Template, notes: Notes
) -> Iterator[tuple[int, str]]:
    """Yield ``(lineno, normalised line)`` of recognised output; unknown lines go to ``notes``.

    Skips blank lines, the echoed command line (with or without a prompt in front) and a
    trailing prompt line.
    """
    echo = normalise(command).lower()
    seen_content = False
    pending_prompt: tuple[int, str] | None = None
    for lineno, raw in enumerate(lines, 1):
        line = normalise(raw)
        if not line:
            continue
        if not seen_content and is_echo(line, echo):
            seen_content = True
            continue
        if pending_prompt is not None:
            # A prompt-looking line followed by more output was not the trailing prompt.
            notes.unknown_line(*pending_prompt)
            pending_prompt = None
        seen_content = True
        if template.recognises(line):
            notes.known += 1
            yield lineno, line
        elif _PROMPT.match(line):
            pending_prompt = (lineno, line)
        else:
            notes.unknown_line(lineno, line)
