"""An interactive SSH shell on a device, for a person at a terminal (the dashboard's ``s``).

It connects exactly as command sessions do (same resolved parameters, host-key policy and
known_hosts, the same jump-host transports when a pool is given) but hands the channel to the
operator: :func:`relay` puts the local terminal in raw mode and copies bytes both ways until
the device closes the session (``exit``) or the operator types the escape byte (Ctrl-]).
The terminal's size follows the local window. Nothing here parses or logs what is typed.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any

import paramiko

from .base import ConnectionParams
from .client import close_client, open_client
from .hostkeys import AskHostKey, KnownHosts
from .jump import JumpPool, jump_chain, resolve_params

ESCAPE = b"\x1d"  # Ctrl-]: leave the shell from this side (telnet's escape character)


@dataclass
class Shell:
    """An open interactive channel and the client it runs on."""

    name: str
    client: paramiko.SSHClient
    channel: paramiko.Channel

    def resize(self, width: int, height: int) -> None:
        with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
            self.channel.resize_pty(width=width, height=height)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.channel.close()
        close_client(self.client)


def open_shell(
    params: ConnectionParams,
    *,
    known: KnownHosts,
    jump_pool: JumpPool | None = None,
    ask: AskHostKey | None = None,
    term: str = "xterm",
    width: int = 80,
    height: int = 24,
) -> Shell:
    """Connect and open a pty shell; TransportError subclasses name the device."""
    from .client import map_error

    p = resolve_params(params)
    sock: paramiko.Channel | None = None
    hops = jump_chain(p)
    if hops:
        pool = jump_pool if jump_pool is not None else JumpPool(known, ask=ask)
        sock = pool.open_channel(hops, p, remaining=p.timeouts.overall)
    client = open_client(p, known=known, sock=sock, ask=ask, remaining=p.timeouts.overall)
    try:
        channel = client.invoke_shell(term=term, width=width, height=height)
    except (paramiko.SSHException, OSError, EOFError) as exc:
        close_client(client)
        raise map_error(exc, p) from exc
    return Shell(p.name, client, channel)


def terminal_size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 80, 24
    return size.columns, size.lines


def relay(shell: Shell, stdin_fd: int | None = None, stdout_fd: int | None = None) -> str:
    """Copy the terminal to the channel and back until either side ends; returns why it
    ended (``closed by the device``, ``escape``). Restores the terminal whatever happens."""
    import termios
    import tty

    fd_in = sys.stdin.fileno() if stdin_fd is None else stdin_fd
    fd_out = sys.stdout.fileno() if stdout_fd is None else stdout_fd
    chan = shell.channel
    old = termios.tcgetattr(fd_in) if os.isatty(fd_in) else None
    previous_winch: Any = None
    in_main = threading.current_thread() is threading.main_thread()

    def on_winch(_sig: int, _frame: object) -> None:
        shell.resize(*terminal_size(fd_out))

    try:
        if old is not None:
            tty.setraw(fd_in)
        if in_main:
            previous_winch = signal.signal(signal.SIGWINCH, on_winch)
        shell.resize(*terminal_size(fd_out))
        while True:
            if chan.exit_status_ready() or chan.closed:
                break
            ready, _, _ = select.select([chan, fd_in], [], [], 0.5)
            if chan in ready:
                try:
                    data = chan.recv(32768)
                except (OSError, EOFError):
                    data = b""
                if not data:
                    return "closed by the device"
                os.write(fd_out, data)
            if fd_in in ready:
                data = os.read(fd_in, 4096)
                if not data:
                    return "terminal closed"
                if ESCAPE in data:
                    before = data.split(ESCAPE, 1)[0]
                    if before:
                        chan.sendall(before)
                    return "escape"
                chan.sendall(data)
        # drain what the device printed last (its goodbye)
        while chan.recv_ready():
            os.write(fd_out, chan.recv(32768))
        return "closed by the device"
    finally:
        if old is not None:
            termios.tcsetattr(fd_in, termios.TCSADRAIN, old)
        if in_main and previous_winch is not None:
            signal.signal(signal.SIGWINCH, previous_winch)
        shell.close()
