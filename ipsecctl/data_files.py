"""The YAML files ipsecctl ships (platforms, health rules, next steps, log signatures), read
through a cache of their data as JSON.

Why: importing PyYAML and reading these files with it cost about a sixth of a one-shot
command on a small input (``ipsecctl parse``, ``tunnels --replay``); the same data as JSON is
read by the interpreter's C decoder in a fraction of that. YAML stays the form people read
and edit; the cache is only a faster way to read the same file again.

The cache is used only where the console script names its folder (``IPSECCTL_CACHE_DIR``,
set by :mod:`ipsecctl.cli.console` to the user's cache folder); a program that embeds
ipsecctl reads the YAML and writes nothing. An entry is named by a digest of the YAML
file's bytes, so an edited or upgraded file is never answered from an old entry. An entry
is written only when JSON holds the data exactly (same types, same keys: a file with dates
or integer keys is always read as YAML), is written whole or not at all (a temporary file
renamed into place), and is read only if it belongs to this user and nobody else can write
it (as OpenSSH treats its own files); anything else about the cache is ignored and the YAML
read instead.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

#: the environment variable naming the cache's root (the data goes in its ``data`` folder)
CACHE_ENV = "IPSECCTL_CACHE_DIR"
#: changes when the entries' form changes, so older entries are simply not found
_FORMAT = "1"


def load_yaml(path: Path) -> Any:
    """The data of the YAML file at ``path`` (safe loading: plain data only)."""
    raw = path.read_bytes()
    folder = cache_folder("data")
    if folder is None:
        return _parse(raw)
    entry = entry_path(folder, path.stem, raw, b"ipsecctl-data")
    found = read_entry(entry)
    if found is not None:
        return found[0]
    data = _parse(raw)
    write_entry(folder, entry, data)
    return data


def entry_path(folder: Path, stem: str, raw: bytes, person: bytes) -> Path:
    """The entry for a file of these exact bytes (``person``: what the entry holds, so two
    kinds of entry for the same file never meet; at most 15 bytes)."""
    import hashlib  # here, not at import: the console script imports this module for --version

    digest = hashlib.blake2b(raw, digest_size=16, person=person + _FORMAT.encode())
    return folder / f"{stem}-{digest.hexdigest()}.json"


def _parse(raw: bytes) -> Any:
    import yaml  # only when no cache entry answers

    # libyaml's safe loader where PyYAML was built with it: the same data, several times faster
    return yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def cache_folder(kind: str) -> Path | None:
    """The cache's folder for entries of ``kind``, or None where no cache is named."""
    root = os.environ.get(CACHE_ENV)
    if not root or not os.path.isabs(root):
        return None
    return Path(root) / kind


def read_entry(entry: Path) -> tuple[Any] | None:
    """``(data,)`` from a trustworthy entry, or None (absent, someone else's, unreadable)."""
    import json

    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if (
            not stat.S_ISREG(info.st_mode)
            or info.st_uid != os.getuid()
            or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        ):
            return None
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            return (json.loads(fh.read()),)
    except (OSError, ValueError):
        return None
    finally:
        if fd >= 0:
            os.close(fd)


def write_entry(folder: Path, entry: Path, data: Any, *, plain: bool = False) -> None:
    """Store ``data`` as ``entry`` if JSON holds it exactly; any failure leaves no entry.
    ``plain``: the caller made ``data`` of lists, strings, integers and booleans only, which
    JSON always holds (the round trip that proves it otherwise is skipped)."""
    import json

    try:
        text = json.dumps(data, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError):
        return  # dates, sets, NaN: not JSON
    if not plain and not same_data(json.loads(text), data):
        return  # integer keys, tuples: JSON would change them
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, entry)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def same_data(a: Any, b: Any) -> bool:
    """Equal and of the same types throughout (``==`` alone says ``1 == True == 1.0``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return (
            a.keys() == b.keys()
            and all(same_data(a[k], b[k]) for k in a)
            and all(type(k) is str for k in a)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(same_data(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
