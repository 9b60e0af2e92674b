"""Find one command's answer in an interactive shell's stream: the line that echoes the
command, the output, and the prompt after it.

A shell is one byte stream and nothing in it says where an answer ends. Reading "until
something looks like a prompt" is not enough: a device whose first prompt comes late (so a
nudge newline earns a second one) or that answers slowly leaves a prompt queued, and every
later command then receives the previous command's output. Here a command's output is only
what lies between its own echo and the prompt that follows; whatever arrives before the echo
belongs to an earlier exchange, is discarded and counted (a session that is out of step is
detected and reported, never silently shifted).

Pure text in, decisions out (no I/O): the session feeds decoded chunks and asks whether the
prompt is at the end. Each feed costs time proportional to the new text: complete lines are
cleaned once, when they complete; prompt and paging checks look only at the unfinished last
line, and never at more than :data:`PROMPT_WINDOW` characters of it (a prompt is short).
"""

from __future__ import annotations

import re
from collections.abc import Callable

PROMPT_WINDOW = 512  # a last line longer than this (raw characters) is never a prompt
_PIECE = 8192  # an unfinished line beyond this is set aside, so appends stay cheap
_STALE_SAMPLES = 3

_ERASE_RE = re.compile(r"\x08+ *\x08+")
# CSI (colours, cursor moves, bracketed paste), OSC (window titles), charset and keypad modes
_ANSI_RE = re.compile(
    r"\x1b(?:\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|[()][A-Za-z0-9]|[=>78DEHM])"
)
_TERMINAL_RE = re.compile(r"[\r\x1b\x08]")
_BLANK_LINES_RE = re.compile(r"(?:[^\S\n]*\n)*")
_CR_END_RE = re.compile(r"\r+(?=\n|\Z)")
_CR_REDRAW_RE = re.compile(r"(?m)^[^\n]*\r")


def clean_output(text: str) -> str:
    """Undo terminal artefacts: ANSI escapes, CRLF, paging erasures (backspaces) and
    carriage-return redraws (a line keeps what follows its last ``\\r``).

    Linear in the text and without per-line lists: outputs can be tens of megabytes.
    """
    if "\x1b" in text:
        text = _ANSI_RE.sub("", text)
    if "\x08" in text:
        text = _ERASE_RE.sub("", text).replace("\x08", "")
    if "\r" in text:
        if "\r\r" in text:
            text = _CR_END_RE.sub("", text)
        else:  # the usual CRLF: the same result, without a regex per chunk
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):
                text = text[:-1]
        if "\r" in text:  # a carriage return left mid-line: a redraw
            text = _CR_REDRAW_RE.sub("", text)
    return text


def _redraws(line: str) -> bool:
    """Whether a carriage return in ``line`` (one raw line) discards what precedes it."""
    if "\r" not in line:
        return False
    if "\x1b" in line:
        line = _ANSI_RE.sub("", line)
    if "\x08" in line:
        line = _ERASE_RE.sub("", line).replace("\x08", "")
    return "\r" in line.rstrip("\r")


def _trim_start(text: str) -> str:
    """Drop the blank lines that start ``text``."""
    match = _BLANK_LINES_RE.match(text)
    start = match.end() if match else 0
    return text[start:] if start else text


def _trim_end(text: str) -> str:
    """Drop the blank lines that end ``text``; what is left ends with one newline."""
    end = len(text)
    while end:  # the blank end is short: strip the last block, not a copy of everything
        block = text[max(0, end - 4096) : end]
        kept = len(block.rstrip())
        end -= len(block) - kept
        if kept:
            break
    if not end:
        return ""
    nl = text.find("\n", end)
    if nl < 0:
        return text + "\n"
    return text if nl + 1 == len(text) else text[: nl + 1]


def trim_blank_lines(text: str) -> str:
    """Drop blank lines at both ends; a non-empty result ends with one newline."""
    return _trim_end(_trim_start(text))


