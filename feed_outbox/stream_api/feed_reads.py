"""Reading what Stream holds, page by page, through stream-python: feed entries and follows.

Reconcile needs two reads per feed. ``feed_entries`` yields every activity of a flat, grouped
(aggregated) or notification feed, groups flattened, so one comparison serves all three.
``following`` lists the feeds a feed follows. ``api="v3"`` reads Feeds v3 through the getstream
SDK instead, activities v2-shaped (``v3_mapping.as_v2``), so the same comparison serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from feed_outbox.client import get_client, get_v3_client
from feed_outbox.stream_api import v3_mapping

# The emulator answers `following` with at most 500 rows and refuses offsets over 400; the
# same limits for the real service are unverified (stream-python's test_get_followings only
# shows offset/limit paging and test_do_i_follow the `filter`), so stay within them.
FOLLOWING_LIMIT, FOLLOWING_MAX_OFFSET = 500, 400
# `filter` takes a comma list of feed ids; 100 keeps the query string short.
FOLLOWING_FILTER_CHUNK = 100


@dataclass
class FeedRead:
    """What one feed read saw besides its entries: groups Stream did not return in full."""

    truncated_groups: int = 0


def feed_entries(
    feed: str,
    page_size: int = 100,
    read: FeedRead | None = None,
    before_page: Callable[[], None] | None = None,
    api: str = "v2",
) -> Iterator[dict]:
    """Every activity of ``feed``, newest first, page by page.

    A grouped feed answers groups (``activities`` + ``activity_count``); their activities are
    yielded one by one. Stream returns only a group's latest activities, so a group whose
    ``activity_count`` exceeds what it returned is counted in ``read.truncated_groups``.
    Notification feeds are read without ``mark_seen``/``mark_read``: reconcile never marks.
    Group activities carry ``origin`` like flat ones (stream-python ``test_follow_and_source``).
    A user reports Stream returning only a feed's latest 500 activities on some plans
    (GetStream/stream-js#485): on such a plan a longer feed reads as missing its oldest.
    ``before_page`` is called before each request (a caller's pacing).
    """
    if api == "v3":
        yield from _v3_entries(feed, page_size, read, before_page)
        return
    slug, user_id = feed.split(":", 1)
    stream_feed = get_client().feed(slug, user_id)
    params: dict[str, Any] = {"limit": page_size}
    while True:
        if before_page is not None:
            before_page()
        results = stream_feed.get(**params)["results"]
        for item in results:
            if _is_group(item):
                activities = item.get("activities") or []
                if read is not None and int(item.get("activity_count") or 0) > len(activities):
                    read.truncated_groups += 1
                yield from activities
            else:
                yield item
        if len(results) < page_size:
            return
        params["id_lt"] = results[-1]["id"]


def _v3_entries(
    feed: str,
    page_size: int,
    read: FeedRead | None,
    before_page: Callable[[], None] | None,
) -> Iterator[dict]:
    """v3's pages (cursor ``next``), each activity as v2 reads it, with ``origin`` set from
    ``feeds``: a copy in a feed its ``feeds`` do not list came by a follow of ``feeds[0]``
    (the feed it was added to, whose id it has; the SDK's response has no ``origin``)."""
    slug, user_id = feed.split(":", 1)
    client = get_v3_client()
    cursor: str | None = None
    while True:
        if before_page is not None:
            before_page()
        data = client.feeds.get_or_create_feed(
            slug, user_id, user_id=v3_mapping.feed_owner(feed), limit=page_size, next=cursor
        ).data
        for group in getattr(data, "aggregated_activities", None) or []:
            activities = group.activities or []
            if read is not None and int(group.activity_count or 0) > len(activities):
                read.truncated_groups += 1
            yield from (_v3_entry(feed, a) for a in activities)
        for activity in getattr(data, "activities", None) or []:
            yield _v3_entry(feed, activity)
        cursor = getattr(data, "next", None)
        if not cursor:
            return


def _v3_entry(feed: str, activity: Any) -> dict:
    feeds = list(getattr(activity, "feeds", None) or [])
    origin = feeds[0] if feeds and feed not in feeds else None
    return v3_mapping.as_v2(activity, origin)


def _is_group(item: dict) -> bool:
    return "activities" in item and "activity_count" in item


@dataclass
class FollowingRead:
    """The targets a feed follows; ``complete`` is False when Stream's paging limit was hit."""

    targets: set[str] = field(default_factory=set)
    complete: bool = True


def following(feed: str, expected: Iterable[str] = (), api: str = "v2") -> FollowingRead:
    """The feeds ``feed`` follows, read through ``Feed.following``.

    Offsets stop at Stream's maximum (400), so at most 900 rows can be listed. Past that the
    ``expected`` targets are asked for by ``filter`` (so no missing follow goes unseen) and
    ``complete`` is False: phantom follows beyond the first 900 cannot be listed.
    On v3 every follow is listed, page by page, with QueryFollows (a feed read would list at
    most 100): ``complete`` is always True there.
    """
    if api == "v3":
        return _v3_following(feed)
    slug, user_id = feed.split(":", 1)
    stream_feed = get_client().feed(slug, user_id)
    read = FollowingRead()
    offset = 0
    while True:
        rows = stream_feed.following(offset=offset, limit=FOLLOWING_LIMIT)["results"]
        read.targets.update(row["target_id"] for row in rows)
        if len(rows) < FOLLOWING_LIMIT:
            return read
        if offset >= FOLLOWING_MAX_OFFSET:
            break
        offset = FOLLOWING_MAX_OFFSET
    read.complete = False
    unseen = sorted(set(expected) - read.targets)
    for start in range(0, len(unseen), FOLLOWING_FILTER_CHUNK):
        chunk = unseen[start : start + FOLLOWING_FILTER_CHUNK]
        rows = stream_feed.following(limit=len(chunk), feeds=chunk)["results"]
        read.targets.update(row["target_id"] for row in rows)
    return read


def _v3_following(feed: str) -> FollowingRead:
    from feed_outbox.stream_api.v3_reads import query_follows

    follows = query_follows(get_v3_client(), {"source_feed": feed})
    return FollowingRead({f["target_feed"]["feed"] for f in follows})
