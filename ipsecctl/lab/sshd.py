"""SSH servers of the lab devices: one listening socket per device, one accept loop for all.

Each accepted connection gets a paramiko server ``Transport``; a shell channel runs a Cisco
terminal (echo, line editing, ``enable`` password dialogue, paging with the family's ``More``
prompt) on top of the device's session (:func:`~ipsecctl.lab.cli_session.session_for`). An exec
channel runs one command and closes, like ``ssh router "show version"`` on a real box.
"""

from __future__ import annotations

import contextlib
import hmac
import io
import logging
import selectors
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paramiko
import paramiko.common
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ipsecctl.lab.cli_session import DeviceSession, session_for
from ipsecctl.lab.state import Fleet

log = logging.getLogger(__name__)


def load_or_create_host_key(path: Path) -> paramiko.Ed25519Key:
    """Persisted per router, so a lab restarted in the same directory keeps its identity."""
    if not path.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pem)
        path.chmod(0o600)
    return paramiko.Ed25519Key(file_obj=io.StringIO(path.read_text()))


@dataclass
class Credentials:
    username: str
    password: str = field(repr=False)
    enable_secret: str = field(repr=False)
    authorized_keys: set[str] = field(default_factory=set, repr=False)


class _Server(paramiko.ServerInterface):
    def __init__(self, router: RouterServer) -> None:
        self.router = router

    def get_allowed_auths(self, username: str) -> str:
        return "password,publickey"

    def check_auth_password(self, username: str, password: str) -> int:
        creds = self.router.creds
        ok = hmac.compare_digest(username.encode(), creds.username.encode()) and (
            hmac.compare_digest(password.encode(), creds.password.encode())
        )
        return paramiko.common.AUTH_SUCCESSFUL if ok else paramiko.common.AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        creds = self.router.creds
        if username == creds.username and key.get_base64() in creds.authorized_keys:
            return paramiko.common.AUTH_SUCCESSFUL
        return paramiko.common.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.common.OPEN_SUCCEEDED
        return paramiko.common.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: object) -> bool:
        return True

    def check_channel_window_change_request(self, *args: object) -> bool:
        return True

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        threading.Thread(
            target=self.router.run_shell,
            args=(channel,),
            daemon=True,
            name=f"lab-shell-{self.router.name}",
        ).start()
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        threading.Thread(
            target=self.router.run_exec,
            args=(channel, command.decode(errors="replace")),
            daemon=True,
            name=f"lab-exec-{self.router.name}",
        ).start()
        return True


class _Terminal:
    """Byte-level terminal I/O over a channel: echo, line editing, paging."""

    def __init__(self, chan: paramiko.Channel) -> None:
        self.chan = chan
        self.buf = b""
        self.last_cr = False

    def write(self, text: str) -> None:
        self.chan.sendall(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())

    def _byte(self) -> int | None:
        if not self.buf:
            data = self.chan.recv(4096)
            if not data:
                return None
            self.buf = data
        b, self.buf = self.buf[0], self.buf[1:]
        return b

    def readline(self, echo: bool = True) -> str | None:
        """One typed line. The echo of what arrived together goes back together (a terminal
        echoes what it read, not a packet per key), at the latest when the line ends."""
        line: list[str] = []
        echoed: list[str] = []
        while True:
            if echoed and not self.buf:  # the typed chunk is used up: show it before waiting
                self.chan.sendall("".join(echoed).encode())
                echoed.clear()
            b = self._byte()
            if b is None:
                return None
            if b == 0x0A and self.last_cr:  # \r\n counts once
                self.last_cr = False
                continue
            self.last_cr = b == 0x0D
            if b in (0x0D, 0x0A):
                self.chan.sendall(("".join(echoed) + "\r\n").encode())
                return "".join(line)
            if b in (0x08, 0x7F):
                if line:
                    line.pop()
                    if echo:
                        echoed.append("\b \b")
                continue
            if b == 0x03:  # ^C
                line.clear()
                continue
            if b < 0x20 and b != 0x09:
                continue
            ch = chr(b) if b < 0x80 else "?"
            line.append(ch)
            if echo:
                echoed.append(ch)

    def page(self, text: str, length: int, more: str = " --More-- ") -> None:
        """Write ``text``; with a terminal length, stop at the ``More`` prompt like IOS/ASA."""
        erase = "\b" * len(more) + " " * len(more) + "\b" * len(more)
        lines = text.split("\n")
        if text.endswith("\n"):
            lines = lines[:-1]
        if length <= 0 or len(lines) < length:
            self.write(text if text.endswith("\n") or not text else text + "\n")
            return
        i = 0
        budget = length - 1
        while i < len(lines):
            chunk = lines[i : i + budget]
            i += len(chunk)
            self.write("\n".join(chunk) + "\n")
            if i >= len(lines):
                return
            self.chan.sendall(more.encode())
            b = self._byte()
            self.chan.sendall(erase.encode())
            if b is None:
                return
            if b == 0x20:
                budget = length - 1
            elif b in (0x0D, 0x0A):
                if b == 0x0D:
                    self.last_cr = True
                budget = 1
            else:
                return


