"""Long-running ``ipsecctl`` processes (watch, collect, exporter) for the tests: started as a
user would start them, their stdout read line by line as it comes."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


class Running:
    def __init__(self, *args: str, home: Path, env: dict[str, str] | None = None) -> None:
        base = {
            k: v
            for k, v in os.environ.items()
            if k not in ("IPSECCTL_INVENTORY", "IPSECCTL_CONFIG", "IPSECCTL_READ_ONLY")
        }
        home.mkdir(parents=True, exist_ok=True)
        full = {
            **base,
            "IPSECCTL_STATE_DIR": str(home / "state"),
            "IPSECCTL_DATA_DIR": str(home / "data"),
            "HOME": str(home),
            "NO_COLOR": "1",
            "COLUMNS": "200",
            **(env or {}),
        }
        self.err_path = home / f"stderr-{time.monotonic_ns()}.txt"
        self._err = self.err_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ipsecctl", *args],
            stdout=subprocess.PIPE,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
            text=True,
            env=full,
            cwd=home,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def next_line(self, timeout: float) -> str | None:
        """The next stdout line; None at the end of output or after ``timeout`` seconds."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    @property
    def stderr(self) -> str:
        if not self._err.closed:
            self._err.flush()
        return self.err_path.read_text()

    def interrupt(self, timeout: float = 30) -> int:
        """Ctrl-C, then the exit code (killed after ``timeout``: a test failure)."""
        self.proc.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def wait(self, timeout: float = 60) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"still running after {timeout} s; stderr:\n{self.stderr}"
            ) from None
        self._reader.join(5)
        return code

    def wait_stderr(self, text: str, timeout: float = 60) -> str:
        """Wait until ``text`` appears on stderr (a line the process prints once it reached a
        point, such as watch's ``baseline:``); the stderr so far. Failing after ``timeout``
        or when the process ended without printing it."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            err = self.stderr
            if text in err:
                return err
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not on stderr; stderr:\n{self.stderr}")

    def rest(self) -> list[str]:
        out = []
        while (line := self.next_line(0.1)) is not None:
            out.append(line)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._err.close()
