"""What every transport offers the layers above: a :class:`CommandRunner` and its parameters.

The collector, actions and TUI only ever see a ``CommandRunner``; whether the text came from a
live SSH shell, an exec channel or a folder of saved outputs is decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import NamedTuple, Protocol, Self, runtime_checkable

from ipsecctl.settings import HOST_KEY_POLICIES as HOST_KEY_POLICIES
from ipsecctl.settings import HostKeyPolicy

# the one definition lives with the settings; the transport speaks of it by this name
HostKeyPolicyName = HostKeyPolicy

DEFAULT_MAX_OUTPUT = 32 * 1024 * 1024  # bytes per command; see ``ConnectionParams.max_output``
_SECRET_FIELDS = frozenset({"password", "enable_secret", "passphrase"})


class Timeouts(NamedTuple):
    """Every network wait has a bound, so one slow device never stalls a poll or the UI.

    ``overall`` is the per-device budget: connect + prepare, and again per ``renew_deadline()``
    (one poll of the device); every individual wait is cut short when the budget runs out.
    """

    connect: float = 10.0
    banner: float = 15.0
    auth: float = 15.0
    command: float = 30.0
    overall: float = 120.0


@dataclass(frozen=True)
class ConnectionParams:
    """How to reach one device. ``repr()`` never shows secrets (logs and tracebacks print it).

    ``port`` and ``username`` left as ``None`` are taken from ssh_config, else 22 / the local
    user. ``jump`` is another :class:`ConnectionParams` or an OpenSSH ProxyJump string
    (``user@host:port,user2@host2``). ``ssh_config`` names an ssh_config file; ``None`` means
    ``~/.ssh/config`` when it exists (``use_ssh_config=False`` ignores it).
    ``credential_sources`` maps ``username``/``password``/``key_file``/``enable_secret`` to
    where each came from (``"hosts.yaml:7"``, ``"IPSECCTL_PASSWORD"``), for error hints only.
    ``max_output`` bounds the bytes one command may return (echo and prompt included): a
    device that floods stops that command with an error instead of exhausting memory.
    """

    name: str
    hostname: str
    port: int | None = None
    username: str | None = None
    password: str | None = None
    key_filename: tuple[str, ...] = ()
    passphrase: str | None = None
    use_agent: bool = True
    look_for_keys: bool = False
    enable_secret: str | None = None
    platform: str = "cisco_ios"
    jump: ConnectionParams | str | None = None
    proxy_command: str | None = None
    known_hosts: tuple[Path, ...] = ()
    host_key_policy: HostKeyPolicyName = "reject"
    ssh_config: Path | None = None
    use_ssh_config: bool = True
    timeouts: Timeouts = field(default_factory=Timeouts)
    credential_sources: tuple[tuple[str, str], ...] = ()
    max_output: int = DEFAULT_MAX_OUTPUT

    def __post_init__(self) -> None:
        # Accept lists from loaders but keep the object hashable/immutable.
        if isinstance(self.key_filename, str):
            object.__setattr__(self, "key_filename", (self.key_filename,))
        else:
            object.__setattr__(self, "key_filename", tuple(self.key_filename))
        object.__setattr__(self, "known_hosts", tuple(Path(p) for p in self.known_hosts))
        sources = self.credential_sources
        pairs = sources.items() if isinstance(sources, dict) else sources  # loaders pass dicts
        object.__setattr__(self, "credential_sources", tuple((str(k), str(v)) for k, v in pairs))

    def credential_source(self, key: str) -> str | None:
        """Where ``key`` (``password``, ``key_file``, ...) came from, when the caller said."""
        return dict(self.credential_sources).get(key)

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else 22

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS:
                parts.append(f"{f.name}={'***' if value else None}")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"ConnectionParams({', '.join(parts)})"

    __str__ = __repr__


@runtime_checkable
class CommandRunner(Protocol):
    """Runs show/action commands on one device and returns only their output.

    ``send`` returns the command's output without the echoed command or the trailing prompt,
    and raises :class:`ipsecctl.errors.TransportError` subclasses (``CommandRejected`` when the
    device printed a failure indicator). Runners are context managers that close on exit.
    """

    device: str
    platform: str

    def send(self, command: str, *, timeout: float | None = None) -> str: ...

    def close(self, *, abandon: bool = False) -> None:
        """Close the session; ``abandon`` returns at once whatever the device does."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class RunnerBase:
    """Context-manager plumbing shared by the concrete runners."""

    def close(self, *, abandon: bool = False) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
