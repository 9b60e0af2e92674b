"""Open one authenticated, host-key-verified paramiko client and translate its failures.

Shared by device sessions and jump hops so both get the same timeouts, host-key policy and
one-line errors. paramiko's exceptions never leave this module: callers see only
:mod:`ipsecctl.errors` classes, each naming the device and what to do.

paramiko's transport threads log to :data:`PARAMIKO_LOG`, where every record is lowered to
DEBUG: they log at ERROR, with a traceback, failures this module already reports as one-line
errors (no banner, an EOF after a close we asked for), and those must not reach an operator's
terminal or log file unless they asked for debug output (``-vv``).
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import logging
import os
import select
import signal
import socket
import subprocess
import threading
import time
from typing import Any

import paramiko
from paramiko.ssh_exception import (
    AuthenticationException,
    BadHostKeyException,
    ChannelException,
    IncompatiblePeer,
    NoValidConnectionsError,
    ProxyCommandFailure,
    SSHException,
)

from ipsecctl.errors import (
    AlgorithmError,
    AuthenticationError,
    ConnectError,
    HostKeyError,
    TimeoutError_,
    TransportError,
)

from .base import ConnectionParams
from .cancel import Cancel
from .hostkeys import AskHostKey, KnownHosts, changed_key_error, host_key_name, make_policy

log = logging.getLogger(__name__)

PARAMIKO_LOG = "ipsecctl.transport.paramiko"


class _AsDebug(logging.Filter):
    """Lower every record to DEBUG (see the module docstring), and drop it unless DEBUG is
    enabled for :data:`PARAMIKO_LOG` (a handler without a level would print it otherwise)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno = logging.DEBUG
        record.levelname = "DEBUG"
        return logging.getLogger(PARAMIKO_LOG).isEnabledFor(logging.DEBUG)


logging.getLogger(PARAMIKO_LOG).addFilter(_AsDebug())

LEGACY_HINT = (
    "offers only SHA-1 SSH algorithms removed from paramiko 5: install ipsecctl[legacy] "
    "(paramiko<5) or enable modern kex/host keys on the device (ip ssh server algorithm ...)"
)

_ALGORITHM_MARKERS = (
    "no acceptable",
    "incompatible ssh peer",
    "no matching",
    "kex",
    "host key type",
    "unknown key type",
)


def cap(timeout: float, remaining: float | None) -> float:
    """A phase timeout, never beyond what is left of the device's overall budget."""
    if remaining is None:
        return timeout
    return max(0.05, min(timeout, remaining))


def expand_proxy_command(command: str, params: ConnectionParams) -> str:
    """OpenSSH tokens in a ProxyCommand given directly (ssh_config ones arrive expanded)."""
    return (
        command.replace("%h", params.hostname)
        .replace("%p", str(params.effective_port))
        .replace("%r", params.username or "")
        .replace("%%", "%")
    )


