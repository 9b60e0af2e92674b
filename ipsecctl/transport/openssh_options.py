"""The OpenSSH client's command line and configuration for one device (pure functions).

The security settings go into a generated ssh_config file passed with ``-F``, not only onto
the command line: OpenSSH hands ``-F`` (and nothing of ``-o``) to the ``ssh -W`` it runs for
each ProxyJump hop, so the hops' host keys are checked against the same files, under the same
policy, as the device's. The file holds no secret. The operator's own ssh_config is included
after these settings: in ssh_config the first value obtained wins, so HostName, Port, User,
IdentityFile, ProxyJump and algorithm settings come from it, while host-key checking cannot be
weakened by it (as with the paramiko transport, which ignores those keywords).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ipsecctl.errors import InputFileError

from .base import ConnectionParams, HostKeyPolicyName
from .jump import DEFAULT_SSH_CONFIG

SSH_BINARY = "ssh"

#: ``--host-key-policy`` -> OpenSSH's StrictHostKeyChecking. ``ask`` puts the question to
#: ipsecctl's askpass helper, which asks the operator through the same callback as paramiko.
STRICT: dict[HostKeyPolicyName, str] = {"reject": "yes", "accept-new": "accept-new", "ask": "ask"}


def quote(value: str, what: str) -> str:
    """One ssh_config argument in double quotes (the only quoting ssh_config has)."""
    if '"' in value or "\n" in value:
        raise InputFileError(f"{what} {value!r} contains a quote or a newline; rename it")
    return f'"{value}"'


def user_config(params: ConnectionParams) -> Path | None:
    """The operator's ssh_config that applies (as the paramiko transport reads it): the named
    file, else ~/.ssh/config when it exists; None when ssh_config is not used."""
    if not params.use_ssh_config:
        return None
    if params.ssh_config is not None:
        return Path(params.ssh_config).expanduser()
    default = DEFAULT_SSH_CONFIG.expanduser()
    return default if default.is_file() else None


def config_text(params: ConnectionParams, *, known_files: Sequence[Path], own: Path) -> str:
    """The generated ssh_config: host-key checking, authentication limits, then the
    operator's file. ``known_files`` are every file the paramiko transport consults (system,
    ipsecctl's own, the inventory's); ``own`` is put first because OpenSSH records new keys
    (accept-new, ask) in the first UserKnownHostsFile, where the paramiko transport records
    them too. No GlobalKnownHostsFile: the system files are in the list already."""
    policy = STRICT.get(params.host_key_policy)
    if policy is None:
        from ipsecctl.errors import HostKeyError

        raise HostKeyError(
            f"unknown host key policy {params.host_key_policy!r} for {params.name}; use "
            "reject, ask or accept-new",
            device=params.name,
        )
    user_files = [own, *(f for f in known_files if f != own)]
    lines = [
        "# ipsecctl: the OpenSSH client's settings for one device (no secrets in here)",
        f"StrictHostKeyChecking {policy}",
        "UserKnownHostsFile " + " ".join(quote(str(f), "known_hosts path") for f in user_files),
        "GlobalKnownHostsFile none",
        # keys are filed as the paramiko transport files them: plain names, no IP entries,
        # and no rewriting of known_hosts behind the operator's back
        "HashKnownHosts no",
        "CheckHostIP no",
        "UpdateHostKeys no",
        "VerifyHostKeyDNS no",
        # one password attempt: a refused password is an error, not a loop of prompts
        "NumberOfPasswordPrompts 1",
        "BatchMode no",
        f"ConnectTimeout {max(1, round(params.timeouts.connect))}",
        "ForwardAgent no",
        "ForwardX11 no",
        "ClearAllForwardings yes",
        "PermitLocalCommand no",
    ]
    if not params.use_agent:
        lines.append("IdentityAgent none")
    included = user_config(params)
    if included is not None:
        if not included.is_file():
            raise InputFileError(
                f"cannot read ssh_config {included}: no such file; fix the path or pass another"
            )
        lines.append("Include " + quote(str(included), "ssh_config path"))
    return "\n".join(lines) + "\n"


def _hop(params: ConnectionParams) -> str:
    host = params.hostname
    if ":" in host:
        host = f"[{host}]"
    user = f"{params.username}@" if params.username else ""
    port = f":{params.port}" if params.port is not None else ""
    return f"{user}{host}{port}"


def jump_spec(jump: ConnectionParams | str) -> str:
    """A ProxyJump string for ``-J``: given as it is, or built from the hop parameters
    (outermost first, a hop's own jump before it)."""
    if isinstance(jump, str):
        return jump
    hops = [_hop(jump)]
    inner = jump.jump
    while inner is not None:
        if isinstance(inner, str):
            hops.insert(0, inner)
            break
        hops.insert(0, _hop(inner))
        inner = inner.jump
    return ",".join(hops)


#: OpenSSH 9.5+ hides the timing of keystrokes typed into a terminal session: what is typed
#: leaves in fixed 20 ms ticks, with chaff packets around it. ipsecctl's terminal sessions
#: carry commands a program writes, not typing (the dashboard's interactive shell is
#: paramiko's), and with it on every command waits for the next tick: measured on 50 lab
#: routers with OpenSSH 10.0, a refresh took 0.76 s instead of 0.57 s and 30% more CPU.
NO_KEYSTROKE_TIMING = ("-o", "ObscureKeystrokeTiming=no")


def ssh_argv(
    params: ConnectionParams,
    config: Path,
    *,
    shell: bool,
    control: Path | None = None,
    keystroke_timing: bool = False,
) -> list[str]:
    """The ssh command line for ``params`` as given (unresolved: ssh applies ssh_config).

    ``shell``: a terminal session (``-tt``, no escape character); else a connection master
    (``-M -N`` on ``control``) that exec commands then share. No secret is ever an argument.
    ``keystroke_timing``: this ssh knows ``ObscureKeystrokeTiming`` (9.5+; an older one
    refuses the option), which a terminal session then turns off.
    """
    argv = [SSH_BINARY, "-F", str(config), "-v"]
    if shell:
        argv += ["-tt", "-e", "none", "-o", "ControlMaster=no", "-o", "ControlPath=none"]
        if keystroke_timing:
            argv += NO_KEYSTROKE_TIMING
    else:
        assert control is not None
        argv += ["-M", "-N", "-S", str(control), "-o", "ControlPersist=no"]
    if params.port is not None:
        argv += ["-p", str(params.port)]
    if params.username:
        argv += ["-l", params.username]
    for key in params.key_filename:
        argv += ["-i", str(Path(key).expanduser())]
    if not params.key_filename and not params.look_for_keys:
        # paramiko's look_for_keys=False: no ~/.ssh/id_* unless ssh_config names them
        argv += ["-o", "IdentityFile=none"]
    if params.jump is not None:
        argv += ["-J", jump_spec(params.jump)]
    elif params.proxy_command:
        argv += ["-o", f"ProxyCommand={params.proxy_command}"]
    argv += ["--", params.hostname]
    return argv


def exec_argv(params: ConnectionParams, config: Path, control: Path, command: str) -> list[str]:
    """One command over an open connection master (no new login)."""
    argv = [SSH_BINARY, "-F", str(config), "-S", str(control), "-o", "ControlMaster=no", "-T"]
    if params.port is not None:
        argv += ["-p", str(params.port)]
    if params.username:
        argv += ["-l", params.username]
    return [*argv, "--", params.hostname, command]
