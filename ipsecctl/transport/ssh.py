"""A persistent SSH session to one device: prompt, enable, paging, and clean command output.

Cisco-like devices are driven through one interactive shell (``platform.shell``) that stays
open across dashboard refreshes; Linux gateways (strongSwan) get one exec channel per command.
Every wait is bounded by the command timeout and by the device's overall budget, and a session
that timed out or was dropped reconnects on its next command rather than returning stale text.
"""

from __future__ import annotations

import codecs
import logging
import re
import threading
import time
from collections.abc import Callable

import paramiko

from ipsecctl.errors import (
    AuthenticationError,
    CommandRejected,
    ConnectError,
    TimeoutError_,
)
from ipsecctl.platforms import Platform

from .base import ConnectionParams, RunnerBase
from .client import cap, close_client, map_error, open_client
from .hostkeys import AskHostKey, KnownHosts
from .jump import JumpPool, jump_chain, resolve_params

log = logging.getLogger(__name__)

TERM_WIDTH = 511
PROMPT_SETTLE_S = 1.0  # wait for an unsolicited prompt before nudging with a newline
_ERASE_RE = re.compile(r"\x08+ *\x08+")
_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PROMPT_TAIL_RE = re.compile(r"(?:\([\w.\-]+\))?[>#$%]\s*$")


def clean_output(text: str) -> str:
    """Undo terminal artefacts: CRLF, paging erasures (backspaces), carriage-return redraws."""
    text = _ANSI_RE.sub("", text)
    text = _ERASE_RE.sub("", text).replace("\x08", "")
    lines = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if "\r" in line:
            line = line.rsplit("\r", 1)[1]
        lines.append(line)
    return "\n".join(lines)


