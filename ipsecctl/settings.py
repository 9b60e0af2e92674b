"""Where ipsecctl keeps things, and the defaults an operator can change in a config file.

Paths follow the platform's conventions (platformdirs: XDG on Linux) so that a shared jump host
keeps each operator's config, known_hosts, audit log and history apart. Precedence for every
setting: command-line option > environment (``IPSECCTL_<NAME>``) > config file > built-in
default. The CLI applies its own options on top of what :func:`load_settings` returns.

Environment: ``IPSECCTL_CONFIG`` (config file), ``IPSECCTL_STATE_DIR`` / ``IPSECCTL_DATA_DIR``
(relocate state/data, handy for tests and containers), and one ``IPSECCTL_<FIELD>`` per
:class:`Settings` field, e.g. ``IPSECCTL_WORKERS=32``, ``IPSECCTL_READ_ONLY=yes``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ipsecctl.errors import UsageError

APP = "ipsecctl"
ENV_PREFIX = "IPSECCTL_"
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})

#: what to do with an unknown host key (a changed key always fails): the one definition
HostKeyPolicy = Literal["reject", "ask", "accept-new"]
HOST_KEY_POLICIES: tuple[HostKeyPolicy, ...] = get_args(HostKeyPolicy)

#: how SSH is spoken: paramiko in this process, or the OpenSSH client (``ssh``) per device
TransportName = Literal["paramiko", "openssh"]
TRANSPORTS: tuple[TransportName, ...] = get_args(TransportName)


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def config_file(env: Mapping[str, str] | None = None) -> Path:
    env = _env(env)
    if env.get("IPSECCTL_CONFIG"):
        return Path(env["IPSECCTL_CONFIG"]).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.yaml"


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    env = _env(env)
    if env.get("IPSECCTL_DATA_DIR"):
        return Path(env["IPSECCTL_DATA_DIR"]).expanduser()
    return Path(platformdirs.user_data_dir(APP))


def state_dir(env: Mapping[str, str] | None = None) -> Path:
    env = _env(env)
    if env.get("IPSECCTL_STATE_DIR"):
        return Path(env["IPSECCTL_STATE_DIR"]).expanduser()
    return Path(platformdirs.user_state_dir(APP))


class Settings(BaseModel):
    """Tunable defaults. Timeouts are seconds; ``host_key_policy`` None means "decide":
    ``ask`` at a terminal, ``reject`` otherwise."""

    # built on first validation: a run with no config file and no IPSECCTL_* setting takes
    # the defaults as they are (see load_settings) and never needs the validator
    model_config = ConfigDict(extra="forbid", validate_assignment=True, defer_build=True)

    workers: int = Field(default=16, ge=1, le=1024)
    connect_timeout: float = Field(default=10.0, gt=0)
    command_timeout: float = Field(default=30.0, gt=0)
    device_timeout: float = Field(default=120.0, gt=0)
    # bytes one command may print before it is stopped (a runaway device must not exhaust RAM)
    max_output_mb: float = Field(default=32.0, gt=0)
    refresh_interval: float = Field(default=5.0, ge=1.0)
    host_key_policy: HostKeyPolicy | None = None
    # paramiko (default) or openssh: the OpenSSH client per device, less client CPU per poll
    transport: TransportName = "paramiko"
    read_only: bool = False
    audit_log: Path = Field(default_factory=lambda: state_dir() / "audit.jsonl")
    # locks (one action per tunnel across processes) and markers of actions in flight
    actions_dir: Path = Field(default_factory=lambda: state_dir() / "actions")
    history: Path = Field(default_factory=lambda: state_dir() / "history.sqlite3")
    # history store: a SQLite path or sqlite:///PATH, or postgresql://... shared by collectors;
    # None: the ``history`` file
    store: str | None = None
    history_retention_days: float = Field(default=30.0, gt=0)
    lab_dir: Path = Field(default_factory=lambda: state_dir() / "lab")
    known_hosts: Path = Field(default_factory=lambda: data_dir() / "known_hosts")
    log_file: Path | None = None
    # dashboard key remapping: binding id (listed in the dashboard's ? help) -> keys
    keymap: dict[str, str] = Field(default_factory=dict)


FIELDS = tuple(Settings.model_fields)
_PATH_FIELDS = ("audit_log", "actions_dir", "history", "lab_dir", "known_hosts", "log_file")


def _coerce_env(name: str, raw: str, var: str) -> Any:
    """Environment strings -> field values; booleans accept yes/no/on/off/1/0."""
    if name == "read_only":
        word = raw.strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise UsageError(f"{var}={raw!r}: expected one of yes/no, true/false, on/off, 1/0")
        return word in TRUE_WORDS
    if name in ("host_key_policy", "store") and raw.strip() in ("", "auto"):
        return None
    if name in _PATH_FIELDS:
        return Path(raw).expanduser()
    return raw.strip()


def _close(word: str) -> str:
    found = difflib.get_close_matches(word, FIELDS, n=2, cutoff=0.6)
    return f" (did you mean: {', '.join(found)}?)" if found else ""


def _read_config(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    # the YAML reader (and the inventory package it lives in) only when there is a file
    from inventory.errors import InventoryError as _YamlError
    from inventory.yamlio import LineDict, display, load_yaml

    try:
        loaded = load_yaml(path)
    except _YamlError as exc:
        raise UsageError(f"config file {exc}") from None
    if loaded is None:
        return {}, {}
    if not isinstance(loaded, dict):
        raise UsageError(f"{display(path)}: config file must be a mapping of setting: value")
    lines = loaded.lines if isinstance(loaded, LineDict) else {}
    values: dict[str, Any] = {}
    for key, value in loaded.items():
        line = lines.get(key, 1)
        if key not in FIELDS:
            raise UsageError(
                f"{display(path)}:{line}: unknown setting {key!r}{_close(str(key))}; "
                f"known: {', '.join(FIELDS)}"
            )
        if key in _PATH_FIELDS and isinstance(value, str):
            value = Path(value).expanduser()
            value = value if value.is_absolute() else path.parent / value
        values[str(key)] = value
    return values, {str(k): v for k, v in lines.items()}


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the config file (if it exists), then ``IPSECCTL_*`` variables.

    ``path`` overrides the config location; a missing default config file is fine, a missing
    explicitly named one is an error (a typo must not silently drop the operator's settings).
    """
    env = _env(env)
    explicit = path is not None or bool(env.get("IPSECCTL_CONFIG"))
    path = path if path is not None else config_file(env)
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if path.exists() or explicit:
        values, lines = _read_config(path)
    sources: dict[str, str] = {}
    if values:  # read from a file: named as the operator typed its path
        from inventory.yamlio import display

        sources = {name: f"{display(path)}:{lines.get(name, 1)}" for name in values}
    for name in FIELDS:
        var = ENV_PREFIX + name.upper()
        if var in env:
            values[name] = _coerce_env(name, env[var], var)
            sources[name] = var
    defaults = {
        "audit_log": state_dir(env) / "audit.jsonl",
        "actions_dir": state_dir(env) / "actions",
        "history": state_dir(env) / "history.sqlite3",
        "lab_dir": state_dir(env) / "lab",
        "known_hosts": data_dir(env) / "known_hosts",
    }
    if not values:  # the defaults alone: this module's own values, nothing to check
        return Settings.model_construct(None, **defaults)
    try:
        return Settings.model_validate({**defaults, **values})
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "?"
        where = sources.get(name, "settings")
        raise UsageError(f"{where}: {name}: {first['msg']}") from None


def paths(
    settings: Settings | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Path]:
    """Every location ``ipsecctl info`` prints (the inventory is the CLI's to add)."""
    settings = settings or load_settings(env=env)
    state = state_dir(env)
    return {
        "config": config_file(env),
        "data_dir": data_dir(env),
        "state_dir": state,
        "known_hosts": settings.known_hosts,
        "lab_dir": settings.lab_dir,
        "audit_log": settings.audit_log,
        "actions_dir": settings.actions_dir,
        "history": settings.history,
        "log_file": settings.log_file or state / "ipsecctl.log",
    }
