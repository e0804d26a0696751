"""A raw stand-in for Stream: an ``http.server`` that sends one fixed answer to every request."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandIn:
    """An HTTP server answering every request with one fixed answer (status and body bytes),
    the way the real service answers a wrong secret; ``answer`` can be changed while it runs."""

    def __init__(self, status: int, body: dict | bytes) -> None:
        self.answer = (status, body if isinstance(body, bytes) else json.dumps(body).encode())
        self.answer_headers: list[tuple[str, str]] = []  # more headers every answer carries
        # Every request as it came: its request line, its headers in order, its body.
        self.seen: list[tuple[bytes, list[tuple[str, str]], bytes]] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                sent = self.rfile.read(length)
                stand_in.seen.append((self.raw_requestline, list(self.headers.raw_items()), sent))
                status, body = stand_in.answer
                self.send_response(status)
                for name, value in stand_in.answer_headers:
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = do_PUT = _reply

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def requests(self) -> int:
        """How many requests it answered."""
        return len(self.seen)

    @property
    def url(self) -> str:
        return f"http://localhost:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
