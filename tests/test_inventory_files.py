"""Inventory files read through the cache of their shape: the data is always what PyYAML
reads from the file as it is now, the cache holds none of its values, and a command on an
unchanged inventory imports no YAML reader."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipsecctl import data_files
from ipsecctl.data_files import CACHE_ENV
from ipsecctl.inventory_files import read_inventory_yaml
from tests.helpers import cache_entries, run_cli

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Jd7JQT61Mz66LVJF"
HOSTS = textwrap.dedent(
    f"""\
    r01:
      hostname: 127.0.1.1
      port: 2222
      platform: cisco_ios
      password: {PASSWORD}
      data:
        expected_up: [127.0.1.2]
    r02:
      hostname: 127.0.1.2
      platform: cisco_asa
    """
)

#: reads the file as ipsecctl does; prints its data and whether a YAML reader was imported
_PROGRAM = """
import json, sys
from pathlib import Path
from ipsecctl.inventory_files import read_inventory_yaml
data = read_inventory_yaml(Path(sys.argv[1]))
print(json.dumps({"data": data, "yaml": "yaml" in sys.modules}))
"""


def _read_in_a_process(path: Path, cache: Path) -> dict[str, Any]:
    env = {**os.environ, CACHE_ENV: str(cache)}
    out = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(path)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=ROOT,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def _entries(cache: Path) -> list[Path]:
    return cache_entries(cache, "inventory")


def test_an_unchanged_file_is_read_without_a_yaml_reader(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(HOSTS)
    cache = tmp_path / "cache"
    first = _read_in_a_process(path, cache)
    second = _read_in_a_process(path, cache)
    assert first["yaml"] and not second["yaml"]
    assert first["data"] == second["data"] == yaml.safe_load(HOSTS)
    assert len(_entries(cache)) == 1


def test_the_cache_holds_no_value_of_the_file(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(HOSTS)
    read_inventory_yaml(path)
    (entry,) = _entries(cache)
    held = entry.read_text()
    for value in (PASSWORD, "127.0.1.1", "cisco_ios", "2222", "hostname", "r01"):
        assert value not in held
    assert entry.stat().st_mode & 0o777 == 0o600


def test_an_edited_file_is_read_as_it_is_now(cache: Path, tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(HOSTS)
    read_inventory_yaml(path)
    edited = "r00:\n  hostname: 127.0.1.9\n  platform: cisco_ios\n" + HOSTS  # offsets move
    path.write_text(edited)
    assert read_inventory_yaml(path) == yaml.safe_load(edited)
    assert read_inventory_yaml(path).line_of("r01") == 4
    assert len(_entries(cache)) == 1  # the earlier version's entry is gone


def test_each_inventory_file_keeps_one_entry(cache: Path, tmp_path: Path) -> None:
    for site in ("eu", "us"):
        (tmp_path / site).mkdir()
        (tmp_path / site / "hosts.yaml").write_text(HOSTS)  # same name, same bytes
        read_inventory_yaml(tmp_path / site / "hosts.yaml")
    for n in range(3):
        edited = HOSTS + f"r{n + 10}:\n  hostname: 127.0.1.{n + 10}\n"
        (tmp_path / "eu" / "hosts.yaml").write_text(edited)
        assert read_inventory_yaml(tmp_path / "eu" / "hosts.yaml") == yaml.safe_load(edited)
    assert len(_entries(cache)) == 2
    assert read_inventory_yaml(tmp_path / "us" / "hosts.yaml") == yaml.safe_load(HOSTS)


#: where the second host's address is written: an entry naming it fits the file's text
_R02 = HOSTS.index("127.0.1.2")


@pytest.mark.parametrize(
    ("shape", "mode"),
    [
        (["i", 0, 3], 0o600),  # "r01" is no integer: the entry does not fit its file
        (["s", _R02, _R02 + 9], 0o666),  # fits the text, says otherwise; others can write it
    ],
    ids=["does-not-fit", "others-can-write"],
)
def test_an_entry_that_cannot_be_trusted_is_not_believed(
    cache: Path, tmp_path: Path, shape: list[Any], mode: int
) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(HOSTS)
    read_inventory_yaml(path)
    (entry,) = _entries(cache)
    entry.write_text(json.dumps(shape))
    entry.chmod(mode)
    assert read_inventory_yaml(path) == yaml.safe_load(HOSTS)


def test_without_a_cache_folder_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CACHE_ENV, raising=False)
    written: list[Path] = []
    monkeypatch.setattr(
        data_files, "write_entry", lambda folder, entry, *a, **k: written.append(entry)
    )
    path = tmp_path / "hosts.yaml"
    path.write_text(HOSTS)
    assert read_inventory_yaml(path) == yaml.safe_load(HOSTS)
    assert read_inventory_yaml(path) == yaml.safe_load(HOSTS)
    assert written == []


def test_the_cli_reads_the_same_inventory_from_the_cache(tmp_path: Path) -> None:
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "hosts.yaml").write_text(HOSTS)
    (inv / "defaults.yaml").write_text("username: admin\n")
    home = tmp_path / "home"
    env = {"XDG_CACHE_HOME": str(home / ".cache")}
    first = run_cli("-i", str(inv), "inventory", "list", "--json", home=home, env=env)
    second = run_cli("-i", str(inv), "inventory", "list", "--json", home=home, env=env)
    assert first.code == second.code == 0, (first, second)
    assert first.out == second.out
    hosts = {h["name"]: h for h in json.loads(second.out)["hosts"]}
    assert hosts["r01"]["hostname"] == "127.0.1.1" and hosts["r01"]["port"] == 2222
    assert hosts["r02"]["platform"] == "cisco_asa"
    entries = sorted((home / ".cache" / "ipsecctl" / "inventory").glob("*.json"))
    assert len(entries) == 2
    assert not any(PASSWORD in e.read_text() for e in entries)


def test_an_error_names_the_same_line_when_the_file_comes_from_the_cache(
    tmp_path: Path,
) -> None:
    inv = tmp_path / "inv"
    inv.mkdir()
    bad = HOSTS.replace("port: 2222", "port: twenty")
    (inv / "hosts.yaml").write_text(bad)
    home = tmp_path / "home"
    env = {"XDG_CACHE_HOME": str(home / ".cache")}
    runs = [run_cli("-i", str(inv), "inventory", "check", home=home, env=env) for _ in range(2)]
    line = bad[: bad.index("port: twenty")].count("\n") + 1
    for run in runs:
        assert run.code == 2, run
        assert f"hosts.yaml:{line}:" in run.err and "Traceback" not in run.err
    assert runs[0].err == runs[1].err
    assert list((home / ".cache" / "ipsecctl" / "inventory").glob("hosts-*.json"))
