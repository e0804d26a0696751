"""Which feeds an outbox event puts activities into, and which feed a follow reads from.

Two events of different ordering keys still interact when one adds activities to a feed and
the other follows or unfollows that feed: applied out of commit order, a follow copies only
the newest ``activity_copy_limit`` activities committed before it reached Stream, and a
``keep_history`` unfollow keeps or loses the wrong ones. The relay's claim orders such events
by id (relay.queries), and writers lock the feeds (feed_outbox.write.outbox) so that id order is
commit order: activity events take a shared lock on each feed they add to, follow events an
exclusive lock on the feed they follow, each held until the transaction ends.

Stream's behaviour this relies on (https://getstream.io/docs/following/, "Following Feeds",
v2): an activity added to a feed is added to the feeds that follow it, one level deep; a
follow copies "the most recent 100 existing activities in the target feed" unless
``activity_copy_limit`` (max 1000) says otherwise; only flat feeds may be followed; an
unfollow removes the target's activities from the follower unless ``keep_history``. An
activity's ``to`` targets receive it like its own feed and fan it out to their followers
(Stream's "targeting" docs). Where a feed group is notification or aggregated it cannot be
followed, so its locks are never contended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from feed_outbox.models import ACTIVITY_KINDS, FOLLOW_KINDS


def activity_feeds_of(kind: str, feed: str, payload: Mapping[str, Any]) -> list[str]:
    """The feeds an activity event adds to or removes from: its feed and its ``to`` targets.

    A remove names only its feed; Stream removes the `to` copies and followers' copies with
    it ("If initial activity is removed from the origin feed, it's also removed from all TO
    targeted feeds and origin feed followers": Stream's v2 docs, Targeting with TO Field,
    https://getstream.io/activity-feeds/docs/node/v2/targeting/).
    """
    if kind not in ACTIVITY_KINDS:
        return []
    feeds = [feed]
    if kind != "remove":
        feeds += [str(target) for target in payload.get("to") or ()]
    return feeds


def followed_feed(kind: str, payload: Mapping[str, Any]) -> str | None:
    """The feed a follow/unfollow event starts or stops reading from."""
    if kind not in FOLLOW_KINDS:
        return None
    target = payload.get("target")
    return str(target) if target else None


def lock_plan(events: Iterable[Any]) -> list[tuple[str, bool]]:
    """``(feed, exclusive)`` per feed the events touch, sorted by feed so that two writers
    take their locks in one order; a feed both added to and followed is locked exclusively."""
    exclusive: dict[str, bool] = {}
    for event in events:
        target = followed_feed(event.kind, event.payload)
        if target is not None:
            exclusive[target] = True
        for feed in activity_feeds_of(event.kind, event.feed, event.payload):
            exclusive.setdefault(feed, False)
    return sorted(exclusive.items())


def blocked_across_keys(candidates: Iterable[Any], older: Iterable[Any]) -> set[int]:
    """Ids of ``candidates`` that must wait for an event of ``older`` (pending events, any
    order): the rule relay.queries's SQL applies, for the portable (SQLite) claim."""
    first_follow: dict[str, int] = {}  # followed feed -> oldest pending follow/unfollow id
    first_activity: dict[str, int] = {}  # feed -> oldest pending activity event adding to it
    for event in older:
        target = followed_feed(event.kind, event.payload)
        if target is not None and event.id < first_follow.get(target, event.id + 1):
            first_follow[target] = event.id
        for feed in activity_feeds_of(event.kind, event.feed, event.payload):
            if event.id < first_activity.get(feed, event.id + 1):
                first_activity[feed] = event.id
    blocked = set()
    for event in candidates:
        target = followed_feed(event.kind, event.payload)
        feeds = activity_feeds_of(event.kind, event.feed, event.payload)
        if target is not None and first_activity.get(target, event.id) < event.id:
            blocked.add(event.id)
        elif any(first_follow.get(feed, event.id) < event.id for feed in feeds):
            blocked.add(event.id)
    return blocked
