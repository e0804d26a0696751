"""Cursor pagination over Stream's ``id_lt``: pages of a feed, each older than the last.

Framework-neutral (a page of a feed from a cursor string); ``feed_outbox.drf`` adapts it to
Django REST framework. Stream pages by activity (or group) id, never by offset, so the cursor
is the last id shown: a new activity never shifts the pages a reader is walking through.
``apage``/``apage_or_first`` read through the feed's ``aget`` (or an async callable): the
request and the page made of the answer are built once for both.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from feed_outbox.exceptions import InvalidCursor

#: Stream's largest ``limit``; a page reads one more to know whether an older page exists.
MAX_LIMIT = 100
# Activity ids are UUIDs and group ids may carry a prefix: anything else is not sent to Stream
# (a cursor is user input, and a string like "../x&limit=1000" must not reach the request).
CURSOR = re.compile(r"[\w.-]{1,100}")


@dataclass(frozen=True)
class FeedPage:
    """One page: ``results`` as Stream returned them; ``next_cursor`` reads the older page."""

    results: list[dict[str, Any]]
    cursor: str | None
    next_cursor: str | None

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def parse_cursor(value: str | None) -> str | None:
    """The cursor to send as ``id_lt``; None for no cursor; InvalidCursor for anything else."""
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not CURSOR.fullmatch(value):
        raise InvalidCursor(f"{value!r} is not an activity or group id")
    return value


class FeedPaginator:
    """``FeedPaginator(25).page(feed, request.GET.get("before"))`` → a FeedPage.

    ``feed`` is a stream-python feed, or any ``read(**params) -> {"results": [...]}`` callable
    (``functools.partial(read_notifications, user_id, mark_seen=True)``).
    """

    def __init__(self, page_size: int = 25) -> None:
        if not 1 <= page_size < MAX_LIMIT:
            raise ValueError(f"page_size must be between 1 and {MAX_LIMIT - 1}, not {page_size}")
        self.page_size = page_size

    def page(self, feed: Any, cursor: str | None = None, **params: Any) -> FeedPage:
        """Raises InvalidCursor for a cursor that is not an id (see ``page_or_first``)."""
        cursor, params = self._request(cursor, params)
        read: Callable[..., dict[str, Any]] = feed.get if hasattr(feed, "get") else feed
        return self._page(read(**params), cursor)

    async def apage(self, feed: Any, cursor: str | None = None, **params: Any) -> FeedPage:
        """``page``, awaited: ``feed`` is a feed of ``feed_manager`` (its ``aget`` reads) or an
        async ``read(**params)`` (``functools.partial(aread_notifications, user_id)``)."""
        cursor, params = self._request(cursor, params)
        read: Callable[..., Awaitable[dict[str, Any]]] = getattr(feed, "aget", feed)
        return self._page(await read(**params), cursor)

    def page_or_first(self, feed: Any, cursor: str | None = None, **params: Any) -> FeedPage:
        """Like ``page``, reading the first page when the cursor is not an id (HTML pages)."""
        return self.page(feed, _or_first(cursor), **params)

    async def apage_or_first(self, feed: Any, cursor: str | None = None, **params: Any) -> FeedPage:
        """``page_or_first``, awaited."""
        return await self.apage(feed, _or_first(cursor), **params)

    # The request and the page: one body for page and apage.
    def _request(self, cursor: str | None, params: dict[str, Any]) -> tuple[str | None, dict]:
        cursor = parse_cursor(cursor)
        if cursor is not None:
            params["id_lt"] = cursor
        return cursor, {"limit": self.page_size + 1, **params}

    def _page(self, answer: dict[str, Any], cursor: str | None) -> FeedPage:
        results = list(answer["results"])
        more = len(results) > self.page_size
        results = results[: self.page_size]
        next_cursor = results[-1].get("id") if more and results else None
        return FeedPage(results=results, cursor=cursor, next_cursor=next_cursor)


def _or_first(cursor: str | None) -> str | None:
    """``cursor``, or None (the first page) when it is not an id."""
    try:
        return parse_cursor(cursor)
    except InvalidCursor:
        return None
