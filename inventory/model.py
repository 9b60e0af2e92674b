"""Resolved hosts and the inventory that selects them.

A :class:`Host` is what the transport needs, fully resolved (inheritance done, secrets wrapped,
paths absolute); it never has to look anything up again.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inventory.errors import InventoryError
from inventory.secret import MASK, Secret

SECRET_KEY = re.compile(r"pass(word|wd|phrase)?|secret|psk|pre.?shared|(^|_)key($|_)|token", re.I)


def _redact_data(value: Any) -> Any:
    """Mask values under secret-looking keys (a PSK kept in ``data`` for provisioning)."""
    if isinstance(value, Secret):
        return MASK
    if isinstance(value, dict):
        return {
            k: (MASK if SECRET_KEY.search(str(k)) and v is not None else _redact_data(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact_data(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    """LineDict/LineList -> dict/list so exports are ordinary JSON-able data."""
    if isinstance(value, Secret):
        return value.get()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


@dataclass(frozen=True)
class Host:
    """One device (or a jump host) with everything needed to reach it.

    ``port`` is None when no inventory level sets it: the transport then takes ssh_config's
    ``Port`` for the hostname, else 22. Defaulting to 22 here would silently override
    ssh_config, so ``inventory list`` shows the port blank (JSON ``null``) in that case.

    ``credential_sources`` says where each credential that is set came from (``username``,
    ``password``, ``key_file``, ``enable_secret`` -> ``"hosts.yaml:7"``, ``"IPSECCTL_PASSWORD"``
    or ``"the command line"``), so an authentication error can point at the right place.
    """

    name: str
    hostname: str
    platform: str | None
    port: int | None = None
    username: str | None = None
    password: Secret | None = None
    key_file: Path | None = None
    use_agent: bool = True
    #: the SSH client for this host (``paramiko`` / ``openssh``); None: the command's
    transport: str | None = None
    enable_secret: Secret | None = None
    jump_host: Host | str | None = None
    groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    known_hosts: tuple[Path, ...] = ()
    expected_up: bool | tuple[str, ...] | None = None
    source: str = field(default="", repr=False, compare=False)
    credential_sources: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def is_expected_up(self, peer: str | None) -> bool | None:
        """Whether a tunnel to ``peer`` should be up; None when the inventory does not say."""
        if isinstance(self.expected_up, bool) or self.expected_up is None:
            return self.expected_up
        return peer is not None and peer in self.expected_up

    def jump_chain(self) -> list[Host | str]:
        """Jump hops from the outermost to the last before this host."""
        chain: list[Host | str] = []
        hop = self.jump_host
        while hop is not None:
            chain.insert(0, hop)
            hop = hop.jump_host if isinstance(hop, Host) else None
        return chain

    def as_dict(self, redact: bool = True) -> dict[str, Any]:
        """Plain data for ``inventory list``; secrets are masked unless ``redact=False``."""

        def secret(value: Secret | None) -> str | None:
            if value is None:
                return None
            return MASK if redact else value.get()

        jump: str | None
        jump = self.jump_host.name if isinstance(self.jump_host, Host) else self.jump_host
        data = _redact_data(self.data) if redact else self.data
        return {
            "name": self.name,
            "hostname": self.hostname,
            "port": self.port,
            "platform": self.platform,
            "username": self.username,
            "password": secret(self.password),
            "enable_secret": secret(self.enable_secret),
            "key_file": str(self.key_file) if self.key_file else None,
            "use_agent": self.use_agent,
            "transport": self.transport,
            "jump_host": jump,
            "groups": list(self.groups),
            "tags": list(self.tags),
            "known_hosts": [str(p) for p in self.known_hosts],
            "expected_up": (
                list(self.expected_up) if isinstance(self.expected_up, tuple) else self.expected_up
            ),
            "data": _plain(data),
        }


@dataclass(frozen=True)
class Inventory:
    """Hosts in file order, plus what selection needs (group membership, sources)."""

    hosts: dict[str, Host]
    group_names: tuple[str, ...] = ()
    memberships: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    sources: tuple[Path, ...] = ()
    root: Path | None = None

    def __iter__(self) -> Iterator[Host]:
        return iter(self.hosts.values())

    def __len__(self) -> int:
        return len(self.hosts)

    def __contains__(self, name: object) -> bool:
        return name in self.hosts

    def get(self, name: str) -> Host:
        try:
            return self.hosts[name]
        except KeyError:
            raise InventoryError(
                f"unknown host {name!r}{_close_matches(name, list(self.hosts))}"
            ) from None

    @property
    def devices(self) -> list[Host]:
        """Hosts that can be polled (a platform-less host is only a jump host)."""
        return [h for h in self.hosts.values() if h.platform is not None]

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(sorted({t for h in self.hosts.values() for t in h.tags}))

    def select(self, targets: list[str] | tuple[str, ...] | None = None) -> list[Host]:
        """Hosts named by ``targets``: names, ``group:NAME``, ``tag:NAME``, ``all`` (default).

        Items may also be comma-separated. Order is inventory order, each host once. Unknown
        names are errors with close matches: a typo must not silently poll nothing.
        """
        words = [w.strip() for t in (targets or []) for w in t.split(",") if w.strip()]
        if not words:
            words = ["all"]
        chosen: set[str] = set()
        for word in words:
            chosen.update(self._match(word))
        return [h for h in self.hosts.values() if h.name in chosen]

    def _match(self, word: str) -> set[str]:
        devices = [h.name for h in self.devices]
        if word == "all":
            return set(devices)
        if word.startswith("group:"):
            group = word.removeprefix("group:")
            if group not in self.group_names:
                hint = _close_matches(group, list(self.group_names))
                raise InventoryError(f"unknown group {group!r}{hint}")
            return {n for n in devices if group in self.memberships.get(n, frozenset())}
        if word.startswith("tag:"):
            tag = word.removeprefix("tag:")
            if tag not in self.tags:
                raise InventoryError(f"unknown tag {tag!r}{_close_matches(tag, list(self.tags))}")
            return {h.name for h in self.devices if tag in h.tags}
        host = self.get(word)
        if host.platform is None:
            raise InventoryError(
                f"host {word!r} has no platform (it is only usable as a jump host); "
                "set platform: on it to poll it"
            )
        return {word}

    def with_overrides(
        self,
        username: str | None = None,
        password: str | Secret | None = None,
        enable_secret: str | Secret | None = None,
        *,
        origins: dict[str, str] | None = None,
    ) -> Inventory:
        """A copy where the given credentials replace every host's (jump hosts included).

        Precedence is CLI > environment > inventory: the loader applies ``IPSECCTL_*``
        variables this way, then the CLI applies its own options on top. ``origins`` names
        where each given value came from (default ``"the command line"``); it is recorded in
        every host's ``credential_sources``.
        """
        if username is None and password is None and enable_secret is None:
            return self
        changes: dict[str, Any] = {}
        if username is not None:
            changes["username"] = username
        if password is not None:
            changes["password"] = password if isinstance(password, Secret) else Secret(password)
        if enable_secret is not None:
            changes["enable_secret"] = (
                enable_secret if isinstance(enable_secret, Secret) else Secret(enable_secret)
            )
        given = {key: (origins or {}).get(key, "the command line") for key in changes}
        return dataclasses.replace(self, hosts=rebuild(self.hosts, changes, given))


def rebuild(
    hosts: dict[str, Host], changes: dict[str, Any], origins: dict[str, str] | None = None
) -> dict[str, Host]:
    """Apply ``changes`` to every host, re-pointing jump hosts at the new objects."""
    done: dict[str, Host] = {}

    def build(host: Host) -> Host:
        if host.name in done:
            return done[host.name]
        jump = host.jump_host
        if isinstance(jump, Host):
            jump = build(hosts.get(jump.name, jump))
        sources = {**host.credential_sources, **(origins or {})}
        new = dataclasses.replace(host, jump_host=jump, credential_sources=sources, **changes)
        done[host.name] = new
        return new

    for host in hosts.values():
        build(host)
    return {name: done[name] for name in hosts}


def _close_matches(word: str, choices: list[str]) -> str:
    """The schema's suggestion (its module, and the YAML reader it uses, load when needed)."""
    from inventory.schema import close_matches

    return close_matches(word, choices)
