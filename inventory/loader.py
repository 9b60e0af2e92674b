"""Load a nornir SimpleInventory (directory, explicit files, or one combined file).

Inheritance follows nornir: a value set on the host wins, then its groups in the order listed
(each group before its own parent groups, depth first), then ``defaults``. Within that order,
values under ``connection_options`` (``ipsecctl`` > ``netmiko`` > ``paramiko``) win over the
plain keys, as nornir's ``get_connection_parameters`` does. ``data`` is merged key by key with
the same priority. ``tags`` and ``data.known_hosts`` accumulate along the chain (a group's tag
is the host's tag too).

Credentials: after loading, ``IPSECCTL_USERNAME``, ``IPSECCTL_PASSWORD`` and
``IPSECCTL_ENABLE_SECRET`` replace the inventory's values for every host; the CLI then applies
its own options with :meth:`Inventory.with_overrides`, giving CLI > environment > inventory.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from inventory.errors import InventoryError
from inventory.interpolate import interpolate
from inventory.lines import LineDict, display
from inventory.model import Host, Inventory
from inventory.schema import Entry, Kind, PlatformNames, Value, close_matches, parse_entry
from inventory.secret import Secret

ENV_INVENTORY = "IPSECCTL_INVENTORY"
ENV_CREDENTIALS = {
    "username": "IPSECCTL_USERNAME",
    "password": "IPSECCTL_PASSWORD",
    "enable_secret": "IPSECCTL_ENABLE_SECRET",
}
_SECTIONS = ("hosts", "groups", "defaults")
_HOP = re.compile(r"^(?:[^@\s,]+@)?(?:\[[0-9A-Fa-f:.]+\]|[^:@\s\[\],]+)(?::(\d{1,5}))?$")


def _first(directory: Path, stem: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        candidate = directory / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def find_inventory(
    explicit: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Path | None:
    """Where the inventory is: explicit, ``$IPSECCTL_INVENTORY``, ``./inventory/``, or None.

    None means "no inventory here"; the CLI then falls back to the running lab. An explicit or
    environment path that does not exist is an error rather than a silent fallback, because
    polling the lab instead of production by accident would be worse than stopping.
    """
    env = os.environ if env is None else env
    for value, origin in ((explicit, "--inventory"), (env.get(ENV_INVENTORY), ENV_INVENTORY)):
        if value:
            path = Path(value).expanduser()
            if not path.exists():
                raise InventoryError(
                    f"{origin}: {value}: no such file or directory "
                    "(give a directory with hosts.yaml, or a single inventory YAML file)",
                    path=path,
                )
            return path
    local = (cwd or Path.cwd()) / "inventory"
    if local.is_dir() and _first(local, "hosts") is not None:
        return local
    return None


def _section(path: Path, loaded: Any, what: str) -> LineDict:
    if loaded is None:
        return LineDict()
    if not isinstance(loaded, dict):
        line = getattr(loaded, "line", 1)
        raise InventoryError(
            f"{display(path)}:{line}: expected a mapping of {what} by name, "
            f"got {type(loaded).__name__}",
            path=path,
            line=line,
        )
    if isinstance(loaded, LineDict):
        return loaded
    out = LineDict(loaded)
    out.line = 1
    return out


#: reads one inventory YAML file into LineDict/LineList/scalars (raising InventoryError)
YamlReader = Callable[[Path], Any]


def read_yaml(path: Path) -> Any:
    """The default :data:`YamlReader`: PyYAML (libyaml), imported when a file is read."""
    from inventory.yamlio import load_yaml

    return load_yaml(path)


def _read_files(
    path: Path | None,
    hosts_file: Path | None,
    groups_file: Path | None,
    defaults_file: Path | None,
    load_yaml: YamlReader = read_yaml,
) -> tuple[dict[str, tuple[Path, LineDict, int]], list[Path], Path]:
    """Each section's (file, mapping, line) plus the files read and the inventory's root."""
    sections: dict[str, tuple[Path, LineDict, int]] = {}
    files: list[Path] = []
    if path is not None and path.is_dir():
        hosts_file = hosts_file or _first(path, "hosts")
        if hosts_file is None:
            raise InventoryError(
                f"{display(path)}: no hosts.yaml in this directory "
                "(a nornir SimpleInventory needs hosts.yaml; groups.yaml and defaults.yaml "
                "are optional)",
                path=path,
            )
        groups_file = groups_file or _first(path, "groups")
        defaults_file = defaults_file or _first(path, "defaults")
    elif path is not None:
        loaded = load_yaml(path)
        files.append(path)
        if (
            path.stem not in _SECTIONS
            and isinstance(loaded, dict)
            and "hosts" in loaded
            and set(loaded) <= set(_SECTIONS)
        ):
            for name in _SECTIONS:
                line = loaded.line_of(name) if isinstance(loaded, LineDict) else 1
                sections[name] = (path, _section(path, loaded.get(name), name), line)
            return sections, files, path.parent
        if path.stem in ("groups", "defaults"):
            raise InventoryError(
                f"{display(path)}: give the inventory directory or hosts.yaml, not {path.name}",
                path=path,
            )
        sections["hosts"] = (path, _section(path, loaded, "hosts"), 1)
        groups_file = groups_file or _first(path.parent, "groups")
        defaults_file = defaults_file or _first(path.parent, "defaults")
    if hosts_file is None and "hosts" not in sections:
        raise InventoryError("no inventory given (a directory, hosts.yaml or a single YAML file)")
    for name, file in (("hosts", hosts_file), ("groups", groups_file), ("defaults", defaults_file)):
        if file is not None and name not in sections:
            sections[name] = (file, _section(file, load_yaml(file), name), 1)
            files.append(file)
    root = sections["hosts"][0].parent
    return sections, files, root


def load_inventory(
    path: str | Path | None = None,
    *,
    hosts_file: str | Path | None = None,
    groups_file: str | Path | None = None,
    defaults_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    apply_env: bool = True,
    platforms: PlatformNames | None = None,
    yaml_reader: YamlReader = read_yaml,
) -> Inventory:
    """Load, validate and resolve an inventory; every problem is an :class:`InventoryError`.

    ``env`` (default ``os.environ``) feeds ``${VAR}`` interpolation and, when ``apply_env``,
    the ``IPSECCTL_USERNAME/PASSWORD/ENABLE_SECRET`` overrides. ``platforms`` maps every
    accepted platform spelling to its canonical name (the application's platform registry);
    without it any platform name is taken as written. ``yaml_reader`` reads each file (the
    application may answer from a cache of what an unchanged file held).
    """
    env = os.environ if env is None else env
    sections, files, root = _read_files(
        Path(path).expanduser() if path is not None else None,
        Path(hosts_file) if hosts_file is not None else None,
        Path(groups_file) if groups_file is not None else None,
        Path(defaults_file) if defaults_file is not None else None,
        yaml_reader,
    )
    hosts_path, hosts_raw, hosts_line = sections["hosts"]
    if not hosts_raw:
        raise InventoryError(
            f"{display(hosts_path)}:{hosts_line}: no hosts defined", path=hosts_path, line=1
        )
    hosts = _entries("host", sections["hosts"], env, platforms)
    groups = _entries("group", sections["groups"], env, platforms) if "groups" in sections else {}
    defaults = Entry(kind="defaults", name="defaults", path=hosts_path, line=1)
    if "defaults" in sections:
        dpath, draw, dline = sections["defaults"]
        body = interpolate(draw, env, display(dpath), draw.line or dline, "defaults")
        defaults = parse_entry("defaults", "defaults", body, dpath, draw.line or dline, platforms)
    lineage = _lineages(hosts, groups)
    inventory = _resolve(hosts, groups, defaults, lineage, files, root)
    if apply_env:
        inventory = inventory.with_overrides(
            **{key: env.get(var) or None for key, var in ENV_CREDENTIALS.items()},
            origins=dict(ENV_CREDENTIALS),
        )
    return inventory


def _entries(
    kind: Kind,
    section: tuple[Path, LineDict, int],
    env: Mapping[str, str],
    platforms: PlatformNames | None = None,
) -> dict[str, Entry]:
    path, raw, _ = section
    shown = display(path)
    out: dict[str, Entry] = {}
    for name, body in raw.items():
        line = raw.line_of(name)
        if not isinstance(name, str | int) or isinstance(name, bool) or str(name).strip() == "":
            raise InventoryError(
                f"{shown}:{line}: {kind} name must be a non-empty string, got {name!r}",
                path=path,
                line=line,
            )
        label = f"{kind} {str(name)!r}"
        body = interpolate(body, env, shown, line, label)
        out[str(name)] = parse_entry(kind, str(name), body, path, line, platforms)
    return out


def _lineages(hosts: dict[str, Entry], groups: dict[str, Entry]) -> dict[str, list[str]]:
    """Every host's and group's groups in resolution order; unknown and circular refs fail."""
    memo: dict[str, list[str]] = {}

    def check_refs(entry: Entry) -> None:
        for ref in entry.groups:
            if ref.value not in groups:
                hint = close_matches(ref.value, list(groups))
                defined = ", ".join(groups) or "none"
                raise entry.fail(
                    ref.line,
                    "groups",
                    f"group {ref.value!r} is not defined{hint}; defined groups: {defined}",
                )

    def of_group(name: str, stack: tuple[str, ...]) -> list[str]:
        if name in stack:
            loop = " -> ".join((*stack[stack.index(name) :], name))
            entry = groups[stack[-1]]
            line = next((r.line for r in entry.groups if r.value == name), entry.line)
            raise entry.fail(line, "groups", f"circular group membership: {loop}")
        if name not in memo:
            order: list[str] = [name]
            for ref in groups[name].groups:
                order.extend(of_group(ref.value, (*stack, name)))
            memo[name] = order
        return memo[name]

    for entry in groups.values():
        check_refs(entry)
    for entry in hosts.values():
        check_refs(entry)
    for name in groups:
        of_group(name, ())
    result: dict[str, list[str]] = {}
    for name, entry in hosts.items():
        seen: dict[str, None] = {}
        for ref in entry.groups:
            for group in memo[ref.value]:
                seen.setdefault(group, None)
        result[name] = list(seen)
    return result


def _pick(chain: list[Entry], key: str) -> Value | None:
    for entry in chain:
        if key in entry.conn:
            return entry.conn[key]
    for entry in chain:
        if key in entry.attrs:
            return entry.attrs[key]
    return None


def _resolve(
    hosts: dict[str, Entry],
    groups: dict[str, Entry],
    defaults: Entry,
    lineage: dict[str, list[str]],
    files: list[Path],
    root: Path,
) -> Inventory:
    chains = {n: [e, *(groups[g] for g in lineage[n]), defaults] for n, e in hosts.items()}
    jumps: dict[str, Value] = {}
    for name, chain in chains.items():
        jump = _pick(chain, "jump_host")
        if jump is not None:
            jumps[name] = jump
    jump_targets = {j.value for j in jumps.values() if j.value in hosts}
    _check_jumps(hosts, jumps)

    built: dict[str, Host] = {}

    def build(name: str) -> Host:
        if name in built:
            return built[name]
        entry, chain = hosts[name], chains[name]
        jump_value = jumps.get(name)
        jump: Host | str | None = None
        if jump_value is not None:
            jump = build(jump_value.value) if jump_value.value in hosts else jump_value.value
        platform = _pick(chain, "platform")
        if platform is None and name not in jump_targets:
            raise entry.fail(
                entry.line,
                "platform",
                "missing: set it on the host, one of its groups or defaults "
                "(cisco_ios, cisco_iosxe, cisco_asa, strongswan)",
            )
        data: dict[str, Any] = {}
        for source in reversed(chain):
            data.update({k: v.value for k, v in source.data.items()})
        tags: dict[str, None] = {}
        known: dict[Path, None] = {}
        for source in chain:
            for value in (source.attrs.get("tags"), source.data.get("tags")):
                for tag in value.value if value is not None else ():
                    tags.setdefault(tag, None)
        for source in reversed(chain):
            files_value = source.data.get("known_hosts")
            for file in files_value.value if files_value is not None else ():
                known.setdefault(file, None)
        expected = data.get("expected_up")

        def get(key: str, default: Any = None) -> Any:
            found = _pick(chain, key)
            return found.value if found is not None else default

        password: Secret | None = get("password")
        enable: Secret | None = get("enable_secret")
        sources: dict[str, str] = {}
        for key in ("username", "password", "key_file", "enable_secret"):
            found = _pick(chain, key)
            if found is not None and found.value is not None:
                sources[key] = found.where
        host = Host(
            name=name,
            hostname=get("hostname", name),
            platform=platform.value if platform is not None else None,
            port=get("port"),  # None: ssh_config's Port, else 22 (decided by the transport)
            username=get("username"),
            password=password,
            key_file=get("key_file"),
            use_agent=get("use_agent", True),
            transport=get("transport"),
            enable_secret=enable,
            jump_host=jump,
            groups=tuple(r.value for r in entry.groups),
            tags=tuple(tags),
            data=data,
            known_hosts=tuple(known),
            expected_up=expected if isinstance(expected, bool | tuple) else None,
            source=entry.where,
            credential_sources=sources,
        )
        built[name] = host
        return host

    for name in hosts:
        build(name)
    memberships = {n: frozenset(lineage[n]) for n in hosts}
    return Inventory(
        hosts={n: built[n] for n in hosts},
        group_names=tuple(groups),
        memberships=memberships,
        sources=tuple(files),
        root=root,
    )


def _check_jumps(hosts: dict[str, Entry], jumps: dict[str, Value]) -> None:
    """Jump targets exist (or are ProxyJump strings) and never loop back."""

    def fail(value: Value, problem: str) -> InventoryError:
        return InventoryError(
            f"{value.where}: jump_host: {problem}",
            path=value.path,
            line=value.line,
            field="jump_host",
        )

    for name, value in jumps.items():
        target = value.value
        if target in hosts:
            continue
        if any(c in target for c in "@:,"):
            for hop in target.split(","):
                match = _HOP.match(hop.strip())
                if match is None or (match.group(1) and not 1 <= int(match.group(1)) <= 65535):
                    raise fail(value, f"{hop!r} is not a ProxyJump hop [user@]host[:port]")
            continue
        raise fail(
            value,
            f"host {name!r} jumps via {target!r}, which is not in the inventory"
            f"{close_matches(target, list(hosts))}; name an inventory host or write "
            "user@host[:port]",
        )
    for start in jumps:
        path = [start]
        current = start
        while current in jumps and jumps[current].value in hosts:
            current = jumps[current].value
            if current in path:
                loop = " -> ".join([*path[path.index(current) :], current])
                raise fail(jumps[start], f"jump hosts form a loop: {loop}")
            path.append(current)
