"""SQLite persistence of the Feeds v3 store for `--data FILE`, beside v2's in the same file.

As for v2 (emulator/v2/persistence.py), each write's changes (``V3Changes``) are committed before
it is answered, so a SIGKILLed emulator restarted on the same file serves the same users,
feeds, activities, follows and feed entries (with the feed each copy came from), and keeps
handing out increasing ``Activity.seq`` numbers, which order feeds and queries by creation.

Not persisted: the request log (kept per incarnation, like v2's), seen/read marks, pins,
bookmarks, comments, and feed groups or views made through the API. A feed whose group is not
configured when the emulator starts is skipped on load, with its entries and follows (as v2
skips entries of unconfigured groups); its rows stay in the file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3

from ..persistence import Tables, committed
from .store import Activity, Feed, Follow, V3Changes, V3Store

log = logging.getLogger("feed_outbox.emulator")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS v3_users (
    id TEXT PRIMARY KEY, data TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS v3_feeds (
    fid TEXT PRIMARY KEY, feed_group TEXT NOT NULL, feed_id TEXT NOT NULL,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL, name TEXT NOT NULL,
    description TEXT NOT NULL, custom TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS v3_activities (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, user_id TEXT NOT NULL, feeds TEXT NOT NULL,
    fields TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS v3_follows (
    source TEXT NOT NULL, target TEXT NOT NULL, created_at TEXT NOT NULL, copy_limit INTEGER,
    custom TEXT NOT NULL, PRIMARY KEY (source, target)
);
CREATE TABLE IF NOT EXISTS v3_entries (
    feed TEXT NOT NULL, activity_id TEXT NOT NULL, origin TEXT,
    PRIMARY KEY (feed, activity_id)
);
CREATE TABLE IF NOT EXISTS v3_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_TABLES = ("v3_users", "v3_feeds", "v3_activities", "v3_follows", "v3_entries", "v3_counters")


def _time(moment: dt.datetime) -> str:
    return moment.isoformat()


def _moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


class V3Persistence(Tables):
    """Loads, flushes and clears the ``v3_`` tables over the file's connection, which v2's
    tables share (emulator/persistence.py; one thread: the emulator's loop)."""

    SCHEMA = _SCHEMA

    def load(self, store: V3Store) -> None:
        """Replace ``store``'s state with the file's (its ``changes`` are left to the caller)."""
        db = self._db()
        store.reset()
        for uid, data, created, updated in db.execute("SELECT * FROM v3_users ORDER BY rowid"):
            user = json.loads(data)
            user["created_at"], user["updated_at"] = _moment(created), _moment(updated)
            store.users[uid] = user
        skipped = 0
        for fid, group, feed_id, owner, created, name, description, custom in db.execute(
            "SELECT * FROM v3_feeds ORDER BY rowid"
        ):
            if group not in store.groups:
                skipped += 1  # its feed group is no longer configured
                continue
            store.feeds[fid] = Feed(
                group, feed_id, owner, _moment(created), name, description, json.loads(custom)
            )
            store.entries[fid] = {}
        # Creation order is the dict's order too: QueryActivities breaks ties by it.
        rows = db.execute("SELECT * FROM v3_activities ORDER BY seq")
        for aid, kind, user_id, feeds, fields, created, updated, seq in rows:
            store.activities[aid] = Activity(
                aid,
                kind,
                user_id,
                json.loads(feeds),
                json.loads(fields),
                _moment(created),
                _moment(updated),
                seq,
            )
        for fid, aid, origin in db.execute("SELECT * FROM v3_entries ORDER BY rowid"):
            if fid in store.feeds and aid in store.activities:
                store.entries[fid][aid] = origin
        # Follows are only inserted and deleted, never rewritten: rowid order is the order
        # they were made in, which feed reads and QueryFollows answer.
        for source, target, created, limit, custom in db.execute(
            "SELECT * FROM v3_follows ORDER BY rowid"
        ):
            if source in store.feeds and target in store.feeds:
                follow = Follow(source, target, _moment(created), limit, json.loads(custom))
                store.follows[(source, target)] = follow
        [counted] = db.execute("SELECT value FROM v3_counters WHERE name = 'seq'").fetchone() or [0]
        store.last_seq = max([counted, *(a.seq for a in store.activities.values())])
        if skipped:
            log.warning("skipped %d v3 feeds of unconfigured feed groups", skipped)

    def flush(self, store: V3Store) -> None:
        """Commit what ``store.changes`` names, then start a new ``V3Changes``."""
        changes = store.changes
        if not changes:
            return
        db = self._db()
        with committed(db):
            self._write(db, store, changes)
        store.changes = V3Changes()

    def _write(self, db: sqlite3.Connection, store: V3Store, changes: V3Changes) -> None:
        for uid in changes.users:
            user = store.users[uid]  # users are never deleted
            data = {k: v for k, v in user.items() if k not in ("created_at", "updated_at")}
            db.execute(
                "INSERT OR REPLACE INTO v3_users VALUES (?, ?, ?, ?)",
                (uid, json.dumps(data), _time(user["created_at"]), _time(user["updated_at"])),
            )
        for fid in changes.feeds:
            feed = store.feeds[fid]  # feeds are never deleted
            db.execute(
                "INSERT OR REPLACE INTO v3_feeds VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    fid,
                    feed.group,
                    feed.id,
                    feed.created_by,
                    _time(feed.created_at),
                    feed.name,
                    feed.description,
                    json.dumps(feed.custom),
                ),
            )
        for aid in changes.activities:
            activity = store.activities.get(aid)
            if activity is None:
                db.execute("DELETE FROM v3_activities WHERE id = ?", (aid,))
                continue
            db.execute(
                "INSERT OR REPLACE INTO v3_activities VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    aid,
                    activity.type,
                    activity.user_id,
                    json.dumps(activity.feeds),
                    json.dumps(activity.fields),
                    _time(activity.created_at),
                    _time(activity.updated_at),
                    activity.seq,
                ),
            )
        if changes.activities:
            db.execute("INSERT OR REPLACE INTO v3_counters VALUES ('seq', ?)", (store.last_seq,))
        for fid, aid in changes.entries:
            content = store.entries.get(fid, {})
            if aid not in content:
                db.execute("DELETE FROM v3_entries WHERE feed = ? AND activity_id = ?", (fid, aid))
            else:
                db.execute(
                    "INSERT OR REPLACE INTO v3_entries VALUES (?, ?, ?)", (fid, aid, content[aid])
                )
        for source, target in changes.follows:
            follow = store.follows.get((source, target))
            if follow is None:
                db.execute(
                    "DELETE FROM v3_follows WHERE source = ? AND target = ?", (source, target)
                )
            else:
                db.execute(
                    "INSERT OR REPLACE INTO v3_follows VALUES (?, ?, ?, ?, ?)",
                    (
                        source,
                        target,
                        _time(follow.created_at),
                        follow.copy_limit,
                        json.dumps(follow.custom),
                    ),
                )

    def clear(self) -> None:
        """Empty the v3 tables (the emulator's reset)."""
        db = self._db()
        deletes = " ".join(f"DELETE FROM {table};" for table in _TABLES)
        db.executescript(f"BEGIN; {deletes} COMMIT;")
