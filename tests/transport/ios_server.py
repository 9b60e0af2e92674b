"""A small IOS-like SSH server on a loopback address, for transport tests.

A real paramiko SSH server on a real socket: password auth, a pty shell that echoes like IOS,
user/privileged modes with an enable secret, ``--More--`` paging at ``terminal length``,
IOS failure messages, and commands that misbehave on purpose (hang, slow, drop the connection).
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
)

ISAKMP_SA = """IPv4 Crypto ISAKMP SA
dst             src             state          conn-id status
10.0.0.2        10.0.0.1        QM_IDLE           1001 ACTIVE

IPv6 Crypto ISAKMP SA
"""

VERSION = "Cisco IOS Software, C1100 Software, Version 17.9.4a\nuptime is 1 week, 2 days\n"
LONG = "".join(f"line {i:03d} of the long output\n" for i in range(1, 61))
MORE = " --More-- "
ERASE = "\b" * len(MORE) + " " * len(MORE) + "\b" * len(MORE)


@dataclass
class IosServer:
    """Start with ``start()``; ``address``/``port``/``host_key`` describe where it listens."""

    address: str = "127.0.0.10"
    hostname: str = "rtr-01.lab-east(dc1)"
    username: str = "admin"
    password: str = "cisco-pw-Zq9"
    enable_secret: str | None = "en-secret-Xy7"
    privileged: bool = False
    honour_terminal_length: bool = True
    trailing_space: bool = False
    banner: str = "\r\n*** authorised access only ***\r\n\r\n"
    host_key: paramiko.PKey = field(default_factory=paramiko.ECDSAKey.generate)
    port: int = 0
    connections: int = 0
    commands: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock: socket.socket | None = None
        self._transports: list[paramiko.Transport] = []
        self._stop = threading.Event()

    def start(self) -> IosServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.address, self.port))
        sock.listen(32)
        sock.settimeout(0.2)
        self.port = sock.getsockname()[1]
        self._sock = sock
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock:
            self._sock.close()
        for t in self._transports:
            t.close()

    def __enter__(self) -> IosServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        transport = paramiko.Transport(conn)
        self._transports.append(transport)
        try:
            self._session(transport)
        except (paramiko.SSHException, EOFError, OSError):
            pass  # the client went away: normal in timeout and drop tests
        finally:
            transport.close()

    def _session(self, transport: paramiko.Transport) -> None:
        transport.add_server_key(self.host_key)
        iface = _Iface(self)
        transport.start_server(server=iface)
        chan = transport.accept(20)
        if chan is None or not iface.shell.wait(10):
            return
        try:
            _Shell(self, chan).run()
        finally:
            chan.close()


class _Iface(paramiko.ServerInterface):
    def __init__(self, server: IosServer) -> None:
        self.server = server
        self.shell = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "password"

    def check_auth_password(self, username: str, password: str) -> int:
        ok = username == self.server.username and password == self.server.password
        return AUTH_SUCCESSFUL if ok else AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPEN_SUCCEEDED
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: object) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        self.shell.set()
        return True


class _Shell:
    def __init__(self, server: IosServer, chan: paramiko.Channel) -> None:
        self.s = server
        self.chan = chan
        self.privileged = server.privileged
        self.length = 24
        self.pending = b""

    def write(self, text: str) -> None:
        self.chan.sendall(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())

    def prompt(self) -> str:
        return (
            self.s.hostname
            + ("#" if self.privileged else ">")
            + (" " if self.s.trailing_space else "")
        )

    def read_char(self) -> str:
        while not self.pending:
            data = self.chan.recv(1024)
            if not data:
                raise EOFError
            self.pending += data
        ch, self.pending = self.pending[:1], self.pending[1:]
        return ch.decode()

    def read_line(self, echo: bool = True) -> str:
        line = ""
        while True:
            ch = self.read_char()
            if ch in "\r\n":
                if ch == "\r" and self.pending[:1] == b"\n":
                    self.pending = self.pending[1:]
                if echo:
                    self.write("\n")
                return line
            line += ch
            if echo:
                self.chan.sendall(ch.encode())

    def run(self) -> None:
        self.write(self.s.banner)
        self.write(self.prompt())
        while True:
            line = self.read_line().strip()
            self.s.commands.append(line)
            if not self.execute(line):
                return
            self.write(self.prompt())

    def page(self, text: str) -> None:
        lines = text.splitlines(keepends=True)
        if self.length == 0:
            self.write("".join(lines))
            return
        per_page = self.length - 1
        while lines:
            self.write("".join(lines[:per_page]))
            lines = lines[per_page:]
            if not lines:
                return
            self.write(MORE)
            answer = self.read_char()
            self.write(ERASE)
            if answer == "q":
                return
            per_page = 1 if answer in "\r\n" else self.length - 1

    def invalid(self, line: str) -> None:
        self.write(" " * (len(self.prompt()) + len(line.split()[0]) - 1) + "^\n")
        self.write("% Invalid input detected at '^' marker.\n\n")

    def execute(self, line: str) -> bool:
        words = line.split()
        if not words:
            return True
        if line == "enable":
            if self.privileged or self.s.enable_secret is None:
                self.privileged = True
                return True
            for _ in range(3):
                self.write("Password: ")
                if self.read_line(echo=False) == self.s.enable_secret:
                    self.write("\n")
                    self.privileged = True
                    return True
                self.write("\n")
            self.write("% Bad secrets\n\n")
            return True
        if line == "disable":
            self.privileged = False
        elif words[:2] == ["terminal", "length"] and len(words) == 3:
            if self.s.honour_terminal_length:
                self.length = int(words[2])
        elif words[:2] == ["terminal", "width"]:
            pass
        elif line == "show version":
            self.write(VERSION)
        elif line == "show crypto isakmp sa" and self.privileged:
            self.write(ISAKMP_SA)
        elif line == "show long":
            self.page(LONG)
        elif line == "show slow":
            time.sleep(1.5)
            self.write("slow answer\n")
        elif line == "show hang":
            while True:
                self.read_char()  # never answers; ends when the client goes away
        elif line in ("exit", "logout", "test drop"):
            return False
        elif line == "show ip route vrf":
            self.write("% Incomplete command.\n\n")
        else:
            self.invalid(line)
        return True
