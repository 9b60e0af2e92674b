"""``ipsecctl check``: a monitoring plugin for Nagios, Icinga, Naemon and Checkmk.

This command follows the monitoring-plugin contract, not ipsecctl's own exit-code table:

====  ========  ===========================================================================
code  state     when
====  ========  ===========================================================================
0     OK        every expected tunnel is up and no tunnel has a fault
1     WARNING   a tunnel has a fault (one-way traffic, errors rising, flapping, IKE stuck,
                about to expire), or a device could not be polled
2     CRITICAL  an expected tunnel is down (or ``--critical`` says so)
3     UNKNOWN   nothing could be polled, a bad argument, an unusable inventory or store
====  ========  ===========================================================================

Output: one status line, ``IPSEC <STATE> - <summary> | <performance data>``, then one line
per tunnel with a fault and per device not polled (the plugin "long output").

Faults are the operations layer's one definition (:mod:`ipsecctl.ops.faults`).
``--warning``/``--critical`` are ranges in the plugins' syntax (``N``: alert above N;
``N:``: below N; ``~:N``; ``N:M``: outside; ``@N:M``: inside) over the number of tunnels
with a fault. Without ``--critical``, CRITICAL means "an expected tunnel is down"; without
``--warning``, any fault warns.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ipsecctl import errors
from ipsecctl.cli.commands_views import TargetsArg
from ipsecctl.cli.context import AppContext
from ipsecctl.models import DeviceState, Tunnel
from ipsecctl.ops.faults import Assessment, assess, expected_up_and_not_up
from ipsecctl.ops.monitor import failing

if TYPE_CHECKING:
    import typer.core

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
PREFIX = "IPSEC"
SHOWN = 3  # tunnels named on the status line
LONG_LINES = 200  # lines of long output at most

_RANGE = re.compile(r"^(@)?(?:(~|[-+]?\d+(?:\.\d+)?)?(:))?([-+]?\d+(?:\.\d+)?)?$")


@dataclass(frozen=True)
class Range:
    """A plugin threshold range (see the module docstring); :meth:`alerts` says whether a
    value falls where it should raise the state."""

    text: str
    low: float | None  # None: minus infinity
    high: float | None  # None: plus infinity
    inside: bool = False

    @classmethod
    def parse(cls, text: str, option: str) -> Range:
        m = _RANGE.match(text.strip())
        if not text.strip() or not m or (m.group(3) is None and m.group(4) is None):
            raise errors.UsageError(
                f"{option} {text!r}: not a threshold range (N, N:, ~:N, N:M or @N:M)"
            )
        inside, start, colon, end = m.groups()
        if colon is None:  # "N" means 0:N
            low: float | None = 0.0
            high: float | None = float(end)
        else:
            low = None if start == "~" else float(start or 0)
            high = float(end) if end is not None else None
        if low is not None and high is not None and low > high:
            raise errors.UsageError(f"{option} {text!r}: the start is above the end")
        return cls(text.strip(), low, high, inside is not None)

    def alerts(self, value: float) -> bool:
        within = (self.low is None or value >= self.low) and (
            self.high is None or value <= self.high
        )
        return within if self.inside else not within


def expected(t: Tunnel) -> bool:
    """A tunnel the inventory expects up, or one not known to be on-demand that is not idle
    (the fault definition's reading of ``expected_up``)."""
    return t.expected_up is True or (t.expected_up is None and t.state != "idle")


def where(t: Tunnel) -> str:
    return f"{t.device} -> {t.peer or '?'}" + (f" vrf {t.vrf}" if t.vrf else "")


def _clean(text: str) -> str:
    """Plugin output: ``|`` starts performance data, so never inside the text."""
    return " ".join(text.replace("|", "/").split())


def _named(tunnels: Sequence[Tunnel]) -> str:
    shown = ", ".join(where(t) for t in tunnels[:SHOWN])
    return f"({shown}{', ...' if len(tunnels) > SHOWN else ''})"


@dataclass
class Verdict:
    code: int
    summary: str
    perfdata: list[str]
    details: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return STATES[self.code]

    def text(self) -> str:
        head = _clean(f"{PREFIX} {self.state} - {self.summary}")
        if self.perfdata:
            head += " | " + " ".join(self.perfdata)
        lines = [head]
        body = [_clean(d) for d in self.details]
        if len(body) > LONG_LINES:
            body = [*body[:LONG_LINES], f"... and {len(body) - LONG_LINES} more"]
        return "\n".join(lines + body) + "\n"


def unknown(message: str) -> Verdict:
    return Verdict(UNKNOWN, message, [])


def _perf(
    label: str,
    value: float | int,
    uom: str = "",
    warn: str = "",
    crit: str = "",
    low: float | int | None = None,
    high: float | int | None = None,
) -> str:
    parts = [
        f"{value:g}{uom}" if isinstance(value, float) else f"{value}{uom}",
        warn,
        crit,
        "" if low is None else f"{low:g}",
        "" if high is None else f"{high:g}",
    ]
    return f"{label}=" + ";".join(parts).rstrip(";")


def evaluate(
    states: Sequence[DeviceState],
    assessment: Assessment,
    *,
    warning: Range | None = None,
    critical: Range | None = None,
    not_polled: dict[str, str] | None = None,
    poll_s: float | None = None,
) -> Verdict:
    """The plugin's verdict over one poll (pure). ``not_polled``: device -> why its state
    does not count (a failed poll, or a stored state too old)."""
    unseen = dict(not_polled or {})
    for s in states:
        if failing(s) and s.device not in unseen:
            why = "; ".join(e.message for e in s.errors if e.fatal) or "unreachable"
            unseen[s.device] = why
    seen = [s for s in states if s.device not in unseen]
    if not seen:
        if not unseen:
            return unknown("the selection holds no device")
        names = "; ".join(f"{d}: {w}" for d, w in list(unseen.items())[:SHOWN])
        more = ", ..." if len(unseen) > SHOWN else ""
        return Verdict(
            UNKNOWN,
            f"no device could be polled ({names}{more})",
            [],
            [f"{d}: not polled: {w}" for d, w in unseen.items()],
        )
    tunnels = [t for s in seen for t in s.tunnels]
    wanted = [t for t in tunnels if expected(t)]
    up = [t for t in wanted if t.state == "up"]
    down = [t for t in tunnels if expected_up_and_not_up(t)]
    faulted = assessment.fault_tunnels(seen)
    others = [t for t in faulted if t not in down]
    ike = [sa for s in seen for sa in s.ike_sas]
    error_total = sum(t.error_count for t in tunnels)

    crit = critical.alerts(len(faulted)) if critical is not None else bool(down)
    warn = warning.alerts(len(faulted)) if warning is not None else bool(faulted)
    code = CRITICAL if crit else WARNING if (warn or unseen) else OK

    parts: list[str] = []
    if down:
        parts.append(f"{len(down)} of {len(wanted)} expected tunnels down {_named(down)}")
    if others:
        parts.append(f"{len(others)} tunnel(s) with a fault {_named(others)}")
    if unseen:
        names = ", ".join(list(unseen)[:SHOWN]) + (", ..." if len(unseen) > SHOWN else "")
        parts.append(f"{len(unseen)} of {len(states)} devices not polled ({names})")
    if not down:
        parts.append(f"{len(up)} of {len(wanted)} expected tunnels up on {len(seen)} devices")
    summary = ", ".join(parts)

    perf = [
        _perf("tunnels_up", len(up), low=0, high=len(wanted)),
        _perf(
            "tunnels_down",
            len(down),
            crit="" if critical is not None else "0",
            low=0,
            high=len(wanted),
        ),
        _perf(
            "faults",
            len(faulted),
            warn=warning.text if warning else "0",
            crit=critical.text if critical else "",
            low=0,
            high=len(tunnels),
        ),
        _perf("ike_up", sum(1 for sa in ike if sa.status == "up"), low=0, high=len(ike)),
        _perf("errors", error_total, "c"),
        _perf("devices_polled", len(seen), low=0, high=len(states)),
    ]
    if poll_s is not None:
        perf.append(_perf("poll_time", round(poll_s, 3), "s", low=0))
    details = [
        f"{where(t)}: {', '.join(r.lower() for r in assessment.reasons(t))} "
        f"(state {t.state}, IKE {t.ike_state or '-'})"
        for t in faulted
    ]
    details += [f"{d}: not polled: {w}" for d, w in unseen.items()]
    return Verdict(code, summary, perf, details)


# -- running as a plugin ------------------------------------------------------------------------


def run(command: Any, args: list[str]) -> int:
    """Run ``ipsecctl check ...`` under the plugin contract: whatever goes wrong before a
    verdict (a bad argument, an unreadable inventory, an interrupt, a bug) is one
    ``IPSEC UNKNOWN - reason`` line and exit 3, never a traceback or exit 2."""
    try:
        rv = command.main(args=args, prog_name="ipsecctl", standalone_mode=False)
    except typer.TyperException as exc:  # click usage errors, bad parameters
        fmt = getattr(exc, "format_message", None)
        return _unknown_exit(fmt() if callable(fmt) else str(exc))
    except typer.Abort:
        return _unknown_exit("aborted")
    except errors.IpsecctlError as exc:
        return _unknown_exit(str(exc))
    except KeyboardInterrupt:
        return _unknown_exit("interrupted")
    except Exception as exc:  # the plugin contract has no room for a traceback
        return _unknown_exit(f"internal error: {exc!r}")
    return rv if isinstance(rv, int) else OK


def _unknown_exit(message: str) -> int:
    sys.stdout.write(unknown(message).text())
    sys.stdout.flush()
    return UNKNOWN


def _poll(
    obj: AppContext, targets: list[str] | None, timeout: float
) -> tuple[list[DeviceState], Assessment, dict[str, str], float]:
    import time

    if obj.from_store:
        raise AssertionError("reads from the store go through _read_store")
    hosts = obj.select(targets or [])
    if not hosts:
        raise errors.UsageError("the selection matches no device")
    fleet = obj.fleet(hosts, logs=True)
    try:
        t0 = time.monotonic()
        states = fleet.poll(logs=True, deadline=timeout)
        took = time.monotonic() - t0
        found = assess(states, fleet.previous_states(), history=fleet.history())
    finally:
        fleet.close(abandon=True)
    return states, found, {}, took


def _read_store(
    obj: AppContext, targets: list[str] | None, max_age: float
) -> tuple[list[DeviceState], Assessment, dict[str, str], float | None]:
    from ipsecctl.ops.formatting import fmt_duration

    stored = obj.stored_fleet(targets or [])
    try:
        states = stored.poll()
        found = assess(states, stored.previous_states(), history=stored.history())
    finally:
        stored.close()
    old: dict[str, str] = {}
    for s in states:
        age = s.extra.get("age_s")
        if s.extra.get("stored") is not False and age is not None and age > max_age:
            old[s.device] = f"its last recorded poll is {fmt_duration(int(age))} old"
    return states, found, old, None


def register(app: typer.Typer) -> None:
    @app.command()
    def check(
        ctx: typer.Context,
        targets: TargetsArg = None,
        warning: Annotated[
            str | None,
            typer.Option(
                "-w",
                "--warning",
                metavar="RANGE",
                help="WARNING when the number of tunnels with a fault is outside RANGE "
                "(default: any fault).",
            ),
        ] = None,
        critical: Annotated[
            str | None,
            typer.Option(
                "-c",
                "--critical",
                metavar="RANGE",
                help="CRITICAL when the number of tunnels with a fault is outside RANGE "
                "(default: an expected tunnel is down).",
            ),
        ] = None,
        timeout: Annotated[
            str,
            typer.Option(
                "-t",
                "--timeout",
                metavar="S",
                help="Give up on devices that have not answered after S seconds.",
            ),
        ] = "50",
        max_age: Annotated[
            str,
            typer.Option(
                "--max-age",
                metavar="S",
                help="With --from-store: a device whose last recorded poll is older counts as "
                "not polled.",
            ),
        ] = "300",
    ) -> int:
        """Monitoring plugin (Nagios, Icinga, Naemon, Checkmk): exit 0 OK, 1 WARNING,
        2 CRITICAL, 3 UNKNOWN (not ipsecctl's own exit codes); one status line with
        performance data, then details."""
        from ipsecctl.ops.monitor import seconds

        obj: AppContext = ctx.obj
        obj.quiet = True  # no "using the running lab's inventory" noise in the plugin output
        warn = Range.parse(warning, "--warning") if warning is not None else None
        crit = Range.parse(critical, "--critical") if critical is not None else None
        limit = seconds(timeout, "--timeout")
        if obj.from_store:
            states, found, old, took = _read_store(obj, targets, seconds(max_age, "--max-age"))
        else:
            states, found, old, took = _poll(obj, targets, limit)
        verdict = evaluate(states, found, warning=warn, critical=crit, not_polled=old, poll_s=took)
        sys.stdout.write(verdict.text())
        sys.stdout.flush()
        raise typer.Exit(verdict.code)
