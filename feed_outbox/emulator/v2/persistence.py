"""SQLite persistence of the Feeds v2 store for `--data FILE`: each write's changes are committed
before it is answered (the file and its connection are emulator/persistence.py's)."""

from __future__ import annotations

import json
import logging

from ..persistence import Tables, committed
from .errors import ApiError
from .store import Changes, Store

log = logging.getLogger("feed_outbox.emulator")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS activities (
    id TEXT PRIMARY KEY, data TEXT NOT NULL, unique_key TEXT NOT NULL, to_by_feed TEXT
);
CREATE TABLE IF NOT EXISTS entries (
    feed TEXT NOT NULL, activity_id TEXT NOT NULL, origin TEXT, added_at REAL NOT NULL,
    PRIMARY KEY (feed, activity_id)
);
CREATE TABLE IF NOT EXISTS follows (
    source TEXT NOT NULL, target TEXT NOT NULL, created_at REAL NOT NULL,
    PRIMARY KEY (source, target)
);
CREATE TABLE IF NOT EXISTS marks (feed TEXT PRIMARY KEY, seen TEXT NOT NULL, read TEXT NOT NULL);
"""


class Persistence(Tables):
    """Loads, flushes and clears the v2 tables over the file's connection (one thread: the
    emulator's loop)."""

    SCHEMA = _SCHEMA

    def load(self, store: Store) -> None:
        db = self._db()
        store.reset()
        for aid, data, key, to_by_feed in db.execute("SELECT * FROM activities"):
            activity = json.loads(data)
            store.activities[aid] = activity
            key_tuple = tuple(json.loads(key))
            store.keys[key_tuple] = aid
            store.key_of[aid] = key_tuple
            store.placements[aid] = set()
            if activity.get("foreign_id"):
                store.by_foreign.setdefault(activity["foreign_id"], set()).add(aid)
            if to_by_feed:
                store.to_by_feed[aid] = json.loads(to_by_feed)
        skipped = 0
        rows = db.execute("SELECT feed, activity_id, origin, added_at FROM entries")
        for fid, aid, origin, added_at in rows:
            try:
                feed = store.feed(fid)
            except ApiError:
                skipped += 1  # its feed group is no longer configured
                continue
            if aid not in store.activities:
                continue
            feed.entries[aid] = (origin, added_at)
            feed.order.append((store.activities[aid]["time"], aid))
            store.placements[aid].add(fid)
        for feed in store.feeds.values():
            feed.order.sort()
        for source, target, created in db.execute(
            "SELECT source, target, created_at FROM follows ORDER BY created_at, rowid"
        ):
            store.following.setdefault(source, {})[target] = created
            store.followers.setdefault(target, {})[source] = created
        for fid, seen, read in db.execute("SELECT feed, seen, read FROM marks"):
            marked = store.feeds.get(fid)
            if marked is not None:
                marked.seen, marked.read = set(json.loads(seen)), set(json.loads(read))
        if skipped:
            log.warning("skipped %d feed entries of unconfigured feed groups", skipped)

    def flush(self, store: Store) -> None:
        changes = store.changes
        if not changes:
            return
        db = self._db()
        with committed(db):
            for aid in changes.activities:
                data = store.activities.get(aid)
                if data is None:
                    db.execute("DELETE FROM activities WHERE id = ?", (aid,))
                    continue
                to_by_feed = store.to_by_feed.get(aid)
                db.execute(
                    "INSERT OR REPLACE INTO activities VALUES (?, ?, ?, ?)",
                    (
                        aid,
                        json.dumps(data),
                        json.dumps(store.key_of[aid]),
                        json.dumps(to_by_feed) if to_by_feed else None,
                    ),
                )
            for fid, aid in changes.entries:
                feed = store.feeds.get(fid)
                entry = feed.entries.get(aid) if feed else None
                if entry is None:
                    db.execute("DELETE FROM entries WHERE feed = ? AND activity_id = ?", (fid, aid))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
                        (fid, aid, entry[0], entry[1]),
                    )
            for source, target in changes.follows:
                created = store.following.get(source, {}).get(target)
                if created is None:
                    db.execute(
                        "DELETE FROM follows WHERE source = ? AND target = ?", (source, target)
                    )
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO follows VALUES (?, ?, ?)", (source, target, created)
                    )
            for fid in changes.marks:
                feed = store.feeds.get(fid)
                if feed is not None:
                    db.execute(
                        "INSERT OR REPLACE INTO marks VALUES (?, ?, ?)",
                        (fid, json.dumps(sorted(feed.seen)), json.dumps(sorted(feed.read))),
                    )
        store.changes = Changes()

    def clear(self) -> None:
        db = self._db()
        db.executescript(
            "BEGIN; DELETE FROM activities; DELETE FROM entries; DELETE FROM follows;"
            " DELETE FROM marks; COMMIT;"
        )