class _ProxyCommand(paramiko.ProxyCommand):
    """paramiko's ProxyCommand only signals the process: also reap it and (through
    :func:`close_client`) close its pipes, or every reconnect of a long-running dashboard
    leaks three descriptors and a zombie.

    ``close`` must not close the pipes itself: paramiko calls it while its transport thread
    may still be reading stdout, and a closed (or reused) descriptor under that thread is the
    "I/O operation on closed file" traceback. Ending the process gives the reader a clean EOF.
    """

    def close(self) -> None:
        # paramiko's own close is os.kill: called from the caller's thread and from its
        # transport thread at once, the second found the process already reaped
        # (ProcessLookupError in the transport thread); Popen's signal checks and tolerates it
        self.process.send_signal(signal.SIGTERM)
        if self.process.stdin is not None:
            self.process.stdin.close()  # only we write, and only from the caller's thread
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def recv(self, size: int) -> bytes:
        """Return what is there as soon as there is something, and ``b""`` at end of file.

        paramiko's version keeps reading until ``size`` bytes and, once the proxy process has
        ended, spins on the empty pipe until its timeout instead of reporting the EOF: the
        transport thread then never notices the connection is gone.
        """
        stdout = self.process.stdout
        assert stdout is not None
        start = time.monotonic()
        try:
            while True:
                wait = None
                if self.timeout is not None:
                    wait = self.timeout - (time.monotonic() - start)
                    if wait <= 0:
                        raise TimeoutError()
                ready, _, _ = select.select([stdout], [], [], wait)
                if ready:
                    return os.read(stdout.fileno(), size)
        except TimeoutError:
            raise
        except OSError as exc:
            raise ProxyCommandFailure(" ".join(self.cmd), exc.strerror or str(exc)) from exc

    def release(self) -> None:
        """Close the remaining pipes; only once nothing reads them any more."""
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def open_client(
    params: ConnectionParams,
    *,
    known: KnownHosts,
    sock: paramiko.Channel | paramiko.ProxyCommand | socket.socket | None = None,
    ask: AskHostKey | None = None,
    remaining: float | None = None,
    cancel: Cancel | None = None,
) -> paramiko.SSHClient:
    """Connect and authenticate; raises a TransportError subclass naming ``params.name``.

    With ``cancel``, everything the connection blocks on is registered there, so another
    thread can cut the connect (TCP, banner, key exchange, authentication) short at any point.
    """
    port = params.effective_port
    name = host_key_name(params.hostname, port)
    t = params.timeouts
    client = paramiko.SSHClient()
    client.set_log_channel(PARAMIKO_LOG)
    client.set_missing_host_key_policy(make_policy(params.host_key_policy, known, params.name, ask))
    known.load_into(client, name)
    log.debug("connecting to %s (%s:%d) as %s", params.name, params.hostname, port, params.username)
    try:
        if sock is None and params.proxy_command:
            sock = _ProxyCommand(expand_proxy_command(params.proxy_command, params))
        if sock is None:
            sock = tcp_connect(params.hostname, port, cap(t.connect, remaining), cancel)
        elif cancel is not None:
            cancel.watch(sock)
        client.connect(
            params.hostname,
            port=port,
            username=params.username,
            password=params.password,
            key_filename=list(params.key_filename) or None,  # type: ignore[arg-type]
            passphrase=params.passphrase,
            allow_agent=params.use_agent,
            look_for_keys=params.look_for_keys,
            timeout=cap(t.connect, remaining),
            banner_timeout=cap(t.banner, remaining),
            auth_timeout=cap(t.auth, remaining),
            channel_timeout=cap(t.command, remaining),
            sock=sock,
            transport_factory=_aead_first,
        )
    except BaseException as exc:
        stalled = stalled_phase(client.get_transport(), exc)
        close_client(client)
        if isinstance(sock, socket.socket):
            sock.close()  # paramiko never saw it when the TCP connect itself failed
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        if cancel is not None and cancel.cancelled:
            raise cancel.error("connecting") from None
        if stalled is not None:
            waited = min(cap(t.connect, remaining), cap(t.banner, remaining))
            if stalled == "banner" and isinstance(sock, _TcpSocket) and sock.received:
                stalled = "partial banner"
            raise stall_error(stalled, params, waited) from exc
        raise map_error(exc, params, known) from exc
    _idle_quietly(client.get_transport())
    return client


#: how often the transport thread of a connected, idle session wakes up (see _idle_quietly)
IDLE_TICK_S = 1.0


def _idle_quietly(transport: paramiko.Transport | None) -> None:
    """Let a connected session's transport thread sleep :data:`IDLE_TICK_S` between looks.

    paramiko reads with a 0.1 s socket timeout and, on every timeout, takes the interpreter's
    lock to check whether it was closed, must rekey or send a keepalive: about 60 us a time,
    3% of a core for the 50 idle sessions of a dashboard between refreshes, and two thirds of
    one for 1,000. Once connected none of that needs a tenth of a second: closing wakes the
    thread at once (:func:`close_client` ends what it reads), ipsecctl sets no keepalive,
    and a rekey due after 512 MB or 2**29 packets starts within a tick instead of a tenth.
    The first key exchange and authentication keep paramiko's tick (its handshake timeout is
    checked on it); only the connected session's reads change.
    """
    sock = getattr(transport, "sock", None)
    if isinstance(sock, socket.socket | paramiko.Channel | _ProxyCommand):
        sock.settimeout(IDLE_TICK_S)  # what _wake_reader wakes: a TCP socket, a hop, a proxy


def _aead_first(sock: Any, **kwargs: Any) -> paramiko.Transport:
    """A transport that offers AES-GCM before the CTR and CBC ciphers: one authenticated
    cipher call per packet instead of a cipher and a separate HMAC, about a fifth less client
    CPU on a poll. Devices without GCM (older IOS) still agree on the next cipher offered."""
    transport = paramiko.Transport(sock, **kwargs)
    options = transport.get_security_options()
    ciphers = tuple(options.ciphers)
    aead = tuple(c for c in ciphers if "-gcm@" in c)
    options.ciphers = aead + tuple(c for c in ciphers if c not in aead)
    return transport


