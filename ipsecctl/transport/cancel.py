"""Cut a connection's blocking waits short from another thread, without ever blocking.

Quitting the dashboard must not wait for devices: a hung router can hold a TCP connect, an SSH
banner read or a ``recv`` for the whole of its timeout, and a thread stuck there keeps the
process alive. Everything a connection blocks on (its socket, its paramiko transport, the jump
channel or proxy command under it) is registered with a :class:`Cancel` while in use;
:meth:`Cancel.cancel` then makes each of them return at once with an end-of-file.

It shuts sockets down rather than closing them: the descriptor stays valid under paramiko's
reader thread until the owner closes it, so that thread reads a clean EOF instead of a freed
(or reused) descriptor, which is where "Bad file descriptor" tracebacks came from.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TypeVar

import paramiko

from ipsecctl.errors import ConnectError

T = TypeVar("T")


class Cancel:
    """One connection's (or one jump pool's) cancellation: set once, never cleared."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._items: list[object] = []
        self._event = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def error(self, doing: str) -> ConnectError:
        return ConnectError(f"{self.name}: closed while {doing}", device=self.name)

    def check(self, doing: str) -> None:
        if self._event.is_set():
            raise self.error(doing)

    def watch(self, item: T, doing: str = "connecting") -> T:
        """Register ``item`` (socket, Transport, Channel, ProxyCommand) until :meth:`forget`.

        Once cancelled, nothing new may start: the item is cut and the caller gets the error.
        """
        with self._lock:
            if not self._event.is_set():
                self._items.append(item)
                return item
        cut(item)
        raise self.error(doing)

    def forget(self, item: object) -> None:
        with self._lock, contextlib.suppress(ValueError):
            self._items.remove(item)

    def clear(self) -> None:
        """Forget every item (the connection was closed normally); stays cancelled if it was."""
        with self._lock:
            self._items = []

    def cancel(self) -> None:
        """Cut everything registered; returns at once (slow parts run on daemon threads)."""
        with self._lock:
            self._event.set()
            items, self._items = self._items, []
        for item in items:
            cut(item)


def cut(item: object) -> None:
    """Make whatever waits on ``item`` wake with EOF now; never blocks, never raises."""
    with contextlib.suppress(Exception):
        own_cut = getattr(item, "cut", None)
        if callable(own_cut):  # things that know how to cut themselves (an ssh process)
            own_cut()
        elif isinstance(item, socket.socket):
            item.shutdown(socket.SHUT_RDWR)
        elif isinstance(item, paramiko.Transport):
            cut(item.sock)  # its reader thread sees EOF, ends and wakes every waiter
        elif isinstance(item, paramiko.Channel):
            # Channel.close() sends a message and can wait for a key exchange: off-thread.
            threading.Thread(target=item.close, name="ipsecctl-cut", daemon=True).start()
        elif isinstance(item, paramiko.ProxyCommand):
            item.process.terminate()  # reaped by the owner's close (or at exit)
