"""Inventory YAML files read through a cache of their shape, so that a command on an unchanged
inventory imports no YAML reader.

Why: importing PyYAML costs ~15-25 ms of every command that reads an inventory, before its
first device is asked; reading the few files with it is ~2 ms more. An unchanged file's
*shape* (:mod:`inventory.lines`: its structure and lines, and where each string and number
sits in the text) rebuilds the same data from the file's own text in well under a
millisecond.

The cache holds no value of the inventory: a host name, a password or a port is a pair of
character offsets into the file, which is read every time. An entry is named by a digest of
the file's bytes (an edited file is never answered from an old entry), written only when the
shape rebuilds exactly what the YAML reader gave (values with escapes, folded strings,
dates, hexadecimal numbers: the file is always read as YAML), read under the same rules as
the other cache entries (:mod:`ipsecctl.data_files`), and replaced when the file changes (one
entry per file). As there, the cache is used only
where the console script names its folder; a program that embeds ipsecctl reads the YAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ipsecctl import data_files

#: what the entries hold: a digest of the same bytes names a different entry for each kind
_PERSON = b"ipsecctl-invshp"


def read_inventory_yaml(path: Path) -> Any:
    """One inventory file's data (LineDict/LineList/scalars), as :func:`inventory.yamlio.
    load_yaml` gives it; every failure is that function's :class:`InventoryError`."""
    folder = data_files.cache_folder("inventory")
    if folder is None:
        return _read_as_yaml(path)
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        if "\r" in text:  # as reading it as text does (universal newlines)
            text = text.replace("\r\n", "\n").replace("\r", "\n")
    except (OSError, UnicodeDecodeError):
        return _read_as_yaml(path)  # the YAML reader names the problem
    stem = _file_stem(path)
    entry = data_files.entry_path(folder, stem, raw, _PERSON)
    found = data_files.read_entry(entry)
    if found is not None:
        from inventory.lines import from_shape

        try:
            return from_shape(found[0], text)
        except (IndexError, KeyError, TypeError, ValueError):
            pass  # an entry that does not fit its file (damaged): read the YAML
    from inventory.yamlio import load_yaml_shaped

    data, shape = load_yaml_shaped(path, text)
    if shape is not None:
        data_files.write_entry(folder, entry, shape, plain=True)  # a shape is plain JSON
        _forget_older(folder, stem, entry)
    return data


def _file_stem(path: Path) -> str:
    """The entries' common name for one inventory file: its name and a digest of where it
    is (``hosts-1a2b3c4d5e6f``), so that each file keeps one entry however often it is
    edited, and two inventories' ``hosts.yaml`` keep one each."""
    import hashlib
    import os

    place = hashlib.blake2b(os.path.abspath(path).encode(), digest_size=6).hexdigest()
    return f"{path.stem}-{place}"


def _forget_older(folder: Path, stem: str, entry: Path) -> None:
    """Remove the entries of earlier versions of the file (they can never be read again,
    and a lab made anew writes a new inventory each time)."""
    import contextlib

    for old in folder.glob(f"{stem}-*.json"):
        if old != entry:
            with contextlib.suppress(OSError):
                old.unlink()


def _read_as_yaml(path: Path) -> Any:
    from inventory.yamlio import load_yaml

    return load_yaml(path)
