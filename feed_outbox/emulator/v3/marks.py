"""Seen and read marks of v3 notification feeds: MarkActivity writes them, reads answer them.

Sources (docs/topics/feeds-v3.md, "Notification feeds: seen and read"):

* the request is the SDK's ``MarkActivityRequest`` (``mark_all_seen``, ``mark_all_read``,
  ``mark_seen``, ``mark_read``; ``feeds.mark_activity`` posts it to
  ``feed_groups/{group}/feeds/{id}/activities/mark/batch`` and gets a bare ``Response``);
* on an aggregated notification feed the ids are **group** ids ("Mark some activities as read
  via specific Activity Group Ids", Stream's Swift SDK docs snippet Snippets-05-02-Aggregation;
  stream-feeds-js ``handle-activity-marked.ts`` adds ``mark_read`` ids and, on
  ``mark_all_read``, every group id to ``read_activities``, and sets ``last_seen_at`` on
  ``mark_all_seen``);
* "A mark only applies to activities created at or before the time it was set. On aggregated
  notification feeds, a group that is updated after it was marked counts as unread or unseen
  again" (Stream's "Read/seen ranking" page);
* ``unseen``/``unread`` "refer to the number of aggregated groups" (the "Notification feeds"
  page), answered as the read's ``notification_status`` (SDK ``NotificationStatusResponse``:
  unseen, unread, last_seen_at, last_read_at, seen_activities, read_activities).

Unverified, chosen: marking read does not mark seen (v2's rule; the JS state handler keeps
the two apart too); unknown group ids are ignored; a group's time is its activities' creation
(an activity added to a feed later by an upsert counts from its creation). Marks are not
persisted with the store (emulator/v3/persistence.py): a restarted emulator forgets them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import input_error
from .store import Activity, now, stamp

# "Capped at ~101 entries for aggregated feeds" (NotificationStatusResponse.read_activities)
LISTED = 101


@dataclass
class FeedMarks:
    last_seen_at: dt.datetime | None = None
    last_read_at: dt.datetime | None = None
    seen: dict[str, dt.datetime] = field(default_factory=dict)  # group id -> when marked
    read: dict[str, dt.datetime] = field(default_factory=dict)


@dataclass(frozen=True)
class GroupMarks:
    is_seen: bool
    is_read: bool


class NotificationMarks:
    """Per feed: when everything was last marked seen/read, and when each group was."""

    def __init__(self) -> None:
        self.feeds: dict[str, FeedMarks] = {}

    def reset(self) -> None:
        self.feeds.clear()

    def mark(self, fid: str, request: dict[str, Any]) -> None:
        """Apply a MarkActivityRequest to feed ``fid`` (validated whole before any of it)."""
        ids: dict[str, list[str]] = {}
        for name in ("mark_seen", "mark_read", "mark_watched"):
            value = request.get(name)
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
                raise input_error(name, "must be a list of ids")
            ids[name] = value
        for name in ("mark_all_seen", "mark_all_read"):
            if request.get(name) not in (None, True, False):
                raise input_error(name, "must be a boolean")
        marks = self.feeds.setdefault(fid, FeedMarks())
        moment = now()
        if request.get("mark_all_seen"):
            marks.last_seen_at = moment
        if request.get("mark_all_read"):
            marks.last_read_at = moment
        for group in ids.get("mark_seen", ()):
            marks.seen[group] = moment
        for group in ids.get("mark_read", ()):
            marks.read[group] = moment

    def of(self, fid: str, key: str, activities: Sequence[Activity]) -> GroupMarks:
        """Whether group ``key`` of ``fid`` is seen / read: marked after its newest activity."""
        marks = self.feeds.get(fid) or FeedMarks()
        newest = max(a.created_at for a in activities)
        return GroupMarks(
            is_seen=_covers(newest, marks.last_seen_at, marks.seen.get(key)),
            is_read=_covers(newest, marks.last_read_at, marks.read.get(key)),
        )

    def status(self, fid: str, groups: Sequence[tuple[str, Sequence[Activity]]]) -> dict:
        """The feed's ``notification_status`` over all its groups (not only the page's)."""
        marks = self.feeds.get(fid) or FeedMarks()
        flags = [(key, self.of(fid, key, activities)) for key, activities in groups]
        return {
            "unseen": sum(1 for _k, f in flags if not f.is_seen),
            "unread": sum(1 for _k, f in flags if not f.is_read),
            "last_seen_at": _stamp(marks.last_seen_at),
            "last_read_at": _stamp(marks.last_read_at),
            "seen_activities": [k for k, f in flags if f.is_seen][:LISTED],
            "read_activities": [k for k, f in flags if f.is_read][:LISTED],
        }


def _covers(newest: dt.datetime, *marks: dt.datetime | None) -> bool:
    return any(m is not None and newest <= m for m in marks)


def _stamp(moment: dt.datetime | None) -> int | None:
    return None if moment is None else stamp(moment)
