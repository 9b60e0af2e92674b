"""The shipped YAML files read through their JSON cache: the data is always the YAML's (as
PyYAML's safe loader reads it), whatever the cache holds or lacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ipsecctl import data_files
from ipsecctl.data_files import CACHE_ENV, load_yaml, same_data
from tests.helpers import cache_entries

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(
    p for p in (ROOT / "ipsecctl").rglob("*.yaml") if "lab" not in p.parts and "tui" not in p.parts
)


def _entries(cache: Path) -> list[Path]:
    return cache_entries(cache, "data")


def test_every_shipped_file_reads_the_same_through_the_cache(cache: Path) -> None:
    assert len(SHIPPED) >= 10
    for path in SHIPPED:
        expected = yaml.safe_load(path.read_text())
        first = load_yaml(path)  # writes the entry
        second = load_yaml(path)  # reads it
        assert same_data(first, expected), path
        assert same_data(second, expected), path
    assert len(_entries(cache)) == len(SHIPPED)
    assert (cache / "data").stat().st_mode & 0o777 == 0o700
    for entry in _entries(cache):
        assert entry.stat().st_mode & 0o077 == 0, entry


def test_the_entry_answers_once_written(cache: Path, tmp_path: Path) -> None:
    src = tmp_path / "facts.yaml"
    src.write_text("name: one\nlist: [1, 2.5, true, null]\n")
    assert load_yaml(src) == {"name": "one", "list": [1, 2.5, True, None]}
    (entry,) = _entries(cache)
    # what the entry says is what is read while the YAML's bytes are the same
    entry.write_text(json.dumps({"name": "from the entry", "list": []}))
    assert load_yaml(src)["name"] == "from the entry"


def test_an_edited_file_is_never_answered_from_its_old_entry(cache: Path, tmp_path: Path) -> None:
    src = tmp_path / "facts.yaml"
    src.write_text("name: one\n")
    assert load_yaml(src) == {"name": "one"}
    src.write_text("name: two\n")
    assert load_yaml(src) == {"name": "two"}
    assert len(_entries(cache)) == 2


@pytest.mark.parametrize(
    "text",
    [
        "1: integer keys\n",  # JSON would make the key a string
        "when: 2026-12-06\n",  # a date: not JSON
        "x: .nan\n",  # NaN: not JSON
        "x: !!set {a, b}\n",  # a set: not JSON
    ],
)
def test_data_json_would_change_is_never_cached(cache: Path, tmp_path: Path, text: str) -> None:
    src = tmp_path / "odd.yaml"
    src.write_text(text)
    expected = yaml.safe_load(text)
    for _ in range(2):
        got = load_yaml(src)
        assert type(got) is type(expected)
        assert repr(got) == repr(expected)
    assert _entries(cache) == []


def test_an_entry_others_could_write_or_a_link_is_ignored(cache: Path, tmp_path: Path) -> None:
    src = tmp_path / "facts.yaml"
    src.write_text("name: real\n")
    load_yaml(src)
    (entry,) = _entries(cache)
    entry.write_text(json.dumps({"name": "planted"}))
    entry.chmod(0o664)  # group-writable: someone else may have put it there
    assert load_yaml(src) == {"name": "real"}
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps({"name": "planted"}))
    entry.unlink()
    entry.symlink_to(planted)
    assert load_yaml(src) == {"name": "real"}


@pytest.mark.parametrize("broken", ["", "{not json", "\x00\xff"])
def test_a_broken_entry_falls_back_to_the_yaml(cache: Path, tmp_path: Path, broken: str) -> None:
    src = tmp_path / "facts.yaml"
    src.write_text("name: real\n")
    load_yaml(src)
    (entry,) = _entries(cache)
    entry.write_bytes(broken.encode("latin-1"))
    assert load_yaml(src) == {"name": "real"}


def test_an_unwritable_cache_still_reads_the_yaml(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(CACHE_ENV, str(blocker))  # "data" cannot be made under a file
    src = tmp_path / "facts.yaml"
    src.write_text("name: real\n")
    assert load_yaml(src) == {"name": "real"}
    assert not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())


def test_without_the_console_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A program that embeds ipsecctl names no cache: the YAML is read, nothing is written."""
    monkeypatch.delenv(CACHE_ENV, raising=False)
    src = tmp_path / "facts.yaml"
    src.write_text("name: real\n")
    assert load_yaml(src) == {"name": "real"}
    assert data_files.cache_folder("data") is None
    monkeypatch.setenv(CACHE_ENV, "relative/path")  # only an absolute folder is used
    assert data_files.cache_folder("data") is None


def _console_cache_env(env: dict[str, str]) -> str:
    program = (
        "import atexit, os, sys\n"
        f"atexit.register(lambda: print('CACHE', repr(os.environ.get({CACHE_ENV!r}))))\n"
        "sys.argv = ['ipsecctl', '--version']\n"
        "from ipsecctl.cli.console import run\n"
        "run()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, env=env, check=True
    )
    return next(x for x in proc.stdout.splitlines() if x.startswith("CACHE ")).split(" ", 1)[1]


def test_the_console_names_the_users_cache_folder(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != CACHE_ENV}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    assert _console_cache_env(env) == repr(str(tmp_path / "xdg" / "ipsecctl"))
    # an explicit choice is kept, an empty one turns the cache off
    assert _console_cache_env({**env, CACHE_ENV: str(tmp_path / "mine")}) == repr(
        str(tmp_path / "mine")
    )
    assert _console_cache_env({**env, CACHE_ENV: ""}) == repr("")


def test_a_command_fills_the_cache_and_reads_the_same_platforms(tmp_path: Path) -> None:
    """The console script end to end: the first run writes the entries, the second reads
    them, and both list the platforms the YAML files name."""
    env = {k: v for k, v in os.environ.items() if k != CACHE_ENV}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    expected = sorted(
        yaml.safe_load(p.read_text())["name"]
        for p in (ROOT / "ipsecctl" / "platforms").glob("*.yaml")
    )
    argv = [
        sys.executable,
        "-m",
        "ipsecctl",
        "parse",
        "-",
        "-p",
        "nosuch",
        "-c",
        "show crypto ipsec sa",
    ]
    for _ in range(2):
        proc = subprocess.run(argv, input="", capture_output=True, text=True, env=env)
        assert proc.returncode == 2, proc.stderr
        for name in expected:
            assert name in proc.stderr, proc.stderr
    assert _entries(tmp_path / "xdg" / "ipsecctl")
