"""A connected session's transport thread, when idle, wakes about once per IDLE_TICK_S instead
of paramiko's ten times a second: the idle sessions a dashboard keeps between refreshes cost
next to no CPU. The session still answers after idling, and closing it still ends its thread."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ipsecctl.transport.client import IDLE_TICK_S, _TcpSocket

from .conftest import trusted_ios_session
from .ios_server import ISAKMP_SA, IosServer

ADDR = "127.0.0.45"
IDLE_S = 2.5


def test_an_idle_session_wakes_once_a_tick(
    known_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[float] = []
    real_recv = _TcpSocket.recv

    def counted(self: _TcpSocket, bufsize: int, flags: int = 0) -> bytes:
        reads.append(time.monotonic())
        return real_recv(self, bufsize, flags)

    with IosServer(address=ADDR) as server:
        session = trusted_ios_session(server, known_file)
        client = session._client
        assert client is not None
        transport = client.get_transport()
        assert transport is not None
        try:
            assert session.send("show crypto isakmp sa") == ISAKMP_SA
            # every read of the transport thread, answered or timed out, goes through recv
            monkeypatch.setattr(_TcpSocket, "recv", counted)
            time.sleep(IDLE_S)
            idle_reads = len(reads)
            assert session.send("show crypto isakmp sa") == ISAKMP_SA
        finally:
            session.close()
    # paramiko's own 0.1 s tick: ~25 reads in IDLE_S; a busy machine only makes fewer
    assert 1 <= idle_reads <= IDLE_S / IDLE_TICK_S + 2
    assert len(reads) > idle_reads  # the answer after idling came through the same socket
    assert not transport.is_alive()