class RouterServer:
    """Everything that answers on one router's address."""

    def __init__(
        self,
        name: str,
        address: str,
        port: int,
        host_key: paramiko.PKey,
        fleet: Fleet,
        creds: Credentials,
    ) -> None:
        self.name = name
        self.address = address
        self.port = port
        self.host_key = host_key
        self.fleet = fleet
        self.creds = creds
        self.sock: socket.socket | None = None

    def session(self) -> DeviceSession:
        return session_for(self.fleet, self.name, self.creds.enable_secret, sleep=time.sleep)

    def run_exec(self, chan: paramiko.Channel, command: str) -> None:
        try:
            time.sleep(0.05)  # let paramiko answer the exec request before data and close
            cli = self.session()
            out = cli.run(command)
            cli.close()
            chan.sendall(out.replace("\n", "\r\n").encode())
            chan.send_exit_status(0)
        except Exception:  # a broken client must never take the lab down
            log.exception("exec on %s failed", self.name)
        finally:
            with contextlib.suppress(Exception):
                chan.close()

    def run_shell(self, chan: paramiko.Channel) -> None:
        term = _Terminal(chan)
        cli = self.session()
        try:
            term.write("\n")
            while not cli.closed:
                term.write(cli.prompt)
                line = term.readline()
                if line is None:
                    break
                words = line.split()
                if (
                    cli.config is None
                    and words
                    and "enable".startswith(words[0].lower())
                    and len(words[0]) >= 2
                    and len(words) == 1
                ):
                    self._enable(term, cli)
                    continue
                out = cli.run(line)
                if out:
                    term.page(out, cli.length, cli.more)
        except (OSError, EOFError, paramiko.SSHException):
            pass
        except Exception:
            log.exception("shell on %s failed", self.name)
        finally:
            with contextlib.suppress(Exception):
                cli.close()
            with contextlib.suppress(Exception):
                chan.close()

    def _enable(self, term: _Terminal, cli: DeviceSession) -> None:
        if cli.priv >= 15:
            return
        asa = self.fleet.routers[self.name].spec.asa
        for _ in range(3):
            term.write("Password: ")
            pw = term.readline(echo=False)
            if pw is None:
                return
            if hmac.compare_digest(pw.encode(), self.creds.enable_secret.encode()):
                cli.priv = 15
                return
            if asa:
                term.write("Invalid password\n")
        term.write("Access denied.\n" if asa else "% Bad secrets\n\n")


class SshFleetServer:
    """Listening sockets for all routers and the single thread that accepts on them."""

    def __init__(self, routers: list[RouterServer]) -> None:
        self.routers = routers
        self._sel = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._transports: set[paramiko.Transport] = set()
        self._lock = threading.Lock()

    def listen(self) -> None:
        for r in self.routers:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((r.address, r.port))
            s.listen(64)
            s.setblocking(False)
            r.sock = s
            self._sel.register(s, selectors.EVENT_READ, r)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, daemon=True, name="lab-accept")
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for key, _ in self._sel.select(timeout=0.2):
                router: RouterServer = key.data
                try:
                    conn, _addr = key.fileobj.accept()  # type: ignore[union-attr]
                except OSError:
                    continue
                conn.setblocking(True)
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._serve(router, conn)

    def _serve(self, router: RouterServer, conn: socket.socket) -> None:
        try:
            t = paramiko.Transport(conn)
            t.local_version = "SSH-2.0-Cisco-1.25"
            t.add_server_key(router.host_key)
            t.start_server(event=threading.Event(), server=_Server(router))
        except Exception:
            log.debug("handshake with a client of %s failed", router.name, exc_info=True)
            with contextlib.suppress(OSError):
                conn.close()
            return
        with self._lock:
            self._transports = {x for x in self._transports if x.is_active()}
            self._transports.add(t)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        for r in self.routers:
            if r.sock is not None:
                with contextlib.suppress(Exception):
                    self._sel.unregister(r.sock)
                r.sock.close()
                r.sock = None
        with self._lock:
            for t in list(self._transports):
                with contextlib.suppress(Exception):
                    t.close()
            self._transports.clear()
