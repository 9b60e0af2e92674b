"""Saved device outputs: replay them as a runner (offline analysis, bug reports, tests) and
record them from any runner (``--save-raw``).

Layout: ``DIR/<device>/meta.json`` (``{"device", "platform", "saved_at"}``) and
``DIR/<device>/<slug>.txt`` per command, where the slug is the command with every
non-alphanumeric character replaced by ``_`` so the files are portable and greppable.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from ipsecctl.errors import CommandRejected, InputFileError
from ipsecctl.platforms import get_platform

from .base import CommandRunner, RunnerBase

_SLUG_RE = re.compile(r"[^A-Za-z0-9]")


def command_slug(command: str) -> str:
    """``show crypto ipsec sa`` -> ``show_crypto_ipsec_sa``."""
    return _SLUG_RE.sub("_", command.strip())


def _check_name(device: str) -> str:
    if not device or device in (".", "..") or "/" in device or "\\" in device:
        raise InputFileError(f"device name {device!r} cannot be a folder name; rename it")
    return device


class ReplayRunner(RunnerBase):
    """A :class:`CommandRunner` answering from a saved folder; failure indicators still apply."""

    def __init__(self, directory: Path, device: str) -> None:
        self.directory = Path(directory) / _check_name(device)
        self.device = device
        meta_path = self.directory / "meta.json"
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            self.platform = str(meta["platform"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputFileError(
                f"cannot replay {device}: {meta_path} is missing or invalid ({exc}); point "
                "--replay at a folder written by --save-raw"
            ) from None
        self.saved_at: str | None = meta.get("saved_at")
        self._indicators = get_platform(self.platform).failure_indicators

    def path_for(self, command: str) -> Path:
        return self.directory / f"{command_slug(command)}.txt"

    def send(self, command: str, *, timeout: float | None = None) -> str:
        path = self.path_for(command)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            raise CommandRejected(
                f"{self.device}: no saved output for {command!r} ({path} is missing); save "
                "it again with --save-raw",
                device=self.device,
                command=command,
            ) from None
        for line in text.splitlines():
            if any(ind in line for ind in self._indicators):
                raise CommandRejected(
                    f"{self.device} rejected {command!r}: {line.strip()} (replayed from {path})",
                    device=self.device,
                    command=command,
                )
        return text

    def close(self) -> None:
        return None


class RawRecorder(RunnerBase):
    """Wraps a runner and saves every successful output in the replay layout."""

    def __init__(self, directory: Path, runner: CommandRunner) -> None:
        self.runner = runner
        self.device = runner.device
        self.platform = runner.platform
        self.directory = Path(directory) / _check_name(runner.device)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            meta = {
                "device": self.device,
                "platform": self.platform,
                "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            (self.directory / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        except OSError as exc:
            raise InputFileError(
                f"cannot save raw outputs to {self.directory}: {exc.strerror}; choose another "
                "--save-raw folder"
            ) from None

    def send(self, command: str, *, timeout: float | None = None) -> str:
        output = self.runner.send(command, timeout=timeout)
        path = self.directory / f"{command_slug(command)}.txt"
        path.write_text(output, encoding="utf-8")
        return output

    def renew_deadline(self, seconds: float | None = None) -> None:
        renew = getattr(self.runner, "renew_deadline", None)
        if renew is not None:
            renew(seconds)

    def close(self) -> None:
        self.runner.close()
