"""``ipsecctl exporter``: a Prometheus exporter for the selection (or a shard of it).

It polls on its own schedule (``--interval``) through the same loop as ``watch``, records
every poll to the history store like any collector, and serves the last poll at
``/metrics``. With ``--from-store`` it polls nothing and exports what the collectors
recorded. Ctrl-C or SIGTERM stops it (exit 0).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from ipsecctl.cli.commands_views import TargetsArg
from ipsecctl.cli.commands_watch import (
    CollectorOpt,
    IntervalOpt,
    ShardOpt,
    open_source,
    run_loop,
)
from ipsecctl.cli.context import AppContext, stderr


def register(app: typer.Typer) -> None:
    @app.command()
    def exporter(
        ctx: typer.Context,
        targets: TargetsArg = None,
        listen: Annotated[
            str,
            typer.Option(
                "--listen",
                metavar="HOST:PORT",
                help="Where /metrics is served ([::1]:PORT for IPv6, :PORT for every address).",
            ),
        ] = "127.0.0.1:9787",
        interval: IntervalOpt = None,
        shard: ShardOpt = None,
        collector: CollectorOpt = None,
    ) -> None:
        """Prometheus metrics of every tunnel at /metrics (ipsecctl_tunnel_up, packets,
        bytes and errors counters, SA lifetimes, IKE SAs, devices), from the last poll."""
        from ipsecctl.exporter import Exporter, MetricsServer, parse_listen
        from ipsecctl.ops.monitor import Monitor

        obj: AppContext = ctx.obj
        host, port = parse_listen(listen)
        every = interval or obj.settings.refresh_interval
        source = open_source(obj, targets, shard=shard, collector=collector)
        exporter = Exporter()
        try:
            server = MetricsServer(host, port, exporter.metrics).start()
        except BaseException:
            source.close()
            raise
        where = f"the store {obj.from_store}" if obj.from_store else "polls"
        what = f"{len(source.order)} device(s)" if source.order else "every device"
        stderr().print(
            f"serving {escape(server.url)} for {what} from {escape(where)} every {every:g} s; "
            "Ctrl-C to stop",
            highlight=False,
        )
        monitor = Monitor(source, interval=every, baseline_first=False)
        try:
            summary, _ = run_loop(monitor, exporter.on_cycle, count=None, duration=None)
        finally:
            server.close()
        stderr().print(f"stopped: {summary.polls} poll(s) served", highlight=False)
        raise typer.Exit(0)
