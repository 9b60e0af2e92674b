"""Benchmark: what a Prometheus scrape of ``ipsecctl exporter`` costs, by fleet size.

Usage::

    python benchmarks/exporter_scrape.py [--tunnels 1000 10000] [--scrapes 50]
                                         [--out benchmarks/exporter_results.md]

For each size (routers of 10 tunnels, the tunnels of a generated ``show crypto ipsec sa``
parsed by ipsecctl, as in ``store_scale.py``), in one run:

* **ipsecctl**: the exporter's own path. Each poll is rendered once (``Exporter.on_cycle``:
  counters, metric families, text encoding); a scrape over HTTP (``/metrics``, plain and
  gzip, as Prometheus asks) serves those bytes;
* **render per scrape** (the named peer): the same metric families served by
  prometheus_client's own ``start_http_server`` with a custom collector, which builds and
  encodes them on every scrape: the usual way an exporter is written.

Scrapes are timed from the request to the last byte, over loopback, one at a time, with a
new connection each (as Prometheus does per scrape); median and p95.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import platform
import statistics
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from prometheus_client import start_http_server  # noqa: E402
from prometheus_client.core import Metric  # noqa: E402
from prometheus_client.registry import Collector, CollectorRegistry  # noqa: E402
from store_scale import Fleet  # noqa: E402

from ipsecctl.exporter import Exporter, MetricsServer  # noqa: E402
from ipsecctl.exporter.metrics import Snapshot, families  # noqa: E402
from ipsecctl.ops.monitor import Cycle  # noqa: E402


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median": statistics.median(ordered), "p95": p95}


def scrape(port: int, gz: bool) -> tuple[float, int]:
    """One scrape: seconds from request to last byte, and the bytes received."""
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Accept-Encoding": "gzip"} if gz else {}
    conn.request("GET", "/metrics", headers=headers)
    resp = conn.getresponse()
    body = resp.read()
    took = time.perf_counter() - t0
    conn.close()
    assert resp.status == 200, resp.status
    if gz and resp.getheader("Content-Encoding") == "gzip":
        assert b"ipsecctl_tunnel_up" in gzip.decompress(body)
    return took, len(body)


def timed_scrapes(port: int, n: int, gz: bool) -> dict[str, Any]:
    scrape(port, gz)  # warm up
    samples, size = [], 0
    for _ in range(n):
        took, size = scrape(port, gz)
        samples.append(took)
    return {**_stats(samples), "bytes": size}


class _PerScrape(Collector):
    """The peer: families built and encoded on every scrape."""

    def __init__(self, exporter: Exporter, snapshot: Snapshot) -> None:
        self.exporter = exporter
        self.snapshot = snapshot

    def collect(self) -> Iterable[Metric]:
        return families(self.snapshot, self.exporter.bank)


def one_size(tunnels: int, scrapes: int) -> dict[str, Any]:
    fleet = Fleet(tunnels, 10)
    exporter = Exporter()
    renders = []
    states = []
    for k in range(5):
        states = fleet.poll(k, datetime.now(UTC))
        cycle = Cycle(k + 1, datetime.now(UTC), 1.0, states, [])
        t0 = time.perf_counter()
        exporter.on_cycle(cycle)
        renders.append(time.perf_counter() - t0)
    series = exporter.metrics.get().plain.count(b"\nipsecctl_")
    server = MetricsServer("127.0.0.1", 0, exporter.metrics).start()
    try:
        port = server.address[1]
        ours = {gz: timed_scrapes(port, scrapes, gz) for gz in (False, True)}
    finally:
        server.close()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_PerScrape(exporter, Snapshot(states, 1.0, 5)))
    peer_server, _thread = start_http_server(0, "127.0.0.1", registry)
    try:
        peer_port = int(peer_server.server_address[1])
        peer = {gz: timed_scrapes(peer_port, max(5, scrapes // 5), gz) for gz in (False, True)}
    finally:
        peer_server.shutdown()
        peer_server.server_close()
    return {
        "tunnels": tunnels,
        "devices": len(states),
        "series": series,
        "render": _stats(renders),
        "ours": ours,
        "peer": peer,
    }


def _ms(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


def _kib(n: int) -> str:
    return f"{n / 1024:,.0f} KiB"


def report(results: list[dict[str, Any]], scrapes: int) -> str:
    lines = [
        "# Exporter scrape cost",
        "",
        f"`python benchmarks/exporter_scrape.py --tunnels "
        f"{' '.join(str(r['tunnels']) for r in results)} --scrapes {scrapes}` on "
        f"{platform.node() or 'this machine'} ({platform.machine()}, Python "
        f"{platform.python_version()}), {datetime.now(UTC):%Y-%m-%d}. Routers of 10 tunnels; "
        "loopback HTTP, a new connection per scrape; median (p95).",
        "",
        "| tunnels | series | render once per poll | scrape, plain | scrape, gzip | body "
        "(plain / gzip) | peer: render per scrape, plain | peer, gzip |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        o, p = r["ours"], r["peer"]
        lines.append(
            f"| {r['tunnels']:,} | {r['series']:,} | {_ms(r['render']['median'])} | "
            f"{_ms(o[False]['median'])} ({_ms(o[False]['p95'])}) | "
            f"{_ms(o[True]['median'])} ({_ms(o[True]['p95'])}) | "
            f"{_kib(o[False]['bytes'])} / {_kib(o[True]['bytes'])} | "
            f"{_ms(p[False]['median'])} ({_ms(p[False]['p95'])}) | "
            f"{_ms(p[True]['median'])} ({_ms(p[True]['p95'])}) |"
        )
    lines += [
        "",
        "ipsecctl renders each poll once, in the poll loop (the *render* column: paid once per "
        "poll interval, whatever the number of scrapers); a scrape copies the prepared body "
        "(gzip made once per poll, at the first scrape that asks for it). The peer builds and "
        "encodes the same metric families at every scrape, so each scraper pays the render.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tunnels", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--scrapes", type=int, default=50)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "exporter_results.md")
    args = ap.parse_args()
    results = []
    for n in args.tunnels:
        print(f"{n} tunnels ...", file=sys.stderr)
        results.append(one_size(n, args.scrapes))
    text = report(results, args.scrapes)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
