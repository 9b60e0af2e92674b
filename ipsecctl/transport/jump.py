"""ssh_config resolution and jump-host chains, with one shared transport per jump host.

paramiko parses ssh_config but applies nothing and knows no ProxyJump, so both are done here:
HostName/Port/User/IdentityFile/ProxyJump/ProxyCommand are applied to the parameters (explicit
inventory values win, as OpenSSH's command line does), and each hop is tunnelled through the
previous one with ``direct-tcpip``. :class:`JumpPool` keeps one authenticated transport per
chain so a hundred routers behind one bastion cost one bastion login, not a hundred.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import paramiko

from ipsecctl.errors import ConnectError, InputFileError, TransportError

from .base import ConnectionParams
from .cancel import Cancel, cut
from .client import cap, close_client, map_error, open_client
from .hostkeys import AskHostKey, KnownHosts

log = logging.getLogger(__name__)

DEFAULT_SSH_CONFIG = Path("~/.ssh/config")
MAX_HOPS = 8

_HOP_RE = re.compile(r"^(?:(?P<user>[^@]+)@)?(?P<host>\[[^\]]+\]|[^:]+)(?::(?P<port>\d+))?$")


def _config_text(params: ConnectionParams) -> str | None:
    if not params.use_ssh_config:
        return None
    path = params.ssh_config
    if path is None:
        default = DEFAULT_SSH_CONFIG.expanduser()
        if not default.is_file():
            return None
        path = default
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(
            f"cannot read ssh_config {path}: {exc}; fix the file or pass another path"
        ) from None


def load_ssh_config(params: ConnectionParams) -> paramiko.SSHConfig | None:
    """The ssh_config that applies: the named file, else ~/.ssh/config if present.

    Explicit ``port``/``username`` are put first, as OpenSSH treats command-line options,
    so they win over the file and ``%p``/``%r`` in ProxyCommand expand to them.
    """
    text = _config_text(params)
    if text is None:
        return None
    first = ""
    if params.port is not None:
        first += f"  Port {params.port}\n"
    if params.username:
        first += f"  User {params.username}\n"
    if first:
        text = f"Host *\n{first}\n{text}"
    try:
        return paramiko.SSHConfig.from_text(text)
    except paramiko.ssh_exception.ConfigParseError as exc:
        raise InputFileError(
            f"cannot parse ssh_config {params.ssh_config or DEFAULT_SSH_CONFIG}: {exc}; fix it"
        ) from None


def resolve_params(
    params: ConnectionParams, config: paramiko.SSHConfig | None = None
) -> ConnectionParams:
    """Apply ssh_config to ``params`` (a pure function of the two inputs)."""
    if config is None:
        config = load_ssh_config(params)
    if config is None:
        return params
    opts = config.lookup(params.hostname)
    port = params.port
    if port is None and "port" in opts:
        port = int(opts["port"])
    identity = params.key_filename or tuple(
        str(Path(p).expanduser()) for p in opts.get("identityfile", [])
    )
    jump = params.jump
    proxy_command = params.proxy_command
    if jump is None and proxy_command is None:
        proxy_jump = opts.get("proxyjump")
        proxy_cmd = opts.get("proxycommand")
        if proxy_jump and proxy_jump.lower() != "none":
            jump = proxy_jump
        elif proxy_cmd and proxy_cmd.lower() != "none":
            proxy_command = proxy_cmd
    return replace(
        params,
        hostname=opts.get("hostname", params.hostname),
        port=port,
        username=params.username or opts.get("user"),
        key_filename=identity,
        jump=jump,
        proxy_command=proxy_command,
    )


def parse_proxy_jump(spec: str, device: ConnectionParams) -> list[ConnectionParams]:
    """``user@host:port,host2`` -> hops, outermost first; hops share the device's keys/agent.

    Hop passwords are never inherited from the device: a bastion login is its own credential.
    """
    hops = []
    key_source = device.credential_source("key_file")
    for raw in spec.split(","):
        raw = raw.strip().removeprefix("ssh://")
        match = _HOP_RE.match(raw)
        if not raw or not match:
            raise InputFileError(
                f"bad ProxyJump {spec!r} for {device.name}: expected user@host:port[,...]"
            )
        host = match["host"].strip("[]")
        hops.append(
            ConnectionParams(
                name=f"jump host {raw}",
                hostname=host,
                port=int(match["port"]) if match["port"] else None,
                username=match["user"],
                key_filename=device.key_filename,
                use_agent=device.use_agent,
                look_for_keys=device.look_for_keys,
                known_hosts=device.known_hosts,
                host_key_policy=device.host_key_policy,
                ssh_config=device.ssh_config,
                use_ssh_config=device.use_ssh_config,
                timeouts=device.timeouts,
                credential_sources=((("username", f"ProxyJump {spec}"),) if match["user"] else ())
                + ((("key_file", key_source),) if key_source else ()),
            )
        )
    return hops


def jump_chain(params: ConnectionParams) -> list[ConnectionParams]:
    """Every hop in front of ``params`` (already resolved), outermost first."""
    if params.jump is None:
        return []
    if isinstance(params.jump, str):
        hops = [resolve_params(h) for h in parse_proxy_jump(params.jump, params)]
        # A hop's own ProxyJump from ssh_config is not followed: the chain given is the chain.
        hops = [replace(h, jump=None) if isinstance(h.jump, str) else h for h in hops]
    else:
        hop = resolve_params(params.jump)
        hops = [*jump_chain(hop), replace(hop, jump=None)]
    if len(hops) > MAX_HOPS:
        raise InputFileError(f"jump chain for {params.name} is longer than {MAX_HOPS} hops")
    return hops


class Abandonable(Protocol):
    def abandon(self) -> None: ...


def _hop_key(hop: ConnectionParams) -> tuple[str | None, str, int]:
    return (hop.username, hop.hostname, hop.effective_port)


class JumpPool:
    """Authenticated jump transports, one per chain, shared by every device behind it.

    It is also the set of sessions opened with it (they register themselves), so that
    :meth:`abandon` can cut every connection of a pool at once, including those still
    connecting, which a caller holding only finished sessions could not reach.
    """

    def __init__(
        self,
        known: KnownHosts | None = None,
        *,
        ask: AskHostKey | None = None,
        own: Path | None = None,
    ) -> None:
        self._known = known
        self._own = own
        self._ask = ask
        self._clients: dict[tuple[tuple[str | None, str, int], ...], paramiko.SSHClient] = {}
        self._locks: dict[tuple[tuple[str | None, str, int], ...], threading.Lock] = {}
        self._guard = threading.Lock()
        self._cancel = Cancel("jump host")
        self._sessions: weakref.WeakSet[Abandonable] = weakref.WeakSet()

    def __bool__(self) -> bool:
        """A pool is a pool even while empty (``pool or JumpPool()`` must not replace it)."""
        return True

    def __len__(self) -> int:
        with self._guard:
            return sum(1 for c in self._clients.values() if _alive(c))

    def transport(
        self, hops: list[ConnectionParams], *, remaining: float | None = None
    ) -> paramiko.Transport:
        """The live transport to the last hop, connecting (or reconnecting) hops as needed."""
        transport: paramiko.Transport | None = None
        for i, hop in enumerate(hops):
            key = tuple(_hop_key(h) for h in hops[: i + 1])
            with self._guard:
                lock = self._locks.setdefault(key, threading.Lock())
            with lock:
                client = self._clients.get(key)
                if client is None or not _alive(client):
                    if client is not None:  # a dead hop: forget its socket before replacing it
                        old = client.get_transport()
                        self._cancel.forget(getattr(old, "sock", None))
                    sock = None
                    if transport is not None:
                        sock = _direct_tcpip(transport, hop, remaining)
                    known = self._known or KnownHosts(hop.known_hosts, own=self._own)
                    log.debug("opening %s", hop.name)
                    client = open_client(
                        hop,
                        known=known,
                        sock=sock,
                        ask=self._ask,
                        remaining=remaining,
                        cancel=self._cancel,
                    )
                    with self._guard:
                        self._clients[key] = client
                t = client.get_transport()
                assert t is not None
                transport = t
        assert transport is not None
        return transport

    def open_channel(
        self,
        hops: list[ConnectionParams],
        target: ConnectionParams,
        *,
        remaining: float | None = None,
    ) -> paramiko.Channel:
        """A direct-tcpip channel to ``target`` through the chain; errors name the device."""
        try:
            transport = self.transport(hops, remaining=remaining)
        except TransportError as exc:
            raise type(exc)(f"{target.name}: {exc.message}", device=target.name) from exc
        return _direct_tcpip(transport, target, remaining)

    def register(self, session: Abandonable) -> None:
        with self._guard:
            self._sessions.add(session)

    def unregister(self, session: Abandonable) -> None:
        with self._guard:
            self._sessions.discard(session)

    def close(self) -> None:
        with self._guard:
            clients = list(self._clients.values())
            self._clients.clear()
        self._cancel.clear()
        for client in reversed(clients):
            close_client(client)

    def abandon(self) -> None:
        """Cut every registered session and jump transport now, without waiting; the pool
        opens nothing afterwards. Orderly closes finish on daemon threads."""
        with self._guard:
            sessions = list(self._sessions)
            self._sessions.clear()
            clients = list(self._clients.values())
            self._clients.clear()
        self._cancel.cancel()
        for session in sessions:
            session.abandon()
        for client in clients:
            transport = client.get_transport()
            if transport is not None:
                cut(transport)
        if clients:
            threading.Thread(
                target=_close_all, args=(clients,), name="ipsecctl-close", daemon=True
            ).start()


def _close_all(clients: list[paramiko.SSHClient]) -> None:
    for client in reversed(clients):
        close_client(client)


def _alive(client: paramiko.SSHClient) -> bool:
    t = client.get_transport()
    return t is not None and t.is_active()


def _direct_tcpip(
    transport: paramiko.Transport, target: ConnectionParams, remaining: float | None
) -> paramiko.Channel:
    dest = (target.hostname, target.effective_port)
    try:
        return transport.open_channel(
            "direct-tcpip",
            dest,
            ("127.0.0.1", 0),
            timeout=cap(target.timeouts.connect, remaining),
        )
    except (paramiko.SSHException, OSError, EOFError) as exc:
        err = map_error(exc, target)
        if isinstance(err, ConnectError) or type(err) is TransportError:
            raise ConnectError(
                f"jump host could not open a channel to {target.name} at "
                f"{target.hostname}:{target.effective_port} ({exc}); check the address and "
                "that the jump host allows TCP forwarding",
                device=target.name,
            ) from exc
        raise err from exc
