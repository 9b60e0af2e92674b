"""The openssh transport's per-connection folders (askpass helper, FIFO, config, control
socket): a killed ipsecctl leaves its folders behind (SIGKILL gives it no chance to clean
up); the next ipsecctl removes them, and nothing else."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from ipsecctl.transport import ssh_process
from ipsecctl.transport.ssh_process import PRIVATE_PREFIX, remove_stale_dirs

#: a real ipsecctl process: it makes a connection folder as a connection does, then is killed
#: (its own sweep is left out, so that each test decides what is there to sweep)
_KILLED = """
import os, signal, sys, tempfile
tempfile.tempdir = sys.argv[1]
from ipsecctl.transport import ssh_process
from ipsecctl.transport.ssh_process import prepare_dir, private_dir
ssh_process._sweep_done = True
d = private_dir()
prepare_dir(d)
(d / "config").write_text("Host *\\n")
print(d, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_folder(parent: Path) -> Path:
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED, str(parent)], capture_output=True, text=True
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    folder = Path(proc.stdout.strip())
    assert folder.parent == parent and {p.name for p in folder.iterdir()} == {
        "askpass",
        "answer",
        "config",
    }
    return folder


def test_a_killed_processs_folders_are_removed_and_nothing_else(tmp_path: Path) -> None:
    stale = _killed_folder(tmp_path)
    kept_extra = _killed_folder(tmp_path)
    (kept_extra / "notes.txt").write_text("not ipsecctl's")  # something ipsecctl never writes
    alive = tmp_path / f"{PRIVATE_PREFIX}{os.getpid()}-abc"  # this process runs
    alive.mkdir()
    (alive / "config").write_text("")
    other = tmp_path / "ipsecctl-ssh-notapid-x"
    other.mkdir()
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "config").write_text("")
    pid = int(stale.name.removeprefix(PRIVATE_PREFIX).split("-")[0])
    link = tmp_path / f"{PRIVATE_PREFIX}{pid}-link"
    link.symlink_to(target)

    assert remove_stale_dirs(tmp_path) == [stale]

    assert not stale.exists()
    assert (kept_extra / "notes.txt").exists() and (kept_extra / "notes.txt").is_file()
    assert not (kept_extra / "askpass").exists()  # ipsecctl's own files are gone from it
    assert (alive / "config").exists()
    assert other.is_dir()
    assert link.is_symlink() and (target / "config").exists()


def test_the_first_connection_of_a_process_sweeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = _killed_folder(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(ssh_process, "_sweep_done", False)
    made = ssh_process.private_dir()
    try:
        assert not stale.exists()
        assert made.name.startswith(f"{PRIVATE_PREFIX}{os.getpid()}-")
        assert made.stat().st_mode & 0o777 == 0o700
        again = _killed_folder(tmp_path)
        ssh_process.remove_dir(ssh_process.private_dir())  # swept once per process only
        assert again.exists()
    finally:
        ssh_process.remove_dir(made)
