"""The relay loop: claim batches, publish them on Stream threads, settle what comes back.

The main thread owns the database: it claims (a short transaction), hands the batch's
requests to the pool, and settles each batch as its requests finish, claiming again while
requests are in flight so the pool never runs dry.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any

from django.db import connections

from feed_outbox import conf
from relay import claim
from relay.delivery import Delivery, delivery_for
from relay.events import Event, Lease
from relay.exceptions import ConfigurationError, LeaseExpiring
from relay.loop import SidecarLoop
from relay.metrics import Metrics
from relay.pool import StreamPool
from relay.publisher import Call, Outcome
from relay.retry import (
    BOUNDED,
    Failure,
    answer_key,
    backoff_seconds,
    classify,
    describe,
    may_mean_configuration,
    retry_delay,
)
from relay.wakeup import ListenWakeup, PollWakeup

logger = logging.getLogger("relay")


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RelayOptions:
    batch_size: int = 100
    concurrency: int = 32
    poll_interval: float = 1.0
    poll_only: bool = False
    grace_period: float = 8.0
    lease_seconds: float | None = None
    max_attempts: int | None = None
    retry_backoff: float = 0.5
    # How long after it was sent Stream may still apply a request (None: the setting).
    landing_seconds: float | None = None
    using: str = "default"
    owner: str = field(default_factory=default_owner)
    # The Stream API whose rows this relay claims (None: the only one FEED_OUTBOX_STREAM_API
    # names; with "v2+v3" each API has relays of its own, so one's outage never holds the other).
    api: str | None = None

    def __post_init__(self) -> None:
        if self.api is None:
            apis = conf.stream_apis()
            if len(apis) > 1:
                raise ValueError(
                    f"FEED_OUTBOX_STREAM_API names {' and '.join(apis)}: a relay delivers to one "
                    "API, give RelayOptions(api=...) (python -m relay starts one per API)"
                )
            self.api = apis[0]
        if self.lease_seconds is None:
            self.lease_seconds = float(conf.get("FEED_OUTBOX_LEASE_SECONDS"))
        if self.max_attempts is None:
            self.max_attempts = int(conf.get("FEED_OUTBOX_MAX_ATTEMPTS"))
        if self.landing_seconds is None:
            self.landing_seconds = conf.landing_seconds()


@dataclass
class BatchResult:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    released: int = 0
    configuration_error: str | None = None


@dataclass
class DrainStats:
    batches: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0

    def add(self, batch: BatchResult) -> None:
        self.batches += 1
        self.delivered += batch.delivered
        self.retried += batch.retried
        self.dead += batch.dead


@dataclass
class _InFlight:
    """A claimed batch whose requests are on the pool; ``deadline`` is its lease end (monotonic)."""

    lease: Lease
    deadline: float
    futures: dict[Future, Call]
    started: float = field(default_factory=time.monotonic)

    def done(self) -> bool:
        return all(f.done() for f in self.futures)


class Relay:
    def __init__(
        self,
        options: RelayOptions | None = None,
        client_factory: Callable[[], Any] | None = None,
        metrics: Metrics | None = None,
        delivery: Delivery | None = None,
    ) -> None:
        self.options = options or RelayOptions()
        self.metrics = metrics or Metrics()
        self.delivery = delivery or delivery_for(self.options.api, client_factory)
        self._pool: StreamPool | None = None
        self._inflight: list[_InFlight] = []
        self._wakeup: PollWakeup | None = None
        self.paused_reason: str | None = None
        self._paused_until = 0.0
        self._pauses = 0
        self._pause_key: tuple | None = None  # the answer that paused the relay
        self.database_error: str | None = None

    # -- state seen by /readyz ----------------------------------------------------------

    def ready(self) -> tuple[bool, str]:
        if self.database_error:
            return False, f"database unreachable: {self.database_error}"
        if self.paused_reason:
            return False, f"paused by a configuration error: {self.paused_reason}"
        return True, "ready"

    # -- one batch ----------------------------------------------------------------------

    def _pool_(self) -> StreamPool:
        if self._pool is None:
            timeout = float(conf.get("STREAM_TIMEOUT"))
            poke = self._wakeup.poke if self._wakeup is not None else None
            opts = self.options
            self._pool = StreamPool(
                self.delivery.build_client,
                opts.concurrency,
                self.metrics,
                max(timeout, opts.landing_seconds),
                opts.lease_seconds,
                poke,
                delivery=self.delivery,
            )
        return self._pool

    def _claim(self) -> _InFlight | None:
        opts = self.options
        # While paused by a configuration error, one event probes whether it was fixed.
        limit = 1 if self.paused_reason else opts.batch_size
        # The local deadline starts before the statement: never after the database's expiry.
        started = time.monotonic()
        lease = claim.claim_batch(opts.owner, limit, opts.lease_seconds, opts.using, opts.api)
        if not lease.events:
            return None
        self.metrics.batch(len(lease))
        batch = _InFlight(lease, started + opts.lease_seconds, {})
        pool = self._pool_()
        for call in self.delivery.plan_calls(lease.events):
            batch.futures[pool.submit(call, lambda b=batch: b.deadline)] = call
        return batch

    def _settle(self, batch: _InFlight) -> BatchResult:
        """Record every event of a finished (or abandoned) batch; one statement for the delivered."""
        opts, lease = self.options, batch.lease
        result = BatchResult(claimed=len(lease))
        outcomes: list[Outcome] = []
        unsent: list[Event] = []
        for future, call in batch.futures.items():
            if future.done() and not future.cancelled():
                try:
                    outcomes.extend(future.result())
                except Exception as exc:  # outside a request: building the client, a bug
                    outcomes.extend(Outcome(event, exc) for event in call.events)
            else:
                unsent.extend(call.events)
        delivered = [o.event for o in outcomes if o.ok]
        if delivered:
            result.delivered = claim.mark_delivered(lease, [e.id for e in delivered], opts.using)
            self._count(delivered, "delivered", result.delivered)
        failures = [o for o in outcomes if not o.ok]
        shared = self._shared_configuration_failure(failures, len(lease))
        for outcome in failures:
            self._settle_failure(lease, outcome.event, outcome.error, result, shared)
        if unsent:
            result.released += claim.release(lease, [e.id for e in unsent], opts.using)
        if result.delivered and self.paused_reason:
            logger.info("relay resumed: Stream accepts the configuration again")
            self.paused_reason = None
            self._pauses = 0
            self._pause_key = None
            self.metrics.set_gauge("feed_outbox_relay_paused", 0)
        logger.info(
            "batch lease=%s claimed=%d calls=%d delivered=%d retried=%d dead=%d released=%d "
            "ms=%.1f",
            lease.token.hex[:8],
            result.claimed,
            len(batch.futures),
            result.delivered,
            result.retried,
            result.dead,
            result.released,
            (time.monotonic() - batch.started) * 1000,
        )
        return result

    def _count(self, events: list[Event], outcome: str, settled: int) -> None:
        if settled != len(events):
            # Another relay took the lease over (ours expired): its settlement counts.
            lost = len(events) - settled
            logger.warning("%d of %d events were no longer ours to settle", lost, len(events))
            self.metrics.events("any", "fenced", lost)
            events = events[:settled]
        for event in events:
            self.metrics.events(event.kind, outcome)

    def _shared_configuration_failure(self, failures: list[Outcome], claimed: int) -> bool:
        """Whether an answer that can mean either the event's fault or the app's configuration
        (see retry.may_mean_configuration) is the app's: every event of a batch of several met
        it, or it is the answer the relay is paused for, met again by the probe."""
        if not failures or not may_mean_configuration(failures[0].error):
            return False
        keys = {answer_key(o.error) for o in failures}
        if len(keys) != 1:
            return False
        every_event = claimed >= 2 and len(failures) == claimed
        return every_event or (self.paused_reason is not None and keys == {self._pause_key})

    def _settle_failure(
        self, lease: Lease, event: Event, error: Any, result: BatchResult, shared: bool = False
    ) -> None:
        opts = self.options
        kind = Failure.CONFIGURATION if shared else classify(error)
        message = describe(error)
        if isinstance(error, LeaseExpiring):
            result.released += claim.release(lease, [event.id], opts.using)
        elif kind is Failure.CONFIGURATION:
            result.released += claim.release(lease, [event.id], opts.using)
            if result.configuration_error is None:
                result.configuration_error = message
                self._pause(message, answer_key(error))
        elif kind in BOUNDED and event.attempts >= opts.max_attempts:
            done = claim.mark_dead(lease, event.id, message, opts.using)
            result.dead += done
            self._count([event], "dead", done)
            logger.warning(
                "dead-lettered event %d (%s %s, %s) after %d attempts: %s",
                event.id,
                event.kind,
                event.ordering_key,
                kind.value,
                event.attempts,
                message,
            )
        else:
            delay = retry_delay(error, event.attempts, opts.retry_backoff, opts.landing_seconds)
            done = claim.mark_retry(lease, event.id, message, delay, opts.using)
            result.retried += done
            self._count([event], "retried", done)
            logger.debug("event %d will be retried in %.1fs: %s", event.id, delay, message)

    def _pause(self, message: str, key: tuple | None = None) -> None:
        self._pauses += 1
        self._pause_key = key
        wait = backoff_seconds(self._pauses, base=1.0, cap=60.0) + 1.0
        self._paused_until = time.monotonic() + wait
        if self.paused_reason is None:
            logger.error(
                "configuration error: Stream refused the relay's credentials or app (%s); "
                "check STREAM_API_KEY and STREAM_API_SECRET (or STREAM_URL), the app and its "
                "feed groups. Pausing; nothing is dead-lettered.",
                message,
            )
        self.paused_reason = message
        self.metrics.set_gauge("feed_outbox_relay_paused", 1)

    # -- draining in-process (tests, --once) --------------------------------------------

    def drain(self, raise_on_configuration_error: bool = True) -> DrainStats:
        """Publish until nothing is claimable (events waiting for a retry are left)."""
        stats = DrainStats()
        try:
            while True:
                batch = self._claim()
                if batch is None:
                    return stats
                wait(batch.futures)
                result = self._settle(batch)
                stats.add(result)
                if result.configuration_error:
                    if raise_on_configuration_error:
                        raise ConfigurationError(result.configuration_error)
                    return stats
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- the sidecar loop ---------------------------------------------------------------

    def make_wakeup(self) -> PollWakeup:
        using = self.options.using
        if self.options.poll_only or connections[using].vendor != "postgresql":
            return PollWakeup()
        return ListenWakeup(conf.get("FEED_OUTBOX_NOTIFY_CHANNEL"), using)

    def wake(self) -> None:
        """Interrupt the loop's sleep (a signal handler calls this after setting ``stop``)."""
        if self._wakeup is not None:
            self._wakeup.poke()

    def run(
        self, stop: threading.Event, wakeup: PollWakeup | None = None, until_idle: bool = False
    ) -> None:
        """Run until ``stop`` is set (or, ``until_idle``, nothing is left to claim), then
        finish or release what is in flight and return."""
        self._wakeup = wakeup or self.make_wakeup()
        self._pool_().warm_up()
        loop = SidecarLoop(self, stop, self._wakeup, until_idle)
        try:
            loop.run()
        finally:
            self._shutdown(loop)
            self._wakeup.close()

    def _shutdown(self, loop: SidecarLoop) -> None:
        grace_end = time.monotonic() + self.options.grace_period
        if self._pool is not None:
            self._pool.stop_waiting()
        for batch in self._inflight:
            for future in batch.futures:
                future.cancel()  # not started yet: released below, untouched
        while self._inflight and time.monotonic() < grace_end:
            loop.settle_finished()
            if self._inflight:
                self._wakeup.wait(min(0.1, max(0.0, grace_end - time.monotonic())))
        if self._inflight:
            logger.warning(
                "grace period over with %d batches in flight: their leases will expire",
                len(self._inflight),
            )
        self._inflight.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
