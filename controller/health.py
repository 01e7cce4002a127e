"""The controller's own HTTP endpoint: `/healthz` (200 while the work loop keeps turning) and `/metrics`
(the Prometheus text `controller.metrics` renders).

A stdlib HTTP server on its own thread; it only reads numbers the loop publishes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STALE_AFTER = 60.0


@dataclass(frozen=True)
class LoopStats:
    reconciled: int
    failed: int
    queue_depth: int
    heartbeat_age: float


def start_health_server(
    host: str, port: int, stats: Callable[[], LoopStats], metrics: Callable[[], bytes]
) -> ThreadingHTTPServer:
    """Serve /healthz and /metrics on host:port in a daemon thread; the caller shuts the server down."""

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            now = stats()
            if path == "/metrics":
                self._send(200, metrics(), "text/plain; version=0.0.4; charset=utf-8")
            elif path in ("/healthz", "/livez", "/readyz"):
                fresh = now.heartbeat_age < STALE_AFTER
                self._send(200 if fresh else 503, b"ok\n" if fresh else b"stalled\n", "text/plain")
            else:
                self.send_error(404)

        def log_message(self, format: str, *args: object) -> None:  # probes every few seconds: stay quiet
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="health").start()
    return server
