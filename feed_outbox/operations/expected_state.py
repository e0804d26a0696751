"""What every feed should hold, spooled to a temporary on-disk SQLite database, read feed by feed.

Reconcile never holds the whole expected state: the database's activities (one row per feed
each is placed in directly: its ``activity_feeds()`` and its ``to`` targets), the newest add
event of each activity key, and the follow truth are written to SQLite (``sqlite3.connect("")``
is a private on-disk database deleted on close, with a small page cache), then the
expectation of one feed at a time is assembled from indexed lookups.

How a feed's expectation is derived, for feed F:

* ``own``: every published activity whose ``activity_feeds()`` or ``to`` lists F is
  **required** in F, with its current data (a ``to`` copy has ``origin`` null on Stream).
* ``follow``: for every pair F→T whose newest outbox event is a follow, the activities placed
  directly in T (``own`` rows of T) are copies in F. One committed **after** the follow is
  **required**: its newest ``add`` event (of the key, to any feed) has a higher outbox id
  than the follow event or, when
  no add event of the key is left (purged), its ``time`` is later than the follow's
  ``created_at``. One committed before is **allowed, not required**: Stream copied only the
  newest ``activity_copy_limit`` of them (default 100) when the follow was applied.
* A pair whose newest event is an unfollow with ``keep_history`` **allows** T's activities
  committed before the unfollow; a plain unfollow allows nothing from T.
* A pair whose newest event is still pending is the relay's business: nothing from T is
  required or forbidden in F (``pending_origins``).

Anything else of the reconciled models in F is forbidden (phantom).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from feed_outbox.operations.follow_state import FollowState

OWN, TO, FOLLOW = "own", "to", "follow"
# Rows buffered in Python before one executemany: the only expected state held in memory
# while spooling.
FLUSH_ROWS = 1000

_SCHEMA = """
CREATE TABLE own (feed TEXT, foreign_id TEXT, route TEXT, time TEXT, payload TEXT);
CREATE TABLE adds (foreign_id TEXT, add_id INTEGER);
CREATE TABLE follows (
    source TEXT, target TEXT, kind TEXT, event_id INTEGER, created_at TEXT,
    keep_history INTEGER, pending INTEGER, options TEXT
);
CREATE TABLE feeds (name TEXT PRIMARY KEY);
"""
_INDEXES = """
CREATE INDEX own_feed ON own (feed, foreign_id);
CREATE INDEX adds_key ON adds (foreign_id);
CREATE INDEX follows_source ON follows (source, target);
"""


@dataclass
class Expectation:
    """What one feed should hold of one foreign id: ``required`` or only allowed, and how."""

    payload: dict[str, Any]
    required: bool
    routes: set[str] = field(default_factory=set)
    # Feeds a follow copy may come from (a required follow copy names its origin here).
    origins: set[str] = field(default_factory=set)

    def merge(self, required: bool, route: str, origin: str | None) -> None:
        self.required = self.required or required
        self.routes.add(route)
        if origin:
            self.origins.add(origin)


@dataclass
class FeedExpectation:
    feed: str
    activities: dict[str, Expectation]
    follows: list[FollowState]
    # Followed feeds whose pair has a pending event: their copies are not judged.
    pending_origins: set[str]


class ExpectedState:
    """The spool. Fill it (``add_*``), call ``seal()``, then read ``feeds()`` / ``expect()``."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")
        self.db.execute("PRAGMA cache_size = -4096")  # KiB: pages beyond this stay on disk
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.executescript(_SCHEMA)
        self._buffers: dict[str, list[tuple]] = {"own": [], "adds": [], "follows": []}
        #: Most expected activities held in Python at once (one feed's): for the memory test.
        self.peak_held = 0

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ExpectedState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- filling ---------------------------------------------------------------

    def add_activity(self, payload: dict[str, Any], feeds: Iterable[str]) -> None:
        """A published activity, placed directly in ``feeds`` and in its ``to`` targets."""
        encoded = json.dumps(payload, sort_keys=True, default=str)
        foreign_id, time = payload["foreign_id"], payload.get("time")
        for feed in feeds:
            self._buffer("own", (feed, foreign_id, OWN, time, encoded))
        for target in payload.get("to") or ():
            self._buffer("own", (target, foreign_id, TO, time, encoded))

    def add_newest_add(self, foreign_id: str, event_id: int) -> None:
        """The newest ``add`` event of an activity key (to any feed: a ``to`` target's copy
        and its followers' copies come from the add to the author feed)."""
        self._buffer("adds", (foreign_id, event_id))

    def add_follow(self, state: FollowState) -> None:
        self._buffer(
            "follows",
            (
                state.source,
                state.target,
                state.kind,
                state.event_id,
                state.created_at,
                int(state.keep_history),
                int(state.pending),
                json.dumps(state.options, sort_keys=True),
            ),
        )

    def add_feeds(self, names: Iterable[str]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO feeds VALUES (?)", ((n,) for n in names))

    def _buffer(self, table: str, row: tuple) -> None:
        buffer = self._buffers[table]
        buffer.append(row)
        if len(buffer) >= FLUSH_ROWS:
            self._flush(table)

    def _flush(self, table: str) -> None:
        buffer = self._buffers[table]
        if buffer:
            marks = ", ".join("?" * len(buffer[0]))
            self.db.executemany(f"INSERT INTO {table} VALUES ({marks})", buffer)
            buffer.clear()

    def seal(self, list_feeds: bool = True) -> None:
        """Flush, index, and (``list_feeds``) list every feed an activity or a follow names
        as one to read."""
        for table in self._buffers:
            self._flush(table)
        self.db.executescript(_INDEXES)
        if not list_feeds:
            return
        self.db.execute("INSERT OR IGNORE INTO feeds SELECT DISTINCT feed FROM own")
        self.db.execute("INSERT OR IGNORE INTO feeds SELECT DISTINCT source FROM follows")

    # -- reading ---------------------------------------------------------------

    def feeds(self) -> Iterator[str]:
        """Every feed to read, sorted, streamed from SQLite."""
        cursor = self.db.execute("SELECT name FROM feeds ORDER BY name")
        while rows := cursor.fetchmany(500):
            yield from (name for (name,) in rows)

    def feed_count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM feeds").fetchone()[0]

    def follows_of(self, source: str) -> list[FollowState]:
        rows = self.db.execute(
            "SELECT event_id, source, target, kind, created_at, keep_history, pending, options"
            " FROM follows WHERE source = ? ORDER BY target",
            (source,),
        )
        return [
            FollowState(
                event_id=event_id,
                source=src,
                target=target,
                kind=kind,
                created_at=created_at,
                keep_history=bool(keep),
                pending=bool(pending),
                options=json.loads(options),
            )
            for event_id, src, target, kind, created_at, keep, pending, options in rows
        ]

    def expect(self, feed: str) -> FeedExpectation:
        """The expectation of ``feed`` alone (see the module docstring for the rules)."""
        activities: dict[str, Expectation] = {}
        for foreign_id, route, encoded in self.db.execute(
            "SELECT foreign_id, route, payload FROM own WHERE feed = ?", (feed,)
        ):
            self._note(activities, foreign_id, encoded, True, route, None)
        follows = self.follows_of(feed)
        pending_origins = set()
        for state in follows:
            if state.pending:
                pending_origins.add(state.target)
                continue
            if not state.following and not state.keep_history:
                continue
            for foreign_id, time, add_id, encoded in self._own_of(state.target):
                after = add_id > state.event_id if add_id is not None else time > state.created_at
                if state.following:
                    self._note(activities, foreign_id, encoded, after, FOLLOW, state.target)
                elif not after:  # kept history: what came before the unfollow may stay
                    self._note(activities, foreign_id, encoded, False, FOLLOW, state.target)
        self.peak_held = max(self.peak_held, len(activities))
        return FeedExpectation(feed, activities, follows, pending_origins)

    def _own_of(self, target: str) -> sqlite3.Cursor:
        return self.db.execute(
            "SELECT o.foreign_id, o.time, MAX(a.add_id), o.payload FROM own o"
            " LEFT JOIN adds a ON a.foreign_id = o.foreign_id"
            " WHERE o.feed = ? GROUP BY o.foreign_id",
            (target,),
        )

    @staticmethod
    def _note(
        activities: dict[str, Expectation],
        foreign_id: str,
        encoded: str,
        required: bool,
        route: str,
        origin: str | None,
    ) -> None:
        found = activities.get(foreign_id)
        if found is None:
            found = activities[foreign_id] = Expectation(json.loads(encoded), required)
        found.merge(required, route, origin)
