"""A persistent SSH session to one device: prompt, enable, paging, and exactly framed output.

Cisco-like devices are driven through one interactive shell (``platform.shell``) that stays
open across dashboard refreshes; Linux gateways (strongSwan) get one exec channel per command.
Each shell command's output is what lies between its own echo and the prompt after it
(:mod:`.framing`), so late prompts and slow answers can never shift outputs between commands.
Every wait is bounded by the command timeout and by the device's overall budget, every
command's output by ``max_output`` bytes, and a session that timed out, overflowed or fell out
of step reconnects on its next command rather than returning stale text. :meth:`abandon`
cuts a session from any thread without waiting (quitting never waits for a hung device).
"""

from __future__ import annotations

import codecs
import contextlib
import logging
import re
import threading
import time
from typing import Protocol

import paramiko

from ipsecctl.errors import (
    AuthenticationError,
    CommandRejected,
    ConnectError,
    OutOfStepError,
    OutputTooLargeError,
    TimeoutError_,
    TransportError,
)
from ipsecctl.platforms import Platform
from ipsecctl.redact import redact_text

from .base import ConnectionParams, RunnerBase
from .cancel import Cancel
from .client import cap, close_client, map_error, open_client
from .framing import Frame, clean_output
from .hostkeys import AskHostKey, KnownHosts
from .jump import JumpPool, jump_chain, resolve_params

__all__ = ["SshSession", "clean_output"]

log = logging.getLogger(__name__)

TERM_WIDTH = 511
PROMPT_SETTLE_S = 1.0  # wait for an unsolicited prompt before nudging with a newline
QUIET_S = 0.3  # silence that confirms a password prompt is really waiting for input
RECV_SIZE = 65536
_PROMPT_TAIL_RE = re.compile(r"(?:\([\w.\-]+\))?[>#$%]\s*$")
_PASSWORD_RE = re.compile(r"[Pp]assword:\s*$")


class ShellChannel(Protocol):
    """What the shell dialogue needs of a byte stream: a paramiko channel, or the terminal of
    an OpenSSH client process (:mod:`.openssh`). ``recv`` raises :class:`TimeoutError` when
    nothing came within the timeout and returns ``b""`` at end of file."""

    def settimeout(self, timeout: float | None) -> None: ...

    def recv(self, nbytes: int) -> bytes: ...

    def recv_ready(self) -> bool: ...

    def sendall(self, data: bytes) -> None: ...

    def close(self) -> None: ...


def _mb(n: int) -> str:
    return f"{n / 1048576:g} MB" if n >= 1048576 else f"{n} bytes"


