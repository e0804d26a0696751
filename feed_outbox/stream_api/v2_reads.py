"""Reading Feeds v2 through stream-python, sync and async: ``V2Feed`` is stream-python's ``Feed``
(every method of it) with awaited twins of its reads.

The twins make the same request through stream-python's own async client
(``AsyncStreamClient``, ``stream.connect(use_async=True)``, since 5.2), whose ``AsyncFeed``
builds it as ``Feed`` does and parses the answer with the code both clients share
(``BaseStreamClient.raise_exception``): the same answer, and for an error answer the same
``StreamApiException`` with the same message. A read that fails names its feed in a note
(feed_outbox.stream_api.errors.reading), sync or async. Only a request that gets no answer fails
differently in the two clients (requests' exceptions, aiohttp's): the twins raise requests'
classes for it, so one ``except requests.RequestException`` serves a sync view and an async one.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
import requests
from stream.feed import Feed
from stream.utils import validate_feed_slug, validate_user_id

from feed_outbox.stream_api.errors import reading

T = TypeVar("T")


class V2Feed(Feed):  # type: ignore[misc]  # stream-python ships no types: Feed is Any
    """stream-python's ``Feed`` plus ``aget``, ``afollowing`` and ``afollowers``, sent through
    the running event loop's ``AsyncStreamClient`` (feed_outbox.client.get_async_client)."""

    @classmethod
    def of(cls, client: Any, slug: str, user_id: Any) -> V2Feed:
        """The feed as ``client.feed(slug, user_id)`` builds it (stream/client/client.py)."""
        token = client.create_jwt_token("feed", "*", feed_id="*")
        return cls(client, validate_feed_slug(slug), validate_user_id(user_id), token)

    def get(self, *args: Any, **params: Any) -> dict:
        """stream-python's ``get``: ``limit``, ``id_lt``, ``mark_seen``, …"""
        with reading(self.id):
            return super().get(*args, **params)

    async def aget(self, **params: Any) -> dict:
        """``get``, awaited."""
        return await self._answer(lambda feed: feed.get(**params))

    def following(self, *args: Any, **params: Any) -> dict:
        with reading(self.id):
            return super().following(*args, **params)

    async def afollowing(self, offset: int = 0, limit: int = 25, feeds: Any = None) -> dict:
        """``following``, awaited."""
        return await self._answer(lambda feed: feed.following(offset, limit, feeds))

    def followers(self, *args: Any, **params: Any) -> dict:
        with reading(self.id):
            return super().followers(*args, **params)

    async def afollowers(self, offset: int = 0, limit: int = 25, feeds: Any = None) -> dict:
        """``followers``, awaited."""
        return await self._answer(lambda feed: feed.followers(offset, limit, feeds))

    async def _answer(self, request: Any) -> Any:
        """``await request(AsyncFeed)``: this feed of the loop's async client."""
        from feed_outbox.client import get_async_client

        with reading(self.id):
            feed = (await get_async_client()).feed(self.slug, self.user_id)
            return await _as_requests_errors(request(feed))


async def _as_requests_errors(answer: Awaitable[T]) -> T:
    try:
        return await answer
    except TimeoutError as exc:  # aiohttp's timeouts (its ServerTimeoutError is one too)
        raise requests.exceptions.Timeout(f"Stream did not answer in time: {exc!r}") from exc
    except aiohttp.ClientError as exc:
        raise requests.exceptions.ConnectionError(f"Stream could not be reached: {exc}") from exc
