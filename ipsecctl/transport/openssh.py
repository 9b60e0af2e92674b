"""The OpenSSH transport: each device's session is an ``ssh`` client process ipsecctl drives.

Cisco-like devices: ``ssh -tt`` in a pseudo-terminal, read with the same shell dialogue as
the paramiko transport (first prompt, enable, prepare, each answer framed between its echo
and the next prompt, paging, limits, out-of-step detection): only the byte stream differs, so
the collector and everything above it are unchanged. Linux gateways (exec platforms): one
connection master (``ssh -M -N``) per device and one short ``ssh -S`` per command over it,
so a command costs no new login.

Why: the OpenSSH client does the SSH work (crypto, packets, windows) in C, one process per
device, and ipsecctl reads finished bytes with ``poll`` in the worker that waits for them; the
paramiko transport does that work in Python with a reader thread per connection. See
README "Polling lab routers" for what that saves.

Same rules as the paramiko transport: host keys are checked against the same known_hosts
files under the same policy (:mod:`.openssh_options`); passwords, passphrases and host-key
questions go through the askpass helper (:mod:`.ssh_process`), never an argument or the
environment; every wait is bounded by :class:`~ipsecctl.transport.base.Timeouts`; failures
are ipsecctl's errors (:mod:`.openssh_errors`). ssh_config, keys, the agent, ProxyJump and
ProxyCommand are OpenSSH's own, so a jump host is logged into once per device here (the
paramiko transport shares one login per jump host) unless ssh_config multiplexes it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import select
import shutil
import subprocess
import time
from pathlib import Path

from ipsecctl.errors import (
    ConnectError,
    OutputTooLargeError,
    TransportError,
    UsageError,
)
from ipsecctl.platforms import Platform

from .base import ConnectionParams
from .hostkeys import AskHostKey, KnownHosts
from .jump import JumpPool
from .openssh_errors import KEY_TYPES, login_timeout, phase_after, ssh_failure
from .openssh_options import NO_KEYSTROKE_TIMING, SSH_BINARY, config_text, exec_argv, ssh_argv
from .ssh import RECV_SIZE, TERM_WIDTH, SshSession, _mb
from .ssh_process import SshProcess, prepare_dir, private_dir, remove_dir, ssh_environment

log = logging.getLogger(__name__)

_WHO_RE = re.compile(r"([^\s@()']+)@([^\s()':]+)")
_HOST_Q_RE = re.compile(r"authenticity of host '([^' ]+)")
_FP_Q_RE = re.compile(r"(\S+) key fingerprint is (SHA256:[A-Za-z0-9+/=]+)")
EXIT_WAIT_S = 2.0  # how long a failed ssh may take to say why before it is ended


def openssh_available() -> bool:
    return shutil.which(SSH_BINARY) is not None


def knows_keystroke_timing() -> bool:
    """Whether the ``ssh`` on PATH accepts ``ObscureKeystrokeTiming`` (OpenSSH 9.5+), asked of
    it once per binary: ``ssh -G`` with the option only evaluates a configuration (no
    connection, no ssh_config of the operator's) and refuses an option it does not know."""
    path = shutil.which(SSH_BINARY)
    return path is not None and _accepts_option(path, NO_KEYSTROKE_TIMING[1])


@functools.lru_cache(maxsize=8)
def _accepts_option(path: str, option: str) -> bool:
    try:
        done = subprocess.run(
            [path, "-G", "-F", "none", "-o", option, "ipsecctl.invalid"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


class OpenSshSession(SshSession):
    """:class:`~ipsecctl.transport.ssh.SshSession` over an OpenSSH client process.

    ``jump_pool`` is accepted for the common constructor but only used to register the
    session (so a pool's ``abandon`` cuts it): OpenSSH makes its own jump connections.
    """

    def __init__(
        self,
        params: ConnectionParams,
        platform: Platform,
        *,
        ask_host_key: AskHostKey | None = None,
        jump_pool: JumpPool | None = None,
        known_hosts: KnownHosts | None = None,
    ) -> None:
        if not openssh_available():
            raise UsageError(
                f"{params.name}: the openssh transport needs the OpenSSH client ({SSH_BINARY}) "
                "on PATH; install openssh-client or use --transport paramiko"
            )
        super().__init__(
            params,
            platform,
            ask_host_key=ask_host_key,
            jump_pool=jump_pool,
            known_hosts=known_hosts,
        )
        self._given = params  # ssh applies ssh_config itself: it gets the names as given
        self._proc: SshProcess | None = None
        self._dir: Path | None = None
        self._phase = "connect"
        self._authenticated = False
        self._answered: set[str] = set()
        self._refusal: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        proc = self._proc
        return proc is not None and proc.alive and not self._broken

    def _is_open(self) -> bool:
        return self._proc is not None

    def _drop(self) -> None:
        proc, directory = self._proc, self._dir
        self._proc = None
        self._dir = None
        self._chan = None
        self.prompt = None
        self._cancel.clear()
        if proc is not None:
            proc.close()
        if directory is not None:
            remove_dir(directory)

    def _open(self) -> None:
        p = self._given
        shell = self._platform.shell
        directory = private_dir()
        self._dir = directory
        prepare_dir(directory)
        config = directory / "config"
        text = config_text(p, known_files=self._known.files, own=self._known.own)
        fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        if p.host_key_policy != "reject":  # ssh records new keys there, but makes no folder
            self._known.own.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        argv = ssh_argv(
            p,
            config,
            shell=shell,
            control=directory / "control",
            keystroke_timing=shell and knows_keystroke_timing(),
        )
        self._phase = "connect"
        self._authenticated = False
        self._answered = set()
        self._refusal = None
        proc = SshProcess(
            argv,
            ssh_environment(directory),
            directory,
            self._answer,
            tty_size=(TERM_WIDTH, 24) if shell else None,
        )
        self._proc = proc
        proc.on_line(self._seen)
        self._cancel.watch(proc)
        self._await_login(proc, directory / "control" if not shell else None)
        log.debug("%s: authenticated (openssh)", self.device)
        if shell:
            try:
                self._start_shell(proc)
            except ConnectError:
                if self._authenticated or proc.wait_exit(EXIT_WAIT_S) is None:
                    raise
                raise self._failure(proc) from None  # ssh ended: say why, as it said

    def _seen(self, line: str) -> None:
        self._phase = phase_after(self._phase, line)
        # "Authenticated to" is a verbose line: with -v, OpenSSH 9 prints it bare
        if line.removeprefix("debug1: ").startswith("Authenticated to ") and self._is_target(line):
            self._phase = "ready"
            self._authenticated = True

    def _is_target(self, line: str) -> bool:
        """Whether an "Authenticated to" line is the device's (not a jump host's)."""
        p = self.params
        if p.jump is None and not p.proxy_command:
            return True
        return f"Authenticated to {p.hostname} (" in line and f"]:{p.effective_port})" in line

    def _await_login(self, proc: SshProcess, control: Path | None) -> None:
        """Wait until ssh has logged in (and, for a master, listens on ``control``).

        ssh's ``-v`` line "Authenticated to" says so; output on the terminal says so too (a
        jump configuration whose names ssh spells differently still gets its session).
        """
        t = self.params.timeouts
        budget = min(t.connect + t.banner + t.auth, max(0.05, self.remaining()))
        end = time.monotonic() + budget
        while True:
            if self._phase == "ready" and (control is None or control.exists()):
                return
            if proc.proc.poll() is not None:
                raise self._failure(proc)
            left = end - time.monotonic()
            if left <= 0:
                if self._cancel.cancelled:
                    raise self._cancel.error("connecting")
                raise login_timeout(self._phase, self.params, budget)
            spoke = proc.wait_event(min(left, 0.2 if control is not None else 1.0))
            if spoke and control is None and not proc.hung_up and proc.proc.poll() is None:
                self._phase = "ready"

    def _failure(self, proc: SshProcess) -> TransportError:
        status = proc.wait_exit(EXIT_WAIT_S)
        if self._cancel.cancelled:
            return self._cancel.error("connecting")
        lines = list(proc.diagnostics)
        log.debug("%s: ssh ended with status %s: %s", self.device, status, lines[-3:])
        return ssh_failure(lines, self.params, known=self._known, host_key_refusal=self._refusal)

    # -- askpass questions -----------------------------------------------------------------

    def _answer(self, question: str) -> str | None:
        """Answer one question ssh asked through the askpass helper (``None`` declines).

        A password or passphrase is given once per account: asked again, it was refused, and
        declining lets ssh end with "Permission denied" instead of asking forever.
        """
        low = question.lower()
        if "authenticity of host" in low or "continue connecting" in low:
            return self._host_key_question(question)
        if "passphrase" in low:
            if self.params.passphrase and "passphrase" not in self._answered:
                self._answered.add("passphrase")
                return self.params.passphrase
            return None
        if "password" in low:
            secret, who = self._password_for(question)
            if secret is not None and who not in self._answered:
                self._answered.add(who)
                return secret
            return None
        log.debug("%s: declined an askpass question from ssh", self.device)
        return None

    def _password_for(self, question: str) -> tuple[str | None, str]:
        """The password for the account a prompt names: the device's, or a jump host's
        given as parameters (hop passwords are never the device's)."""
        match = _WHO_RE.search(question)
        if match is None:
            return self.params.password, "device"
        user, host = match[1], match[2]
        hop = self.params.jump
        while isinstance(hop, ConnectionParams):
            if hop.hostname == host and (hop.username in (None, user)):
                return hop.password, f"{user}@{host}"
            hop = hop.jump
        p = self.params
        if host in (p.hostname, self._given.hostname):
            return p.password, "device"
        return None, f"{user}@{host}"

    def _host_key_question(self, question: str) -> str:
        """Policy ``ask``: OpenSSH asks about an unknown key; the operator answers through
        the same callback as with paramiko, and OpenSSH records an accepted key."""
        host = _HOST_Q_RE.search(question)
        fp = _FP_Q_RE.search(question)
        name = host[1] if host else self.params.hostname
        key_type = KEY_TYPES.get(fp[1], fp[1]) if fp else "unknown"
        fingerprint = fp[2] if fp else "unknown"
        if self._ask is None:
            self._refusal = (
                f"unknown host key for {self.device} ({name}, fingerprint {fingerprint}) and "
                "nobody to ask; rerun at a terminal or with --host-key-policy accept-new"
            )
            return "no"
        if not self._ask(self.device, name, key_type, fingerprint):
            self._refusal = (
                f"host key for {self.device} ({name}, fingerprint {fingerprint}) was "
                "declined; not connecting"
            )
            return "no"
        return "yes"

    # -- exec commands over the connection master --------------------------------------------

    def _exec_command(self, command: str, timeout: float) -> str:
        directory = self._dir
        assert directory is not None and self._proc is not None
        end = min(time.monotonic() + timeout, self._deadline_at)
        argv = exec_argv(self._given, directory / "config", directory / "control", command)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=ssh_environment(directory),
                cwd=directory,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise ConnectError(f"{self.device}: cannot run {SSH_BINARY}: {exc}") from exc
        runner = _ExecRun(proc)
        self._cancel.watch(runner, f"running {command!r}")
        try:
            out, err, status = runner.collect(end, self.params.max_output)
        except TimeoutError:
            # only this command's client ends: the connection master stays usable
            if self._cancel.cancelled:
                raise self._cancel.error(f"running {command!r}") from None
            raise self._timeout_error(
                end, command, f"{command!r} did not finish within {timeout:g}s"
            ) from None
        except OverflowError:
            raise OutputTooLargeError(
                f"{self.device}: the output of {command!r} passed the limit of "
                f"{_mb(self.params.max_output)} and was stopped; the device may be misbehaving "
                "(raise max_output_mb if it really prints that much)",
                device=self.device,
            ) from None
        finally:
            self._cancel.forget(runner)
            runner.close()
        if self._cancel.cancelled:
            raise self._cancel.error(f"running {command!r}")
        if status == 255 and not self.connected:
            self._broken = True
            raise ConnectError(
                f"{self.device} closed the connection while running {command!r}; it "
                "reconnects on the next command",
                device=self.device,
            )
        return self._exec_result(command, out, err, status)

    def __repr__(self) -> str:
        return f"OpenSshSession(device={self.device!r}, platform={self.platform!r})"


class _ExecRun:
    """One ``ssh -S`` exec client: its stdout and stderr read to the end within a deadline."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def collect(self, end: float, limit: int) -> tuple[list[bytes], list[bytes], int]:
        """(stdout chunks, stderr chunks, exit status); TimeoutError past ``end``,
        OverflowError past ``limit`` bytes."""
        assert self.proc.stdout is not None and self.proc.stderr is not None
        streams: dict[int, list[bytes]] = {
            self.proc.stdout.fileno(): [],
            self.proc.stderr.fileno(): [],
        }
        out, err = streams[self.proc.stdout.fileno()], streams[self.proc.stderr.fileno()]
        poller = select.poll()
        for fd in streams:
            poller.register(fd, select.POLLIN)
        open_fds = set(streams)
        received = 0
        while open_fds:
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError()
            for fd, _ in poller.poll(int(left * 1000) + 1):
                data = os.read(fd, RECV_SIZE)
                if not data:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                    continue
                streams[fd].append(data)
                received += len(data)
                if received > limit:
                    raise OverflowError()
        try:
            status = self.proc.wait(max(0.05, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise TimeoutError() from None
        return out, err, status

    def cut(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.terminate()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()
