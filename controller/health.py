"""The controller's liveness endpoint: `/healthz` is 200 while the work loop keeps turning.

A stdlib HTTP server on its own thread; it reads one heartbeat value and does nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STALE_AFTER = 60.0


def start_health_server(host: str, port: int, heartbeat: Callable[[], float]) -> ThreadingHTTPServer:
    """Serve /healthz on host:port in a daemon thread; the caller shuts the server down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/healthz", "/livez", "/readyz"):
                self.send_error(404)
                return
            fresh = time.monotonic() - heartbeat() < STALE_AFTER
            body = b"ok\n" if fresh else b"stalled\n"
            self.send_response(200 if fresh else 503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # probes every few seconds: stay quiet
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="health").start()
    return server
