"""What the OpenSSH client's messages mean, as ipsecctl's errors (pure functions).

ssh ends with status 255 and a line or two on stderr for every failure to connect; those
lines (OpenSSH 8 and 9 wording) are matched here and turned into the same error classes, and
as far as the text allows the same one-line messages, as the paramiko transport raises: a
changed host key names the known_hosts line that disagrees, an unknown one the fingerprint
the device offered (from ssh's ``-v`` output), a refused login where the credentials came
from. Debug lines (``debug1: ...``) are evidence, never shown as the error itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ipsecctl.errors import (
    AlgorithmError,
    AuthenticationError,
    ConnectError,
    HostKeyError,
    TimeoutError_,
    TransportError,
)

from .base import ConnectionParams
from .client import _auth_hint, _login
from .hostkeys import KnownHosts, fingerprint, host_key_name

_SERVER_KEY_RE = re.compile(r"^debug1: Server host key: (\S+) (SHA256:\S+)")
_OFFERED_RE = re.compile(r"The fingerprint for the (\S+) key sent by the remote host is")
_FP_RE = re.compile(r"^(SHA256:\S+?)\.?$")
_OFFENDING_RE = re.compile(r"Offending (\S+) key (?:for IP )?in (.+):(\d+)$")
_UNKNOWN_RE = re.compile(r"No (\S+) host key is known for (\S+) and you have requested strict")
_NEGOTIATE_RE = re.compile(r"Unable to negotiate with .*?: (no matching .*)")

#: OpenSSH's key-type words -> the SSH names the paramiko transport reports
KEY_TYPES = {
    "ED25519": "ssh-ed25519",
    "RSA": "ssh-rsa",
    "ECDSA": "ecdsa-sha2-nistp256",
    "DSA": "ssh-dss",
}


def _said(lines: Sequence[str]) -> list[str]:
    return [line for line in lines if not line.startswith("debug")]


def server_key(lines: Sequence[str]) -> tuple[str, str] | None:
    """The host key the device offered (type, ``SHA256:`` fingerprint), from ``-v`` output."""
    found = None
    for line in lines:
        match = _SERVER_KEY_RE.match(line)
        if match:
            found = (match[1], match[2])
    return found


def _changed(
    lines: Sequence[str], params: ConnectionParams, known: KnownHosts | None
) -> HostKeyError:
    dev = params.name
    name = host_key_name(params.hostname, params.effective_port)
    offered_type, offered_fp = None, None
    for i, line in enumerate(lines):
        match = _OFFERED_RE.search(line)
        if match and i + 1 < len(lines):
            offered_type = KEY_TYPES.get(match[1], match[1])
            fp = _FP_RE.match(lines[i + 1].strip())
            offered_fp = fp[1] if fp else None
    seen = server_key(lines)
    if offered_fp is None and seen is not None:
        offered_type, offered_fp = seen
    offered = f"{offered_type} {offered_fp}" if offered_fp else "another key"
    where, theirs = "", ""
    for line in lines:
        match = _OFFENDING_RE.search(line)
        if match:
            path, lineno = match[2], int(match[3])
            where = f"{path}:{lineno}"
            for entry in known.lookup(name) if known else []:
                if str(entry.path) == path and entry.line == lineno:
                    theirs = f" {entry.key_type} {fingerprint(entry.key)}"
            break
    has = f"{where} has{theirs}" if where else "known_hosts has another key"
    return HostKeyError(
        f"HOST KEY CHANGED for {dev} ({name}): the device offered {offered} but {has}; if "
        "the change is expected, remove that line and reconnect",
        device=dev,
    )


def ssh_failure(
    lines: Sequence[str],
    params: ConnectionParams,
    *,
    known: KnownHosts | None = None,
    host_key_refusal: str | None = None,
) -> TransportError:
    """The error for an ssh that ended before the session was ready.

    ``params`` are the resolved parameters (names and addresses as the operator knows them);
    ``host_key_refusal`` is the message to give when ipsecctl itself declined an unknown key
    (policy ``ask``) and ssh only says "Host key verification failed".
    """
    dev = params.name
    port = params.effective_port
    where = f"{params.hostname}:{port}"
    said = _said(lines)
    text = "\n".join(said)
    low = text.lower()
    name = host_key_name(params.hostname, port)
    changed = "remote host identification has changed" in low
    if changed or ("host key for" in low and "has changed" in low):
        return _changed(said + [x for x in lines if x.startswith("debug1: Server")], params, known)
    unknown = next((m for m in map(_UNKNOWN_RE.search, said) if m), None)
    if unknown is not None:
        seen = server_key(lines)
        key = f"{seen[0]} fingerprint {seen[1]}" if seen else f"{unknown[1]} key"
        return HostKeyError(
            f"unknown host key for {dev} ({name}, {key}); verify it and rerun with "
            "--host-key-policy accept-new, or add it to known_hosts",
            device=dev,
        )
    if "host key verification failed" in low:
        return HostKeyError(
            host_key_refusal
            or f"host key for {dev} ({name}) could not be verified; check "
            "the device and your known_hosts",
            device=dev,
        )
    if "permission denied" in low or "too many authentication failures" in low:
        if not (params.password or params.key_filename or params.use_agent):
            return AuthenticationError(
                f"no credentials to log in as {_login(params)}: no password, key file or "
                "ssh-agent key was available; set key_file (or password) for it in the "
                "inventory or ~/.ssh/config (IdentityFile), export IPSECCTL_PASSWORD, or add a "
                "key to ssh-agent",
                device=dev,
            )
        return AuthenticationError(
            f"authentication failed for {_login(params)}; {_auth_hint(params)}", device=dev
        )
    negotiate = next((m for m in map(_NEGOTIATE_RE.search, said) if m), None)
    if negotiate is not None:
        return AlgorithmError(
            f"{dev} ({where}) and this OpenSSH client share no algorithm ({negotiate[1]}); "
            "enable one for this host in ssh_config (KexAlgorithms +..., HostKeyAlgorithms "
            "+ssh-rsa, Ciphers +...) or modern ones on the device",
            device=dev,
        )
    if "could not resolve hostname" in low:
        return ConnectError(
            f"cannot resolve {params.hostname} for {dev}; check the hostname", device=dev
        )
    if "connection refused" in low:
        return ConnectError(
            f"cannot connect to {dev} at {where}: connection refused; check the address, the "
            "port and that SSH is enabled on the device",
            device=dev,
        )
    if "banner exchange" in low and "timed out" in low:
        return TimeoutError_(
            f"{dev} at {where} sent no SSH banner within {params.timeouts.connect:g} s; check "
            "that the port is SSH and the device is not overloaded or hung, or raise the "
            "connect timeout",
            device=dev,
        )
    if "timed out" in low:
        return TimeoutError_(
            f"{dev} at {where} did not answer within {params.timeouts.connect:g}s (connect "
            "timeout); check reachability or raise the timeout",
            device=dev,
        )
    if "open failed" in low or "stdio forwarding failed" in low:
        return ConnectError(
            f"the jump host could not reach {dev} at {where}; check the address and the jump "
            "host's forwarding",
            device=dev,
        )
    for marker in ("no route to host", "network is unreachable"):
        if marker in low:
            return ConnectError(f"cannot connect to {dev} at {where}: {marker}", device=dev)
    if "connection closed" in low or "connection reset" in low or "kex_exchange" in low:
        return ConnectError(
            f"{dev} at {where} closed the connection during SSH negotiation; check the "
            "device's SSH access lists and limits",
            device=dev,
        )
    last = said[-1] if said else "ssh ended without a message"
    return ConnectError(f"SSH to {dev} at {where} failed: {last}", device=dev)


#: how far a connection got, from ssh's ``-v`` lines, in order
PHASES = (
    ("debug1: Connection established", "banner"),
    ("debug1: Executing proxy", "banner"),
    ("debug1: Remote protocol version", "kex"),
    ("debug1: SSH2_MSG_NEWKEYS received", "auth"),
)


def phase_after(phase: str, line: str) -> str:
    """The connection's phase once ``line`` was seen (phases only move forward)."""
    order = ("connect", "banner", "kex", "auth")
    for prefix, reached in PHASES:
        if line.startswith(prefix) and order.index(reached) > order.index(phase):
            return reached
    return phase


def login_timeout(phase: str, params: ConnectionParams, waited: float) -> TimeoutError_:
    """The error for a login that did not finish within its budget, naming the phase."""
    dev = params.name
    where = f"{params.hostname}:{params.effective_port}"
    if phase == "connect":
        text = f"did not answer within {waited:g}s (connect timeout); check reachability"
    elif phase == "banner":
        text = (
            f"sent no SSH banner within {waited:g} s; check that the port is SSH and the "
            "device is not overloaded or hung,"
        )
    elif phase == "kex":
        text = f"did not finish the SSH key exchange within {waited:g} s; it may be overloaded,"
    else:
        text = f"did not finish authentication within {waited:g}s; it may be overloaded,"
    return TimeoutError_(f"{dev} at {where} {text} or raise the timeout", device=dev)
