"""Reading Feeds v3 through the getstream SDK so that a read looks like a stream-python one.

``feed_manager.get_feed()`` returns a ``V3Feed`` when reads are on v3 (FEED_OUTBOX_READ_API,
docs/topics/feeds-v3.md): ``.get(limit=, offset=, id_lt=)`` answers ``{"results": [...], "next"}``
with v2-shaped activities (feed_outbox.stream_api.v3_mapping.as_v2) for flat feeds and v2-shaped groups for
aggregated and notification feeds, so Enrich, ``render_activity`` and templates keep working
when reads switch.

Notification feeds take v2's ``get(mark_seen=, mark_read=)``: ``True`` (or v2's strings
``"true"``/``"current"``) marks every group, a list (or comma string) of group ids marks those.
v3 marks with a separate call, ``feeds.mark_activity`` (MarkActivity: ``mark_all_seen``,
``mark_seen`` group ids, ...), made after the read, so the answer shows the state before
marking as v2's does (docs/topics/feeds-v3.md, "Notification feeds: seen and read").

Every read has an async twin (``aget``, ``amark``, ``afollowing``, ``afollowers``) through the
SDK's ``AsyncStream``. Each read is written once, as a generator of requests
(feed_outbox.stream_api.exchanges); the sync and async methods only choose the client that sends
them. Requests go through the SDK's own ``post`` (the call every typed method ends in, with the
same auth, None stripping and exceptions) with JSON bodies built here: ``AsyncStream`` has no
``feeds`` (getstream 7.0: "Feeds not supported for async client"), so ``post`` is the only way
the async side can reach these endpoints, and the sync side uses the same for one body.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from feed_outbox.stream_api import v3_mapping
from feed_outbox.stream_api.errors import reading
from feed_outbox.stream_api.exchanges import Read, arun, run

PAGE = 100  # v3's page size cap for feed reads
# The getstream SDK's get_or_create_feed (GetOrCreateFeed), mark_activity (MarkActivity) and
# query_follows (QueryFollows): their paths (getstream/feeds/rest_client.py), sent through the
# SDK's own post (relay/delivery/v3.py says why) so that answers stay JSON: decoding them into
# the SDK's models cost ~1 ms of CPU an activity, and as_v2 reads the JSON alike.
FEED_PATH = "/api/v2/feeds/feed_groups/{feed_group_id}/feeds/{feed_id}"
MARK_PATH = FEED_PATH + "/activities/mark/batch"
FOLLOWS_PATH = "/api/v2/feeds/follows/query"
FOLLOWS_PAGE = 100  # and for QueryFollows ("Max limit allowed by API", users' code; unverified)
# v2's "every group" values of mark_seen / mark_read (stream-python sends them as given)
_ALL = ("true", "current", "1")

#: v2's mark_seen / mark_read argument: True for every group, else group ids.
Marks = bool | str | Iterable[str] | None


@dataclass(frozen=True)
class Post:
    """One request: the SDK's ``post(path, path_params=, json=)``, answered as JSON."""

    path: str
    json: dict[str, Any]
    path_params: dict[str, str] | None = None


def send(client: Any, request: Post) -> dict[str, Any]:
    """``request`` through a getstream ``Stream``."""
    return client.post(request.path, path_params=request.path_params, json=request.json).data


async def asend(client: Any, request: Post) -> dict[str, Any]:
    """``request`` through a getstream ``AsyncStream``."""
    answer = await client.post(request.path, path_params=request.path_params, json=request.json)
    return answer.data


