"""The exporter against the lab, scraped by a real Prometheus server (Debian's prometheus)
and linted by Prometheus' own ``promtool check metrics``.

What Prometheus answers for ``ipsecctl_tunnel_up`` is compared with the lab's configuration:
tunnels between healthy routers are up (1), tunnels whose configuration can never give an
IPsec SA are down (0). Counters must stay monotonic through a clear on a router (its
counters restart): Prometheus' ``resets()`` finds none.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ipsecctl.lab import Lab
from tests.helpers import need
from tests.monitor import labtruth
from tests.monitor.proc import Running


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bytes(resp.read())


def _wait_http(url: str, timeout: float) -> bytes:
    end = time.monotonic() + timeout
    while True:
        try:
            return _get(url)
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.3)


@pytest.fixture
def exporter(lab: Lab, tmp_path: Path) -> Iterator[tuple[str, Running]]:
    port = _port()
    run = Running(
        "-i",
        str(lab.inventory_path),
        "exporter",
        "--listen",
        f"127.0.0.1:{port}",
        "--interval",
        "1",
        home=tmp_path / "exporter",
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        _wait_http(url, 30)
        end = time.monotonic() + 30  # until the first poll is in
        while b"ipsecctl_tunnel_up{" not in _get(url) and time.monotonic() < end:
            time.sleep(0.3)
        yield url, run
    finally:
        if run.proc.poll() is None:
            assert run.interrupt() == 0, run.stderr
        run.stop()


@pytest.fixture
def prometheus_bin() -> tuple[str, str]:
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    need(prom is not None and tool is not None, "prometheus and promtool not installed")
    assert prom is not None and tool is not None
    return prom, tool


def test_promtool_finds_nothing_to_lint(
    exporter: tuple[str, Running], prometheus_bin: tuple[str, str]
) -> None:
    url, _run = exporter
    body = _get(url)
    done = subprocess.run(
        [prometheus_bin[1], "check", "metrics"], input=body, capture_output=True, timeout=60
    )
    assert done.returncode == 0, done
    assert done.stdout.strip() == b"" and done.stderr.strip() == b"", done


def _query(base: str, q: str) -> list[dict[str, Any]]:
    raw = _get(f"{base}/api/v1/query?query={urllib.parse.quote(q)}")
    doc = json.loads(raw)
    assert doc["status"] == "success", doc
    return list(doc["data"]["result"])


def test_prometheus_scrapes_the_exporter_and_answers_queries(
    lab: Lab, exporter: tuple[str, Running], prometheus_bin: tuple[str, str]
) -> None:
    url, _run = exporter
    target = url.removeprefix("http://").removesuffix("/metrics")
    work = Path(tempfile.mkdtemp(prefix="ipsecctl-prom-"))
    (work / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: ipsecctl\n    static_configs: [{{targets: ['{target}']}}]\n"
    )
    web = _port()
    prom = subprocess.Popen(
        [
            prometheus_bin[0],
            f"--config.file={work / 'prometheus.yml'}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{web}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(work / "log").open("w"),
        cwd=work,
    )
    base = f"http://127.0.0.1:{web}"
    try:
        _wait_http(f"{base}/-/ready", 60)
        end = time.monotonic() + 60
        found: list[dict[str, Any]] = []
        while time.monotonic() < end:
            found = _query(base, "ipsecctl_tunnel_up")
            if found:
                break
            time.sleep(0.5)
        assert found, (work / "log").read_text()[-3000:]
        up = {
            (r["metric"]["device"], r["metric"]["peer"], r["metric"].get("vrf") or None): float(
                r["value"][1]
            )
            for r in found
        }
        assert all(r["metric"]["job"] == "ipsecctl" for r in found)
        healthy = set(labtruth.healthy_routers(lab))
        addresses = {r.address: r.name for r in lab.routers}
        ends = labtruth.ends(lab)
        both_healthy = [
            e
            for e in ends
            if e.router in healthy and addresses.get(e.peer) in healthy and e.expected_up
        ]
        assert both_healthy
        for e in both_healthy:
            assert up[(e.router, e.peer, e.vrf)] == 1.0, e
        never = labtruth.never_up(lab)
        for e in ends:
            if (e.router, e.peer) in never:
                assert up[(e.router, e.peer, e.vrf)] == 0.0, e
        keys = {(e.router, e.peer, e.vrf) for e in ends}
        assert set(up) <= keys  # nothing the lab does not have
        assert {(e.router, e.peer, e.vrf) for e in ends if e.expected_up} <= set(up)
        devices = _query(base, "ipsecctl_device_up")
        assert {r["metric"]["device"]: r["value"][1] for r in devices} == {
            r.name: "1" for r in lab.routers
        }

        # a clear restarts the router's counters; the exported ones must not go back
        end_ = labtruth.healthy_link(lab)
        before = _packets(base, end_.router, end_.peer)
        assert lab.fleet.clear(end_.router, "session", peer=end_.peer) == 1
        time.sleep(6)  # the tunnel comes back, several polls and scrapes
        after = _packets(base, end_.router, end_.peer)
        assert after >= before
        resets = _query(base, "sum(resets(ipsecctl_tunnel_packets_total[5m]))")
        assert resets and float(resets[0]["value"][1]) == 0.0
        dur = _query(base, "ipsecctl_poll_duration_seconds")
        assert dur and float(dur[0]["value"][1]) > 0
    finally:
        prom.terminate()
        try:
            prom.wait(30)
        except subprocess.TimeoutExpired:
            prom.kill()
            prom.wait()
        shutil.rmtree(work, ignore_errors=True)


def _packets(base: str, device: str, peer: str) -> float:
    q = f'sum(ipsecctl_tunnel_packets_total{{device="{device}",peer="{peer}"}})'
    found = _query(base, q)
    assert found, q
    return float(found[0]["value"][1])


def test_gzip_and_not_found(exporter: tuple[str, Running]) -> None:
    import gzip

    url, _run = exporter
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert b"# TYPE ipsecctl_tunnel_up gauge" in gzip.decompress(resp.read())
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(url.replace("/metrics", "/nothing"))
    assert err.value.code == 404
