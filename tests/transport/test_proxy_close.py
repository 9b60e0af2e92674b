"""A ProxyCommand session is closed from the caller's thread and from paramiko's transport
thread at once (a dashboard quitting while a poll ends): neither may raise. paramiko's own
close signalled a process the other thread had just reaped (ProcessLookupError in the
transport thread); the race is narrow, so it is run many times."""

from __future__ import annotations

import threading

from ipsecctl.transport.client import _ProxyCommand


def test_closing_from_two_threads_at_once_raises_nothing() -> None:
    failures: list[str] = []
    for _ in range(300):
        proxy = _ProxyCommand("sleep 30")
        start = threading.Barrier(2)

        def close(proxy: _ProxyCommand = proxy, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                proxy.close()
            except Exception as exc:  # what the transport thread would die of
                failures.append(repr(exc))

        threads = [threading.Thread(target=close) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert proxy.process.returncode is not None  # ended and reaped
    assert failures == []
