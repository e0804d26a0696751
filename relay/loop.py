"""The delivery loop, the one the sidecar, ``--once`` and ``Relay.drain()`` all run: settle
finished batches, claim, keep leases alive, run the maintenance that is due, sleep until
woken (a commit woken for is claimed first); "until idle" ends it.

It drives a producer (relay.producer), a completer (relay.settle) and the maintenance jobs
(relay.maintenance) through their public methods and knows none of their internals.
Database trouble (PostgreSQL restarted, a connection killed) is survived here: the loop
backs off and reconnects, and batches it could not settle yet are settled once the database
is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import DatabaseError, InterfaceError, connections

from relay import queries
from relay.maintenance import Maintenance
from relay.metrics import DATABASE_UP, Metrics
from relay.pause import Pause
from relay.producer import Batch, Producer
from relay.retry import backoff_seconds
from relay.settle import BatchResult, Settler
from relay.wakeup import PollWakeup

logger = logging.getLogger("relay")
DATABASE_ERRORS = (DatabaseError, InterfaceError)
ONCE_GIVES_UP_AFTER = 5  # consecutive database failures


class Loop:
    def __init__(
        self,
        producer: Producer,
        settler: Settler,
        maintenance: Maintenance,
        pause: Pause,
        metrics: Metrics,
        wakeup: PollWakeup,
        stop: threading.Event,
        until_idle: bool = False,
        gives_up_after: int = ONCE_GIVES_UP_AFTER,
        on_settled: Callable[[BatchResult], None] | None = None,
    ) -> None:
        self.producer = producer
        self.settler = settler
        self.maintenance = maintenance
        self.pause = pause
        self.metrics = metrics
        self.wakeup = wakeup
        self.stop = stop
        self.until_idle = until_idle
        # With until_idle, consecutive database failures before the error is raised.
        self.gives_up_after = gives_up_after
        self.on_settled = on_settled
        self.database_error: str | None = None
        self._failures = 0

    def run(self) -> None:
        notified = True  # the first turn looks for work at once
        while not self.stop.is_set():
            try:
                again = self.turn(notified)
            except DATABASE_ERRORS as exc:
                if self.until_idle and self._failures >= self.gives_up_after:
                    raise  # --once is a batch job: report the outage instead of waiting it out
                self._database_down(exc)
                notified = True
                continue
            if self.database_error:
                logger.info("database reachable again")
                self.database_error = None
                self.metrics.set_gauge(DATABASE_UP, 1)
            self._failures = 0
            if again:
                notified = False  # the next turn settles first, then claims
                continue
            if self.until_idle and not self.producer.inflight:
                # Nothing claimable (or the configuration unusable) and nothing in flight. A
                # paused relay's probe is waited for, not cancelled: its answer is the point.
                return
            self.wakeup.wait(self.idle_timeout())
            notified = self.wakeup.notified

    def turn(self, notified: bool) -> bool:
        """Settle what finished, claim, keep leases, run the maintenance that is due; True
        when another turn should follow without waiting.

        ``notified``: the wait ended for a commit (or the polling floor), so the claim comes
        first, before settling what finished meanwhile, renewing leases and maintenance: a
        settlement is a transaction of its own and a new event waited for it (bench_latency,
        three relays under load). A claim before the settlement is as safe as one after it:
        the events in flight are leased and hold their keys until settled. After a
        settlement the turn claims again (or the next one does), for the events it freed."""
        batch = self._claim() if notified else None
        settled = self.settle_finished()
        again = False
        if not notified or settled:
            if batch is None:
                batch = self._claim()
            else:
                again = True  # what the settlement freed is claimed by the next turn
        self.producer.renew_leases()
        self.maintenance.run_due()
        return again or (batch is not None and self._full(batch))

    def _claim(self) -> Batch | None:
        return self.producer.claim() if self.producer.may_claim() else None

    def _full(self, batch: Batch) -> bool:
        """Whether the claim took all it asked for. One that took less took everything
        claimable as of its statement: claiming again at once would find nothing but what
        committed since, and a commit wakes the wait below (its NOTIFY, or the polling
        floor), as does a finished request, whose settlement may free events waiting behind
        it. The empty claim this saves once per batch was the relay's busiest step between
        two live events (bench_latency), and what a new event most often waited for.
        A claim takes at most PER_FEED events of one feed: that many count as full too."""
        limit = self.pause.claim_limit(self.producer.options.batch_size)
        return len(batch.lease.events) >= min(limit, queries.PER_FEED)

    def idle_timeout(self) -> float:
        opts = self.producer.options
        timeout = opts.poll_interval
        if self.producer.inflight:
            # Requests waiting for a rate-limit reset need their leases renewed in time.
            timeout = min(timeout, opts.lease_seconds / 4)
        if self.pause.paused:
            timeout = min(timeout, max(0.05, self.pause.seconds_to_probe()))
        return timeout

    def settle_finished(self) -> int:
        """Settle every batch whose requests all ended; how many there were."""
        finished = self.producer.finished()
        for batch in finished:
            result = self.settler.settle(batch)
            self.producer.forget(batch)
            if self.on_settled is not None:
                self.on_settled(result)
        return len(finished)

    def shutdown(self, grace_period: float) -> None:
        """Claim nothing more; settle what finishes within ``grace_period``, release the
        requests that never started, and leave the rest to their leases."""
        grace_end = time.monotonic() + grace_period
        self.producer.stop()
        while self.producer.inflight and time.monotonic() < grace_end:
            self.settle_finished()
            if self.producer.inflight:
                self.wakeup.wait(min(0.1, max(0.0, grace_end - time.monotonic())))
        left = self.producer.abandon()
        if left:
            logger.warning(
                "grace period over with %d batches in flight: their leases will expire", left
            )

    def _database_down(self, exc: Exception) -> None:
        self._failures += 1
        first = self.database_error is None
        self.database_error = (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        self.metrics.set_gauge(DATABASE_UP, 0)
        delay = backoff_seconds(self._failures, base=0.5, cap=10.0) + 0.2
        log = logger.warning if first else logger.info
        log("database error (%s); reconnecting in %.1fs", self.database_error, delay)
        try:
            connections[self.producer.options.using].close()
        except DATABASE_ERRORS:
            pass
        self.wakeup.wait(delay)
