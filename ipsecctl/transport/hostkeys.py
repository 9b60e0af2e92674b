"""Host-key verification against known_hosts files, and the three unknown-key policies.

Verification reads every known_hosts file itself (system, ipsecctl's own, the inventory's) so a
changed key can be reported with the file and line an operator must edit; paramiko only sees
the already-matching entries (which also makes it negotiate the key type we know).
paramiko's auto-accepting policies are never used: an unknown key is rejected, recorded
(``accept-new``) or put to a person (``ask``); a changed key always fails.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko
from paramiko.hostkeys import HostKeyEntry, HostKeys
from platformdirs import user_data_dir

from ipsecctl.errors import HostKeyError

from .base import HostKeyPolicyName

log = logging.getLogger(__name__)

AskHostKey = Callable[[str, str, str, str], bool]
"""``ask(device, hostname, key_type, fingerprint) -> accept?`` supplied by the CLI or TUI."""

SYSTEM_KNOWN_HOSTS = (Path("~/.ssh/known_hosts"), Path("/etc/ssh/ssh_known_hosts"))

_write_lock = threading.Lock()


def own_known_hosts() -> Path:
    """ipsecctl's own known_hosts, where ``accept-new`` and ``ask`` record first-seen keys."""
    override = os.environ.get("IPSECCTL_KNOWN_HOSTS")
    if override:
        return Path(override).expanduser()
    data = os.environ.get("IPSECCTL_DATA_DIR")
    if data:
        return Path(data).expanduser() / "known_hosts"
    return Path(user_data_dir("ipsecctl")) / "known_hosts"


def host_key_name(hostname: str, port: int) -> str:
    """The name OpenSSH files a key under: ``host`` on port 22, ``[host]:port`` otherwise."""
    return hostname if port == 22 else f"[{hostname}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:...`` fingerprint, the form operators compare against."""
    return str(key.fingerprint)


@dataclass(frozen=True)
class KnownEntry:
    """One usable known_hosts line, with where it came from for error messages."""

    path: Path
    line: int
    key_type: str
    key: paramiko.PKey


def _matches(names: Sequence[str], wanted: str) -> bool:
    for name in names:
        if name.startswith("|1|"):
            salt = name.split("|")[2]
            if HostKeys.hash_host(wanted, salt) == name:
                return True
        elif name == wanted:
            return True
    return False


@dataclass(frozen=True)
class _Index:
    """One known_hosts file's usable lines by host name, hashed names kept apart.

    Only the names are read here; a line's key (base64 decoding and a key object per line)
    is built when a lookup matches it. Reading every key of the file for every connection
    made a fleet's first poll quadratic: each of 2,000 routers named in one known_hosts built
    2,000 keys, twice.
    """

    plain: dict[str, list[tuple[int, str]]]
    hashed: list[tuple[int, str, tuple[str, ...]]]

    @classmethod
    def read(cls, text: str) -> _Index:
        plain: dict[str, list[tuple[int, str]]] = {}
        hashed: list[tuple[int, str, tuple[str, ...]]] = []
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith(("#", "@")):
                continue  # markers (@cert-authority/@revoked) are beyond what we verify
            names = tuple(line.split(None, 1)[0].split(","))
            if any(n.startswith("|1|") for n in names):
                hashed.append((lineno, line, names))
            for name in names:
                if not name.startswith("|1|"):
                    plain.setdefault(name, []).append((lineno, line))
        return cls(plain, hashed)

    def lines_for(self, name: str) -> list[tuple[int, str]]:
        """The lines naming ``name`` (plain or hashed), in file order."""
        found = dict(self.plain.get(name, ()))
        for lineno, line, names in self.hashed:
            if lineno not in found and _matches(names, name):
                found[lineno] = line
        return sorted(found.items())


#: the index of each file read so far, with the text it was read from: a file is read again
#: for every lookup (cheap), and indexed again only when its text changed (a key recorded, a
#: line edited), however quickly that happened; a few files per process (system, own,
#: inventory), bounded all the same
_indexes: dict[Path, tuple[str, _Index]] = {}
_indexes_lock = threading.Lock()
_MAX_INDEXES = 32


def _index(path: Path) -> _Index | None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    with _indexes_lock:
        known = _indexes.get(path)
    if known is not None and known[0] == text:
        return known[1]
    index = _Index.read(text)
    with _indexes_lock:
        _indexes.pop(path, None)
        while len(_indexes) >= _MAX_INDEXES:
            del _indexes[next(iter(_indexes))]  # the one indexed longest ago
        _indexes[path] = (text, index)
    return index


def _read_entries(path: Path, name: str) -> Iterable[tuple[int, HostKeyEntry]]:
    """The usable entries of ``path`` that name ``name``."""
    index = _index(path)
    for lineno, line in index.lines_for(name) if index is not None else ():
        try:
            entry = HostKeyEntry.from_line(line, lineno)
        except Exception:  # unsupported key types (ssh-dss on paramiko 5) or garbage
            log.debug("skipping unusable known_hosts line %s:%d", path, lineno)
            continue
        if entry is not None and entry.key is not None:
            yield lineno, entry


