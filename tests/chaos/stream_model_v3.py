"""A pure-Python model of Stream Feeds v3's feed semantics as feed-outbox writes them, for the
chaos checker: what every v3 feed holds after the committed outbox, applied in commit order.

It is the v2 model's counterpart (``stream_model.py``) where v3 differs, per the mapping in
docs/topics/feeds-v3.md and the relay's v3 delivery; like it, it shares no code with the emulator.

* An activity is identified by ``v3_mapping.activity_id(feed, foreign_id)`` (not by time) and
  lists its ``feeds``: the event's feed, then its ``to`` targets. An upsert replaces its data
  and its feeds: feeds it left lose it (and the copies fanned out from them), feeds it entered
  get it and fan it out to their followers. Feeds it was already in do not fan out again
  (v2's re-add does): a follower that lacks it keeps lacking it.
* A remove is a hard delete: the activity leaves every feed, copies kept by
  ``keep_history`` included (v2 keeps those).
* follow copies the newest ``activity_copy_limit`` (the relay sends v2's 100 when unset) of the
  target's own activities, newest by *creation*: v3 orders a feed by when the activity was
  first written, which is delivery order, not the frozen time. The order of creation is only
  known from the emulator's applied-write log (``creations``: activity id → ranks of the
  upserts that created it, across the emulator's restarts); an incarnation the log lacks
  ranks by commit order, after them.
* unfollow purges the copies it brought unless ``keep_history``.

Limit: groups of aggregated feeds are keyed by the day of v3's ``created_at`` (delivery),
which this model takes from the frozen time; a run across UTC midnight could differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from feed_outbox.stream_api import v3_mapping
from tests.chaos.stream_model import DEFAULT_COPY_LIMIT, RECONCILE_KEY, GroupKey, default_group_key

_UNLOGGED = 10**12  # ranks after every logged creation


class StreamModelV3:
    def __init__(self, creations: dict[str, list[int]] | None = None) -> None:
        self.creations = creations or {}
        self.activities: dict[str, dict[str, Any]] = {}  # id -> custom (v2-shaped data)
        self.feeds_of: dict[str, list[str]] = {}  # id -> its feeds
        self.rank: dict[str, int] = {}  # id -> creation order
        self.incarnations: dict[str, int] = {}
        self.entries: dict[str, dict[str, str | None]] = {}  # feed -> {id: origin}
        self.following: dict[str, dict[str, None]] = {}
        self.followers: dict[str, dict[str, None]] = {}
        self._events = 0

    def apply(self, kind: str, feed: str, payload: dict[str, Any]) -> None:
        self._events += 1
        if kind in ("add", "update"):
            data = {k: v for k, v in payload.items() if k != RECONCILE_KEY}
            self.upsert(v3_mapping.activity_request(feed, data))
        elif kind == "remove":
            self.delete(v3_mapping.activity_id(feed, payload["foreign_id"]))
        elif kind == "follow":
            self.follow(feed, payload["target"], payload.get("activity_copy_limit"))
        elif kind == "unfollow":
            self.unfollow(feed, payload["target"], bool(payload.get("keep_history")))
        else:
            raise ValueError(f"unknown event kind {kind!r}")

    def replay(self, events: Iterable[tuple[str, str, dict[str, Any]]]) -> StreamModelV3:
        for kind, feed, payload in events:
            self.apply(kind, feed, payload)
        return self

    def upsert(self, request: dict[str, Any]) -> None:
        activity_id, feeds = request["id"], request["feeds"]
        if activity_id not in self.activities:
            n = self.incarnations.get(activity_id, 0)
            self.incarnations[activity_id] = n + 1
            logged = self.creations.get(activity_id, [])
            self.rank[activity_id] = logged[n] if n < len(logged) else _UNLOGGED + self._events
            self.feeds_of[activity_id] = []
        self.activities[activity_id] = {**request["custom"], "verb": request["type"]}
        old = self.feeds_of[activity_id]
        for feed in [f for f in old if f not in feeds]:
            self._leave(activity_id, feed)
        self.feeds_of[activity_id] = list(feeds)
        for feed in feeds:
            if feed not in old:
                self._enter(activity_id, feed)

    def _enter(self, activity_id: str, feed: str) -> None:
        self.entries.setdefault(feed, {})[activity_id] = None
        for follower in self.followers.get(feed, ()):
            self.entries.setdefault(follower, {}).setdefault(activity_id, feed)

    def _leave(self, activity_id: str, feed: str) -> None:
        self.entries.get(feed, {}).pop(activity_id, None)
        for follower in self.followers.get(feed, ()):
            if self.entries.get(follower, {}).get(activity_id) == feed:
                del self.entries[follower][activity_id]

    def delete(self, activity_id: str) -> None:
        if self.activities.pop(activity_id, None) is None:
            return  # the relay's single delete answers 404: already gone
        self.feeds_of.pop(activity_id, None)
        for content in self.entries.values():
            content.pop(activity_id, None)

    def follow(self, source: str, target: str, copy_limit: int | None) -> None:
        if target in self.following.get(source, {}):
            return
        self.following.setdefault(source, {})[target] = None
        self.followers.setdefault(target, {})[source] = None
        limit = DEFAULT_COPY_LIMIT if copy_limit is None else copy_limit
        own = [a for a, origin in self.entries.get(target, {}).items() if origin is None]
        own.sort(key=lambda a: self.rank[a], reverse=True)
        content = self.entries.setdefault(source, {})
        for activity_id in own[:limit]:
            content.setdefault(activity_id, target)

    def unfollow(self, source: str, target: str, keep_history: bool) -> None:
        if target not in self.following.get(source, {}):
            return  # the relay's unfollow upsert of an absent follow changes nothing
        del self.following[source][target]
        self.followers.get(target, {}).pop(source, None)
        if keep_history:
            return
        content = self.entries.get(source, {})
        for activity_id in [a for a, origin in content.items() if origin == target]:
            del content[activity_id]

    # -- reads, shaped like the v2 model's ----------------------------------------------

    def flat(self, feed: str) -> dict[str, tuple[str, Any]]:
        return {
            self.activities[a]["foreign_id"]: (
                self.activities[a]["time"],
                self.activities[a].get("text"),
            )
            for a in self.entries.get(feed, {})
        }

    def groups(
        self, feed: str, group_key: GroupKey = default_group_key
    ) -> dict[str, dict[str, tuple[str, Any]]]:
        grouped: dict[str, dict[str, tuple[str, Any]]] = {}
        for a in self.entries.get(feed, {}):
            data = self.activities[a]
            grouped.setdefault(group_key(data), {})[data["foreign_id"]] = (
                data["time"],
                data.get("text"),
            )
        return grouped

    def follows(self) -> dict[str, set[str]]:
        return {s: set(t) for s, t in self.following.items() if t}

    def feed_ids(self) -> set[str]:
        return set(self.entries) | set(self.following) | set(self.followers)


def creations_from_log(log: list[dict]) -> dict[str, list[int]]:
    """Activity id → creation ranks of the upserts that created it, in order (the v3 log's rows).

    A rank is the row's place in the whole log, every incarnation's rows after the one before:
    a restarted emulator numbers its log from 1 again (``V3Store._log_seq``), so a row's
    ``seq`` alone would rank an activity created after a restart before those created before
    it, and a follow made after the restart would copy the wrong newest ones.
    """
    created: dict[str, list[int]] = {}
    rows = sorted(log, key=lambda r: (r.get("incarnation", 0), r["seq"]))
    for rank, row in enumerate(rows, 1):
        if row["op"] == "add_activity" and row.get("created"):
            created.setdefault(row["id"], []).append(rank)
    return created
