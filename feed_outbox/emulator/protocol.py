"""A small HTTP/1.1 keep-alive protocol on asyncio: Content-Length bodies, one write per response."""

from __future__ import annotations

import asyncio
import socket
import sys
import traceback
from collections.abc import Awaitable, Callable
from functools import partial
from http import HTTPStatus
from typing import Any

from .jsonraw import dumps
from .routing import Request
from .v2.errors import BODY_TOO_LARGE, ApiError

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
            # "replace": a lone surrogate (valid in a JSON string escape) in an HTML page
            body = (body if isinstance(body, str) else dumps(body)).encode("utf-8", "replace")
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
    """A protocol-level refusal in Stream's error shape (an oversized body is Stream's 413/18; a
    500 is its code -1, docs/topics/stream-errors.md)."""
    code = {413: 18, 500: -1}.get(status, 4)
    return Response(status, {**ApiError(code, detail, status=status).body(), "duration": "0.00ms"})


# returns a Response now, or an awaitable of one when the request must wait (latency)
Dispatch = Callable[[Request], "Response | Awaitable[Response]"]


class HttpProtocol(asyncio.Protocol):
    """One connection; requests are answered in order, one at a time (no pipelining overlap)."""

    def __init__(self, dispatch: Dispatch, connections: set[HttpProtocol]) -> None:
        self._dispatch = dispatch
        self._connections = connections
        self._buffer = bytearray()
        self._busy = False
        self._eof = False
        self.transport: asyncio.Transport | None = None
        self._peer = ""
        self._local = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # asyncio gives a Transport here
        self._connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if isinstance(peer, tuple) else str(peer or "")
        local = transport.get_extra_info("sockname")
        self._local = local[0] if isinstance(local, tuple) else str(local or "")

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
            try:
                result = self._dispatch(request)
            except Exception as exc:  # a bug still answers, and the connection keeps serving
                result = _internal_error(exc)
            if isinstance(result, Response):
                self._send(result, keep_alive)
            else:
                self._busy = True
                task = asyncio.ensure_future(result)
                task.add_done_callback(partial(self._finished, keep_alive=keep_alive))

    def _finished(self, task: asyncio.Future, keep_alive: bool) -> None:
        self._busy = False
        if task.cancelled():
            self.close()
            return
        exc = task.exception()
        self._send(task.result() if exc is None else _internal_error(exc), keep_alive)
        if self._eof:
            self._end_of_input()
        else:
            self._process()

    def eof_received(self) -> bool:
        """The client closed its side: answer what it sent, then close."""
        self._eof = True
        if not self._busy:
            self._end_of_input()
        return self._busy  # True keeps the transport open for a delayed answer; _finished ends it

    def _end_of_input(self) -> None:
        self._process()
        if self._busy:
            return  # _finished comes back here once that answer is written
        if self._buffer.strip():  # bytes of a request that never completed
            self._reject(400, "the request ended before its headers and Content-Length body")
        self.close()

    def _send(self, response: Response, keep_alive: bool) -> None:
        if self.transport is None:
            return
        if response.drop:
            self.transport.abort()
            return
        try:
            data = response.encode(keep_alive)
        except Exception as exc:  # e.g. a body that is not strict JSON: answer, never drop
            data = _internal_error(exc).encode(keep_alive)
        self.transport.write(data)
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
        declared = headers.get("content-length", "") or "0"
        if not (declared.isascii() and declared.isdigit()):  # int() would take "+1", "1_0", " 1"
            self._reject(400, "invalid Content-Length")
            return None
        length = int(declared)
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
        request = Request(method.upper(), path, query, headers, body, self._peer, self._local)
        return request, keep_alive


def _internal_error(exc: BaseException) -> Response:
    traceback.print_exception(exc, file=sys.stderr)
    return error_response(500, f"internal emulator error: {exc!r}")
