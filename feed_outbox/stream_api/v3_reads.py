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
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from feed_outbox.stream_api import v3_mapping

PAGE = 100  # v3's page size cap for feed reads
# The getstream SDK's get_or_create_feed (GetOrCreateFeed): its path, sent through the SDK's
# own post (relay/delivery/v3.py says why and how) so that the answer stays JSON: decoding it
# into the SDK's models cost ~1 ms of CPU an activity, and as_v2 reads the JSON alike.
FEED_PATH = "/api/v2/feeds/feed_groups/{feed_group_id}/feeds/{feed_id}"
FOLLOWS_PAGE = 100  # and for QueryFollows ("Max limit allowed by API", users' code; unverified)
# v2's "every group" values of mark_seen / mark_read (stream-python sends them as given)
_ALL = ("true", "current", "1")

#: v2's mark_seen / mark_read argument: True for every group, else group ids.
Marks = bool | str | Iterable[str] | None


class V3Feed:
    """One v3 feed, read like a stream-python ``Feed``."""

    def __init__(self, client: Any, slug: str, user_id: Any) -> None:
        self.client = client
        self.slug = slug
        self.user_id = str(user_id)
        self.id = f"{slug}:{self.user_id}"

    def __repr__(self) -> str:
        return f"<V3Feed {self.id}>"

    def _page(self, limit: int, cursor: str | None) -> dict[str, Any]:
        """A GetOrCreateFeedResponse as JSON; the body is its GetOrCreateFeedRequest's."""
        return self.client.feeds.post(
            FEED_PATH,
            path_params={"feed_group_id": self.slug, "feed_id": self.user_id},
            json={"user_id": v3_mapping.feed_owner(self.id), "limit": limit, "next": cursor},
        ).data

    def get(
        self,
        limit: int = 25,
        offset: int = 0,
        id_lt: str | None = None,
        mark_seen: Marks = None,
        mark_read: Marks = None,
        **_: Any,
    ) -> dict:
        """Newest first, like v2: ``offset`` skips, ``id_lt`` starts after that id.

        ``mark_seen``/``mark_read`` (notification feeds): marked after the read, as v2 does.
        """
        wanted = offset + limit
        results: list[dict] = []
        cursor: str | None = None
        passed = id_lt is None
        while True:
            # Pages of what the answer still needs: a read of 5 must not fetch 100. Until
            # id_lt is passed nothing of a page is kept: full pages.
            size = min(PAGE, max(1, wanted - len(results))) if passed else PAGE
            data = self._page(size, cursor)
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
        self.mark(seen=mark_seen, read=mark_read)
        return body

    def mark(self, seen: Marks = None, read: Marks = None) -> None:
        """Mark groups of this notification feed seen / read (``True``: all of them)."""
        all_seen, seen_ids = _marks(seen)
        all_read, read_ids = _marks(read)
        if not (all_seen or all_read or seen_ids or read_ids):
            return
        self.client.feeds.mark_activity(
            self.slug,
            self.user_id,
            mark_all_seen=all_seen or None,
            mark_all_read=all_read or None,
            mark_seen=seen_ids or None,
            mark_read=read_ids or None,
            user_id=v3_mapping.feed_owner(self.id),
        )

    def _items(self, data: dict[str, Any]) -> list[dict]:
        groups = data.get("aggregated_activities") or []
        if groups:
            return [_group(self.id, g) for g in groups]
        return [v3_mapping.as_v2(a, _origin(a)) for a in data.get("activities") or []]

    def following(
        self, offset: int = 0, limit: int = 25, feeds: Iterable[str] | None = None, **_: Any
    ) -> dict:
        """The feeds this one follows, newest first, like v2's (``feeds``: only those)."""
        condition: dict[str, Any] = {"source_feed": self.id}
        if feeds:
            condition["target_feed"] = {"$in": list(feeds)}
        return {"results": _rows(query_follows(self.client, condition), offset, limit)}

    def followers(self, offset: int = 0, limit: int = 25, **_: Any) -> dict:
        """The feeds following this one, newest first, like v2's."""
        return {"results": _rows(query_follows(self.client, {"target_feed": self.id}), offset,
                                 limit)}


def query_follows(client: Any, condition: dict[str, Any]) -> Iterator[Any]:
    """Every follow matching ``condition``, newest first, page by page (QueryFollows).

    A feed read (GetOrCreateFeed) lists at most 100 follows with no way past them; QueryFollows
    pages with its ``next`` cursor, at most 100 a page. Its filter fields ``source_feed`` /
    ``target_feed`` (feed ids) are what code written against the service sends (e.g.
    ``queryFollows({filter: {source_feed, target_feed}})`` in apps built on Stream's JS feeds
    SDK); no Stream page found lists them: unverified, see docs/topics/feeds-v3.md.
    """
    from getstream.models import SortParamRequest

    cursor: str | None = None
    while True:
        data = client.feeds.query_follows(
            filter=condition,
            limit=FOLLOWS_PAGE,
            next=cursor,
            sort=[SortParamRequest(field="created_at", direction=-1)],
        ).data
        yield from data.follows or []
        cursor = getattr(data, "next", None)
        if not cursor:
            return


def _rows(follows: Iterator[Any], offset: int, limit: int) -> list[dict]:
    rows = []
    for n, follow in enumerate(follows):
        if n >= offset + limit:
            break
        if n >= offset:
            moment = _v2_time(follow.created_at)
            rows.append({
                "feed_id": follow.source_feed.feed,
                "target_id": follow.target_feed.feed,
                "created_at": moment,
                "updated_at": _v2_time(getattr(follow, "updated_at", None)) or moment,
            })
    return rows


def _v2_time(moment: Any) -> str | None:
    # v2's follow rows carry times as strings; the SDK decodes v3's into datetimes
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
