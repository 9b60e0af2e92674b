"""``ipsecctl watch`` (every change as a line) and ``ipsecctl collect`` (a quiet collector).

Both run the operations layer's polling loop (:mod:`ipsecctl.ops.monitor`); every poll is
recorded to the history store, and the events shown are the ones the store recorded, so
``watch``, ``history`` and the dashboard agree. ``--shard K/N`` and inventory groups split a
fleet between collectors writing one store (``--store postgresql://...``); ``--from-store``
watches what other collectors record instead of polling.

Exit codes: 0 when the run ended as asked (Ctrl-C, ``--count``, ``--duration``) and a
device answered in the last round; 1 when no device could be polled in the last round;
2 for a usage error.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from ipsecctl import errors
from ipsecctl.cli import render
from ipsecctl.cli.commands_views import TargetsArg
from ipsecctl.cli.context import AppContext, stderr
from ipsecctl.models import SCHEMA
from ipsecctl.ops.monitor import Cycle, LiveSource, Monitor, Source, StoreSource, Summary, seconds

if TYPE_CHECKING:
    from ipsecctl.transitions import Event

IntervalOpt = Annotated[
    float | None,
    typer.Option(
        "--interval",
        min=0.5,
        metavar="S",
        help="Seconds between polls (default: the refresh_interval setting, 5).",
    ),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        "--shard",
        metavar="K/N",
        help="Poll only shard K of N of the selection (one collector per shard; a "
        "device's shard depends on its name only).",
    ),
]
CollectorOpt = Annotated[
    str | None,
    typer.Option(
        "--collector",
        metavar="NAME",
        help="This collector's name in the history store (default: host name, plus the shard).",
    ),
]


def open_source(
    obj: AppContext,
    targets: list[str] | None,
    *,
    shard: str | None = None,
    collector: str | None = None,
    logs: bool = False,
) -> Source:
    """Where rounds come from: the store (``--from-store``) or polls of the selection (of one
    shard); a usage error when the selection is empty."""
    from ipsecctl.ops.shard import parse_shard

    if obj.from_store:
        if shard is not None:
            raise errors.UsageError(
                "--shard picks the devices a collector polls; with "
                "--from-store name the devices (or group:NAME) instead"
            )
        return StoreSource(obj.stored_fleet(targets or []))
    part = parse_shard(shard) if shard is not None else None
    hosts = obj.select(targets or [])
    if not hosts:
        raise errors.UsageError("the selection matches no device")
    if part is not None:
        hosts = part.select(hosts)
        if not hosts:
            raise errors.UsageError(
                f"--shard {part}: no device of this selection falls in "
                "that shard (use fewer shards)"
            )
    fleet = obj.fleet(hosts, logs=logs)
    fleet.collector_name = collector or socket.gethostname() + (
        f" shard {part}" if part is not None else ""
    )
    return LiveSource(fleet)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """A service manager's SIGTERM ends the run like Ctrl-C (summary, clean exit)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_loop(
    monitor: Monitor,
    on_cycle: Callable[[Cycle], None],
    *,
    count: int | None,
    duration: float | None,
) -> tuple[Summary, bool]:
    """Run until done or interrupted; returns the summary and whether it was interrupted.
    Sessions are abandoned on an interrupt (a hung device never delays the exit)."""
    interrupted = False
    try:
        with sigterm_as_interrupt():
            monitor.run(on_cycle, count=count, duration=duration)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if monitor.summary.ended is None:
            monitor.summary.ended = monitor.now()
        with contextlib.suppress(Exception):
            monitor.close(abandon=interrupted)
    return monitor.summary, interrupted


def _vrf(ev: Event) -> str:
    return f" vrf {ev.vrf}" if ev.vrf else ""


def human_line(ev: Event) -> str:
    """One event for people: time, where, what, from -> to, and the detail."""
    from ipsecctl.cli.commands_history import _STYLE, describe

    where = ev.device + (f" -> {ev.peer}" if ev.peer else "") + _vrf(ev)
    style = _STYLE.get(ev.event)
    name = f"[{style}]{ev.event}[/]" if style else ev.event
    change = ""
    if ev.from_ is not None or ev.to is not None:
        change = f"  {_text(ev.from_)} -> {_text(ev.to)}"
    detail = describe(ev)
    when = ev.time.strftime("%H:%M:%SZ")
    return f"{when}  {escape(where)}  {name}{escape(change)}" + (
        f"  {escape(detail)}" if detail else ""
    )


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def _write_json(obj: dict[str, Any]) -> None:
    import json

    sys.stdout.write(json.dumps(obj, separators=(",", ":"), default=str) + "\n")
    sys.stdout.flush()


def print_summary(summary: Summary, *, as_json: bool, interrupted: bool) -> None:
    doc = summary.doc()
    if as_json:
        _write_json({"schema": SCHEMA, "kind": "summary", "interrupted": interrupted, **doc})
        return
    kinds = ", ".join(f"{k} {n}" for k, n in doc["events"].items()) or "none"
    failing = ", ".join(doc["failing"][:10]) + (" ..." if len(doc["failing"]) > 10 else "")
    console = stderr()
    console.print(
        f"{'stopped' if interrupted else 'done'}: {doc['polls']} poll(s) of {doc['devices']} "
        f"device(s) in {doc['duration_s']:.0f} s; events: {escape(kinds)}; failing now: "
        f"{escape(failing) if failing else 'none'}"
        + (f"; rounds that failed: {doc['round_errors']}" if doc["round_errors"] else ""),
        highlight=False,
    )


