"""One running OpenSSH client, seen as a byte stream: its terminal and output pipe carry the
device's shell, its stderr carries ssh's own messages and the questions of the askpass helper.

ssh's standard input is a pseudo-terminal (it asks the device for a terminal of that size:
wide enough that no output line wraps), its standard output a pipe: what the device prints
reaches this process without the terminal layer's hand-off to a kernel worker thread (every
write through a terminal is queued to one and woken from there, several times per command).
The output is read with ``poll`` in the caller's thread: no reader thread per connection
(paramiko's transport has one), so a poll of many devices costs the kernel no thread switches
beyond the collector's own workers.

Secrets: ssh asks for a password, a key passphrase or (policy ``ask``) a host-key decision
by running ``SSH_ASKPASS`` (``SSH_ASKPASS_REQUIRE=force``). ipsecctl's helper, a few lines of
``sh`` written into a private directory (0700), prints the question on ssh's stderr between
markers and reads one line of answer from a FIFO in that directory, which only this process
writes, and only after it has seen the question. The secret is never in an argument list, an
environment or a file; the helper uses only shell builtins, so no other process sees it.
ssh closes every inherited descriptor above stderr when it starts, which is why a FIFO by path
is used rather than an inherited pipe.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
import tty
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

ASKPASS_OPEN = "\x1eipsecctl-askpass:"
ASKPASS_CLOSE = "\x1e\n"
ASKPASS_FIFO_ENV = "IPSECCTL_ASKPASS_FIFO"
ASKPASS_SCRIPT = f"""#!/bin/sh
# ipsecctl's askpass: ssh runs it for a password, a key passphrase or a host-key question.
# The question goes to ipsecctl on ssh's stderr; the answer comes back as one line over the
# private FIFO (+answer, or - to decline). Builtins only: no secret in any argument list.
printf '\\036ipsecctl-askpass:%s\\036\\n' "$1" >&2
IFS= read -r answer < "${ASKPASS_FIFO_ENV}" || exit 1
case $answer in
  +*) printf '%s\\n' "${{answer#+}}" ;;
  *) exit 1 ;;
esac
"""

#: the environment ssh gets: enough to find the agent, the user and the locale, nothing of
#: ipsecctl's own (IPSECCTL_PASSWORD and the like must not show in /proc/PID/environ)
ENV_KEEP = ("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "SSH_AUTH_SOCK")
ENV_KEEP_PREFIX = ("KRB5",)
DIAGNOSTIC_LINES = 400

Answer = Callable[[str], str | None]
"""``answer(question) -> reply`` (``None`` declines): called for each askpass question."""


PRIVATE_PREFIX = "ipsecctl-ssh-"
#: what a connection's folder holds (:func:`prepare_dir`, the config, ssh's control socket)
_PRIVATE_NAMES = ("askpass", "answer", "config", "control")
_swept = threading.Lock()
_sweep_done = False


def private_dir() -> Path:
    """A 0700 directory for one connection's askpass helper, FIFO, config and socket, named
    with this process's id: the folders of an ipsecctl that was killed (SIGKILL leaves no
    chance to clean up) are recognised by the first connection of a later one and removed."""
    import tempfile

    global _sweep_done
    with _swept:
        if not _sweep_done:
            _sweep_done = True
            remove_stale_dirs(Path(tempfile.gettempdir()))
    return Path(tempfile.mkdtemp(prefix=f"{PRIVATE_PREFIX}{os.getpid()}-"))


def remove_stale_dirs(parent: Path) -> list[Path]:
    """Remove the connection folders under ``parent`` of ipsecctl processes that no longer run;
    returns them. Only this user's own folders are touched (not links, not other users'),
    and in them only the names ipsecctl writes: a folder holding anything else stays."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return removed
    uid = os.getuid()
    for entry in entries:
        if not entry.name.startswith(PRIVATE_PREFIX):
            continue
        pid_text, _, rest = entry.name.removeprefix(PRIVATE_PREFIX).partition("-")
        if not pid_text.isdigit() or not rest:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not entry.is_dir(follow_symlinks=False) or info.st_uid != uid:
            continue
        if _running(int(pid_text)):
            continue
        remove_dir(Path(entry.path))
        if not os.path.lexists(entry.path):
            removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: it exists
    return True