class _TcpSocket(socket.socket):
    """A TCP socket that counts what it received, so a stalled SSH banner can be told apart:
    nothing at all (a hung or non-SSH service) or a banner arriving byte by byte."""

    received = 0

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        self.received += len(data)
        return data


def tcp_connect(
    hostname: str, port: int, timeout: float, cancel: Cancel | None = None
) -> socket.socket:
    """A connected TCP socket, tried per address as paramiko does (same errors), but on a
    socket of our own so that ``cancel`` can shut it down even in the middle of ``connect``.
    """
    infos = socket.getaddrinfo(hostname, port, socket.AF_UNSPEC, socket.SOCK_STREAM)
    failures: dict[tuple[str, int] | tuple[str, int, int, int], Exception] = {}
    for family, kind, proto, _, addr in infos:
        sock = _TcpSocket(family, kind, proto)
        if cancel is not None:
            try:
                cancel.watch(sock)
            except BaseException:
                sock.close()
                raise
        try:
            sock.settimeout(timeout)
            sock.connect(addr)
            return sock
        except OSError as exc:
            if cancel is not None:
                cancel.forget(sock)
            sock.close()
            if exc.errno not in (errno.ECONNREFUSED, errno.EHOSTUNREACH):
                raise
            failures[(str(addr[0]), int(addr[1]))] = exc
    raise NoValidConnectionsError(failures)


def stalled_phase(transport: paramiko.Transport | None, exc: BaseException) -> str | None:
    """``"banner"`` or ``"kex"`` when SSH negotiation ran out of time, else None.

    paramiko's ``start_client`` gives up after the *connect* timeout without raising, and the
    next step fails with the meaningless ``SSHException('No existing session')``; what really
    happened is told by how far the transport got (banner read? key exchange done?).
    """
    if transport is None or transport.initial_kex_done:
        return None
    if not isinstance(exc, SSHException) or "no existing session" not in str(exc).lower():
        return None
    return "kex" if transport.remote_version else "banner"


def stall_error(phase: str, params: ConnectionParams, waited: float) -> TimeoutError_:
    dev = params.name
    where = f"{params.hostname}:{params.effective_port}"
    if phase == "banner":
        what = f"sent no SSH banner within {waited:g} s"
        hint = "check that the port is SSH and the device is not overloaded or hung"
    elif phase == "partial banner":
        what = f"sent only part of its SSH banner within {waited:g} s (it arrives too slowly)"
        hint = "the device or the link is overloaded"
    else:
        what = f"did not finish the SSH key exchange within {waited:g} s"
        hint = "the device may be overloaded or hung"
    return TimeoutError_(
        f"{dev} at {where} {what}; {hint}, or raise the connect timeout", device=dev
    )


def close_client(client: paramiko.SSHClient) -> None:
    """Close a client after its transport thread has stopped reading; then free the proxy.

    paramiko's ``Transport.close`` (and ``Packetizer.close``) close the socket without waiting
    for the reader thread, which then reads a closed (or, in a busy pool, reused) descriptor
    and logs a traceback ("Bad file descriptor", "I/O operation on closed file"). Instead:
    wake the reader with an EOF (socket shutdown, channel close, proxy process ended), let the
    thread end, and only then close the socket and the proxy command's pipes. Waking it
    matters: a pool closing 200 sessions must not wait 0.1 s poll ticks for each.
    """
    transport = client.get_transport()
    if (
        transport is not None
        and transport.is_alive()
        and transport is not threading.current_thread()
    ):
        _wake_reader(transport.sock)
        transport.join(1.0)
    client.close()
    sock = getattr(transport, "sock", None)
    if isinstance(sock, _ProxyCommand) and transport is not None and not transport.is_alive():
        sock.close()  # idempotent: already ended above
        sock.release()


def _wake_reader(sock: object) -> None:
    """Make a blocked read return EOF now, without freeing the descriptor under the reader."""
    with contextlib.suppress(OSError, EOFError, SSHException):
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
        elif isinstance(sock, paramiko.Channel | _ProxyCommand):
            sock.close()


