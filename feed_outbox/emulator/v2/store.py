"""In-memory state of the emulated Feeds v2 app: shared activities, feeds, follows, and their semantics."""

from __future__ import annotations

import copy
import time
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from .. import aggregation
from ..feed_groups import FLAT, FeedGroup
from ..fieldpaths import set_path
from .activities import activity_id_for, format_epoch, uniqueness_key
from .enrichment import EnrichmentData
from .errors import ApiError, input_error

DEFAULT_COPY_LIMIT, MAX_COPY_LIMIT = 100, 1000
_LOG_FIELDS = ("seq", "op", "feed", "foreign_id", "id", "time", "target", "matched", "at")


class Feed:
    """One feed: entries keyed by activity id and a (time, id) index kept sorted ascending."""

    __slots__ = ("fid", "group", "order", "entries", "seen", "read")

    def __init__(self, fid: str, group: FeedGroup) -> None:
        self.fid = fid
        self.group = group
        self.order: list[tuple[str, str]] = []
        # activity id -> (origin feed id or None, wall-clock time it entered this feed)
        self.entries: dict[str, tuple[str | None, float]] = {}
        self.seen: set[str] = set()  # notification group keys marked seen / read
        self.read: set[str] = set()

    def newest_first(self) -> Iterator[tuple[str, str]]:
        return reversed(self.order)


@dataclass
class Changes:
    """What a write touched, so persistence can write exactly that before answering."""

    activities: set[str] = field(default_factory=set)
    entries: set[tuple[str, str]] = field(default_factory=set)
    follows: set[tuple[str, str]] = field(default_factory=set)
    marks: set[str] = field(default_factory=set)

    def __bool__(self) -> bool:
        return bool(self.activities or self.entries or self.follows or self.marks)


