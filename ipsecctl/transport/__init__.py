"""SSH to devices (paramiko, or the OpenSSH client with ``transport="openssh"``): sessions,
jump-host chains, host keys, prompts, paging; and saved-output replay. Everything above this
package sees only :class:`CommandRunner`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ipsecctl.platforms import Platform, get_platform

if TYPE_CHECKING:
    from .base import (
        DEFAULT_MAX_OUTPUT,
        HOST_KEY_POLICIES,
        CommandRunner,
        ConnectionParams,
        HostKeyPolicyName,
        Timeouts,
    )
    from .hostkeys import AskHostKey, KnownHosts, fingerprint, host_key_name, own_known_hosts
    from .jump import JumpPool, jump_chain, load_ssh_config, parse_proxy_jump, resolve_params
    from .replay import RawRecorder, ReplayRunner, command_slug, private_dir, write_private
    from .ssh import SshSession, clean_output

#: where each export lives: imported on first use, so that replaying saved outputs (or
#: reading this package's base types) never loads paramiko and cryptography
_EXPORTS = {
    **dict.fromkeys(
        (
            "DEFAULT_MAX_OUTPUT",
            "HOST_KEY_POLICIES",
            "CommandRunner",
            "ConnectionParams",
            "HostKeyPolicyName",
            "Timeouts",
        ),
        ".base",
    ),
    **dict.fromkeys(
        ("AskHostKey", "KnownHosts", "fingerprint", "host_key_name", "own_known_hosts"), ".hostkeys"
    ),
    **dict.fromkeys(
        ("JumpPool", "jump_chain", "load_ssh_config", "parse_proxy_jump", "resolve_params"), ".jump"
    ),
    **dict.fromkeys(
        ("RawRecorder", "ReplayRunner", "command_slug", "private_dir", "write_private"), ".replay"
    ),
    **dict.fromkeys(("SshSession", "clean_output"), ".ssh"),
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_MAX_OUTPUT",
    "HOST_KEY_POLICIES",
    "AskHostKey",
    "CommandRunner",
    "ConnectionParams",
    "HostKeyPolicyName",
    "JumpPool",
    "KnownHosts",
    "RawRecorder",
    "ReplayRunner",
    "SshSession",
    "Timeouts",
    "clean_output",
    "command_slug",
    "fingerprint",
    "host_key_name",
    "jump_chain",
    "load_ssh_config",
    "open_session",
    "own_known_hosts",
    "parse_proxy_jump",
    "private_dir",
    "resolve_params",
    "write_private",
]


def open_session(
    params: ConnectionParams,
    platform: Platform | str | None = None,
    *,
    ask_host_key: AskHostKey | None = None,
    jump_pool: JumpPool | None = None,
    known_hosts: KnownHosts | None = None,
    transport: str = "paramiko",
) -> SshSession:
    """Connect now (so errors surface here) and return the ready session.

    ``transport``: ``paramiko`` (SSH in this process) or ``openssh`` (an ``ssh`` client
    process per device, :mod:`.openssh`); both give the same runner API and errors.
    """
    from .ssh import SshSession

    plat = platform if isinstance(platform, Platform) else get_platform(platform or params.platform)
    kind: type[SshSession] = SshSession
    if transport == "openssh":
        from .openssh import OpenSshSession

        kind = OpenSshSession
    elif transport != "paramiko":
        from ipsecctl.errors import UsageError

        raise UsageError(f"unknown transport {transport!r}; use paramiko or openssh")
    session = kind(
        params, plat, ask_host_key=ask_host_key, jump_pool=jump_pool, known_hosts=known_hosts
    )
    return session.connect()