def exit_code(summary: Summary, interrupted: bool) -> int:
    if summary.polls == 0 or summary.answered_last:
        return errors.EXIT_OK
    return errors.EXIT_OK if interrupted else errors.EXIT_OPERATIONAL


def _limits(count: int | None, duration: str | None) -> float | None:
    if count is not None and duration is not None:
        raise errors.UsageError("--count and --duration: give one of them")
    return seconds(duration, "--duration") if duration is not None else None


def register(app: typer.Typer) -> None:
    @app.command()
    def watch(
        ctx: typer.Context,
        targets: TargetsArg = None,
        interval: IntervalOpt = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="One JSON object per line: events, then a summary.")
        ] = False,
        count: Annotated[
            int | None, typer.Option("--count", min=1, metavar="N", help="Stop after N polls.")
        ] = None,
        duration: Annotated[
            str | None,
            typer.Option("--duration", metavar="D", help="Stop after D (90, 30s, 5m, 2h)."),
        ] = None,
        shard: ShardOpt = None,
        collector: CollectorOpt = None,
    ) -> None:
        """Poll continuously and print every change as a line: tunnel up/down, one-way
        traffic, IKE state, rekeys with old and new SPIs, errors rising, device unreachable
        and back. Ctrl-C ends it with a summary."""
        obj: AppContext = ctx.obj
        limit = _limits(count, duration)
        every = interval or obj.settings.refresh_interval
        source = open_source(obj, targets, shard=shard, collector=collector)
        monitor = Monitor(source, interval=every)
        console = render.stdout_console()
        where = f"the store {obj.from_store}" if obj.from_store else "polls"
        what = f"{len(source.order)} device(s)" if source.order else "every device"
        stderr().print(
            f"watching {what} from {escape(where)} every {every:g} s; Ctrl-C to stop",
            highlight=False,
        )
        last_error: list[str | None] = [None]

        def show(cycle: Cycle) -> None:
            if cycle.error is not None:
                if cycle.error != last_error[0]:
                    stderr().print(
                        f"[yellow]warning:[/] poll {cycle.number}: {escape(cycle.error)}",
                        highlight=False,
                    )
                last_error[0] = cycle.error
                return
            last_error[0] = None
            for ev in cycle.events:
                if as_json:
                    _write_json(ev.line())
                else:
                    console.print(human_line(ev), highlight=False, soft_wrap=True)
            sys.stdout.flush()
            if cycle.number == 1:  # stderr in both forms: a script reading --json knows
                stderr().print(baseline_line(cycle), highlight=False)  # it is watching now

        summary, interrupted = run_loop(monitor, show, count=count, duration=limit)
        print_summary(summary, as_json=as_json, interrupted=interrupted)
        raise typer.Exit(exit_code(summary, interrupted))

    @app.command()
    def collect(
        ctx: typer.Context,
        targets: TargetsArg = None,
        interval: IntervalOpt = None,
        count: Annotated[
            int | None, typer.Option("--count", min=1, metavar="N", help="Stop after N polls.")
        ] = None,
        duration: Annotated[
            str | None,
            typer.Option("--duration", metavar="D", help="Stop after D (90, 30s, 5m, 2h)."),
        ] = None,
        shard: ShardOpt = None,
        collector: CollectorOpt = None,
    ) -> None:
        """Poll continuously into the history store (--store), printing only devices that
        stop or start answering: a collector for one region, jump host or --shard."""
        obj: AppContext = ctx.obj
        if obj.from_store:
            raise errors.UsageError(
                "collect polls devices; --from-store reads what "
                "collectors recorded (use watch or status with it)"
            )
        limit = _limits(count, duration)
        every = interval or obj.settings.refresh_interval
        source = open_source(obj, targets, shard=shard, collector=collector)
        store = obj.history_store()
        stderr().print(
            f"collecting {len(source.order)} device(s) every {every:g} s into "
            f"{escape(str(getattr(store, 'location', None) or 'no history store'))}; "
            "Ctrl-C to stop",
            highlight=False,
        )
        failing: set[str] = set()

        def note(cycle: Cycle) -> None:
            if cycle.error is not None:
                stderr().print(
                    f"[yellow]warning:[/] poll {cycle.number}: {escape(cycle.error)}",
                    highlight=False,
                )
                return
            now = set(cycle.failing)
            for s in cycle.states:
                if s.device in now - failing:
                    why = "; ".join(e.message for e in s.errors if e.fatal)
                    stderr().print(f"{escape(s.device)}: failing: {escape(why)}", highlight=False)
            for name in sorted(failing - now):
                stderr().print(f"{escape(name)}: answering again", highlight=False)
            failing.clear()
            failing.update(now)

        summary, interrupted = run_loop(
            Monitor(source, interval=every), note, count=count, duration=limit
        )
        print_summary(summary, as_json=False, interrupted=interrupted)
        raise typer.Exit(exit_code(summary, interrupted))


def baseline_line(cycle: Cycle) -> str:
    """What the first poll found (its tunnels are the baseline, not printed as events)."""
    tunnels = [t for s in cycle.states for t in s.tunnels]
    by_state: dict[str, int] = {}
    for t in tunnels:
        by_state[t.state] = by_state.get(t.state, 0) + 1
    states = ", ".join(f"{n} {k}" for k, n in sorted(by_state.items()))
    bad = len(cycle.failing)
    return (
        f"baseline: {len(cycle.states)} device(s)"
        + (f" ({bad} failing)" if bad else "")
        + f", {len(tunnels)} tunnel(s)"
        + (f": {states}" if states else "")
    )