def _last_line(tail: str) -> str:
    return clean_output(tail).rsplit("\n", 1)[-1]


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
        self._client: paramiko.SSHClient | None = None
        self._chan: paramiko.Channel | None = None
        self._broken = False
        self.prompt: str | None = None
        self._base = ""
        self._deadline_at = float("inf")
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._paging_re = re.compile(platform.paging) if platform.paging else None
        self._prompt_re = platform.prompt_re

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        client = self._client
        t = client.get_transport() if client else None
        return bool(t and t.is_active()) and not self._broken

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
            if renew:
                self.renew_deadline()
            if self.remaining() <= 0:
                raise self._deadline_error("connecting")
            try:
                self._open()
            except BaseException:
                self._drop()
                raise
            self._broken = False
            return self

    def reconnect(self) -> SshSession:
        return self.connect()

    def close(self) -> None:
        with self._lock:
            self._drop()
            if self._own_pool:
                self._pool.close()

    def _drop(self) -> None:
        if self._chan is not None:
            self._chan.close()
        if self._client is not None:
            close_client(self._client)
        self._chan = None
        self._client = None
        self.prompt = None

    def _open(self) -> None:
        p = self.params
        sock: paramiko.Channel | None = None
        hops = jump_chain(p)
        if hops:
            sock = self._pool.open_channel(hops, p, remaining=self.remaining())
        self._client = open_client(
            p, known=self._known, sock=sock, ask=self._ask, remaining=self.remaining()
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
        self._chan = chan
        self._decoder.reset()
        self.prompt = self._detect_prompt()
        if (
            self.prompt.rstrip().endswith(">")
            and self._platform.enable
            and self.params.enable_secret
        ):
            self._enable()
        for command in self._platform.prepare:
            self._shell_command(command, self.params.timeouts.command, check=False)
        log.debug("%s: session ready at prompt %r", self.device, self.prompt)

    def _detect_prompt(self) -> str:
        """Read until the last line looks like a prompt; nudge with a newline if silent."""
        limit = self.params.timeouts.command

        def is_prompt(tail: str) -> bool:
            return bool(self._prompt_re.match(_last_line(tail)))

        try:
            _, tail = self._read(is_prompt, min(PROMPT_SETTLE_S, limit), "(prompt)")
        except TimeoutError_:
            self._send_raw("\n")
            _, tail = self._read(is_prompt, limit, "(prompt)")
        prompt = _last_line(tail).rstrip()
        self._set_prompt(prompt)
        return prompt

    def _set_prompt(self, prompt: str) -> None:
        self.prompt = prompt
        self._base = _PROMPT_TAIL_RE.sub("", prompt)

    def _is_prompt(self, tail: str) -> bool:
        line = _last_line(tail)
        return line.startswith(self._base) and bool(self._prompt_re.match(line))

    def _enable(self) -> None:
        spec = self._platform.enable
        assert spec is not None and self.params.enable_secret is not None
        password_re = re.compile(spec.password_prompt)

        def prompt_or_password(tail: str) -> bool:
            return self._is_prompt(tail) or bool(password_re.search(_last_line(tail)))

        timeout = self.params.timeouts.command
        self._drain()
        self._send_raw(spec.command + "\n")
        _, tail = self._read(prompt_or_password, timeout, spec.command)
        if password_re.search(_last_line(tail)):
            self._send_raw(self.params.enable_secret + "\n")
            _, tail = self._read(prompt_or_password, timeout, spec.command)
            tries = 0
            while password_re.search(_last_line(tail)) and tries < 3:
                tries += 1  # wrong secret: IOS asks again; answer empty until it gives up
                self._send_raw("\n")
                _, tail = self._read(prompt_or_password, timeout, spec.command)
        prompt = _last_line(tail).rstrip()
        self._set_prompt(prompt)
        if not prompt.endswith("#"):
            raise AuthenticationError(
                f"enable failed on {self.device}: the device did not accept the enable "
                "secret; check enable_secret in the inventory",
                device=self.device,
            )

    def _shell_command(self, command: str, timeout: float, *, check: bool = True) -> str:
        self._drain()
        self._send_raw(command + "\n")
        head, tail = self._read(self._is_prompt, timeout, command, paging=True)
        text = clean_output(head + tail)
        lines = text.split("\n")
        lines = lines[:-1]  # the prompt
        for i, line in enumerate(lines[:2]):
            if line.strip().endswith(command.strip()):
                lines = lines[i + 1 :]
                break
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        output = "\n".join(lines) + ("\n" if lines else "")
        if check:
            self._check_failure(command, output)
        return output

    def _send_raw(self, data: str) -> None:
        assert self._chan is not None
        try:
            self._chan.sendall(data.encode())
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self._broken = True
            raise ConnectError(
                f"connection to {self.device} was lost; it reconnects on the next command ({exc})",
                device=self.device,
            ) from exc

    def _drain(self) -> None:
        """Discard stale output (an extra prompt) so it cannot end the next read early."""
        assert self._chan is not None
        while self._chan.recv_ready():
            self._chan.recv(65536)

    def _read(
        self,
        done: Callable[[str], bool],
        timeout: float,
        command: str,
        *,
        paging: bool = False,
    ) -> tuple[str, str]:
        """Collect output until ``done(last partial line)``; returns (full lines, last line)."""
        chan = self._chan
        assert chan is not None
        parts: list[str] = []
        tail = ""
        started = time.monotonic()
        end = min(started + timeout, self._deadline_at)
        while not (tail and done(tail)):
            left = end - time.monotonic()
            if left <= 0:
                self._broken = True  # output may still arrive: never reuse this shell
                raise self._timeout_error(
                    end, command, f"no prompt {timeout:g}s after sending {command!r}"
                )
            chan.settimeout(left)
            try:
                data = chan.recv(65536)
            except TimeoutError:
                continue
            except (OSError, EOFError, paramiko.SSHException) as exc:
                data = b""
                log.debug("%s: recv failed: %s", self.device, exc)
            if not data:
                self._broken = True
                raise ConnectError(
                    f"{self.device} closed the connection while running {command!r}; "
                    "it reconnects on the next command",
                    device=self.device,
                )
            tail += self._decoder.decode(data)
            if "\n" in tail:
                head, tail = tail.rsplit("\n", 1)
                parts.append(head + "\n")
            if paging and self._paging_re is not None:
                match = self._paging_re.search(tail)
                if match:
                    tail = tail[: match.start()] + tail[match.end() :]
                    chan.sendall(self._platform.paging_answer.encode())
        return "".join(parts), tail

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
            raise map_error(exc, self.params) from exc
        out: list[bytes] = []
        err: list[bytes] = []
        try:
            while True:
                busy = False
                while chan.recv_ready():
                    out.append(chan.recv(65536))
                    busy = True
                while chan.recv_stderr_ready():
                    err.append(chan.recv_stderr(65536))
                    busy = True
                if (chan.exit_status_ready() or chan.closed) and not (
                    chan.recv_ready() or chan.recv_stderr_ready()
                ):
                    break
                if time.monotonic() >= end:
                    raise self._timeout_error(
                        end, command, f"{command!r} did not finish within {timeout:g}s"
                    )
                if not busy:
                    time.sleep(0.01)
            status = chan.recv_exit_status() if chan.exit_status_ready() else -1
        finally:
            chan.close()
        stdout = clean_output(b"".join(out).decode("utf-8", "replace"))
        stderr = clean_output(b"".join(err).decode("utf-8", "replace"))
        self._check_failure(command, stdout + "\n" + stderr)
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
        for line in output.splitlines():
            if any(ind in line for ind in self._platform.failure_indicators):
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
            if self._client is None:
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
