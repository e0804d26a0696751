"""``--metrics-port``: /healthz (alive), /readyz (database reachable, not paused) and /metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from relay.metrics import Metrics


class HealthServer:
    """A stdlib HTTP server on a daemon thread; ``ready()`` returns (ready, reason)."""

    def __init__(
        self, port: int, metrics: Metrics, ready: Callable[[], tuple[bool, str]], host: str = ""
    ) -> None:
        handler = _handler(metrics, ready)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="relay-health", daemon=True
        )

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(metrics: Metrics, ready: Callable[[], tuple[bool, str]]):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/healthz":
                self._answer(200, "ok\n")
            elif path == "/readyz":
                ok, reason = ready()
                self._answer(200 if ok else 503, (reason or "ready") + "\n")
            elif path == "/metrics":
                self._answer(200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8")
            else:
                self._answer(404, "not found\n")

        def _answer(self, status: int, body: str, content_type: str = "text/plain") -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # probes every few seconds would drown the batch lines

    return Handler