class V3Feed:
    """One v3 feed, read like a stream-python ``Feed``; ``a``-prefixed twins await the reads.

    The sync reads go through ``client`` (the shared ``Stream``); the async ones through the
    running event loop's ``AsyncStream`` for the current settings
    (feed_outbox.client.get_async_v3_client).
    """

    def __init__(self, client: Any, slug: str, user_id: Any) -> None:
        self.client = client
        self.slug = slug
        self.user_id = str(user_id)
        self.id = f"{slug}:{self.user_id}"

    def __repr__(self) -> str:
        return f"<V3Feed {self.id}>"

    def get(self, **params: Any) -> dict:
        """Newest first, like v2: ``limit`` (25), ``offset`` skips, ``id_lt`` starts after
        that id. ``mark_seen``/``mark_read`` (notification feeds): marked after the read, as v2
        does (True: every group; else group ids)."""
        return self._run(self._get(**params))

    async def aget(self, **params: Any) -> dict:
        """``get``, awaited."""
        return await self._arun(self._get(**params))

    def mark(self, seen: Marks = None, read: Marks = None) -> None:
        """Mark groups of this notification feed seen / read (``True``: all of them)."""
        self._run(self._mark(seen, read))

    async def amark(self, seen: Marks = None, read: Marks = None) -> None:
        """``mark``, awaited."""
        await self._arun(self._mark(seen, read))

    def following(self, *args: Any, **params: Any) -> dict:
        """The feeds this one follows, newest first, like v2's: ``offset``, ``limit`` (25),
        ``feeds`` (only those)."""
        return self._run(self._following(*args, **params))

    async def afollowing(self, *args: Any, **params: Any) -> dict:
        """``following``, awaited."""
        return await self._arun(self._following(*args, **params))

    def followers(self, *args: Any, **params: Any) -> dict:
        """The feeds following this one, newest first, like v2's: ``offset``, ``limit``."""
        return self._run(self._followers(*args, **params))

    async def afollowers(self, *args: Any, **params: Any) -> dict:
        """``followers``, awaited."""
        return await self._arun(self._followers(*args, **params))

    def _run(self, read: Read[Post, Any]) -> Any:
        with reading(self.id):
            return run(read, partial(send, self.client))

    async def _arun(self, read: Read[Post, Any]) -> Any:
        from feed_outbox.client import get_async_v3_client

        with reading(self.id):
            return await arun(read, partial(asend, await get_async_v3_client()))

    # The reads, each written once (feed_outbox.stream_api.exchanges).
    def _get(
        self,
        limit: int = 25,
        offset: int = 0,
        id_lt: str | None = None,
        mark_seen: Marks = None,
        mark_read: Marks = None,
        **_: Any,
    ) -> Read[Post, dict]:
        wanted = offset + limit
        results: list[dict] = []
        cursor: str | None = None
        passed = id_lt is None
        while True:
            # Pages of what the answer still needs: a read of 5 must not fetch 100. Until
            # id_lt is passed nothing of a page is kept: full pages.
            size = min(PAGE, max(1, wanted - len(results))) if passed else PAGE
            data = yield self._page(size, cursor)
            for item in self._items(data):
                if passed:
                    results.append(item)
                elif item["id"] == id_lt:
                    passed = True
            cursor = data.get("next")
            if len(results) >= wanted or not cursor:
                break
        body: dict[str, Any] = {"results": results[offset:wanted], "next": ""}
        status = data.get("notification_status")
        if status is not None:
            body["unseen"], body["unread"] = status["unseen"], status["unread"]
        yield from self._mark(mark_seen, mark_read)
        return body

    def _mark(self, seen: Marks, read: Marks) -> Read[Post, None]:
        all_seen, seen_ids = _marks(seen)
        all_read, read_ids = _marks(read)
        if not (all_seen or all_read or seen_ids or read_ids):
            return
        # MarkActivityRequest's fields; None is left out by the SDK's post, as by its models
        yield Post(
            MARK_PATH,
            {
                "mark_all_read": all_read or None,
                "mark_all_seen": all_seen or None,
                "user_id": v3_mapping.feed_owner(self.id),
                "mark_read": read_ids or None,
                "mark_seen": seen_ids or None,
            },
            self._path_params(),
        )

    def _following(
        self, offset: int = 0, limit: int = 25, feeds: Iterable[str] | None = None, **_: Any
    ) -> Read[Post, dict]:
        condition: dict[str, Any] = {"source_feed": self.id}
        if feeds:
            condition["target_feed"] = {"$in": list(feeds)}
        follows = yield from follow_pages(condition, offset + limit)
        return {"results": _rows(follows, offset, limit)}

    def _followers(self, offset: int = 0, limit: int = 25, **_: Any) -> Read[Post, dict]:
        follows = yield from follow_pages({"target_feed": self.id}, offset + limit)
        return {"results": _rows(follows, offset, limit)}

    def _path_params(self) -> dict[str, str]:
        return {"feed_group_id": self.slug, "feed_id": self.user_id}

    def _page(self, limit: int, cursor: str | None) -> Post:
        """A GetOrCreateFeed request (its GetOrCreateFeedRequest body); answered as JSON."""
        body = {"user_id": v3_mapping.feed_owner(self.id), "limit": limit, "next": cursor}
        return Post(FEED_PATH, body, self._path_params())

    def _items(self, data: dict[str, Any]) -> list[dict]:
        groups = data.get("aggregated_activities") or []
        if groups:
            return [_group(self.id, g) for g in groups]
        return [v3_mapping.as_v2(a, _origin(a)) for a in data.get("activities") or []]


