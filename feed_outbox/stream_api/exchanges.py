"""One body of logic for a read that takes several requests, sync and async alike.

A read is written once, as a generator: it yields each request it needs and is sent back the
answer (``answer = yield request``); what it returns is the read's result. ``run`` drives it
through a sync client's ``send``, ``arun`` through an async client's; nothing else differs. A
failed request is thrown into the read where it yielded, so it fails there as a sync read
would, with the client's own exception. The I/O stays at the edges: the two drivers below.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

R = TypeVar("R")
T = TypeVar("T")

#: A read: yields requests of type R, is sent their answers, returns a T.
Read = Generator[R, Any, T]


def run(read: Read[R, T], send: Callable[[R], Any]) -> T:
    """``read``'s result, each request sent with ``send`` (a blocking call)."""
    try:
        request = next(read)
        while True:
            try:
                answer = send(request)
            except BaseException as exc:
                request = read.throw(exc)
            else:
                request = read.send(answer)
    except StopIteration as stop:
        return stop.value


async def arun(read: Read[R, T], send: Callable[[R], Awaitable[Any]]) -> T:
    """``read``'s result, each request sent with ``await send(request)``."""
    try:
        request = next(read)
        while True:
            try:
                answer = await send(request)
            except BaseException as exc:
                request = read.throw(exc)
            else:
                request = read.send(answer)
    except StopIteration as stop:
        return stop.value
