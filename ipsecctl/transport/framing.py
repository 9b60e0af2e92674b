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
        text = _CR_END_RE.sub("", text)
        text = _CR_REDRAW_RE.sub("", text)
    return text


def trim_blank_lines(text: str) -> str:
    """Drop blank lines at both ends; a non-empty result ends with one newline."""
    start = 0
    while True:
        nl = text.find("\n", start)
        if nl < 0 or text[start:nl].strip():
            break
        start = nl + 1
    end = len(text.rstrip())
    if end <= start:
        return ""
    nl = text.find("\n", end)
    return text[start : nl if nl >= 0 else len(text)] + "\n"


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
            done = text[: nl + 1]
            if self._pieces or self._tail:
                done = "".join(self._pieces) + self._tail + done
                self._pieces = []
            self._tail = text[nl + 1 :]
            self._complete(done)
        if len(self._tail) > _PIECE:
            self._pieces.append(self._tail[:-PROMPT_WINDOW])
            self._tail = self._tail[-PROMPT_WINDOW:]

    def _complete(self, text: str) -> None:
        """``text`` is whole lines (ends with a newline)."""
        if self.echoed:
            self._chunks.append(clean_output(text))
            return
        pos = 0
        while pos < len(text):
            nl = text.index("\n", pos)
            line = clean_output(text[pos:nl])
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
        """Everything between the echo and the prompt, cleaned, without blank edges."""
        text = "".join(self._chunks)
        self._chunks = []
        return trim_blank_lines(text)
