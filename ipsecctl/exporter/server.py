"""The exporter's HTTP side: ``/metrics`` serves the bytes the last poll rendered.

A scrape never polls and never renders: it copies a prepared body (and its gzip form,
made once per poll at the first scrape that asks for it), so its cost does not grow with
the fleet and a slow device never delays Prometheus. Everything else is 404, except ``/``
(a pointer to ``/metrics``).
"""

from __future__ import annotations

import gzip
import ipaddress
import logging
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from ipsecctl.errors import UsageError

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:9787"
INDEX = (
    b"<html><head><title>ipsecctl exporter</title></head><body>"
    b'<h1>ipsecctl exporter</h1><p><a href="/metrics">/metrics</a></p></body></html>\n'
)


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[V6]:PORT`` or ``:PORT`` (all addresses) -> (host, port)."""
    raw = text.strip()
    host, sep, port_text = raw.rpartition(":")
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--listen {text!r}: write HOST:PORT, e.g. 127.0.0.1:9787 or [::1]:9787")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise UsageError(f"--listen {text!r}: {host!r} is not an IPv6 address") from None
    return host or "0.0.0.0", int(port_text)


@dataclass
class Body:
    """One rendered exposition, plain and (lazily) gzipped."""

    plain: bytes
    _gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.plain, compresslevel=5, mtime=0)
        return self._gzipped


class MetricsStore:
    """The body scrapes get; replaced whole by each poll (thread-safe)."""

    def __init__(self, initial: bytes = b"") -> None:
        self._body = Body(initial)
        self._lock = threading.Lock()

    def set(self, plain: bytes) -> None:
        body = Body(plain)
        with self._lock:
            self._body = body

    def get(self) -> Body:
        with self._lock:
            return self._body


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            body = self.server.metrics.get()
            zipped = "gzip" in (self.headers.get("Accept-Encoding") or "")
            data = body.gzipped() if zipped else body.plain
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)
            if zipped:
                self.send_header("Content-Encoding", "gzip")
        elif path == "/":
            data = INDEX
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
        else:
            data = b"not found: the metrics are at /metrics\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("exporter %s: " + format, self.address_string(), *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], metrics: MetricsStore) -> None:
        self.metrics = metrics
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class MetricsServer:
    """``/metrics`` on ``host:port`` in a background thread until :meth:`close`."""

    def __init__(self, host: str, port: int, metrics: MetricsStore) -> None:
        try:
            self._server = _Server((host, port), metrics)
        except OSError as exc:
            raise UsageError(
                f"--listen {host}:{port}: cannot listen ({exc.strerror or exc})",
                hint="choose another address or port",
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ipsecctl-exporter-http", daemon=True
        )
        self._started = False

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/metrics"

    def start(self) -> MetricsServer:
        self._thread.start()
        self._started = True
        return self

    def close(self) -> None:
        if self._started:
            self._server.shutdown()
            self._started = False
        self._server.server_close()
