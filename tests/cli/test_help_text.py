"""``--help`` as operators read it, for every command: flags are flags (no ``<bool>``, as if
they took a value), repeatable options say so (no ``<list[str]>``), and no reST or rich
markup leaks into the text."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from ipsecctl.cli.app import app


def _paths() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _help(path: list[str]) -> str:
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1")
    out = subprocess.run(
        [sys.executable, "-m", "ipsecctl", *path, "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_every_help_text_is_free_of_type_noise_and_markup() -> None:
    paths = _paths()
    assert len(paths) > 20
    for path in paths:
        text = _help(path)
        for noise in ("<bool>", "<list[", "``", ":func:", ":class:", "[/", "[bold"):
            assert noise not in text, f"ipsecctl {' '.join(path)} --help shows {noise!r}"


def test_repeatable_options_and_flags() -> None:
    text = _help(["rekey"])
    peer = next(ln for ln in text.splitlines() if "--peer" in ln)
    assert "IP (repeatable)" in peer
    yes = next(ln for ln in text.splitlines() if "--yes" in ln)
    assert "Do not ask for confirmation." in yes
    assert yes.split("--yes")[1].split("Do not")[0].replace("-y", "").strip(" │") == ""
    status = _help(["status"])
    assert "Usage: ipsecctl status [OPTIONS] [TARGET]..." in status
