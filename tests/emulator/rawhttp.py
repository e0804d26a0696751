"""A raw HTTP/1.1 exchange over a socket, for requests `requests` would refuse or normalise."""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as strict JSON: NaN/Infinity, which Python's json accepts, fail here."""

        def refuse(name: str) -> Any:
            raise ValueError(f"{name} in an answer: not strict JSON")

        return json.loads(self.body, parse_constant=refuse)


class NoAnswer(AssertionError):
    """The emulator closed the connection (or timed out) without a status line."""


def exchange(port: int, data: bytes, half_close: bool = False, timeout: float = 10) -> Answer:
    """Send `data` as is and read one answer; `half_close` shuts our side after sending."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:  # the server answered and closed already (a refused header)
                pass
        received = b""
        try:
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    raise NoAnswer(f"connection closed after {received[:200]!r}")
                received += chunk
            head, _sep, body = received.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                name, _colon, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            while len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    raise NoAnswer(f"body cut at {len(body)} of {length} bytes")
                body += chunk
        except TimeoutError:
            raise NoAnswer(f"no answer within {timeout}s to {data[:200]!r}") from None
    return Answer(int(lines[0].split(" ")[1]), headers, body[:length])


def request(
    port: int,
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    host: str | None = None,
) -> bytes:
    """The bytes of one request with a correct Content-Length (and Host localhost:PORT)."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host or f'localhost:{port}'}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
