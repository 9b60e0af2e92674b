"""A Prometheus exporter: the fleet's tunnels as metrics, from the last poll.

::

    from ipsecctl.exporter import Exporter, MetricsServer
    from ipsecctl.ops.monitor import LiveSource, Monitor

    exporter = Exporter()
    server = MetricsServer("127.0.0.1", 9787, exporter.metrics).start()
    Monitor(LiveSource(fleet), interval=30).run(exporter.on_cycle)

The monitor polls on its own schedule (:mod:`ipsecctl.ops.monitor`); each round is rendered
once (:mod:`ipsecctl.exporter.metrics`) and every scrape serves that rendering
(:mod:`ipsecctl.exporter.server`). Metric names, types and labels are listed in
:func:`ipsecctl.exporter.metrics.families`.
"""

from __future__ import annotations

import logging

from ipsecctl.exporter.metrics import CounterBank, Snapshot, render
from ipsecctl.exporter.server import DEFAULT_LISTEN, MetricsServer, MetricsStore, parse_listen
from ipsecctl.ops.monitor import Cycle

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_LISTEN",
    "CounterBank",
    "Exporter",
    "MetricsServer",
    "MetricsStore",
    "Snapshot",
    "parse_listen",
    "render",
]


class Exporter:
    """Turns monitor rounds into the body ``/metrics`` serves (call :meth:`on_cycle` from
    the one thread that runs the monitor)."""

    def __init__(self) -> None:
        self.bank = CounterBank()
        self.rounds = 0
        self.metrics = MetricsStore(render(Snapshot(), self.bank))

    def on_cycle(self, cycle: Cycle) -> None:
        self.rounds += 1
        if cycle.error is not None:  # keep serving the last good round
            log.warning("exporter: poll %d failed: %s", cycle.number, cycle.error)
            return
        for state in cycle.states:
            self.bank.update(state)
        snapshot = Snapshot(cycle.states, cycle.duration_s, self.rounds)
        self.metrics.set(render(snapshot, self.bank))