class KnownHosts:
    """The ordered set of known_hosts files consulted for every connection."""

    def __init__(
        self,
        extra: Sequence[Path] = (),
        *,
        own: Path | None = None,
        system: Sequence[Path] | None = None,
    ) -> None:
        self.own = own if own is not None else own_known_hosts()
        system_files = SYSTEM_KNOWN_HOSTS if system is None else tuple(system)
        self.files: list[Path] = []
        for path in (*system_files, self.own, *extra):
            resolved = Path(path).expanduser()
            if resolved not in self.files:
                self.files.append(resolved)

    def lookup(self, name: str) -> list[KnownEntry]:
        """Every entry for ``name`` (already in ``[host]:port`` form), hashed or plain."""
        found = []
        for path in self.files:
            for lineno, entry in _read_entries(path, name):
                key = entry.key
                found.append(KnownEntry(path, lineno, key.get_name(), key))
        return found

    def check(self, name: str, key: paramiko.PKey) -> bool:
        """True if known; False if unknown; raises HostKeyError if a different key is filed."""
        entries = self.lookup(name)
        if any(e.key == key for e in entries):
            return True
        same_type = [e for e in entries if e.key_type == key.get_name()]
        if same_type:
            raise changed_key_error(None, name, key, same_type[0])
        return False

    def record(self, name: str, key: paramiko.PKey) -> Path:
        """Append a key to ipsecctl's own file (0600, directory 0700)."""
        line = HostKeyEntry([name], key).to_line() or ""
        with _write_lock:
            self.own.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.own, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as fh:
                fh.write(line)
        log.info("recorded host key %s %s in %s", name, fingerprint(key), self.own)
        return self.own

    def load_into(self, client: paramiko.SSHClient, name: str) -> None:
        """Give paramiko the known keys for ``name`` so it negotiates a key type we can check."""
        store = client.get_host_keys()
        for entry in self.lookup(name):
            store.add(name, entry.key_type, entry.key)


def changed_key_error(
    device: str | None, name: str, key: paramiko.PKey, known: KnownEntry
) -> HostKeyError:
    return HostKeyError(
        f"HOST KEY CHANGED for {device or name} ({name}): the device offered {key.get_name()} "
        f"{fingerprint(key)} but {known.path}:{known.line} has {known.key_type} "
        f"{fingerprint(known.key)}; if the change is expected, remove that line and reconnect",
        device=device,
    )


class _Policy(paramiko.MissingHostKeyPolicy):
    """Called by paramiko only for keys it does not know; re-checks our files first."""

    def __init__(self, known: KnownHosts, device: str) -> None:
        self.known = known
        self.device = device

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        try:
            if self.known.check(hostname, key):
                return
        except HostKeyError as exc:
            exc.device = self.device
            raise
        self.unknown(hostname, key)

    def unknown(self, hostname: str, key: paramiko.PKey) -> None:
        raise NotImplementedError


class RejectUnknown(_Policy):
    def unknown(self, hostname: str, key: paramiko.PKey) -> None:
        raise HostKeyError(
            f"unknown host key for {self.device} ({hostname}, {key.get_name()} "
            f"fingerprint {fingerprint(key)}); verify it and rerun with "
            "--host-key-policy accept-new, or add it to known_hosts",
            device=self.device,
        )


class AcceptNew(_Policy):
    def unknown(self, hostname: str, key: paramiko.PKey) -> None:
        self.known.record(hostname, key)


class AskUser(_Policy):
    def __init__(self, known: KnownHosts, device: str, ask: AskHostKey | None) -> None:
        super().__init__(known, device)
        self.ask = ask

    def unknown(self, hostname: str, key: paramiko.PKey) -> None:
        if self.ask is None:
            raise HostKeyError(
                f"unknown host key for {self.device} ({hostname}, fingerprint "
                f"{fingerprint(key)}) and nobody to ask; rerun at a terminal or with "
                "--host-key-policy accept-new",
                device=self.device,
            )
        if not self.ask(self.device, hostname, key.get_name(), fingerprint(key)):
            raise HostKeyError(
                f"host key for {self.device} ({hostname}, fingerprint {fingerprint(key)}) "
                "was declined; not connecting",
                device=self.device,
            )
        self.known.record(hostname, key)


def make_policy(
    policy: HostKeyPolicyName, known: KnownHosts, device: str, ask: AskHostKey | None = None
) -> paramiko.MissingHostKeyPolicy:
    """The policy object for ``--host-key-policy``; unknown names fail loudly."""
    if policy == "reject":
        return RejectUnknown(known, device)
    if policy == "accept-new":
        return AcceptNew(known, device)
    if policy == "ask":
        return AskUser(known, device, ask)
    raise HostKeyError(
        f"unknown host key policy {policy!r} for {device}; use reject, ask or accept-new",
        device=device,
    )
