"""The lab terminal's echo: what was typed together comes back together.

A client that writes a whole command gets its echo as one piece (as from a router's line
discipline), not a packet per key: per-key packets made every command cost tens of packets
and, with the server's small writes held back by TCP, about 40 ms.
"""

from __future__ import annotations

from ipsecctl.lab.sshd import _Terminal


class _Channel:
    """What the terminal reads (in the chunks given) and every write it made."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = list(chunks)
        self.sent: list[bytes] = []

    def recv(self, _n: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""

    def sendall(self, data: bytes) -> None:
        self.sent.append(data)


def _terminal(chan: _Channel) -> _Terminal:
    return _Terminal(chan)  # type: ignore[arg-type]


def test_a_command_written_at_once_is_echoed_at_once() -> None:
    chan = _Channel(b"show crypto ipsec sa\r\n")
    assert _terminal(chan).readline() == "show crypto ipsec sa"
    assert chan.sent == [b"show crypto ipsec sa\r\n"]


def test_echo_follows_the_pieces_as_they_arrive() -> None:
    chan = _Channel(b"show cr", b"ypto isakmp sa\r")
    term = _terminal(chan)
    assert term.readline() == "show crypto isakmp sa"
    # the first piece is shown before waiting for the rest, as a person typing sees it
    assert chan.sent == [b"show cr", b"ypto isakmp sa\r\n"]


def test_erasing_and_secrets() -> None:
    chan = _Channel(b"shox\x7fw\r", b"s3cret\r")
    term = _terminal(chan)
    assert term.readline() == "show"
    assert chan.sent == [b"shox\b \bw\r\n"]
    chan.sent.clear()
    assert term.readline(echo=False) == "s3cret"
    assert chan.sent == [b"\r\n"]  # a password is not echoed
