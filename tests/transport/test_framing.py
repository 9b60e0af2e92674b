"""Framing a command's answer in a shell stream, without a network: however the bytes are
split into reads, the output is what lies between the command's echo and the prompt."""

from __future__ import annotations

import re
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipsecctl.transport import framing
from ipsecctl.transport.framing import PROMPT_WINDOW, Frame, clean_output, trim_blank_lines

PROMPT_RE = re.compile(r"^[\w.\-@/:()]{1,63}(?:\([\w.\-]+\))?[>#]\s*$")


def is_prompt(line: str) -> bool:
    return line.startswith("R1") and bool(PROMPT_RE.match(line))


VERSION = "Cisco IOS Software, Version 15.9(3)M4\r\nuptime is 3 weeks\r\n"
# a late prompt from a nudge, a line of an earlier answer, then our exchange
STREAM = "\r\nR1#terminal width 511\r\nR1#show version\r\n" + VERSION + "R1#"


def frame_of(chunks: list[str], command: str = "show version") -> Frame:
    frame = Frame(command, is_prompt)
    for chunk in chunks:
        frame.feed(chunk)
    return frame


def split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=20))
def test_any_split_of_the_stream_gives_the_same_output(cuts: list[int]) -> None:
    frame = frame_of(split(STREAM, cuts))
    assert frame.at_prompt()
    assert frame.output() == "Cisco IOS Software, Version 15.9(3)M4\nuptime is 3 weeks\n"
    assert frame.stale_prompts == 0  # "R1#terminal width 511" is stale output, not a prompt
    assert frame.stale_lines == 1


def test_prompt_before_the_echo_does_not_end_the_frame() -> None:
    frame = frame_of(["\r\nR1#"])
    assert not frame.at_prompt()  # a queued prompt from earlier: not ours
    assert frame.prompt_last()
    frame.feed("show version\r\n" + VERSION + "R1#")
    assert frame.at_prompt()


def test_prompt_looking_text_inside_a_long_line_is_not_a_prompt() -> None:
    frame = Frame(None, is_prompt)
    frame.feed("x" * (PROMPT_WINDOW * 40))
    frame.feed("R1#")
    assert not frame.at_prompt()
    assert frame.last_line() == ""
    frame.feed("\r\nR1#")
    assert frame.at_prompt()


def test_carriage_return_redraw_after_a_long_line_shows_the_prompt() -> None:
    frame = Frame(None, is_prompt)
    frame.feed("y" * (PROMPT_WINDOW * 40) + "\r" + "R1#")
    assert frame.at_prompt()


def test_unfinished_line_stays_bounded_however_long_it_grows() -> None:
    frame = Frame("show flood", is_prompt)
    frame.feed("show flood\r\n")
    for _ in range(200):
        frame.feed("z" * 65536)
        assert len(frame._tail) <= PROMPT_WINDOW + 65536  # never re-scanned from the start
        assert not frame.at_prompt()
    frame.feed("\r\nR1#")
    assert frame.output() == "z" * (200 * 65536) + "\n"


def test_ansi_titles_colours_and_crlfcr() -> None:
    stream = (
        "show version\r\n\r"
        "line one\x1b[K\r\n\r"
        "line two\x1b[K\r\n\r"
        "\x1b]0;R1\x07\x1b[?2004h\x1b[1;32mR1#\x1b[0m"
    )
    frame = frame_of([stream])
    assert frame.at_prompt()
    assert frame.output() == "line one\nline two\n"


def test_paging_marker_is_taken_once() -> None:
    paging = re.compile(r" ?--More-- ?")
    frame = frame_of(["show long\r\nline 1\r\n --More-- "], "show long")
    assert frame.take_paging(paging)
    assert not frame.take_paging(paging)
    frame.feed("\x08" * 10 + " " * 10 + "\x08" * 10 + "line 2\r\nR1#")
    assert frame.output() == "line 1\nline 2\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\n  \nabc\n\n \n", "abc\n"),
        ("abc  \n", "abc  \n"),
        ("  a\n\nb", "  a\n\nb\n"),
        (" \n\n", ""),
        ("", ""),
    ],
)
def test_trim_blank_lines(text: str, expected: str) -> None:
    assert trim_blank_lines(text) == expected


def test_clean_output_matches_line_by_line_semantics() -> None:
    text = "a\r\r\nxx\r   \rd\r\nkeep\rlast\r\r\n\x1b[1mbold\x1b[0m"
    assert clean_output(text) == "a\nd\nlast\nbold"


def reference(stream: str) -> str:
    """The answer as the simplest reading defines it: the whole stream cleaned line by line,
    everything after the echo line and before the final prompt, blank edges dropped."""
    lines = clean_output(stream).split("\n")
    echo = next(i for i, line in enumerate(lines) if line.rstrip().endswith("show x"))
    return trim_blank_lines("\n".join(lines[echo + 1 : -1]) + "\n")


LINE = st.lists(
    st.sampled_from(["a", "b", " ", "\r", "\x1b[K", "\x1b[1;31m", "\x08", "R1#", "zz"]),
    max_size=60,
).map("".join)


@given(
    st.lists(LINE, max_size=8),
    st.lists(st.integers(min_value=0, max_value=2_000), max_size=30),
)
def test_frames_match_the_reference_however_split_and_however_long_the_lines(
    body: list[str], cuts: list[int]
) -> None:
    """With tiny limits every line counts as overlong, so the set-aside path is exercised."""
    stream = "\r\nR1#show x\r\n" + "".join(line + "\r\n" for line in body) + "R1#"
    with patch.object(framing, "_PIECE", 12), patch.object(framing, "PROMPT_WINDOW", 4):
        frame = frame_of(split(stream, cuts), "show x")
        assert frame.at_prompt()
        assert frame.output() == reference(stream)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a" * 40 + "\rbb", "bb\n"),  # redrawn at the end of a long line
        ("a" * 40 + "\x1b[K\r", "a" * 40 + "\n"),  # only a trailing \r: nothing redrawn
        ("a" * 40 + "\rbb\x1b[K\r\r", "bb\n"),
        ("a" * 20 + "\r" + "c" * 30, "c" * 30 + "\n"),  # redrawn inside the set-aside part
    ],
)
def test_carriage_returns_in_long_lines(line: str, expected: str) -> None:
    stream = "show x\r\n" + line + "\r\nR1#"
    assert reference(stream) == expected
    with patch.object(framing, "_PIECE", 12), patch.object(framing, "PROMPT_WINDOW", 4):
        for size in (1, 5, 64):
            frame = frame_of([stream[i : i + size] for i in range(0, len(stream), size)], "show x")
            assert frame.output() == expected, size
