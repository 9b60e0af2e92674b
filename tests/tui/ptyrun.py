"""Run a whole ipsecctl process under a pseudo-terminal, as an operator's terminal would.

For what a headless Pilot cannot show: suspending the app for an SSH shell, the process
exiting (threads included), the first frame of a fresh process. The screen is approximated
by the text the process wrote with its escape sequences removed (enough to find words).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import signal
import struct
import termios
import threading
import time
from collections.abc import Sequence

ANSI = re.compile(
    rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    rb"|\x1b[()][A-Z0-9]|\x1b[=>78]|\x1bP[^\x1b]*\x1b\\"
)


class PtyProcess:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        cols: int = 100,
        rows: int = 30,
        cwd: str | None = None,
    ) -> None:
        self.started = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:  # the child: become the program
            try:
                if cwd:
                    os.chdir(cwd)
                os.execvpe(argv[0], list(argv), env if env is not None else dict(os.environ))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.raw = bytearray()
        self.marks: list[tuple[float, int]] = []  # (time, len(raw)) after each read
        self.status: int | None = None
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.05)
            except (OSError, ValueError):
                return
            if not ready:
                if self.poll() is not None:
                    return
                continue
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self.raw += data
                self.marks.append((time.monotonic(), len(self.raw)))

    def text(self, since: int = 0) -> str:
        with self._lock:
            data = bytes(self.raw[since:])
        return ANSI.sub(b"", data).decode("utf-8", "replace")

    @property
    def size(self) -> int:
        with self._lock:
            return len(self.raw)

    def wait_for(self, pattern: str, timeout: float = 20.0, since: int = 0) -> re.Match[str]:
        end = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            m = rx.search(self.text(since))
            if m:
                return m
            if time.monotonic() > end:
                tail = self.text(since)[-2000:]
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {pattern!r}; "
                    f"the terminal's last text:\n{tail}"
                )
            if self.poll() is not None and not rx.search(self.text(since)):
                raise AssertionError(
                    f"the process exited ({self.status}) before "
                    f"{pattern!r} appeared:\n{self.text(since)[-2000:]}"
                )
            time.sleep(0.05)

    def send(self, data: str | bytes) -> None:
        os.write(self.fd, data.encode() if isinstance(data, str) else data)

    def poll(self) -> int | None:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def wait_exit(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < end:
            time.sleep(0.02)
        return self.status

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.wait_exit(5)
        with contextlib.suppress(OSError):
            os.close(self.fd)
