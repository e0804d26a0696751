"""The sidecar's main loop: settle finished batches, keep leases alive, claim, sleep until woken.

Database trouble (PostgreSQL restarted, a connection killed) is survived here: the loop backs
off and reconnects, and batches it could not settle yet are settled once the database is back.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from django.db import DatabaseError, InterfaceError, connections

from relay import claim
from relay.retry import backoff_seconds
from relay.wakeup import PollWakeup

if TYPE_CHECKING:
    from relay.runner import Relay

logger = logging.getLogger("relay")
DATABASE_ERRORS = (DatabaseError, InterfaceError)
STATS_EVERY = 2.0  # seconds between refreshes of the pending/lag gauges
# Requests queued or running per Stream thread before the loop stops claiming.
CALLS_PER_THREAD = 2
ONCE_GIVES_UP_AFTER = 5  # consecutive database failures


class SidecarLoop:
    def __init__(
        self, relay: Relay, stop: threading.Event, wakeup: PollWakeup, until_idle: bool = False
    ) -> None:
        self.relay = relay
        self.until_idle = until_idle
        self.stop = stop
        self.wakeup = wakeup
        self._next_stats = 0.0
        self._failures = 0

    def run(self) -> None:
        relay = self.relay
        while not self.stop.is_set():
            try:
                self.settle_finished()
                self.renew_leases()
                self.refresh_stats()
                claimed = self.claim_more()
            except DATABASE_ERRORS as exc:
                if self.until_idle and self._failures >= ONCE_GIVES_UP_AFTER:
                    raise  # --once is a batch job: report the outage instead of waiting it out
                self._database_down(exc)
                continue
            if relay.database_error:
                logger.info("database reachable again")
                relay.database_error = None
                relay.metrics.set_gauge("feed_outbox_relay_database_up", 1)
            self._failures = 0
            if claimed:
                continue
            if self.until_idle and (relay.paused_reason or not relay._inflight):
                return  # --once: nothing claimable and nothing in flight (or unusable config)
            self.wakeup.wait(self.idle_timeout())

    def idle_timeout(self) -> float:
        timeout = self.relay.options.poll_interval
        if self.relay._inflight:
            # Requests waiting for a rate-limit reset need their leases renewed in time.
            timeout = min(timeout, self.relay.options.lease_seconds / 4)
        if self.relay.paused_reason:
            timeout = min(timeout, max(0.05, self.relay._paused_until - time.monotonic()))
        return timeout

    def settle_finished(self) -> None:
        inflight = self.relay._inflight
        for batch in [b for b in inflight if b.done()]:
            self.relay._settle(batch)
            inflight.remove(batch)

    def renew_leases(self) -> None:
        opts = self.relay.options
        now = time.monotonic()
        for batch in self.relay._inflight:
            if batch.deadline - now < opts.lease_seconds / 2 and not batch.done():
                if claim.renew(batch.lease, opts.lease_seconds, opts.using):
                    batch.deadline = now + opts.lease_seconds
                else:
                    # Another relay holds these events now: send nothing more of them.
                    batch.deadline = 0.0

    def refresh_stats(self) -> None:
        now = time.monotonic()
        if now < self._next_stats:
            return
        self._next_stats = now + STATS_EVERY
        stats = claim.pending_stats(self.relay.options.using)
        self.relay.metrics.set_gauge("feed_outbox_relay_pending_events", stats.pending)
        self.relay.metrics.set_gauge("feed_outbox_relay_lag_seconds", stats.lag_seconds())

    def claim_more(self) -> bool:
        relay = self.relay
        if relay.paused_reason and time.monotonic() < relay._paused_until:
            return False
        busy = sum(1 for batch in relay._inflight for future in batch.futures if not future.done())
        if busy >= relay.options.concurrency * CALLS_PER_THREAD:
            return False
        batch = relay._claim()
        if batch is None:
            return False
        relay._inflight.append(batch)
        return True

    def _database_down(self, exc: Exception) -> None:
        relay = self.relay
        self._failures += 1
        first = relay.database_error is None
        relay.database_error = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        relay.metrics.set_gauge("feed_outbox_relay_database_up", 0)
        delay = backoff_seconds(self._failures, base=0.5, cap=10.0) + 0.2
        log = logger.warning if first else logger.info
        log("database error (%s); reconnecting in %.1fs", relay.database_error, delay)
        try:
            connections[relay.options.using].close()
        except DATABASE_ERRORS:
            pass
        self.wakeup.wait(delay)
