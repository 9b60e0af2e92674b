"""Open one authenticated, host-key-verified paramiko client and translate its failures.

Shared by device sessions and jump hops so both get the same timeouts, host-key policy and
one-line errors. paramiko's exceptions never leave this module: callers see only
:mod:`ipsecctl.errors` classes, each naming the device and what to do.
"""

from __future__ import annotations

import logging
import socket
import subprocess

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
from .hostkeys import AskHostKey, KnownHosts, changed_key_error, host_key_name, make_policy

log = logging.getLogger(__name__)

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
    """paramiko's ProxyCommand only signals the process: also reap it and close its pipes, or
    every reconnect of a long-running dashboard leaks three descriptors and a zombie."""

    def close(self) -> None:
        if self.process.poll() is None:
            super().close()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()


def open_client(
    params: ConnectionParams,
    *,
    known: KnownHosts,
    sock: paramiko.Channel | paramiko.ProxyCommand | socket.socket | None = None,
    ask: AskHostKey | None = None,
    remaining: float | None = None,
) -> paramiko.SSHClient:
    """Connect and authenticate; raises a TransportError subclass naming ``params.name``."""
    port = params.effective_port
    name = host_key_name(params.hostname, port)
    t = params.timeouts
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(make_policy(params.host_key_policy, known, params.name, ask))
    known.load_into(client, name)
    if sock is None and params.proxy_command:
        sock = _ProxyCommand(expand_proxy_command(params.proxy_command, params))
    log.debug("connecting to %s (%s:%d) as %s", params.name, params.hostname, port, params.username)
    try:
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
        )
    except BaseException as exc:
        client.close()
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise map_error(exc, params, known) from exc
    return client


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
        entries = known.lookup(name) if known else []
        if entries:
            return changed_key_error(dev, name, exc.key, entries[0])
        return HostKeyError(
            f"HOST KEY CHANGED for {dev} ({name}); check the device and your known_hosts",
            device=dev,
        )
    if isinstance(exc, AuthenticationException):
        return AuthenticationError(
            f"authentication failed for {params.username or 'the local user'}@{dev} ({where}); "
            "check the username, password or key in the inventory",
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
                f"{dev} at {where} sent no SSH banner within {t.banner:g}s; check that the "
                "port is SSH and the device is not overloaded",
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
