"""``--metrics-port``: /healthz (alive), /readyz (database reachable, not paused) and /metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol


class Exposition(Protocol):
    """``relay.metrics.Metrics`` in a relay, ``WorkersMetrics`` in the parent of --workers."""

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]: ...


class HealthServer:
    """A stdlib HTTP server on a daemon thread; ``ready()`` returns (ready, reason)."""

    def __init__(
        self,
        port: int,
        metrics: Exposition,
        ready: Callable[[], tuple[bool, str]],
        host: str = "",
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


def _handler(
    metrics: Exposition, ready: Callable[[], tuple[bool, str]]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0].rstrip("/")
            if path == "/healthz":
                self._answer(200, "ok\n")
            elif path == "/readyz":
                ok, reason = ready()
                self._answer(200 if ok else 503, (reason or "ready") + "\n")
            elif path == "/metrics":
                body, content_type = metrics.exposition(self.headers.get("Accept"))
                self._answer(200, body, content_type)
            else:
                self._answer(404, "not found\n")

        def _answer(self, status: int, body: str | bytes, content_type: str = "text/plain") -> None:
            data = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # probes every few seconds would drown the batch lines

    return Handler
