"""Validation of one inventory entry (a host, a group or the defaults) where it is written.

Each entry is checked on its own, in its own file, before any inheritance: an error then points
at the line that holds the bad value (``groups.yaml:7: group 'hubs': port: ...``) rather than at
every host that inherits it.

The keys are nornir's SimpleInventory keys (``hostname port username password platform groups
data connection_options``) plus a few ipsecctl extensions (``enable_secret key_file use_agent
jump_host tags transport``). ``connection_options`` entries ``ipsecctl``, ``netmiko`` and
``paramiko`` are read (in that order of priority); other connection types are accepted and
ignored, so a fleet's existing nornir inventory loads unchanged.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from inventory.errors import InventoryError
from inventory.lines import LineDict, LineList, display
from inventory.secret import Secret

#: every accepted spelling of a platform -> its canonical name; the application that loads the
#: inventory supplies it (ipsecctl builds it from its platform files). Without one, any name is
#: accepted as written (lower-cased): the inventory is usable on its own.
PlatformNames = Mapping[str, str]

BASE_KEYS = ("hostname", "port", "username", "password", "platform")
EXTENSION_KEYS = ("enable_secret", "key_file", "use_agent", "jump_host", "tags", "transport")
#: the SSH clients ipsecctl can use for a host (``ipsecctl.settings.TRANSPORTS``, checked equal
#: by a test): the inventory is readable without ipsecctl, so it names them itself
TRANSPORTS = ("paramiko", "openssh")
CONNECTION_TYPES = ("ipsecctl", "netmiko", "paramiko")
CONNECTION_KEYS = (*BASE_KEYS, "extras")
EXTRAS_KEYS: dict[str, str] = {
    "secret": "enable_secret",
    "enable_secret": "enable_secret",
    "key_file": "key_file",
    "key_filename": "key_file",
    "use_agent": "use_agent",
    "allow_agent": "use_agent",
    "jump_host": "jump_host",
    "proxy_jump": "jump_host",
    "transport": "transport",
}
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})

Kind = Literal["host", "group", "defaults"]


@dataclass
class Value:
    """A validated value and where it was written."""

    value: Any
    path: Path
    line: int

    @property
    def where(self) -> str:
        return f"{display(self.path)}:{self.line}"


@dataclass
class Entry:
    """One validated host, group or defaults block, before inheritance."""

    kind: Kind
    name: str
    path: Path
    line: int
    attrs: dict[str, Value] = field(default_factory=dict)
    conn: dict[str, Value] = field(default_factory=dict)
    groups: list[Value] = field(default_factory=list)
    data: dict[str, Value] = field(default_factory=dict)
    platforms: PlatformNames | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return "defaults" if self.kind == "defaults" else f"{self.kind} {self.name!r}"

    @property
    def where(self) -> str:
        return f"{display(self.path)}:{self.line}"

    def fail(self, line: int, fieldname: str, problem: str) -> InventoryError:
        return InventoryError(
            f"{display(self.path)}:{line}: {self.label}: {fieldname}: {problem}",
            path=self.path,
            line=line,
            field=fieldname,
        )


def close_matches(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean: a, b?)`` or ``''``; used by every 'unknown name' message."""
    found = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f" (did you mean: {', '.join(found)}?)" if found else ""


def canonical_platform(value: str, platforms: PlatformNames | None = None) -> str | None:
    """The canonical name of ``value``; None when ``platforms`` does not know it."""
    name = value.strip().lower()
    if platforms is None:
        return name or None
    return platforms.get(name)


def _platform(entry: Entry, line: int, name: str, raw: Any) -> str:
    known = sorted({*entry.platforms.values()}) if entry.platforms else []
    if not isinstance(raw, str):
        raise entry.fail(
            line, name, "must be a platform name" + (f" ({', '.join(known)})" if known else "")
        )
    found = canonical_platform(raw, entry.platforms)
    if found is None:
        aliases = ", ".join(
            f"{a}={p}" for a, p in sorted((entry.platforms or {}).items()) if a != p
        )
        raise entry.fail(
            line,
            name,
            f"unknown platform {raw!r}{close_matches(raw, known)}; known: "
            f"{', '.join(known)}" + (f" (aliases: {aliases})" if aliases else ""),
        )
    return found


