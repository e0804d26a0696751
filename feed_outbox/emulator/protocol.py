"""A small HTTP/1.1 keep-alive protocol on asyncio: Content-Length bodies, one write per response."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from .errors import BODY_TOO_LARGE
from .jsonraw import dumps
from .routing import Request

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 32 * 1024 * 1024
_REASONS = {s.value: s.phrase for s in HTTPStatus}


class Response:
    __slots__ = ("status", "body", "headers", "content_type", "drop")

    def __init__(
        self,
        status: int,
        body: Any,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
        drop: bool = False,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = headers
        self.content_type = content_type
        self.drop = drop  # close the connection without answering (lost response)

    def encode(self, keep_alive: bool) -> bytes:
        body = self.body
        if not isinstance(body, bytes):
            body = (body if isinstance(body, str) else dumps(body)).encode()
        lines = [
            f"HTTP/1.1 {self.status} {_REASONS.get(self.status, 'Unknown')}",
            f"Content-Type: {self.content_type}",
            f"Content-Length: {len(body)}",
        ]
        if self.headers:
            lines.extend(f"{k}: {v}" for k, v in self.headers.items())
        if not keep_alive:
            lines.append("Connection: close")
        # headers and body in one write: two sends meet Nagle + delayed ACK (~40 ms)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def error_response(status: int, detail: str) -> Response:
    """A protocol-level refusal in Stream's error shape (an oversized body is Stream's 413/18)."""
    code, exception = (18, "RequestTooLarge") if status == 413 else (4, "InputException")
    return Response(
        status,
        {
            "detail": detail,
            "status_code": status,
            "code": code,
            "exception": exception,
            "duration": "0.00ms",
        },
    )


# returns a Response now, or an awaitable of one when the request must wait (latency)
Dispatch = Callable[[Request], "Response | Awaitable[Response]"]


class HttpProtocol(asyncio.Protocol):
    """One connection; requests are answered in order, one at a time (no pipelining overlap)."""

    def __init__(self, dispatch: Dispatch, connections: set[HttpProtocol]) -> None:
        self._dispatch = dispatch
        self._connections = connections
        self._buffer = bytearray()
        self._busy = False
        self.transport: asyncio.Transport | None = None
        self._peer = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if isinstance(peer, tuple) else str(peer or "")

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._process()

    def _process(self) -> None:
        while self.transport is not None and not self._busy:
            parsed = self._parse()
            if parsed is None:
                return
            request, keep_alive = parsed
            result = self._dispatch(request)
            if isinstance(result, Response):
                self._send(result, keep_alive)
            else:
                self._busy = True
                task = asyncio.ensure_future(result)
                task.add_done_callback(lambda t, k=keep_alive: self._finished(t, k))

    def _finished(self, task: asyncio.Future, keep_alive: bool) -> None:
        self._busy = False
        if task.cancelled():
            self.close()
            return
        self._send(task.result(), keep_alive)
        self._process()

    def _send(self, response: Response, keep_alive: bool) -> None:
        if self.transport is None:
            return
        if response.drop:
            self.transport.abort()
            return
        self.transport.write(response.encode(keep_alive))
        if not keep_alive:
            self.transport.close()

    def _reject(self, status: int, detail: str) -> None:
        self._send(error_response(status, detail), keep_alive=False)
        self._buffer.clear()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _parse(self) -> tuple[Request, bool] | None:
        """Take one complete request off the buffer, or None if more bytes are needed."""
        buffer = self._buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(buffer) > MAX_HEADER_BYTES:
                self._reject(431, "request headers too large")
            return None
        head = bytes(buffer[:end]).decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self._reject(400, f"malformed request line {lines[0][:100]!r}")
            return None
        method, target, version = parts
        headers = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                self._reject(400, "malformed header line")
                return None
            headers[name.strip().lower()] = value.strip()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._reject(411, "chunked bodies are not supported; send Content-Length")
            return None
        try:
            length = int(headers.get("content-length", "0") or 0)
        except ValueError:
            self._reject(400, "invalid Content-Length")
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            self._reject(413, BODY_TOO_LARGE)
            return None
        total = end + 4 + length
        if len(buffer) < total:
            return None
        body = bytes(buffer[end + 4 : total])
        del buffer[:total]
        path, _sep, query = target.partition("?")
        connection = headers.get("connection", "").lower()
        keep_alive = connection != "close" and (version == "HTTP/1.1" or connection == "keep-alive")
        return Request(method.upper(), path, query, headers, body, self._peer), keep_alive
