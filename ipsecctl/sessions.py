"""Inventory hosts -> live command runners, kept open between polls and actions.

The pool is the only place that turns an inventory ``Host`` into transport parameters, so the
CLI, the dashboard and the actions layer all connect the same way (same host-key policy, same
jump hosts, same timeouts). In replay mode it hands out runners that read saved outputs
instead of connecting, which is how offline analysis and deterministic tests work.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from inventory import Host
from ipsecctl.platforms import get_platform

if TYPE_CHECKING:
    from ipsecctl.settings import HostKeyPolicy, Settings
    from ipsecctl.transport import ConnectionParams, JumpPool
    from ipsecctl.transport.base import CommandRunner
    from ipsecctl.transport.interactive import Shell

AskHostKey = Callable[[str, str, str, str], bool]


class SessionPool:
    """One runner per device name, created on first use and reused until discarded."""

    def __init__(
        self,
        settings: Settings,
        *,
        host_key_policy: HostKeyPolicy = "reject",
        ask_host_key: AskHostKey | None = None,
        replay_dir: Path | None = None,
        save_raw: Path | None = None,
        save_raw_secrets: bool = False,
        extra_known_hosts: list[Path] | None = None,
        transport: str | None = None,
    ) -> None:
        self.settings = settings
        # paramiko or openssh for the hosts whose inventory names none (None: the setting);
        # see transport_for and ipsecctl.transport.open_session
        self.transport = transport or settings.transport
        self.host_key_policy = host_key_policy
        self.ask_host_key = ask_host_key
        self.replay_dir = replay_dir
        self.save_raw = save_raw
        self.save_raw_secrets = save_raw_secrets
        self.extra_known_hosts = list(extra_known_hosts or [])
        self._runners: dict[str, CommandRunner] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._jumps: JumpPool | None = None
        self._abandoned = False

    def _device_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(name, threading.Lock())

    def session(self, host: Host) -> CommandRunner:
        """The device's runner (connecting now if needed); raises TransportError subclasses."""
        if self._abandoned:
            from ipsecctl.errors import ConnectError

            raise ConnectError(f"{host.name}: the session pool was closed", device=host.name)
        with self._device_lock(host.name):
            runner = self._runners.get(host.name)
            if runner is None:
                runner = self._open(host)
                if self.save_raw is not None:
                    from ipsecctl.transport import RawRecorder

                    runner = RawRecorder(self.save_raw, runner, keep_secrets=self.save_raw_secrets)
                self._runners[host.name] = runner
            return runner

    def endpoint(self, host: Host) -> str | None:
        """Where this pool's sessions reach ``host``: ``host:port`` as the inventory gives it
        (the host alone when the port is left to ssh_config), None for saved outputs."""
        if self.replay_dir is not None:
            return None
        return f"{host.hostname}:{host.port}" if host.port else host.hostname

    def _open(self, host: Host) -> CommandRunner:
        if self.replay_dir is not None:
            from ipsecctl.transport.replay import ReplayRunner

            return ReplayRunner(self.replay_dir, host.name)
        from ipsecctl.transport import JumpPool, KnownHosts, open_session

        own = Path(self.settings.known_hosts)
        with self._lock:
            if self._jumps is None:
                self._jumps = JumpPool(ask=self.ask_host_key, own=own)
        params = self.params_for(host)
        return open_session(
            params,
            get_platform(host.platform or ""),
            ask_host_key=self.ask_host_key,
            jump_pool=self._jumps,
            known_hosts=KnownHosts(params.known_hosts, own=own),
            transport=self.transport_for(host),
        )

    def transport_for(self, host: Host) -> str:
        """The SSH client for ``host``: its inventory's ``transport`` (the host needs that
        one: an old device that only paramiko's legacy algorithms reach, a path only OpenSSH's
        own configuration knows), else the pool's (``--transport``, IPSECCTL_TRANSPORT, the
        configuration), as inventory connection settings go."""
        return host.transport or self.transport

    def params_for(self, host: Host) -> ConnectionParams:
        """Inventory host -> transport ConnectionParams (jump hosts resolved recursively)."""
        from ipsecctl.transport import ConnectionParams, Timeouts

        jump: ConnectionParams | str | None = None
        if isinstance(host.jump_host, Host):
            jump = self.params_for(host.jump_host)
        else:
            jump = host.jump_host
        known = [Path(p) for p in host.known_hosts]
        key_file = host.key_file
        s = self.settings
        return ConnectionParams(
            name=host.name,
            hostname=host.hostname,
            port=host.port,
            username=host.username,
            password=host.password.get() if host.password else None,
            key_filename=(str(key_file),) if key_file else (),
            use_agent=host.use_agent,
            enable_secret=host.enable_secret.get() if host.enable_secret else None,
            platform=host.platform or "",
            jump=jump,
            known_hosts=tuple(known + self.extra_known_hosts),
            host_key_policy=self.host_key_policy,
            timeouts=Timeouts(
                connect=float(s.connect_timeout),
                command=float(s.command_timeout),
                overall=float(s.device_timeout),
            ),
            credential_sources=tuple(host.credential_sources.items()),
            max_output=int(s.max_output_mb * 1024 * 1024),
        )

    def open_shell(self, host: Host, *, width: int = 80, height: int = 24) -> Shell:
        """An interactive shell on ``host`` for a person (the dashboard's ``s``): the same
        parameters, host-key policy, known_hosts and jump transports as the command sessions."""
        from ipsecctl.errors import UsageError
        from ipsecctl.transport import JumpPool, KnownHosts
        from ipsecctl.transport.interactive import open_shell

        if self.replay_dir is not None or self._abandoned:
            raise UsageError(f"{host.name}: no shell on a replayed or closed session pool")
        own = Path(self.settings.known_hosts)
        with self._lock:
            if self._jumps is None:
                self._jumps = JumpPool(ask=self.ask_host_key, own=own)
            jumps = self._jumps
        params = self.params_for(host)
        return open_shell(
            params,
            known=KnownHosts(params.known_hosts, own=own),
            jump_pool=jumps,
            ask=self.ask_host_key,
            width=width,
            height=height,
        )

    def discard(self, name: str) -> None:
        """Forget (and close) a device's runner so the next use reconnects."""
        with self._lock:
            runner = self._runners.pop(name, None)
        if runner is not None:
            # closing a broken session must not mask the real error
            with contextlib.suppress(Exception):
                runner.close()

    def close(self, *, abandon: bool = False) -> None:
        """Close every session; ``abandon`` cuts sockets from this thread without waiting on
        any device (connects and reads in progress included) and hands the orderly close to
        daemon threads, so a device that hangs cannot hold the caller (quitting)."""
        with self._lock:
            if abandon:
                self._abandoned = True  # no new session (or jump) after this
            runners = list(self._runners.values())
            self._runners.clear()
            jumps, self._jumps = self._jumps, None
        if abandon:
            if jumps is not None:
                with contextlib.suppress(Exception):
                    jumps.abandon()
            for runner in runners:
                with contextlib.suppress(Exception):
                    runner.close(abandon=True)
            return
        for runner in runners:
            with contextlib.suppress(Exception):
                runner.close()
        if jumps is not None:
            with contextlib.suppress(Exception):
                jumps.close()
