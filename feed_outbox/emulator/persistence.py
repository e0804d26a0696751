"""The `--data FILE` SQLite database that v2's and v3's persistence share: one connection, and
one transaction per flush."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def committed(db: sqlite3.Connection) -> Iterator[None]:
    """One SQLite transaction around a flush's writes: all of them, or none on any error."""
    db.execute("BEGIN")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


class Database:
    """The file's one connection, opened on first use; v2's and v3's tables share it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None

    def connect(self) -> sqlite3.Connection:
        if self._db is None:
            # opened on the loop thread, which is the only thread that uses it
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            # WAL + NORMAL: a committed write survives a process crash, at SQLite's cheapest cost
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class Tables:
    """One API's tables in the file: created on first use over the shared connection
    (``SCHEMA``, each API's own), then read and written by the subclass."""

    SCHEMA = ""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._ready = False

    def _db(self) -> sqlite3.Connection:
        db = self._connect()
        if not self._ready:
            db.executescript(self.SCHEMA)
            self._ready = True
        return db
