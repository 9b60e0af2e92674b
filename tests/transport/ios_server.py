"""A small IOS-like SSH server on a loopback address, for transport tests.

A real paramiko SSH server on a real socket: password auth, a pty shell that echoes like IOS,
user/privileged modes with an enable secret, ``--More--`` paging at ``terminal length``,
IOS failure messages, and commands that misbehave on purpose (hang, slow, drop the connection).

Hostile devices are the same server with one behaviour switched on (see the fields after
``commands``): a late first prompt, slow answers, one byte per second, ANSI colours and
``\r\n\r`` line ends, a shell that keeps asking for a password, "% Invalid input" for
everything, and per-command misbehaviour (``misbehave``): a flood of output with or without
newlines, a hang or a dropped connection in the middle of the output. ``after_clear`` makes a
device that accepts a ``clear ...`` command and then fails what follows (the re-poll that must
verify it): it drops every connection, hangs, answers "% Invalid input" or prints an error.
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
MISBEHAVIOURS = ("flood", "flood-no-newline", "hang-midway", "drop-midway", "late-output")
AFTER_CLEAR = ("drop", "hang", "reject", "error")
DEVICE_ERROR = "%Error: crypto subsystem busy, command not processed\n"
LATE = "%SYS-5-CONFIG_I: a message printed after the prompt\n"
FLOOD_LINE = "flood line of a device that does not stop printing ............\n"
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
    secrets_tried: list[str] = field(default_factory=list)  # answers to enable's Password:
    # hostile behaviours, all off by default (a well-behaved device)
    first_prompt_delay: float = 0.0  # seconds before the banner and the first prompt
    command_delay: float = 0.0  # seconds a busy CLI takes before it echoes and answers a line
    byte_delay: float = 0.0  # everything is sent one byte at a time, this far apart
    line_end: str = "\r\n"  # what the device ends lines with ("\r\n\r" for some)
    ansi: bool = False  # coloured prompt, window title, erase-to-end-of-line in output
    password_loop: bool = False  # the shell asks "Password: " forever instead of a prompt
    reject_all: bool = False  # "% Invalid input detected" for every command
    echo: bool = True  # False: commands are never echoed (a shell out of step for good)
    outputs: dict[str, str] = field(default_factory=dict)  # extra command -> output
    misbehave: dict[str, str] = field(default_factory=dict)  # command -> MISBEHAVIOURS
    flood_bytes: int = 100 * 1024 * 1024
    after_clear: str | None = None  # one of AFTER_CLEAR, once a "clear ..." was accepted
    cleared: bool = False
    ciphers: tuple[str, ...] = ()  # only these SSH ciphers (an older image without AES-GCM)
    served: threading.Event = field(default_factory=threading.Event)  # a command arrived

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
        if self.cleared and self.after_clear == "drop":
            return  # the device went away after the clear: every new connection is cut
        transport.add_server_key(self.host_key)
        if self.ciphers:
            transport.get_security_options().ciphers = self.ciphers
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

    def send(self, data: bytes) -> None:
        if not self.s.byte_delay:
            self.chan.sendall(data)
            return
        for i in range(len(data)):
            self.chan.sendall(data[i : i + 1])
            time.sleep(self.s.byte_delay)

    def write(self, text: str) -> None:
        end = ("\x1b[K" if self.s.ansi else "") + self.s.line_end
        self.send(text.replace("\r\n", "\n").replace("\n", end).encode())

    def prompt(self) -> str:
        return (
            self.s.hostname
            + ("#" if self.privileged else ">")
            + (" " if self.s.trailing_space else "")
        )

    def write_prompt(self) -> None:
        if self.s.ansi:
            self.send(f"\x1b]0;{self.s.hostname}\x07\x1b[?2004h\x1b[1;32m".encode())
            self.send(self.prompt().encode() + b"\x1b[0m")
        else:
            self.send(self.prompt().encode())

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
                self.send(ch.encode())

    def run(self) -> None:
        time.sleep(self.s.first_prompt_delay)
        self.write(self.s.banner)
        if self.s.password_loop:
            while True:
                self.write("Password: ")
                self.s.commands.append(self.read_line(echo=False))
                self.s.served.set()
        self.write_prompt()
        while True:
            if self.s.command_delay:  # a busy CLI: the line is echoed late, with its answer
                raw = self.read_line(echo=False)
                time.sleep(self.s.command_delay)
                self.send(raw.encode())
                self.write("\n")
            else:
                raw = self.read_line(echo=self.s.echo)
                if not self.s.echo:
                    self.write("\n")
            line = raw.strip()
            self.s.commands.append(line)
            self.s.served.set()
            if not self.execute(line):
                return
            self.write_prompt()

    def flood(self, newlines: bool) -> None:
        block = (FLOOD_LINE * 1024) if newlines else ("x" * 65536)
        data = block.replace("\n", "\r\n").encode()
        sent = 0
        while sent < self.s.flood_bytes:
            chunk = data[: self.s.flood_bytes - sent]
            self.chan.sendall(chunk)
            sent += len(chunk)
        self.write("\n")

    def misbehaviour(self, kind: str) -> bool:
        """Run one of MISBEHAVIOURS; False ends the session."""
        if kind in ("flood", "flood-no-newline"):
            self.flood(newlines=kind == "flood")
            return True
        if kind == "late-output":  # answer, prompt, then more text and a second prompt
            self.write(VERSION)
            self.write_prompt()
            time.sleep(0.2)
            self.write("\n" + LATE)
            return True
        half = LONG[: len(LONG) // 2]
        self.write(half[: half.rfind("\n") + 1])
        if kind == "hang-midway":
            while True:
                self.read_char()  # never finishes; ends when the client goes away
        if kind == "drop-midway":
            return False
        raise ValueError(kind)

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
        if self.s.cleared and words[0] != "terminal":
            mode = self.s.after_clear
            if mode == "drop":
                return False
            if mode == "hang":
                while True:
                    self.read_char()  # never answers; ends when the client goes away
            if mode == "reject":
                self.invalid(line)
                return True
            if mode == "error":
                self.write(DEVICE_ERROR)
                return True
        if words[0] == "clear" and self.s.after_clear is not None and self.privileged:
            self.s.cleared = True  # accepted, silently, as IOS does
            return True
        if line in self.s.misbehave:
            return self.misbehaviour(self.s.misbehave[line])
        if self.s.reject_all:
            self.invalid(line)
            return True
        if line in self.s.outputs:
            self.write(self.s.outputs[line])
            return True
        if line == "enable":
            if self.privileged or self.s.enable_secret is None:
                self.privileged = True
                return True
            for _ in range(3):
                self.write("Password: ")
                answer = self.read_line(echo=False)
                self.s.secrets_tried.append(answer)
                if answer == self.s.enable_secret:
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