class Frame:
    """The answer to one command as it arrives.

    ``echo`` is the command sent (``None`` when nothing is echoed: finding the first prompt,
    typing a password). Until a complete line ending with it arrives, every line is stale.
    ``is_prompt`` decides whether a cleaned line is the device's prompt.
    """

    def __init__(self, echo: str | None, is_prompt: Callable[[str], bool]) -> None:
        self.echo = echo.strip() if echo is not None else None
        self.echoed = echo is None or not self.echo
        self._is_prompt = is_prompt
        self._chunks: list[str] = []  # cleaned complete lines after the echo
        self._pieces: list[str] = []  # raw beginning of an overlong unfinished line
        self._plain = True  # no piece holds an escape, a backspace or a carriage return
        self._tail = ""  # raw unfinished last line (its end, when pieces were set aside)
        self.stale_prompts = 0
        self.stale_lines = 0
        self.stale_sample: list[str] = []

    # -- feeding ----------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        nl = text.rfind("\n")
        if nl < 0:
            self._tail += text
        else:
            raw = self._tail + text[: nl + 1] if self._tail else text[: nl + 1]
            self._tail = text[nl + 1 :]
            head: list[str] = []
            if self._pieces:
                head, raw = self._line_start(raw)
            self._complete(head, raw)
        if len(self._tail) > _PIECE:
            piece, self._tail = self._tail[:-PROMPT_WINDOW], self._tail[-PROMPT_WINDOW:]
            self._plain = self._plain and not _TERMINAL_RE.search(piece)
            self._pieces.append(piece)

    def _line_start(self, raw: str) -> tuple[list[str], str]:
        """The set-aside start of an overlong line, cleaned, and the raw text that follows.

        Plain pieces (no escape, backspace or carriage return) are already clean, so they are
        kept as they are and never joined to the rest: a 100 MB line is not copied again to
        be cleaned. The end of the line decides whether a carriage return redrew it.
        """
        pieces, self._pieces = self._pieces, []
        plain, self._plain = self._plain, True
        if not plain:
            return [], "".join([*pieces, raw])  # rare: clean the whole line at once
        end = raw[: raw.index("\n")]
        if _redraws(end):
            return [], raw  # only what follows the last \r remains: the pieces are gone
        return pieces, raw

    def _complete(self, head: list[str], text: str) -> None:
        """``head`` (clean) begins the first line of ``text``: whole raw lines."""
        if self.echoed:
            self._chunks.extend(head)
            self._chunks.append(clean_output(text))
            return
        pos = 0
        while pos < len(text):
            nl = text.index("\n", pos)
            line = clean_output(text[pos:nl])
            if pos == 0 and head:
                line = "".join([*head, line])
            pos = nl + 1
            if self.echo is not None and line.rstrip().endswith(self.echo):
                self.echoed = True
                if pos < len(text):
                    self._chunks.append(clean_output(text[pos:]))
                return
            if self._is_prompt(line):
                self.stale_prompts += 1
            elif line.strip():
                self.stale_lines += 1
                self.stale_sample = [*self.stale_sample, line.strip()[:80]][-_STALE_SAMPLES:]

    # -- questions --------------------------------------------------------------------------

    def last_line(self) -> str:
        """The visible unfinished last line, cleaned; ``""`` when it is too long to matter."""
        tail = self._tail
        if self._pieces or len(tail) > PROMPT_WINDOW:
            # only a carriage-return redraw near the end can leave a short visible line
            body = tail.rstrip("\r")
            cut = body.rfind("\r", max(0, len(body) - PROMPT_WINDOW))
            if cut < 0:
                return ""
            tail = body[cut + 1 :]
        return clean_output(tail)

    def prompt_last(self) -> bool:
        """The unfinished last line is a prompt (echo seen or not)."""
        line = self.last_line()
        return bool(line) and self._is_prompt(line)

    def at_prompt(self) -> bool:
        """The echo was seen and the unfinished last line is the prompt."""
        return self.echoed and self.prompt_last()

    def take_paging(self, paging: re.Pattern[str]) -> bool:
        """Remove a pager marker (``--More--``) ending the last line; True if one was there."""
        if not self._tail:
            return False
        start = max(0, len(self._tail) - PROMPT_WINDOW)
        match = paging.search(self._tail, start)
        if match is None:
            return False
        self._tail = self._tail[: match.start()] + self._tail[match.end() :]
        return True

    def output(self) -> str:
        """Everything between the echo and the prompt, cleaned, without blank edges.

        Blank edges are trimmed on the first and last chunks before the one join, so a
        100 MB output is copied once, not once per step.
        """
        chunks, self._chunks = self._chunks, []
        # whole blank lines only: a piece (no newline) begins a longer line
        while chunks and chunks[0].endswith("\n") and chunks[0].isspace():
            chunks.pop(0)
        while chunks and (not chunks[-1] or chunks[-1].isspace()):
            chunks.pop()
        if not chunks:
            return ""
        chunks[0] = _trim_start(chunks[0])
        chunks[-1] = _trim_end(chunks[-1])
        return "".join(chunks)
