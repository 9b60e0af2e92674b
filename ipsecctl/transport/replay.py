"""Saved device outputs: replay them as a runner (offline analysis, bug reports, tests) and
record them from any runner (``--save-raw``).

Layout: ``DIR/<device>/meta.json`` (``{"device", "platform", "saved_at", "secrets"}``) and
``DIR/<device>/<slug>.txt`` per command, where the slug is the command with every
non-alphanumeric character replaced by ``_`` so the files are portable and greppable.

Saved outputs hold configurations (``show running-config``) and so key material: files are
written 0600 in folders of 0700, and pre-shared keys, passwords, session keys and private keys
are replaced by ``<removed>`` (:func:`ipsecctl.redact.redact_text`) unless the caller asks to
keep them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from ipsecctl.errors import CommandRejected, InputFileError
from ipsecctl.platforms import get_platform
from ipsecctl.redact import REMOVED, redact_text

from .base import CommandRunner, RunnerBase

log = logging.getLogger(__name__)

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
        # one C-level search per indicator; lines only when one of them is there at all
        hits = [ind for ind in self._indicators if ind in text]
        for line in text.splitlines() if hits else ():
            if any(ind in line for ind in hits):
                raise CommandRejected(
                    f"{self.device} rejected {command!r}: {line.strip()} (replayed from {path})",
                    device=self.device,
                    command=command,
                )
        return text

    def close(self, *, abandon: bool = False) -> None:
        return None


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) as 0700 folders; an existing leaf is tightened.

    Parents that already exist are left alone: ``--save-raw /tmp/x`` must never chmod /tmp.
    """
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another recorder made it meanwhile
            folder.mkdir(mode=0o700)
    path.chmod(0o700)  # mkdir's mode is filtered by the umask; an old folder may be 0755
    return path


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as a 0600 file, atomically (a reader never sees half)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp creates it 0600
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class RawRecorder(RunnerBase):
    """Wraps a runner and saves every successful output in the replay layout.

    ``keep_secrets=False`` (the default) replaces key material by ``<removed>`` in the files;
    the caller still receives the output as the device printed it.
    """

    def __init__(
        self, directory: Path, runner: CommandRunner, *, keep_secrets: bool = False
    ) -> None:
        self.runner = runner
        self.device = runner.device
        self.platform = runner.platform
        self.keep_secrets = keep_secrets
        self.directory = Path(directory) / _check_name(runner.device)
        try:
            private_dir(self.directory)
            meta = {
                "device": self.device,
                "platform": self.platform,
                "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "secrets": "kept" if keep_secrets else "removed",
            }
            write_private(self.directory / "meta.json", json.dumps(meta, indent=2) + "\n")
        except OSError as exc:
            raise InputFileError(
                f"cannot save raw outputs to {self.directory}: {exc.strerror or exc}; choose "
                "another --save-raw folder"
            ) from None

    def send(self, command: str, *, timeout: float | None = None) -> str:
        output = self.runner.send(command, timeout=timeout)
        saved = output if self.keep_secrets else redact_text(output, mask=REMOVED)
        path = self.directory / f"{command_slug(command)}.txt"
        try:
            write_private(path, saved)
        except OSError as exc:  # the poll's result matters more than its saved copy
            log.warning(
                "%s: cannot save the output of %r to %s: %s; free some space or choose "
                "another --save-raw folder",
                self.device,
                command,
                path,
                exc.strerror or exc,
            )
        return output

    def renew_deadline(self, seconds: float | None = None) -> None:
        renew = getattr(self.runner, "renew_deadline", None)
        if renew is not None:
            renew(seconds)

    def abandon(self) -> None:
        """Cut the wrapped session without waiting (see :meth:`SshSession.abandon`)."""
        abandon = getattr(self.runner, "abandon", None)
        if abandon is not None:
            abandon()

    def close(self, *, abandon: bool = False) -> None:
        if abandon:
            self.abandon()
        else:
            self.runner.close()
