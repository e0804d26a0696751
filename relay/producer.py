"""The producer: claims batches, hands their requests to the Stream threads, keeps their leases.

It owns the batches in flight until they are finished; what their outcomes mean and how they
are recorded is the completer's (relay.settle). River separates its producer from its
completer the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from relay import queries
from relay.calls import Call
from relay.delivery import Delivery
from relay.events import Lease
from relay.metrics import Metrics
from relay.options import RelayOptions
from relay.pause import Pause
from relay.pool import StreamPool

# Requests queued or running per Stream thread before the producer stops claiming.
CALLS_PER_THREAD = 2


@dataclass
class Batch:
    """A claimed batch whose requests are on the pool; ``deadline`` is its lease end (monotonic)."""

    lease: Lease
    deadline: float
    futures: dict[Future, Call]
    started: float = field(default_factory=time.monotonic)
    # Claimed while the relay was paused: one event asking whether the configuration was
    # fixed, settled as the relay's question, never as the event's try (relay.settle).
    probe: bool = False

    def done(self) -> bool:
        return all(f.done() for f in self.futures)

    def busy(self) -> int:
        return sum(1 for future in self.futures if not future.done())


class Producer:
    def __init__(
        self, options: RelayOptions, delivery: Delivery, metrics: Metrics, pause: Pause
    ) -> None:
        self.options = options
        self.delivery = delivery
        self.metrics = metrics
        self.pause = pause
        self.inflight: list[Batch] = []
        self._pool: StreamPool | None = None
        self._on_done: Callable[[], None] | None = None

    def notify(self, on_done: Callable[[], None] | None) -> None:
        """Call ``on_done`` (a wakeup's poke) whenever a request finishes; before the pool starts."""
        self._on_done = on_done

    def pool(self) -> StreamPool:
        if self._pool is None:
            opts = self.options
            self._pool = StreamPool(
                self.delivery.build_client,
                opts.concurrency,
                self.metrics,
                max(opts.stream_timeout, opts.landing_seconds),
                opts.lease_seconds,
                self._on_done,
                delivery=self.delivery,
            )
        return self._pool

    def may_claim(self) -> bool:
        if not self.pause.may_claim():
            return False
        if self.pause.paused and self.inflight:
            return False  # one probe at a time: its answer decides whether more may follow
        busy = sum(batch.busy() for batch in self.inflight)
        return busy < self.options.concurrency * CALLS_PER_THREAD

    def claim(self) -> Batch | None:
        """Claim one batch and submit its requests; None when nothing is claimable."""
        opts = self.options
        limit = self.pause.claim_limit(opts.batch_size)
        # The local deadline starts before the statement: never after the database's expiry.
        started = time.monotonic()
        lease = queries.claim_batch(opts.owner, limit, opts.lease_seconds, opts.using, opts.api)
        if not lease.events:
            return None
        self.metrics.batch(len(lease))
        batch = Batch(lease, started + opts.lease_seconds, {}, probe=self.pause.paused)
        pool = self.pool()
        for call in self.delivery.plan_calls(lease.events):
            batch.futures[pool.submit(call, lambda: batch.deadline)] = call
        self.inflight.append(batch)
        return batch

    def finished(self) -> list[Batch]:
        """The batches whose requests all ended: settle each, then ``forget()`` it."""
        return [batch for batch in self.inflight if batch.done()]

    def forget(self, batch: Batch) -> None:
        """A settled batch is no longer in flight (one that could not be settled stays)."""
        self.inflight.remove(batch)

    def renew_leases(self) -> None:
        opts = self.options
        now = time.monotonic()
        for batch in self.inflight:
            if batch.deadline - now < opts.lease_seconds / 2 and not batch.done():
                if queries.renew(batch.lease, opts.lease_seconds, opts.using):
                    batch.deadline = now + opts.lease_seconds
                else:
                    # Another relay holds these events now: send nothing more of them.
                    batch.deadline = 0.0

    def stop(self) -> None:
        """Start nothing more: queued requests are cancelled (their events are released when
        settled) and rate-limit waits give up."""
        if self._pool is not None:
            self._pool.stop_waiting()
        for batch in self.inflight:
            for future in batch.futures:
                future.cancel()  # not started yet: released when settled, untouched

    def abandon(self) -> int:
        """Forget the batches still in flight (their leases will expire); how many there were."""
        count = len(self.inflight)
        self.inflight.clear()
        return count

    def close(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait)
            self._pool = None
