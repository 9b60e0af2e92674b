"""A terminal that reports no size (0x0: ``script`` without a terminal of its own, some
container exec sessions): the dashboard still loads, draws and quits on a signal, in a real
pseudo-terminal."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from ipsecctl.tui.app import unreported_terminal_size

from .ptyrun import PtyProcess

REPLAY = Path(__file__).resolve().parents[1] / "fixtures" / "replay"


def test_dashboard_on_a_terminal_of_no_size_loads_and_quits_on_sigterm(tmp_path: Path) -> None:
    env = dict(
        os.environ,
        HOME=str(tmp_path),
        TERM="xterm-256color",
        TEXTUAL_ANIMATIONS="none",
        IPSECCTL_STATE_DIR=str(tmp_path / "state"),
        IPSECCTL_DATA_DIR=str(tmp_path / "data"),
    )
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    argv = [sys.executable, "-m", "ipsecctl", "--replay", str(REPLAY), "dashboard"]
    proc = PtyProcess(argv, env=env, cols=0, rows=0)
    try:
        # the seven tunnels of the replayed devices: poll results reach the screen
        proc.wait_for(r"tunnels \[7/7\]", timeout=30)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait_exit(20) == 0, proc.text()[-2000:]
    finally:
        proc.kill()


def test_the_size_to_start_with_only_when_the_terminal_reports_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fcntl
    import pty
    import struct
    import termios

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)

    main, side = pty.openpty()
    saved = os.dup(1)
    try:
        os.dup2(side, 1)  # stdout: a pseudo-terminal of 0x0, as openpty makes it
        # the standard library's fallback, which Textual's resize events carry
        assert unreported_terminal_size() == (80, 24)
        fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        assert unreported_terminal_size() is None
        read, write = os.pipe()
        os.dup2(write, 1)  # not a terminal at all (a pipe): Textual decides
        assert unreported_terminal_size() is None
        os.close(read)
        os.close(write)
    finally:
        os.dup2(saved, 1)
        for fd in (saved, main, side):
            os.close(fd)
