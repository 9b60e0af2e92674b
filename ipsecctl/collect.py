"""Poll devices concurrently into :class:`DeviceState` snapshots.

A :class:`Collector` keeps one SSH session per device between polls (the dashboard refreshes
over them), runs devices on a bounded thread pool, and turns every failure into an error entry
of that device's snapshot: one unreachable router never hides the others, and a command that
fails on a device does not lose the commands that worked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from typing import NamedTuple, Protocol, runtime_checkable

from inventory import Host
from ipsecctl import errors
from ipsecctl.models import CommandError, DeviceState
from ipsecctl.platforms import get_platform
from ipsecctl.sessions import SessionPool

log = logging.getLogger(__name__)

ProgressCallback = Callable[[DeviceState], None]


@runtime_checkable
class Renewable(Protocol):
    """A runner with a per-device time budget that each poll starts afresh."""

    def renew_deadline(self, seconds: float | None = None) -> None: ...


class Answers(NamedTuple):
    """What one device said to one poll, before parsing.

    ``reached``: a session was had at all (otherwise ``errors`` says why and nothing is
    parsed); ``reachable``: the session lasted long enough to give some output.
    """

    host: Host
    outputs: dict[str, str]
    errors: list[CommandError]
    polled_at: datetime
    extras: list[str]
    reached: bool
    reachable: bool


def _error_kind(exc: BaseException) -> str:
    kind = exc.kind if isinstance(exc, errors.TransportError | errors.ParseError) else None
    return kind or type(exc).__name__.lower()


class Collector:
    """Polls hosts over a :class:`SessionPool`; safe to call from several threads."""

    def __init__(
        self,
        pool: SessionPool,
        *,
        workers: int = 16,
        extra_commands: Iterable[str] = (),
        keep_raw: bool = False,
    ) -> None:
        self.pool = pool
        self.workers = max(1, workers)
        self.extra_commands = list(extra_commands)
        self.keep_raw = keep_raw
        self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="poll")
        self._closed = threading.Event()

    # -- one device -------------------------------------------------------------------------
    def poll_one(
        self, host: Host, commands: Iterable[str] | None = None, *, extra: Sequence[str] = ()
    ) -> DeviceState:
        """Run the platform's show commands (plus ``extra``) on one host; never raises for
        device problems. The raw text of ``extra`` commands (logs, configuration) is always
        kept: the rules that read it have no parsed form of it."""
        return self.snapshot(self.ask(host, commands, extra=extra))

    def ask(
        self, host: Host, commands: Iterable[str] | None = None, *, extra: Sequence[str] = ()
    ) -> Answers:
        """The device's answers to its commands, unparsed: the I/O half of :meth:`poll_one`."""
        platform = get_platform(host.platform or "")
        wanted = list(commands) if commands is not None else platform.commands()
        extras = [c for c in [*self.extra_commands, *extra] if c not in wanted]
        wanted += list(dict.fromkeys(extras))
        outputs: dict[str, str] = {}
        errs: list[CommandError] = []
        polled_at = datetime.now(UTC)
        try:
            runner = self.pool.session(host)
        except errors.IpsecctlError as exc:
            errs.append(CommandError(command=None, kind=_error_kind(exc), message=str(exc)))
            return Answers(host, outputs, errs, polled_at, extras, reached=False, reachable=False)
        if isinstance(runner, Renewable):
            runner.renew_deadline()  # persistent sessions: each poll gets the full budget
        reachable = True
        for command in wanted:
            try:
                outputs[command] = runner.send(command)
            except errors.CommandRejected as exc:
                # an extra command (the log, the configuration) the device will not give is
                # missing evidence, not a failed poll
                kind = "unavailable" if command in extras else "rejected"
                errs.append(CommandError(command=command, kind=kind, message=str(exc)))
            except errors.TransportError as exc:
                # the session is unusable now: drop it so the next poll reconnects
                errs.append(CommandError(command=command, kind=_error_kind(exc), message=str(exc)))
                self.pool.discard(host.name)
                reachable = bool(outputs)
                break
        return Answers(host, outputs, errs, polled_at, extras, reached=True, reachable=reachable)

    def snapshot(self, answers: Answers) -> DeviceState:
        """Parse ``answers`` into the device's snapshot: the CPU half of :meth:`poll_one`."""
        host = answers.host
        if not answers.reached:
            return self._unreached(host, answers.errors, answers.polled_at)
        from ipsecctl.assemble import assemble  # the parsers: loaded while devices answer

        state = assemble(
            host.name,
            host.platform or "",
            answers.outputs,
            errors=answers.errors,
            expected_up=host.expected_up,
            polled_at=answers.polled_at,
            keep_raw=self.keep_raw,
        )
        if not self.keep_raw and answers.extras:
            kept = {c: answers.outputs[c] for c in answers.extras if c in answers.outputs}
            if kept:
                state.raw = {**(state.raw or {}), **kept}
        state.reachable = answers.reachable
        state.endpoint = self.pool.endpoint(host)
        return state

    def _unreached(
        self, host: Host, errs: list[CommandError], polled_at: datetime | None = None
    ) -> DeviceState:
        """The state of a device that gave nothing this poll (why: ``errs``)."""
        return DeviceState(
            device=host.name,
            platform=host.platform or "",
            polled_at=polled_at or datetime.now(UTC),
            reachable=False,
            errors=errs,
            endpoint=self.pool.endpoint(host),
        )

    # -- many devices -----------------------------------------------------------------------
    def submit(self, host: Host, *, extra: Sequence[str] = ()) -> Future[DeviceState]:
        return self._executor.submit(self._guarded, host, extra)

    def _guarded(self, host: Host, extra: Sequence[str] = ()) -> DeviceState:
        return self._settled(self._ask_guarded(host, extra))

    def _ask_guarded(self, host: Host, extra: Sequence[str] = ()) -> Answers | DeviceState:
        try:
            return self.ask(host, extra=extra)
        except errors.IpsecctlError as exc:
            return self._unreached(host, [CommandError(kind=_error_kind(exc), message=str(exc))])
        except Exception as exc:  # a bug on one device must not lose the fleet's results
            return self._internal(host, exc)

    def _settled(self, answers: Answers | DeviceState) -> DeviceState:
        """The snapshot of what :meth:`_ask_guarded` gave (already one if nothing was asked)."""
        if isinstance(answers, DeviceState):
            return answers
        try:
            return self.snapshot(answers)
        except errors.IpsecctlError as exc:
            kind = _error_kind(exc)
            return self._unreached(answers.host, [CommandError(kind=kind, message=str(exc))])
        except Exception as exc:  # a parser bug on one device must not lose the others
            return self._internal(answers.host, exc)

    def _internal(self, host: Host, exc: Exception) -> DeviceState:
        log.error("polling %s failed", host.name, exc_info=exc)
        internal = CommandError(kind="internal", message=f"internal error: {exc!r}")
        return self._unreached(host, [internal])

    def poll(
        self,
        hosts: Iterable[Host],
        *,
        progress: ProgressCallback | None = None,
        deadline: float | None = None,
        extra: Mapping[str, Sequence[str]] | None = None,
    ) -> list[DeviceState]:
        """Poll every host; results keep the hosts' order. ``deadline`` is seconds overall;
        ``extra`` adds commands per device name."""
        host_list = list(hosts)
        extra = extra or {}
        # the workers only talk to devices; answers are parsed here, in the caller's thread,
        # as they arrive: parsing in the workers held the interpreter's lock while other
        # sessions had data waiting, and ran the parsers' code cold between reads
        futures = {
            self._executor.submit(self._ask_guarded, h, extra.get(h.name, ())): i
            for i, h in enumerate(host_list)
        }
        results: list[DeviceState | None] = [None] * len(host_list)
        pending = set(futures)
        try:
            # one waiter for the whole fleet (waiting for the first of the rest, again and
            # again, costs a lock per device per completion: 40,000 for 200 routers)
            for fut in as_completed(futures, timeout=deadline or None):
                pending.discard(fut)
                state = self._settled(fut.result())
                results[futures[fut]] = state
                if progress is not None:
                    progress(state)
        except TimeoutError:
            pass  # the overall deadline: what has not answered is reported below
        for fut in pending:
            i = futures[fut]
            host = host_list[i]
            late = CommandError(
                kind="timeout",
                message=f"{host.name}: no answer within the overall deadline of {deadline:.0f} s",
            )
            results[i] = self._unreached(host, [late])
        return [r for r in results if r is not None]

    def close(self, *, abandon: bool = False) -> None:
        """Stop polling and close every session; ``abandon`` closes without waiting on any
        device (a hung session's thread is left to die with the process)."""
        if self._closed.is_set():
            return
        self._closed.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.pool.close(abandon=abandon)

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