def map_error(
    exc: BaseException, params: ConnectionParams, known: KnownHosts | None = None
) -> TransportError:
    """One-line, device-named error for anything paramiko or the socket layer raised."""
    dev = params.name
    port = params.effective_port
    where = f"{params.hostname}:{port}"
    t = params.timeouts
    if isinstance(exc, TransportError):
        if exc.device is None:
            exc.device = dev
        return exc
    if isinstance(exc, BadHostKeyException):
        name = host_key_name(params.hostname, port)
        # name the line that disagrees with the device (another file may hold the right key)
        entries = [e for e in (known.lookup(name) if known else []) if e.key != exc.key]
        entries.sort(key=lambda e: e.key_type != exc.key.get_name())
        if entries:
            return changed_key_error(dev, name, exc.key, entries[0])
        return HostKeyError(
            f"HOST KEY CHANGED for {dev} ({name}); check the device and your known_hosts",
            device=dev,
        )
    if isinstance(exc, AuthenticationException):
        return AuthenticationError(
            f"authentication failed for {_login(params)}; {_auth_hint(params)}",
            device=dev,
        )
    if isinstance(exc, SSHException) and "no authentication methods" in str(exc).lower():
        return AuthenticationError(
            f"no credentials to log in as {_login(params)}: no password, key file or "
            "ssh-agent key was available; set key_file (or password) for it in the inventory "
            "or ~/.ssh/config (IdentityFile), export IPSECCTL_PASSWORD, or add a key to "
            "ssh-agent",
            device=dev,
        )
    if isinstance(exc, IncompatiblePeer) or (
        isinstance(exc, SSHException) and any(m in str(exc).lower() for m in _ALGORITHM_MARKERS)
    ):
        return AlgorithmError(f"{dev} ({where}) {LEGACY_HINT} [{exc}]", device=dev)
    if isinstance(exc, NoValidConnectionsError | ConnectionRefusedError):
        return ConnectError(
            f"cannot connect to {dev} at {where}: connection refused; check the address, the "
            "port and that SSH is enabled on the device",
            device=dev,
        )
    if isinstance(exc, ChannelException):
        return ConnectError(
            f"the jump host could not reach {dev} at {where} ({exc.text}); check the address "
            "and the jump host's forwarding",
            device=dev,
        )
    if isinstance(exc, socket.gaierror):
        return ConnectError(
            f"cannot resolve {params.hostname} for {dev}; check the hostname", device=dev
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return TimeoutError_(
            f"{dev} at {where} did not answer within {t.connect:g}s (connect timeout); check "
            "reachability or raise the timeout",
            device=dev,
        )
    if isinstance(exc, ProxyCommandFailure):
        return ConnectError(
            f"proxy command for {dev} failed: {exc.error}; check ProxyCommand", device=dev
        )
    if isinstance(exc, SSHException):
        text = str(exc)
        if "banner" in text.lower():
            return TimeoutError_(
                f"{dev} at {where} sent no SSH banner within {t.banner:g} s; check that the "
                "port is SSH and the device is not overloaded or hung",
                device=dev,
            )
        if "authentication timeout" in text.lower():
            return TimeoutError_(
                f"{dev} at {where} did not finish authentication within {t.auth:g}s",
                device=dev,
            )
        return ConnectError(f"SSH to {dev} at {where} failed: {text}", device=dev)
    if isinstance(exc, EOFError):
        return ConnectError(
            f"{dev} at {where} closed the connection during SSH negotiation; check the "
            "device's SSH access lists and limits",
            device=dev,
        )
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        return ConnectError(f"cannot connect to {dev} at {where}: {reason}", device=dev)
    return ConnectError(f"SSH to {dev} at {where} failed: {type(exc).__name__}: {exc}", device=dev)


def _login(params: ConnectionParams) -> str:
    """``user@device (host:port)`` as paramiko tried it (no username: the local user's name).

    ProxyJump hops are named after their address already (``jump host ops@10.0.0.1``), so
    they read ``ops@10.0.0.1:22 (jump host)`` instead of repeating it.
    """
    user = params.username or getpass.getuser()
    where = f"{params.hostname}:{params.effective_port}"
    if params.hostname in params.name:
        return f"{user}@{where}" + (" (jump host)" if "jump host" in params.name else "")
    return f"{user}@{params.name} ({where})"


def _auth_hint(params: ConnectionParams) -> str:
    """Point at where the rejected credentials came from, when the caller recorded it."""
    offered = ["username"]
    if params.password:
        offered.append("password")
    if params.key_filename:
        offered.append("key_file")
    known = [(k, params.credential_source(k)) for k in offered]
    named = [f"{key} from {src}" for key, src in known if src]
    if named:
        return "check " + ", ".join(named)
    return "check the username and the password or key"
