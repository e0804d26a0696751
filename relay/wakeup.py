"""When to look for work: LISTEN/NOTIFY on PostgreSQL, with a polling floor; or polling alone.

Every waiter can also be poked (a Stream request finished, a signal arrived) so the main
thread sleeps in one place and wakes for whichever comes first.
"""

from __future__ import annotations

import logging
import os
import select
import threading
import time
from typing import TYPE_CHECKING, Any

from django.db import connections

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger("relay")

# Django's own connection parameters that psycopg.connect() does not take.
_DJANGO_ONLY = ("cursor_factory", "context", "prepare_threshold")


class PollWakeup:
    """Wake on a poke or after the timeout (SQLite, PgBouncer transaction pooling, --poll-only)."""

    listening = False

    def __init__(self) -> None:
        self._event = threading.Event()
        # Whether the last wait ended for new work (a notification, the polling floor) rather
        # than only for a poke: the loop then claims before it settles (relay.loop).
        self.notified = True

    def poke(self) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        """Returns True when woken early (a poke or a notification)."""
        woken = self._event.wait(timeout)
        self._event.clear()
        self.notified = not woken
        return woken

    def close(self) -> None:
        pass


class ListenWakeup(PollWakeup):
    """LISTEN on a dedicated connection; a lost connection falls back to polling until back."""

    def __init__(self, channel: str, using: str = "default") -> None:
        super().__init__()
        self.channel = channel
        self.using = using
        self._conn: psycopg.Connection[Any] | None = None
        self._retry_at = 0.0
        # A pipe, not only an Event: select() must wake for a poke while it watches the socket.
        self._pipe_r, self._pipe_w = os.pipe()
        os.set_blocking(self._pipe_r, False)
        os.set_blocking(self._pipe_w, False)
        self._connect()

    @property
    def listening(self) -> bool:  # type: ignore[override]  # PollWakeup's is a class attribute
        return self._conn is not None

    def _connect(self) -> None:
        import psycopg
        from psycopg import sql

        params = connections[self.using].get_connection_params()
        for key in _DJANGO_ONLY:
            params.pop(key, None)
        try:
            conn = psycopg.connect(autocommit=True, connect_timeout=5, **params)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
        except psycopg.Error as exc:
            logger.warning("cannot LISTEN (%s); polling until the database is back", exc)
            self._retry_at = time.monotonic() + 2.0
            return
        self._conn = conn
        logger.debug("listening on channel %s", self.channel)

    def poke(self) -> None:
        try:
            os.write(self._pipe_w, b"x")
        except BlockingIOError:
            pass  # already poked: the pipe is full of wake-ups nobody read yet

    def wait(self, timeout: float) -> bool:
        if self._conn is None and time.monotonic() >= self._retry_at:
            self._connect()
        watched = [self._pipe_r] + ([self._conn.fileno()] if self._conn is not None else [])
        try:
            readable, _, _ = select.select(watched, [], [], max(0.0, timeout))
        except InterruptedError:
            readable = []
        woken = False
        self.notified = not readable  # the polling floor: look for work
        if self._pipe_r in readable:
            woken = True
            try:
                while os.read(self._pipe_r, 4096):
                    pass
            except BlockingIOError:
                pass
        if self._conn is not None and self._conn.fileno() in readable:
            if self._drain_notifications():
                woken = self.notified = True
        return woken

    def _drain_notifications(self) -> bool:
        import psycopg

        assert self._conn is not None  # called while listening only
        try:
            # Every one that arrived is read and consumed, so the socket is quiet for the next
            # wait: an unread one would wake it for nothing, an empty claim. (psycopg 3.3's
            # generator drops what is left of a batch when closed early, so any() lost the
            # rest rather than leaving it; consuming them all is still the plain way.)
            notified = sum(1 for _n in self._conn.notifies(timeout=0)) > 0
        except psycopg.Error as exc:
            logger.warning("LISTEN connection lost (%s); polling until it is back", exc)
            self._drop()
            self._retry_at = time.monotonic() + 1.0
            return True  # look for work now: a notification may have been lost
        return notified

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def close(self) -> None:
        self._drop()
        for fd in (self._pipe_r, self._pipe_w):
            try:
                os.close(fd)
            except OSError:
                pass
