"""State of the emulated Feeds v3 app: users, feeds (with owners), activities by id, follows.

Semantics, from the getstream SDK's request models and Stream's v3 docs (sources in
docs/topics/feeds-v3.md): an activity has an explicit id and a list of ``feeds``; an upsert by id
replaces its fields and its feeds (created_at kept); feeds must exist before an activity is
added to them; an activity added to a feed is copied into the feeds that follow it, one level;
a follow copies the target's existing activities (``activity_copy_limit``: unset = all, 0 =
none) the first time it is made; an unfollow removes those copies unless ``keep_history``.

Every applied write is logged in the v2 store's ``request_log()`` shape (``add_activity``,
``remove_activity``, ``follow``, ``unfollow`` on the activity's own feed, with its
foreign_id), so the chaos checker's order check reads both APIs' logs alike.

With ``--data FILE`` every write's ``changes`` (``V3Changes``, set by the server) name what it
touched, and emulator/v3/persistence.py commits exactly that before the write is answered.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..aggregation import group_key
from ..feed_groups import AGGREGATED, NOTIFICATION, FeedGroup
from .errors import INPUT, V3Error, input_error, not_found

MAX_BATCH = 100
# Bounded like the v2 store's log: a long-running emulator must not grow without limit.
LOG_LIMIT = 200_000


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def stamp(moment: dt.datetime) -> int:
    """A timestamp as v3 answers it: nanoseconds since the epoch (the SDK's models decode
    every datetime with getstream.utils.datetime_from_unix_ns)."""
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


@dataclass
class Feed:
    group: str
    id: str
    created_by: str
    created_at: dt.datetime
    name: str = ""
    description: str = ""
    custom: dict[str, Any] = field(default_factory=dict)

    @property
    def fid(self) -> str:
        return f"{self.group}:{self.id}"


@dataclass
class Activity:
    id: str
    type: str
    user_id: str
    feeds: list[str]
    fields: dict[str, Any]  # text, custom, attachments… as the request gave them
    created_at: dt.datetime
    updated_at: dt.datetime
    seq: int  # creation order: chronological feeds are newest first


@dataclass
class Follow:
    source: str
    target: str
    created_at: dt.datetime
    copy_limit: int | None
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class V3Changes:
    """What a write touched, by key, so persistence writes exactly that before answering
    (v2's ``Changes``, emulator/v2/store.py); a key no longer in the store is a deletion."""

    users: set[str] = field(default_factory=set)
    feeds: set[str] = field(default_factory=set)
    activities: set[str] = field(default_factory=set)
    follows: set[tuple[str, str]] = field(default_factory=set)
    entries: set[tuple[str, str]] = field(default_factory=set)  # (feed id, activity id)

    def __bool__(self) -> bool:
        return bool(self.users or self.feeds or self.activities or self.follows or self.entries)


class V3Store:
    def __init__(self, groups: dict[str, FeedGroup]) -> None:
        self.groups = groups
        self.changes: V3Changes | None = None  # set by the server when it persists
        self.reset()

    def reset(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.feeds: dict[str, Feed] = {}
        self.activities: dict[str, Activity] = {}
        self.follows: dict[tuple[str, str], Follow] = {}
        # feed id -> {activity id: origin feed (None: added to this feed itself)}
        self.entries: dict[str, dict[str, str | None]] = {}
        # (feed id, activity id) -> its group in an aggregated or notification feed, fixed
        # when it entered the feed: Stream applies the format "when you insert an activity to
        # an aggregated feed" (v3 "Aggregation" page), so a later format change regroups only
        # later activities. Not persisted: after a restart, entries group by the current format.
        self.group_keys: dict[tuple[str, str], str] = {}
        self.log: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)
        self._log_seq = itertools.count(1)
        # The last Activity.seq handed out: persisted, so creation order survives a restart.
        self.last_seq = 0

    # -- write log -----------------------------------------------------------------------

    def record(self, op: str, feed: str | None, **fields: Any) -> None:
        row = {"seq": next(self._log_seq), "op": op, "feed": feed, "foreign_id": None, "id": None}
        row.update({"time": None, "target": None, "matched": None, **fields, "at": time.time()})
        self.log.append(row)

    def _record_activity(self, op: str, activity: Activity, **fields: Any) -> None:
        # The activity's own feed is the first of its feeds (feed_outbox.stream_api.v3_mapping's mapping);
        # ``created`` says an upsert made a new activity: v3 orders feeds by creation.
        custom = activity.fields.get("custom") or {}
        feed = activity.feeds[0] if activity.feeds else None
        self.record(
            op,
            feed,
            foreign_id=custom.get("foreign_id"),
            id=activity.id,
            time=custom.get("time"),
            **fields,
        )

    def request_log(self) -> list[dict[str, Any]]:
        return list(self.log)

    # -- users and feeds -----------------------------------------------------------------

    def upsert_user(self, user: dict[str, Any]) -> dict[str, Any]:
        user_id = user.get("id")
        if not isinstance(user_id, str) or not user_id:
            raise input_error("users.id", "is required")
        stored = self.users.get(user_id) or {"id": user_id, "created_at": now(), "custom": {}}
        stored.update({k: v for k, v in user.items() if k != "created_at"})
        stored["updated_at"] = now()
        self.users[user_id] = stored
        if self.changes is not None:
            self.changes.users.add(user_id)
        return stored

    def group(self, slug: str) -> FeedGroup:
        group = self.groups.get(slug)
        if group is None:
            raise not_found(f"feed group '{slug}'")
        return group

    def get_or_create_feed(self, group: str, feed_id: str, created_by: str | None) -> Feed:
        self.group(group)
        fid = f"{group}:{feed_id}"
        feed = self.feeds.get(fid)
        if feed is None:
            if not feed_id:
                raise input_error("feed_id", "is required")
            feed = self.feeds[fid] = Feed(group, feed_id, created_by or "", now())
            self.entries.setdefault(fid, {})
            if self.changes is not None:
                self.changes.feeds.add(fid)
            self.record("create_feed", fid, owner=created_by)
        return feed

    def feed(self, fid: str) -> Feed:
        feed = self.feeds.get(fid)
        if feed is None:
            group, _, _ = fid.partition(":")
            self.group(group)
            raise not_found(f"feed {fid}")
        return feed

    # -- activities ----------------------------------------------------------------------

    def upsert(self, request: dict[str, Any], *, generate_id: bool = False) -> Activity:
        """Create or replace the activity ``request["id"]`` with the request's fields."""
        kind = request.get("type")
        feeds = request.get("feeds")
        if not isinstance(kind, str) or not kind:
            raise input_error("type", "is a required field")
        if not isinstance(feeds, list) or not feeds or not all(isinstance(f, str) for f in feeds):
            raise input_error("feeds", "must list at least one feed")
        feeds = list(dict.fromkeys(feeds))
        for fid in feeds:
            # "You do not need to call getOrCreate on a feed before adding an activity to it
            # ... the feed is created automatically. This applies to both add activity and add
            # activities (batch) requests" (Stream's v3 Activities page, "Auto-creating feeds").
            # Its owner there is unsourced: the activity's user is assumed. A group that does
            # not exist is still a 404 (self.group).
            if fid not in self.feeds:
                group, _, feed_id = fid.partition(":")
                self.get_or_create_feed(group, feed_id, request.get("user_id"))
        activity_id = request.get("id") or (str(uuid.uuid4()) if generate_id else None)
        if not isinstance(activity_id, str) or not activity_id:
            raise input_error("id", "is required to upsert an activity")
        user_id = request.get("user_id") or ""
        extra = {k: v for k, v in request.items() if k not in ("id", "type", "feeds", "user_id")}
        stored = self.activities.get(activity_id)
        created_before = stored is not None
        moment = now()
        if stored is None:
            self.last_seq += 1
            stored = Activity(activity_id, kind, user_id, [], extra, moment, moment, self.last_seq)
            self.activities[activity_id] = stored
        else:
            stored.type, stored.user_id, stored.fields = kind, user_id, extra
            stored.updated_at = moment
        self._touch_activity(activity_id)
        old = set(stored.feeds)
        for fid in [f for f in stored.feeds if f not in feeds]:
            self._leave(activity_id, fid)
        stored.feeds = feeds
        for fid in feeds:
            if fid not in old:
                self._enter(activity_id, fid)
        self._record_activity("add_activity", stored, created=not created_before)
        return stored

    def _touch_activity(self, activity_id: str) -> None:
        if self.changes is not None:
            self.changes.activities.add(activity_id)

    def _put_entry(self, fid: str, activity_id: str, origin: str | None) -> None:
        """Activity ``activity_id`` is in feed ``fid``, copied from ``origin`` (None: direct)."""
        self.entries.setdefault(fid, {})[activity_id] = origin
        key = self._group_key(fid, self.activities[activity_id])
        if key is not None:
            self.group_keys[(fid, activity_id)] = key
        if self.changes is not None:
            self.changes.entries.add((fid, activity_id))

    def _drop_entry(self, fid: str, activity_id: str) -> None:
        content = self.entries.get(fid)
        if content is not None and activity_id in content:
            del content[activity_id]
            self.group_keys.pop((fid, activity_id), None)
            if self.changes is not None:
                self.changes.entries.add((fid, activity_id))

    def _enter(self, activity_id: str, fid: str) -> None:
        self._put_entry(fid, activity_id, None)
        for source, target in self.follows:
            if target == fid and activity_id not in self.entries.get(source, {}):
                self._put_entry(source, activity_id, fid)

    def _leave(self, activity_id: str, fid: str) -> None:
        self._drop_entry(fid, activity_id)
        for source, target in self.follows:
            if target == fid and self.entries.get(source, {}).get(activity_id) == fid:
                self._drop_entry(source, activity_id)

    def delete(self, ids: list[str]) -> list[str]:
        """Delete activities everywhere; an unknown id fails the request, nothing deleted."""
        if not isinstance(ids, list) or not ids:
            raise input_error("ids", "must list at least one activity id")
        if len(ids) > MAX_BATCH:
            raise input_error("ids", f"at most {MAX_BATCH} activities per request")
        missing = [i for i in ids if i not in self.activities]
        if missing:
            raise not_found(f"activity {missing[0]}")
        for activity_id in ids:
            self._record_activity("remove_activity", self.activities.pop(activity_id))
            self._touch_activity(activity_id)
            for fid in self.entries:
                self._drop_entry(fid, activity_id)
        return list(ids)

    def activity(self, activity_id: str) -> Activity:
        stored = self.activities.get(activity_id)
        if stored is None:
            raise not_found(f"activity {activity_id}")
        return stored

    # -- follows -------------------------------------------------------------------------

    def follow(self, request: dict[str, Any], *, upsert: bool) -> tuple[Follow, bool]:
        source, target = request.get("source"), request.get("target")
        if not isinstance(source, str) or not isinstance(target, str):
            raise input_error("source", "source and target feeds are required")
        self.feed(source)
        self.feed(target)
        if source == target:
            raise V3Error(INPUT, "a feed cannot follow itself")
        limit = request.get("activity_copy_limit")
        if limit is not None and (not isinstance(limit, int) or not 0 <= limit <= 1000):
            raise input_error("activity_copy_limit", "must be between 0 and 1000")
        existing = self.follows.get((source, target))
        if existing is not None:
            if not upsert:
                raise V3Error(INPUT, f"{source} already follows {target}")
            return existing, False
        follow = Follow(source, target, now(), limit, dict(request.get("custom") or {}))
        self.follows[(source, target)] = follow
        if self.changes is not None:
            self.changes.follows.add((source, target))
        direct = [a for a, origin in self.entries.get(target, {}).items() if origin is None]
        direct.sort(key=lambda a: self.activities[a].seq, reverse=True)
        copied = direct if limit is None else direct[:limit]
        for activity_id in copied:
            if activity_id not in self.entries.get(source, {}):
                self._put_entry(source, activity_id, target)
        self.record("follow", source, target=target, matched=len(copied))
        return follow, True

    def unfollow(self, request: dict[str, Any], *, upsert: bool) -> Follow | None:
        # Unchecked JSON: an absent source or target finds no follow.
        source: Any = request.get("source")
        target: Any = request.get("target")
        follow = self.follows.pop((source, target), None)
        if follow is None:
            if not upsert:
                raise not_found(f"follow {source} -> {target}")
            return None
        if self.changes is not None:
            self.changes.follows.add((source, target))
        if not request.get("keep_history"):
            content = self.entries.get(source, {})
            for activity_id in [a for a, origin in content.items() if origin == target]:
                self._drop_entry(source, activity_id)
        self.record("unfollow", source, target=target)
        return follow

    # -- reads ---------------------------------------------------------------------------

    def feed_activities(self, fid: str) -> list[Activity]:
        """The feed's activities, newest first."""
        content = self.entries.get(fid, {})
        found = [self.activities[a] for a in content if a in self.activities]
        return sorted(found, key=lambda a: a.seq, reverse=True)

    def origin(self, fid: str, activity_id: str) -> str | None:
        return self.entries.get(fid, {}).get(activity_id)

    def _group_key(self, fid: str, activity: Activity) -> str | None:
        """The group ``activity`` belongs to in feed ``fid`` under its group's format now (None
        in a flat feed)."""
        group = self.groups.get(fid.partition(":")[0])
        if group is None or group.kind not in (AGGREGATED, NOTIFICATION):
            return None
        if not group.aggregation_format:
            return activity.id  # a notification group without a format groups nothing
        # What a v3 format sees, and nothing else (V3_VARIABLES, feed_groups.py): ``time`` is
        # the activity's creation, not a time the request gave.
        data = {
            "type": activity.type,
            "time": activity.created_at.replace(tzinfo=None).isoformat(),
            "user_id": activity.user_id,
            "custom": activity.fields.get("custom") or {},
        }
        return group_key(group.aggregation_format, data)

    def aggregated(self, fid: str) -> list[tuple[str, list[Activity]]]:
        """Groups of an aggregated or notification feed, most recently updated first."""
        group = self.group(fid.partition(":")[0])
        if group.kind not in (AGGREGATED, NOTIFICATION):
            return []
        groups: dict[str, list[Activity]] = {}
        for activity in self.feed_activities(fid):
            key = self.group_keys.get((fid, activity.id))
            if key is None:  # entered while its group was flat, or before a restart
                key = self._group_key(fid, activity)
            groups.setdefault(activity.id if key is None else key, []).append(activity)
        return list(groups.items())