def follow_pages(condition: dict[str, Any], wanted: int | None = None) -> Read[Post, list[dict]]:
    """The follows matching ``condition`` (at least ``wanted`` of them when there are; None:
    every one), newest first, page by page (QueryFollows), each as its JSON.

    A feed read (GetOrCreateFeed) lists at most 100 follows with no way past them; QueryFollows
    pages with its ``next`` cursor, at most 100 a page. Its filter fields ``source_feed`` /
    ``target_feed`` (feed ids) are what code written against the service sends (e.g.
    ``queryFollows({filter: {source_feed, target_feed}})`` in apps built on Stream's JS feeds
    SDK); no Stream page found lists them: unverified, see docs/topics/feeds-v3.md.
    """
    follows: list[dict] = []
    cursor: str | None = None
    while wanted is None or len(follows) < wanted:
        # QueryFollowsRequest's fields; the sort is SortParamRequest's encoding
        data = yield Post(
            FOLLOWS_PATH,
            {
                "limit": FOLLOWS_PAGE,
                "next": cursor,
                "sort": [{"direction": -1, "field": "created_at"}],
                "filter": condition,
            },
        )
        follows.extend(data.get("follows") or [])
        cursor = data.get("next")
        if not cursor:
            break
    return follows


def query_follows(client: Any, condition: dict[str, Any]) -> list[dict]:
    """Every follow matching ``condition`` through the sync ``client`` (reconcile's read)."""
    return run(follow_pages(condition), partial(send, client))


def _rows(follows: list[dict], offset: int, limit: int) -> list[dict]:
    from getstream.utils import datetime_from_unix_ns

    rows = []
    for follow in follows[offset : offset + limit]:
        # v2's follow rows carry times as strings; decoded as the SDK's FollowResponse does
        moment = _v2_time(datetime_from_unix_ns(follow.get("created_at")))
        rows.append(
            {
                "feed_id": follow["source_feed"]["feed"],
                "target_id": follow["target_feed"]["feed"],
                "created_at": moment,
                "updated_at": _v2_time(datetime_from_unix_ns(follow.get("updated_at"))) or moment,
            }
        )
    return rows


def _v2_time(moment: Any) -> str | None:
    return moment.isoformat() if hasattr(moment, "isoformat") else moment


def _marks(value: Marks) -> tuple[bool, list[str]]:
    """(every group?, group ids) for a v2 mark_seen / mark_read value."""
    if value is None or value is False:
        return False, []
    if value is True:
        return True, []
    if isinstance(value, str):
        if value.strip().lower() in _ALL:
            return True, []
        return False, [v for v in (p.strip() for p in value.split(",")) if v]
    return False, [str(v) for v in value]


def _origin(activity: Any) -> str | None:
    # The SDK's ActivityResponse has no `origin`; v3 readers that need where a copy came from
    # use `v3_feeds` (the feeds it was added to) instead.
    return None


def _group(feed: str, group: dict[str, Any]) -> dict:
    """An AggregatedActivityResponse (JSON) as a v2 group; its times as datetimes, decoded as
    the SDK's model decodes them (getstream.utils.datetime_from_unix_ns)."""
    from getstream.utils import datetime_from_unix_ns

    activities = [v3_mapping.as_v2(a) for a in group.get("activities") or []]
    return {
        "id": group["group"],
        "group": group["group"],
        "verb": activities[0]["verb"] if activities else None,
        "activity_count": group["activity_count"],
        "actor_count": group["user_count"],
        "activities": activities,
        "is_seen": bool(group.get("is_seen")),
        "is_read": bool(group.get("is_read")),
        "created_at": datetime_from_unix_ns(group.get("created_at")),
        "updated_at": datetime_from_unix_ns(group.get("updated_at")),
    }
