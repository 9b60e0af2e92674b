"""TCP peers that misbehave before SSH even starts: silence, or a banner that drips.

A real listening socket on 127.0.0.x; every accepted connection is held open (never closed by
the peer) until the test ends, like a wedged sshd or an overloaded device.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

DRIP_BANNER = b"SSH-2.0-Cisco-1.25\r\n"


class RawPeer:
    """``mode``: ``"silent"`` (accepts, says nothing) or ``"drip"`` (the SSH banner, one byte
    every ``drip_delay`` seconds). ``accepted`` is set when a client has connected."""

    def __init__(self, address: str, mode: str, drip_delay: float = 0.5) -> None:
        if mode not in ("silent", "drip"):
            raise ValueError(mode)
        self.address = address
        self.mode = mode
        self.drip_delay = drip_delay
        self.accepted = threading.Event()
        self._stop = threading.Event()
        self._held: list[socket.socket] = []
        self._listener = socket.socket()
        self._listener.bind((address, 0))
        self._listener.listen(16)
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> RawPeer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            self._held.append(conn)
            self.accepted.set()
            if self.mode == "drip":
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        for i in range(len(DRIP_BANNER)):
            if self._stop.wait(self.drip_delay):
                return
            try:
                conn.sendall(DRIP_BANNER[i : i + 1])
            except OSError:
                return


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition()`` (a callable) until true; for states no event announces."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False