def ssh_environment(directory: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ) if base is None else base
    kept = {k: v for k, v in env.items() if k in ENV_KEEP or k.startswith(ENV_KEEP_PREFIX)}
    return {
        **kept,
        "TERM": "vt100",
        "SSH_ASKPASS": str(directory / "askpass"),
        "SSH_ASKPASS_REQUIRE": "force",
        ASKPASS_FIFO_ENV: str(directory / "answer"),
    }


def prepare_dir(directory: Path) -> None:
    """Write the askpass helper and create the answer FIFO (both owner-only)."""
    script = directory / "askpass"
    fd = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o700)
    with os.fdopen(fd, "w") as fh:
        fh.write(ASKPASS_SCRIPT)
    os.mkfifo(directory / "answer", 0o600)


def remove_dir(directory: Path) -> None:
    for name in _PRIVATE_NAMES:
        with contextlib.suppress(OSError):
            (directory / name).unlink()
    with contextlib.suppress(OSError):
        directory.rmdir()


class SshProcess:
    """An ``ssh`` child: ``recv``/``sendall`` on its terminal (when ``tty``), its stderr read
    as it comes (diagnostics kept, askpass questions answered through ``answer``).

    The channel API (``settimeout``/``recv``/``recv_ready``/``sendall``/``close``) is what the
    shell dialogue of :class:`~ipsecctl.transport.ssh.SshSession` uses. ``cut`` may be called
    from any thread and never blocks: it signals ssh, whose exit ends every wait with EOF.
    """

    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        directory: Path,
        answer: Answer,
        *,
        tty_size: tuple[int, int] | None = (511, 24),
    ) -> None:
        self.directory = directory
        self._answer = answer
        self._timeout: float | None = None
        self._err_text = ""
        self.diagnostics: deque[str] = deque(maxlen=DIAGNOSTIC_LINES)
        self._listeners: list[Callable[[str], None]] = []
        # held open read-write: the helper's open never blocks, and nothing is in the FIFO
        # until a question was seen
        self._fifo = os.open(directory / "answer", os.O_RDWR | os.O_NONBLOCK)
        master = slave = out_r = out_w = -1
        err_r, err_w = os.pipe()
        try:
            stdin: int = subprocess.DEVNULL
            stdout: int = subprocess.DEVNULL
            if tty_size is not None:
                # ssh takes the remote terminal's size from its standard input
                master, slave = os.openpty()
                width, height = tty_size
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
                tty.setraw(slave)  # no echo, no newline translation: bytes as typed
                out_r, out_w = os.pipe()
                stdin, stdout = slave, out_w
            self.proc = subprocess.Popen(
                list(argv),
                stdin=stdin,
                stdout=stdout,
                stderr=err_w,
                env=env,
                cwd=directory,
                start_new_session=True,  # no controlling terminal: ssh must use askpass
                close_fds=True,
            )
        except BaseException:
            for fd in (master, out_r, err_r, self._fifo):
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in (err_w, slave, out_w):
                if fd >= 0:
                    os.close(fd)
        self._master = master  # what is typed
        self._out = out_r  # what the device prints
        self._err = err_r
        os.set_blocking(err_r, False)
        if master >= 0:
            os.set_blocking(master, False)
            os.set_blocking(out_r, False)
        self._poll = select.poll()
        if out_r >= 0:
            self._poll.register(out_r, select.POLLIN)
        self._poll.register(err_r, select.POLLIN)
        self._err_open = True
        self._eof = False  # the terminal's end (a connection master has none)
        self.hung_up = False  # ssh closed the terminal (it is ending)
        self._closed = False

    # -- what ssh says -----------------------------------------------------------------------

    def on_line(self, listener: Callable[[str], None]) -> None:
        """Call ``listener`` with each diagnostic line (askpass questions excluded)."""
        self._listeners.append(listener)

    def _read_stderr(self) -> None:
        try:
            data = os.read(self._err, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._poll.unregister(self._err)
            self._err_open = False
            data = b"\n"  # flush an unfinished last line
        self._err_text += data.decode("utf-8", "replace")
        self._take_stderr()

    def _take_stderr(self) -> None:
        """Split what ssh wrote into diagnostic lines and askpass questions (which may span
        lines: the host-key question does)."""
        text = self._err_text
        while True:
            start = text.find(ASKPASS_OPEN)
            nl = text.find("\n")
            if start >= 0 and (nl < 0 or start < nl):
                end = text.find(ASKPASS_CLOSE, start + len(ASKPASS_OPEN))
                if end < 0:
                    break  # the question is still arriving
                self._lines(text[:start])
                self._ask(text[start + len(ASKPASS_OPEN) : end])
                text = text[end + len(ASKPASS_CLOSE) :]
                continue
            if nl < 0:
                break
            self._lines(text[: nl + 1])
            text = text[nl + 1 :]
        self._err_text = text

    def _lines(self, text: str) -> None:
        for raw in text.splitlines():
            line = raw.strip("\r ")
            if line:
                self.diagnostics.append(line)
                for listener in self._listeners:
                    listener(line)

    def _ask(self, question: str) -> None:
        reply = self._answer(question)
        line = "-\n" if reply is None or "\n" in reply else f"+{reply}\n"
        # on failure the helper reads nothing and ssh sees a declined question
        with contextlib.suppress(OSError):
            os.write(self._fifo, line.encode())

    # -- the channel ----------------------------------------------------------------------------

    def settimeout(self, timeout: float | None) -> None:
        self._timeout = timeout

    def wait_event(self, timeout: float | None) -> bool:
        """Wait for the device's output, stderr or exit (stderr is handled here); True when
        the output has something (or reached its end)."""
        ms = None if timeout is None else max(0, int(timeout * 1000))
        events = self._poll.poll(ms)
        ready = False
        for fd, mask in events:
            if fd == self._err:
                self._read_stderr()
            else:
                ready = True
                self.hung_up = bool(mask & (select.POLLHUP | select.POLLERR))
        return ready

    def recv(self, nbytes: int) -> bytes:
        """What the device printed (waiting first: after a command nothing is there yet),
        ``b""`` once ssh has ended, TimeoutError when the timeout passed in silence."""
        if self._eof or self._master < 0:
            return b""
        end = None if self._timeout is None else time.monotonic() + self._timeout
        while True:
            left = None if end is None else max(0.0, end - time.monotonic())
            if self.wait_event(left):
                try:
                    data = os.read(self._out, nbytes)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    if exc.errno != errno.EIO:
                        raise
                    data = b""  # the other end is gone (ssh ended)
                if not data:
                    self._eof = True
                    self._drain_stderr()
                return data
            if left is not None and left <= 0:
                raise TimeoutError()

    def recv_ready(self) -> bool:
        if self._eof or self._master < 0:
            return False
        return bool(select.select([self._out], [], [], 0)[0])

    def sendall(self, data: bytes) -> None:
        if self._master < 0 or self._eof:
            raise EOFError("the ssh process has ended")
        view = memoryview(data)
        end = None if self._timeout is None else time.monotonic() + self._timeout
        while view:
            try:
                sent = os.write(self._master, view)
            except BlockingIOError:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError() from None
                select.select([], [self._master], [], left)
                continue
            view = view[sent:]

    # -- the process --------------------------------------------------------------------------

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None and not self._eof

    def wait_exit(self, timeout: float) -> int | None:
        """Read stderr until ssh has exited (or ``timeout``); its exit status, or None."""
        end = time.monotonic() + timeout
        while True:
            status = self.proc.poll()
            if status is not None:
                self._drain_stderr()
                return status
            left = end - time.monotonic()
            if left <= 0:
                return None
            if self._err_open:
                self.wait_event(min(left, 0.05))
            else:
                time.sleep(min(left, 0.01))

    def _drain_stderr(self) -> None:
        """What ssh wrote before it ended (its error message), without blocking long."""
        end = time.monotonic() + 0.5
        while self._err_open and time.monotonic() < end:
            if not self._poll.poll(50):
                if self.proc.poll() is not None:
                    continue
                break
            self._read_stderr()

    def cut(self) -> None:
        """End ssh now (any thread, never blocks): every wait on it then sees EOF."""
        if self.proc.returncode is None:
            with contextlib.suppress(OSError):
                self.proc.send_signal(signal.SIGTERM)

    def close(self) -> None:
        """End ssh (politely, then not) and free the terminal, the pipe and the FIFO."""
        if self._closed:
            return
        self._closed = True
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._master, self._out, self._err, self._fifo):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._out = self._err = self._fifo = -1