def _hostname(entry: Entry, line: int, name: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise entry.fail(line, name, "must be a non-empty string (a DNS name or an address)")
    return raw.strip()


def _port(entry: Entry, line: int, name: str, raw: Any) -> int:
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 65535:
        raise entry.fail(line, name, f"must be an integer 1-65535, got {raw!r}")
    return raw


def _text(entry: Entry, line: int, name: str, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise entry.fail(line, name, "must be a string")
    return str(raw)


def _secret(entry: Entry, line: int, name: str, raw: Any) -> Secret | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        # Never echo the value: it is a secret, even when it is of the wrong type.
        raise entry.fail(line, name, "must be a string")
    # Empty means "not set" so that `${VAR:-}` leaves the secret to a group or the defaults.
    return Secret(str(raw)) if str(raw) != "" else None


def _bool(entry: Entry, line: int, name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.strip().lower() in TRUE_WORDS
    raise entry.fail(line, name, f"must be true or false, got {raw!r}")


def _transport(entry: Entry, line: int, name: str, raw: Any) -> str:
    word = raw.strip().lower() if isinstance(raw, str) else raw
    if word not in TRANSPORTS:
        raise entry.fail(line, name, f"must be one of {', '.join(TRANSPORTS)}, got {raw!r}")
    return str(word)


def _path(entry: Entry, line: int, name: str, raw: Any) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise entry.fail(line, name, "must be a file path")
    path = Path(raw.strip()).expanduser()
    return path if path.is_absolute() else (entry.path.parent / path).resolve()


def _jump(entry: Entry, line: int, name: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise entry.fail(
            line, name, "must be an inventory host name or a ProxyJump string user@host[:port]"
        )
    return raw.strip()


def _names(entry: Entry, line: int, name: str, raw: Any) -> list[str]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str | int) for i in items):
        raise entry.fail(line, name, "must be a list of names")
    return [str(i) for i in items]


def _paths(entry: Entry, line: int, name: str, raw: Any) -> list[Path]:
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise entry.fail(line, name, "must be a file path or a list of them")
    seq_lines = items.lines if isinstance(items, LineList) else []
    return [
        _path(entry, seq_lines[i] if i < len(seq_lines) else line, f"{name}[{i}]", item)
        for i, item in enumerate(items)
    ]


def _expected_up(entry: Entry, line: int, name: str, raw: Any) -> bool | tuple[str, ...]:
    if isinstance(raw, bool):
        return raw
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list):
        raise entry.fail(line, name, "must be true, false or a list of peer addresses")
    seq_lines = items.lines if isinstance(items, LineList) else []
    peers: list[str] = []
    for i, item in enumerate(items):
        try:
            peers.append(str(ipaddress.ip_address(str(item).strip())))
        except ValueError:
            item_line = seq_lines[i] if i < len(seq_lines) else line
            raise entry.fail(item_line, f"{name}[{i}]", f"{item!r} is not an IP address") from None
    return tuple(peers)


Validator = Callable[[Entry, int, str, Any], Any]

ATTR_VALIDATORS: dict[str, Validator] = {
    "hostname": _hostname,
    "port": _port,
    "username": _text,
    "password": _secret,
    "platform": _platform,
    "enable_secret": _secret,
    "key_file": _path,
    "use_agent": _bool,
    "transport": _transport,
    "jump_host": _jump,
    "tags": _names,
}
DATA_VALIDATORS: dict[str, Validator] = {
    "tags": _names,
    "known_hosts": _paths,
    "expected_up": _expected_up,
}


def _mapping(entry: Entry, raw: Any, line: int, name: str) -> LineDict:
    if raw is None:
        return LineDict()
    if not isinstance(raw, dict):
        raise entry.fail(line, name, "must be a mapping")
    if isinstance(raw, LineDict):
        return raw
    out = LineDict(raw)
    out.line = line
    return out


def parse_entry(
    kind: Kind, name: str, raw: Any, path: Path, line: int, platforms: PlatformNames | None = None
) -> Entry:
    """Validate one already-interpolated YAML block into an :class:`Entry`."""
    entry = Entry(kind=kind, name=name, path=path, line=line, platforms=platforms)
    body = _mapping(entry, raw, line, "entry")
    allowed = [*BASE_KEYS, *EXTENSION_KEYS, "data", "connection_options"]
    if kind != "defaults":
        allowed.append("groups")
    for key, value in body.items():
        key_line = body.line_of(key)
        if key not in allowed:
            hint = close_matches(str(key), allowed)
            raise entry.fail(key_line, str(key), f"unknown key{hint}; known: {', '.join(allowed)}")
        if value is None:
            continue  # nornir: null means "inherit"
        if key in ATTR_VALIDATORS:
            checked = ATTR_VALIDATORS[key](entry, key_line, key, value)
            if checked is not None:
                entry.attrs[key] = Value(checked, path, key_line)
        elif key == "groups":
            seq_lines = value.lines if isinstance(value, LineList) else []
            for i, group in enumerate(_names(entry, key_line, "groups", value)):
                entry.groups.append(
                    Value(group, path, seq_lines[i] if i < len(seq_lines) else key_line)
                )
        elif key == "data":
            data = _mapping(entry, value, key_line, "data")
            for dkey, dvalue in data.items():
                dline = data.line_of(dkey)
                check = DATA_VALIDATORS.get(str(dkey))
                result = (
                    check(entry, dline, f"data.{dkey}", dvalue)
                    if check and dvalue is not None
                    else dvalue
                )
                entry.data[str(dkey)] = Value(result, path, dline)
        elif key == "connection_options":
            _connection_options(entry, _mapping(entry, value, key_line, key), path)
    return entry


def _connection_options(entry: Entry, options: LineDict, path: Path) -> None:
    """Fold ipsecctl > netmiko > paramiko connection options into ``entry.conn``."""
    for ctype in reversed(CONNECTION_TYPES):  # lowest priority first, later ones overwrite
        if ctype not in options or options[ctype] is None:
            continue
        cline = options.line_of(ctype)
        params = _mapping(entry, options[ctype], cline, f"connection_options.{ctype}")
        for key, value in params.items():
            pline = params.line_of(key)
            fname = f"connection_options.{ctype}.{key}"
            if key not in CONNECTION_KEYS:
                hint = close_matches(str(key), CONNECTION_KEYS)
                raise entry.fail(
                    pline, fname, f"unknown key{hint}; known: {', '.join(CONNECTION_KEYS)}"
                )
            if value is None:
                continue
            if key == "extras":
                extras = _mapping(entry, value, pline, fname)
                for ekey, evalue in extras.items():
                    target = EXTRAS_KEYS.get(str(ekey))
                    if target is None or evalue is None:
                        continue  # other tools' extras (fast_cli, ...) are theirs
                    eline = extras.line_of(ekey)
                    checked = ATTR_VALIDATORS[target](entry, eline, f"{fname}.{ekey}", evalue)
                    if checked is not None:
                        entry.conn[target] = Value(checked, path, eline)
            else:
                checked = ATTR_VALIDATORS[key](entry, pline, fname, value)
                if checked is not None:
                    entry.conn[key] = Value(checked, path, pline)