class Store:
    """All state; touched only from the server's event loop thread, so no locks."""

    def __init__(self, groups: dict[str, FeedGroup], log_limit: int = 200_000) -> None:
        self.groups = groups
        self.changes: Changes | None = None  # set by persistence
        self._log_limit = log_limit
        self.reset()

    def reset(self) -> None:
        self.activities: dict[str, dict[str, Any]] = {}
        self.keys: dict[tuple[str, ...], str] = {}
        self.key_of: dict[str, tuple[str, ...]] = {}
        self.by_foreign: dict[str, set[str]] = {}
        self.placements: dict[str, set[str]] = {}
        # activity id -> {feed it was added to: its `to` targets}, for removal propagation
        self.to_by_feed: dict[str, dict[str, list[str]]] = {}
        self.feeds: dict[str, Feed] = {}
        self.extras = EnrichmentData()
        self.following: dict[str, dict[str, float]] = {}
        self.followers: dict[str, dict[str, float]] = {}
        # activity id -> its JSON without the closing brace: reads splice in `origin`
        self.encoded: dict[str, str] = {}
        self.log: deque[tuple[Any, ...]] = deque(maxlen=self._log_limit)
        self.seq = 0

    # -- write log -------------------------------------------------------------

    def record(
        self, op: str, feed: str | None = None, data: dict | None = None, **extra: Any
    ) -> None:
        self.seq += 1
        data = data or {}
        self.log.append(
            (
                self.seq,
                op,
                feed,
                data.get("foreign_id"),
                data.get("id"),
                data.get("time"),
                extra.get("target"),
                extra.get("matched"),
                time.time(),
            )
        )

    def request_log(self) -> list[dict[str, Any]]:
        return [dict(zip(_LOG_FIELDS, row, strict=False)) for row in self.log]

    # -- feeds and activities --------------------------------------------------

    def group(self, slug: str) -> FeedGroup:
        """The configured feed group `slug`, else Stream's FeedConfigException (code 6)."""
        group = self.groups.get(slug)
        if group is None:
            raise ApiError(
                6,
                f"The following feeds are not configured: '{slug}'. This could be "
                "the cause of a typo, but otherwise you should configure them on the "
                "dashboard of this app.",
            )
        return group

    @overload
    def feed(self, fid: str, create: Literal[True] = True) -> Feed: ...
    @overload
    def feed(self, fid: str, create: bool) -> Feed | None: ...
    def feed(self, fid: str, create: bool = True) -> Feed | None:
        found = self.feeds.get(fid)
        if found is None:
            group = self.group(fid.partition(":")[0])
            if create:
                found = self.feeds[fid] = Feed(fid, group)
        return found

    def _upsert(self, data: dict[str, Any], to: list[str] | None) -> str:
        key = uniqueness_key(data)
        aid = self.keys.get(key)
        if aid is None:
            aid = activity_id_for(data["time"])
            self.keys[key] = aid
            self.key_of[aid] = key
            self.placements[aid] = set()
            if data["foreign_id"]:
                self.by_foreign.setdefault(data["foreign_id"], set()).add(aid)
        else:
            previous = self.activities[aid]
            if not to and "to" in previous:
                to = previous["to"]
        stored = {**data, "id": aid}
        if to:
            stored["to"] = list(to)
        self.activities[aid] = stored
        self._touch_activity(aid)
        return aid

    def _touch_activity(self, aid: str) -> None:
        self.encoded.pop(aid, None)
        if self.changes is not None:
            self.changes.activities.add(aid)

    def _place(self, fid: str, aid: str, origin: str | None, now: float) -> None:
        feed = self.feed(fid)
        if aid in feed.entries:
            return
        insort(feed.order, (self.activities[aid]["time"], aid))
        feed.entries[aid] = (origin, now)
        self.placements[aid].add(fid)
        if feed.group.kind != FLAT and (feed.seen or feed.read):
            # a new activity makes its notification group unseen and unread again
            key = aggregation.group_key(feed.group.aggregation_format, self.activities[aid])
            feed.seen.discard(key)
            feed.read.discard(key)
            self._touch_marks(fid)
        if self.changes is not None:
            self.changes.entries.add((fid, aid))

    def _unplace(self, fid: str, aid: str) -> None:
        feed = self.feeds.get(fid)
        if feed is None or feed.entries.pop(aid, None) is None:
            return
        key = (self.activities[aid]["time"], aid)
        index = bisect_left(feed.order, key)
        if index < len(feed.order) and feed.order[index] == key:
            del feed.order[index]
        if self.changes is not None:
            self.changes.entries.add((fid, aid))
        places = self.placements[aid]
        places.discard(fid)
        if not places:
            self._forget(aid)

    def _forget(self, aid: str) -> None:
        """An activity in no feed is gone, as on Stream; a later add creates it anew."""
        data = self.activities.pop(aid)
        self.encoded.pop(aid, None)
        self.keys.pop(self.key_of.pop(aid), None)
        self.placements.pop(aid, None)
        self.to_by_feed.pop(aid, None)
        ids = self.by_foreign.get(data["foreign_id"])
        if ids is not None:
            ids.discard(aid)
            if not ids:
                del self.by_foreign[data["foreign_id"]]
        self._touch_activity(aid)

    def _touch_marks(self, fid: str) -> None:
        if self.changes is not None:
            self.changes.marks.add(fid)

    def add(self, fid: str, data: dict[str, Any], to: list[str]) -> dict[str, Any]:
        """Add to `fid`, fan out to its followers and to `to` targets and their followers."""
        self.feed(fid)
        for target in to:
            self.feed(target)
        aid = self._upsert(data, to)
        now = time.time()
        self._place(fid, aid, None, now)
        for follower in self.followers.get(fid, ()):
            self._place(follower, aid, fid, now)
        if to:
            self.to_by_feed.setdefault(aid, {})[fid] = list(to)
            for target in to:
                self._place_target(target, aid, now)
        stored = self.activities[aid]
        self.record("add_activity", fid, stored)
        return stored

    def _place_target(self, target: str, aid: str, now: float) -> None:
        self._place(target, aid, None, now)
        for follower in self.followers.get(target, ()):
            self._place(follower, aid, target, now)

    def _remove_target(self, target: str, aid: str) -> None:
        victims = [target] if self._origin(target, aid) is None else []
        victims += [f for f in self.followers.get(target, ()) if self._origin(f, aid) == target]
        for fid in victims:
            self._unplace(fid, aid)

    def _origin(self, fid: str, aid: str) -> str | None:
        feed = self.feeds.get(fid)
        entry = feed.entries.get(aid) if feed else None
        return entry[0] if entry else "<absent>"

    def add_to_many(self, data: dict[str, Any], feeds: list[str]) -> None:
        """Batch insert into many feeds: no `to`, no follower fan-out (as documented)."""
        for fid in feeds:
            self.feed(fid)
        aid = self._upsert(data, None)
        now = time.time()
        for fid in feeds:
            self._place(fid, aid, None, now)
        self.record("add_to_many", None, self.activities[aid], target=",".join(feeds))

    def remove(self, fid: str, aid: str) -> None:
        """Remove from `fid`, from its followers' copies, and from the `to` targets it fanned to
        (Stream's v2 docs, "Targeting with TO Field": a removal from the origin feed also
        removes the activity from all TO targeted feeds and origin feed followers)."""
        feed = self.feed(fid, create=False)
        if feed is None or aid not in feed.entries:
            # logged all the same: order checks need to see a remove that arrived too early
            self.record("remove_activity", fid, {"id": aid}, matched=0)
            return
        data = self.activities[aid]
        self.record("remove_activity", fid, data, matched=1)
        victims = [fid] + [f for f in self.followers.get(fid, ()) if self._origin(f, aid) == fid]
        targets = self.to_by_feed.get(aid, {}).pop(fid, [])
        self._touch_activity(aid)
        for target in targets:
            self._remove_target(target, aid)
            if aid not in self.activities:
                return
        for victim in victims:
            if aid not in self.activities:
                return
            self._unplace(victim, aid)

    def remove_by_foreign_id(self, fid: str, foreign_id: str) -> None:
        feed = self.feed(fid, create=False)
        matches = [a for a in self.by_foreign.get(foreign_id, ()) if feed and a in feed.entries]
        if not matches:
            self.record("remove_activity", fid, {"foreign_id": foreign_id}, matched=0)
        for aid in matches:
            self.remove(fid, aid)

    # -- follows ---------------------------------------------------------------

    def follow(self, source: str, target: str, copy_limit: int | None) -> None:
        self.feed(source)
        target_group = self.group(target.partition(":")[0])
        if source == target:
            raise input_error("target", "a feed cannot follow itself")
        if target_group.kind != FLAT:
            raise input_error(
                "target", f"only flat feeds can be followed, {target} is {target_group.kind}"
            )
        limit = DEFAULT_COPY_LIMIT if copy_limit is None else copy_limit
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 0 <= limit <= MAX_COPY_LIMIT
        ):
            raise input_error(
                "activity_copy_limit", f"must be an integer from 0 to {MAX_COPY_LIMIT}"
            )
        self.record("follow", source, target=target)
        if target in self.following.get(source, {}):
            return
        now = time.time()
        self.following.setdefault(source, {})[target] = now
        self.followers.setdefault(target, {})[source] = now
        if self.changes is not None:
            self.changes.follows.add((source, target))
        feed = self.feeds.get(target)
        if feed is None or limit == 0:
            return
        copied = 0
        # only the target's own activities travel: fan-out is one level deep
        for _time, aid in feed.newest_first():
            if copied >= limit:
                break
            if feed.entries[aid][0] is None:
                self._place(source, aid, target, now)
                copied += 1

    def unfollow(self, source: str, target: str, keep_history: bool) -> None:
        self.feed(source, create=False)
        self.group(target.partition(":")[0])
        self.record("unfollow", source, target=target)
        if self.following.get(source, {}).pop(target, None) is None:
            return
        self.followers.get(target, {}).pop(source, None)
        if self.changes is not None:
            self.changes.follows.add((source, target))
        feed = self.feeds.get(source)
        if keep_history or feed is None:
            return
        for aid in [a for a, (origin, _) in feed.entries.items() if origin == target]:
            self._unplace(source, aid)

    def follow_list(
        self, fid: str, followers: bool, offset: int, limit: int, filter_: list[str]
    ) -> list[dict[str, Any]]:
        relation = (self.followers if followers else self.following).get(fid, {})
        rows = []
        for other, created in reversed(relation.items()):
            if filter_ and other not in filter_:
                continue
            source, target = (other, fid) if followers else (fid, other)
            stamp = format_epoch(created)
            rows.append(
                {"feed_id": source, "target_id": target, "created_at": stamp, "updated_at": stamp}
            )
        return rows[offset : offset + limit]

    def mark(self, feed: Feed, groups: list[dict[str, Any]], which: str, spec: str) -> None:
        """mark_seen / mark_read: `true`/`current` marks every group, else a comma list of ids."""
        marked = feed.seen if which == "seen" else feed.read
        wanted = None if spec.lower() in ("true", "current", "1") else set(spec.split(","))
        for group in groups:
            if wanted is None or group["id"] in wanted:
                marked.add(group["group"])
        self._touch_marks(feed.fid)

    # -- activity-level updates --------------------------------------------------

    def find(self, foreign_id: str, time_value: str) -> str | None:
        return self.keys.get(("f", foreign_id, time_value))

    def update(self, data: dict[str, Any]) -> dict[str, Any]:
        """Replace an activity matched by foreign_id+time (id and `to` kept), else create it."""
        # an unknown activity is created in no feed; a later add with the same key reuses it
        aid = self._upsert(data, None)
        stored = self.activities[aid]
        self.record("update_activity", None, stored)
        return stored

    def partial_update(self, aid: str, set_: dict[str, Any], unset: list[str]) -> dict[str, Any]:
        data = copy.deepcopy(self.activities[aid])
        for path, value in set_.items():
            set_path(data, path, value)
        for path in unset:
            *parents, leaf = path.split(".")
            node: Any = data
            for part in parents:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(leaf, None)
        self.activities[aid] = data
        self._touch_activity(aid)
        self.record("partial_update", None, data)
        return data

    def update_targets(
        self, fid: str, aid: str, added: list[str], removed: list[str]
    ) -> dict[str, Any]:
        data = self.activities[aid]
        current = list(data.get("to", []))
        added = [t for t in added if t not in current]
        removed = [t for t in removed if t in current]
        for target in added:
            self.feed(target)
        now = time.time()
        for target in removed:
            self._remove_target(target, aid)
            if aid not in self.activities:
                break
        if aid in self.activities:
            new_to = [t for t in current if t not in removed] + added
            data = {**data, "to": new_to}
            if not new_to:
                del data["to"]
            self.activities[aid] = data
            self._touch_activity(aid)
            self.to_by_feed.setdefault(aid, {})[fid] = new_to
            for target in added:
                self._place_target(target, aid, now)
        self.record("update_activity_to_targets", fid, data, target=",".join(added))
        return {"activity": data, "added": added, "removed": removed}

    def follow_counts(self, fid: str, followers: bool, slugs: list[str]) -> int:
        relation = (self.followers if followers else self.following).get(fid, {})
        if not slugs:
            return len(relation)
        return sum(1 for other in relation if other.partition(":")[0] in slugs)