class _Progress:
    """What one read received, for error messages that name the cause of a failure."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.last_data = self.started
        self.received = 0


class SshSession(RunnerBase):
    """:class:`~ipsecctl.transport.base.CommandRunner` over SSH; one lock serialises commands.

    ``connect()`` (or the first ``send``) opens the session; ``renew_deadline()`` starts a new
    overall budget (call it at the start of each poll of a persistent session).
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
        self.params = resolve_params(params)
        self.device = params.name
        self.platform = platform.name
        self._platform = platform
        self._ask = ask_host_key
        self._known = known_hosts or KnownHosts(self.params.known_hosts)
        self._own_pool = jump_pool is None
        # ``is None``, not ``or``: an empty shared pool is falsy (it has __len__), and ``or``
        # once gave every device a private pool, i.e. one bastion login per device.
        self._pool = JumpPool(self._known, ask=ask_host_key) if jump_pool is None else jump_pool
        self._lock = threading.RLock()
        self._cancel = Cancel(self.device)
        self._client: paramiko.SSHClient | None = None
        self._chan: ShellChannel | None = None
        self._broken = False
        self.prompt: str | None = None
        self._base = ""
        self._deadline_at = float("inf")
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._paging_re = re.compile(platform.paging) if platform.paging else None
        self._prompt_re = platform.prompt_re
        self._password_re = (
            re.compile(platform.enable.password_prompt) if platform.enable else _PASSWORD_RE
        )
        self._pool.register(self)

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        client = self._client
        t = client.get_transport() if client else None
        return bool(t and t.is_active()) and not self._broken

    def _is_open(self) -> bool:
        """Whether a connection was opened (it may have dropped since: see ``connected``)."""
        return self._client is not None

    @property
    def abandoned(self) -> bool:
        return self._cancel.cancelled

    def renew_deadline(self, seconds: float | None = None) -> None:
        """Start a new overall budget (default ``timeouts.overall``) for this device."""
        budget = self.params.timeouts.overall if seconds is None else seconds
        self._deadline_at = time.monotonic() + budget

    def remaining(self) -> float:
        return self._deadline_at - time.monotonic()

    def connect(self, *, renew: bool = True) -> SshSession:
        """Open (or reopen) the session: transport, shell, prompt, enable, prepare."""
        with self._lock:
            self._drop()
            self._cancel.check("connecting")
            if renew:
                self.renew_deadline()
            if self.remaining() <= 0:
                raise self._deadline_error("connecting")
            try:
                self._open()
            except BaseException as exc:
                self._drop()
                if self._cancel.cancelled and isinstance(exc, TransportError):
                    raise self._cancel.error("connecting") from None
                raise
            self._broken = False
            return self

    def reconnect(self) -> SshSession:
        return self.connect()

    def close(self, *, abandon: bool = False) -> None:
        """Close the session; ``abandon=True`` is :meth:`abandon` (never waits)."""
        if abandon:
            self.abandon()
            return
        with self._lock:
            self._drop()
            if self._own_pool:
                self._pool.close()
        self._pool.unregister(self)

    def abandon(self) -> None:
        """Cut the session now, from any thread, without waiting for anything.

        Whatever a command or a connect is blocked on (TCP connect, SSH banner, ``recv``)
        returns at once; that caller gets a ConnectError and the session never reconnects.
        The orderly close then happens on a daemon thread, so a device that does not answer
        can neither delay the caller nor keep the process alive.
        """
        first = not self._cancel.cancelled
        self._cancel.cancel()
        self._pool.unregister(self)
        if not first:
            return
        if self._own_pool:
            self._pool.abandon()
        threading.Thread(target=self._close_later, name="ipsecctl-close", daemon=True).start()

    def _close_later(self) -> None:
        with self._lock:  # the cut makes the thread holding it return promptly
            self._drop()

    def _drop(self) -> None:
        chan, client = self._chan, self._client
        self._chan = None
        self._client = None
        self.prompt = None
        self._cancel.clear()
        if chan is not None:
            # the cut may already have ended the transport: nothing left to tell the device
            with contextlib.suppress(EOFError, OSError, paramiko.SSHException):
                chan.close()
        if client is not None:
            close_client(client)

    def _open(self) -> None:
        p = self.params
        sock: paramiko.Channel | None = None
        hops = jump_chain(p)
        if hops:
            sock = self._pool.open_channel(hops, p, remaining=self.remaining())
        self._client = open_client(
            p,
            known=self._known,
            sock=sock,
            ask=self._ask,
            remaining=self.remaining(),
            cancel=self._cancel,
        )
        log.debug("%s: authenticated", self.device)
        if self._platform.shell:
            self._open_shell()

    # -- interactive shell ----------------------------------------------------------------

    def _open_shell(self) -> None:
        assert self._client is not None
        try:
            chan = self._client.invoke_shell(term="vt100", width=TERM_WIDTH, height=24)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise map_error(exc, self.params) from exc
        self._start_shell(chan)

    def _start_shell(self, chan: ShellChannel) -> None:
        """First prompt, enable and the platform's prepare commands on an open shell."""
        self._chan = chan
        self._decoder.reset()
        self.prompt = self._find_prompt()
        if (
            self.prompt.rstrip().endswith(">")
            and self._platform.enable
            and self.params.enable_secret
        ):
            self._enable()
        for command in self._platform.prepare:
            self._shell_command(command, self.params.timeouts.command, check=False)
        log.debug("%s: session ready at prompt %r", self.device, self.prompt)

    def _any_prompt(self, line: str) -> bool:
        return bool(self._prompt_re.match(line))

    def _is_prompt(self, line: str) -> bool:
        return line.startswith(self._base) and bool(self._prompt_re.match(line))

    def _set_prompt(self, prompt: str) -> None:
        self.prompt = prompt
        self._base = _PROMPT_TAIL_RE.sub("", prompt)

    def _find_prompt(self) -> str:
        """Read the login banner up to the first prompt, nudging once with a newline if the
        device stays quiet; a shell that asks for a password first gets the login password
        once (in-band login), and a second request is the login being refused."""
        limit = self.params.timeouts.command
        frame = Frame(None, self._any_prompt)
        answered = False
        while True:
            ended = self._read(frame, limit, None, nudge=not answered, expect_password=True)
            if ended == "prompt":
                break
            if answered or not self.params.password:
                raise AuthenticationError(
                    f"{self.device}: the device keeps asking for a password (the login was "
                    "refused); check the password in the inventory",
                    device=self.device,
                )
            log.debug("%s: in-band login: the shell asks for a password", self.device)
            self._send_raw(self.params.password + "\n")
            answered = True
            frame = Frame(None, self._any_prompt)
        prompt = frame.last_line().rstrip()
        self._set_prompt(prompt)
        return prompt

    def _enable(self) -> None:
        spec = self._platform.enable
        assert spec is not None and self.params.enable_secret is not None
        timeout = self.params.timeouts.command
        frame = Frame(spec.command, self._is_prompt)
        self._send_raw(spec.command + "\n")
        # the echo of ``enable`` and then "Password:" is the question asked: answered at
        # once, as expect tools answer the prompt they wait for (the quiet period that
        # confirms an unexpected one cost 0.3 s of every connection that enables)
        if self._read(frame, timeout, spec.command, expect_password=True, quiet=0) == "password":
            self._send_raw(self.params.enable_secret + "\n")
            frame = Frame(None, self._is_prompt)  # a secret is not echoed
            asked_again = self._read(frame, timeout, spec.command, expect_password=True, quiet=0)
            if asked_again == "password":
                raise AuthenticationError(
                    f"enable failed on {self.device}: the device keeps asking for a password "
                    "(the enable secret was refused); check enable_secret in the inventory",
                    device=self.device,
                )
        prompt = frame.last_line().rstrip()
        self._set_prompt(prompt)
        try:
            self._check_failure(spec.command, frame.output())
        except CommandRejected as exc:
            raise AuthenticationError(
                f"enable failed on {self.device}: {exc.message}", device=self.device
            ) from None
        if not prompt.endswith("#"):
            raise AuthenticationError(
                f"enable failed on {self.device}: the device did not accept the enable "
                "secret; check enable_secret in the inventory",
                device=self.device,
            )

    def _shell_command(self, command: str, timeout: float, *, check: bool = True) -> str:
        frame = Frame(command, self._is_prompt)
        self._send_raw(command + "\n")
        self._read(frame, timeout, command, paging=True)
        if frame.stale_lines:
            log.warning(
                "%s: the session was out of step: %d line(s) of earlier output arrived before "
                "the echo of %r and were discarded",
                self.device,
                frame.stale_lines,
                command,
            )
        output = frame.output()
        if check:
            self._check_failure(command, output)
        return output

    def _send_raw(self, data: str) -> None:
        chan = self._chan
        assert chan is not None
        try:
            chan.settimeout(max(0.05, min(self.params.timeouts.command, self.remaining())))
            chan.sendall(data.encode())
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self._broken = True
            if self._cancel.cancelled:
                raise self._cancel.error("sending a command") from None
            raise ConnectError(
                f"connection to {self.device} was lost; it reconnects on the next command ({exc})",
                device=self.device,
            ) from exc

    def _read(
        self,
        frame: Frame,
        timeout: float,
        command: str | None,
        *,
        paging: bool = False,
        nudge: bool = False,
        expect_password: bool = False,
        quiet: float = QUIET_S,
    ) -> str:
        """Receive into ``frame`` until it ends at the prompt (``"prompt"``) or, with
        ``expect_password``, at a password prompt (``"password"``).

        A password prompt nobody expected is the device refusing the credentials it was
        given. A line ending in ``Password:`` counts as a prompt once nothing more arrived
        for ``quiet`` seconds (a banner or an error message may hold those words and go
        on); where the password prompt is the very answer asked for (``enable``), ``quiet``
        is 0 and it counts as soon as nothing more is waiting. With ``nudge``, a newline is
        sent once if no prompt came within ``PROMPT_SETTLE_S`` (devices that wait for a
        keypress before their first prompt).
        """
        chan = self._chan
        assert chan is not None
        progress = _Progress()
        end = min(progress.started + timeout, self._deadline_at)
        limit = self.params.max_output
        quiet_until: float | None = None
        while True:
            if frame.at_prompt() and not chan.recv_ready():
                return "prompt"
            now = time.monotonic()
            if frame.echoed and self._password_re.search(frame.last_line()):
                if quiet_until is None:
                    quiet_until = now + quiet
                if now >= quiet_until and not chan.recv_ready():
                    if expect_password:
                        return "password"
                    raise self._password_error(command)
            else:
                quiet_until = None
            if nudge and now - progress.started >= min(PROMPT_SETTLE_S, timeout):
                nudge = False
                log.debug("%s: no prompt yet: sending a newline", self.device)
                self._send_raw("\n")
            left = end - now
            if left <= 0:
                self._broken = True  # output may still arrive: never reuse this shell
                raise self._stall_error(frame, command, timeout, end, progress)
            wait = left
            if quiet_until is not None:
                wait = min(wait, max(0.01, quiet_until - now))
            if nudge:
                wait = min(wait, max(0.01, progress.started + PROMPT_SETTLE_S - now))
            chan.settimeout(wait)
            try:
                data = chan.recv(RECV_SIZE)
            except TimeoutError:
                continue
            except (OSError, EOFError, paramiko.SSHException) as exc:
                data = b""
                log.debug("%s: recv failed: %s", self.device, exc)
            if not data:
                self._broken = True
                if self._cancel.cancelled:
                    raise self._cancel.error(f"running {command!r}" if command else "connecting")
                doing = f"while running {command!r}" if command else "before its first prompt"
                if progress.received and command:
                    doing += f" (after {_mb(progress.received)} of output)"
                raise ConnectError(
                    f"{self.device} closed the connection {doing}; it reconnects on the next "
                    "command",
                    device=self.device,
                )
            progress.received += len(data)
            progress.last_data = time.monotonic()
            if progress.received > limit:
                self._broken = True  # the rest is still coming: this shell is done
                what = repr(command) if command else "the login banner"
                raise OutputTooLargeError(
                    f"{self.device}: the output of {what} passed the limit of {_mb(limit)} "
                    "and was stopped; the device may be misbehaving (raise max_output_mb if "
                    "it really prints that much)",
                    device=self.device,
                )
            frame.feed(self._decoder.decode(data))
            if paging and self._paging_re is not None and frame.take_paging(self._paging_re):
                self._send_raw(self._platform.paging_answer)

    def _password_error(self, command: str | None) -> AuthenticationError:
        self._broken = True
        after = f" after {command!r}" if command else ""
        return AuthenticationError(
            f"{self.device}: the device keeps asking for a password{after} (the enable secret "
            "or the login was refused); check the credentials in the inventory",
            device=self.device,
        )

    def _stall_error(
        self, frame: Frame, command: str | None, timeout: float, end: float, progress: _Progress
    ) -> TransportError:
        """Say why the read did not end: silence, a trickle, a hang midway, or out of step."""
        what = repr(command) if command else "the first prompt"
        if end < self._deadline_at:
            budget = f"within {timeout:g}s (command timeout)"
            hint = "; raise the command timeout or check the device"
        else:
            budget = f"before the overall deadline of {self.params.timeouts.overall:g}s ran out"
            hint = "; raise the overall timeout or check the device"
        got = progress.received
        if not frame.echoed:
            prompts = frame.stale_prompts + frame.prompt_last()
            if prompts or frame.stale_lines:
                return OutOfStepError(
                    f"{self.device}: session out of step: {what} was never echoed {budget}; "
                    f"{prompts} prompt(s) and {frame.stale_lines} other line(s) arrived "
                    "instead; the session is reset",
                    device=self.device,
                )
            if not got:
                return TimeoutError_(
                    f"{self.device}: no answer to {what} {budget}; the device may be hung{hint}",
                    device=self.device,
                )
        elapsed = max(1e-3, time.monotonic() - progress.started)
        silent = time.monotonic() - progress.last_data
        if not got:
            where = f"no answer to {what}" if command else "no prompt after login"
            return TimeoutError_(
                f"{self.device}: {where} {budget}; the device may be hung{hint}",
                device=self.device,
            )
        if silent >= max(1.0, elapsed / 3):
            last = redact_text(frame.last_line().strip())[:60]
            shown = f"; last line: {last!r}" if last else ""
            if command:
                text = (
                    f"{command!r} stopped answering after {_mb(got)}: no prompt {budget}, "
                    f"silent for the last {silent:.0f}s{shown}"
                )
            else:
                text = f"no prompt recognised after login {budget}{shown}"
            return TimeoutError_(f"{self.device}: {text}{hint}", device=self.device)
        rate = got / elapsed
        return TimeoutError_(
            f"{self.device}: {what} was still arriving {budget}: only {_mb(got)} "
            f"({rate:.1f} bytes/s); the device or the link is too slow{hint}",
            device=self.device,
        )

    def _timeout_error(self, end: float, command: str, what: str) -> TimeoutError_:
        """Name the limit that ran out, so the hint says which timeout to raise: the overall
        deadline when it cut the command short, else the per-command timeout."""
        if end >= self._deadline_at:
            return self._deadline_error(f"running {command!r}")
        return TimeoutError_(
            f"{self.device}: {what} (command timeout); raise the command timeout or check "
            "the device",
            device=self.device,
        )

    def _deadline_error(self, doing: str) -> TimeoutError_:
        self._broken = True
        return TimeoutError_(
            f"{self.device}: overall deadline of {self.params.timeouts.overall:g}s ran out "
            f"{doing}; raise the overall timeout or check the device",
            device=self.device,
        )

    # -- exec channel -----------------------------------------------------------------------

    def _exec_command(self, command: str, timeout: float) -> str:
        assert self._client is not None
        transport = self._client.get_transport()
        assert transport is not None
        end = min(time.monotonic() + timeout, self._deadline_at)
        try:
            chan = transport.open_session(timeout=cap(timeout, self.remaining()))
            chan.exec_command(command)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            self._broken = True
            if self._cancel.cancelled:
                raise self._cancel.error(f"running {command!r}") from None
            raise map_error(exc, self.params) from exc
        out: list[bytes] = []
        err: list[bytes] = []
        received = 0
        limit = self.params.max_output
        try:
            while True:
                busy = False
                while chan.recv_ready():
                    out.append(chan.recv(RECV_SIZE))
                    received += len(out[-1])
                    busy = True
                while chan.recv_stderr_ready():
                    err.append(chan.recv_stderr(RECV_SIZE))
                    received += len(err[-1])
                    busy = True
                if received > limit:
                    raise OutputTooLargeError(
                        f"{self.device}: the output of {command!r} passed the limit of "
                        f"{_mb(limit)} and was stopped; the device may be misbehaving (raise "
                        "max_output_mb if it really prints that much)",
                        device=self.device,
                    )
                if (chan.exit_status_ready() or chan.closed) and not (
                    chan.recv_ready() or chan.recv_stderr_ready()
                ):
                    break
                if self._cancel.cancelled:
                    raise self._cancel.error(f"running {command!r}")
                if time.monotonic() >= end:
                    raise self._timeout_error(
                        end, command, f"{command!r} did not finish within {timeout:g}s"
                    )
                if not busy:
                    time.sleep(0.01)
            if not chan.exit_status_ready():
                self._broken = True
                if self._cancel.cancelled:
                    raise self._cancel.error(f"running {command!r}")
                raise ConnectError(
                    f"{self.device} closed the connection while running {command!r}; it "
                    "reconnects on the next command",
                    device=self.device,
                )
            status = chan.recv_exit_status()
        finally:
            chan.close()
        return self._exec_result(command, out, err, status)

    def _exec_result(self, command: str, out: list[bytes], err: list[bytes], status: int) -> str:
        """An exec command's output, or CommandRejected for a failure it printed or its
        non-zero exit status."""
        stdout = clean_output(b"".join(out).decode("utf-8", "replace"))
        out.clear()
        stderr = clean_output(b"".join(err).decode("utf-8", "replace"))
        self._check_failure(command, stdout)
        self._check_failure(command, stderr)
        if status != 0:
            detail = (stderr.strip() or stdout.strip() or "no output").splitlines()[0]
            raise CommandRejected(
                f"{self.device}: {command!r} exited with status {status}: {detail}",
                device=self.device,
                command=command,
            )
        return stdout

    # -- the CommandRunner API --------------------------------------------------------------

    def _check_failure(self, command: str, output: str) -> None:
        """Raise on the first line holding a failure indicator (linear, no line list)."""
        found = (output.find(ind) for ind in self._platform.failure_indicators)
        hits = [i for i in found if i >= 0]
        if not hits:
            return
        first = min(hits)
        stop = output.find("\n", first)
        line = output[output.rfind("\n", 0, first) + 1 : stop if stop >= 0 else len(output)]
        raise CommandRejected(
            f"{self.device} rejected {command!r}: {line.strip()}; check the command "
            "and the account's privilege level",
            device=self.device,
            command=command,
        )

    def send(self, command: str, *, timeout: float | None = None) -> str:
        """Run one command; output only (no echo, no prompt). Reconnects a dropped session."""
        limit = self.params.timeouts.command if timeout is None else timeout
        with self._lock:
            self._cancel.check(f"running {command!r}")
            if not self._is_open():
                self.connect()
            elif not self.connected:
                log.info("%s: reconnecting", self.device)
                self.connect(renew=False)
            if self.remaining() <= 0:
                raise self._deadline_error(f"before {command!r}")
            log.debug("%s: sending %r", self.device, command)
            if self._platform.shell:
                output = self._shell_command(command, limit)
            else:
                output = self._exec_command(command, limit)
            log.debug("%s: %r returned %d characters", self.device, command, len(output))
            return output

    def __repr__(self) -> str:
        return f"SshSession(device={self.device!r}, platform={self.platform!r})"
