"""The completer: records what became of a finished batch's events, applying the retry policy.

Each failure gets relay.retry.decide()'s decision (retry, dead-letter, release, pause), which
is applied here and nowhere else. A batch is settled with one statement per outcome kind
(delivered, retried, dead, released), each row with its own error and backoff, as River's
BatchCompleter does (internal/jobcompleter); metrics and logs stay per event.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from feed_outbox.operations.failure_causes import error_cause
from relay import queries
from relay.calls import Outcome
from relay.events import Event, Lease
from relay.metrics import PAUSED, Metrics
from relay.options import RelayOptions
from relay.pause import Pause, Probe
from relay.producer import Batch
from relay.retry import (
    Action,
    Decision,
    decide,
    may_still_land,
    shared_configuration_failure,
)

logger = logging.getLogger("relay")


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

    def add(self, batch: BatchResult | DrainStats) -> None:
        self.batches += batch.batches if isinstance(batch, DrainStats) else 1
        self.delivered += batch.delivered
        self.retried += batch.retried
        self.dead += batch.dead


class RetryCauses:
    """Says why events wait for a retry, once per cause rather than once per event: the first
    event of a cause is logged, later ones are counted and summed up at most every
    ``remind_every`` seconds while the cause lasts."""

    def __init__(self, remind_every: float = 300.0, remember: int = 256) -> None:
        self.remind_every = remind_every
        self.remember = remember  # causes kept (a Stream detail may differ per event)
        self._seen: OrderedDict[str, list[float]] = OrderedDict()  # cause: [logged at, count]

    def met(self, error: str) -> None:
        cause = error_cause(error)
        now = time.monotonic()
        seen = self._seen.get(cause)
        if seen is None:
            self._seen[cause] = [now, 0]
            if len(self._seen) > self.remember:
                self._seen.popitem(last=False)
            logger.warning(
                "events wait for a retry: %s (logged once per cause; outbox_status lists them)",
                cause,
            )
            return
        self._seen.move_to_end(cause)
        seen[1] += 1
        if now - seen[0] >= self.remind_every:
            logger.warning(
                "events still wait for a retry: %s (%d more since it was last logged)",
                cause,
                seen[1],
            )
            self._seen[cause] = [now, 0]


class Settler:
    def __init__(self, options: RelayOptions, metrics: Metrics, pause: Pause) -> None:
        self.options = options
        self.metrics = metrics
        self.pause = pause
        self.retry_causes = RetryCauses()

    def settle(self, batch: Batch) -> BatchResult:
        """Record every event of a finished (or abandoned) batch: one statement per outcome
        kind (delivered, retried, dead, released), whatever the batch's size."""
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
            result.delivered = queries.mark_delivered(
                lease, [e.id for e in delivered], opts.using, refund=batch.probe
            )
            self._count(delivered[: result.delivered], "delivered", len(delivered))
        failures = [o for o in outcomes if not o.ok]
        shared = shared_configuration_failure(
            [o.error for o in failures if o.error is not None],
            len(lease),
            self.pause.key if self.pause.paused else None,
        )
        policy = opts.retry_policy
        decided = [
            (o, decide(o.error, o.event.attempts, policy, shared))
            for o in failures
            if o.error is not None
        ]
        if batch.probe:
            for outcome, decision in decided:
                self._settle_probe(lease, outcome, decision, result)
            if unsent:
                result.released += queries.release(lease, [e.id for e in unsent], opts.using)
        else:
            self._apply(lease, [(o.event, d) for o, d in decided], result, release=unsent)
        if result.delivered and self.pause.close():
            logger.info("relay resumed: Stream accepts the configuration again")
            self.metrics.set_gauge(PAUSED, 0)
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

    def _apply(
        self,
        lease: Lease,
        decided: list[tuple[Event, Decision]],
        result: BatchResult,
        release: Sequence[Event] = (),
    ) -> None:
        """Apply the failures' decisions, one statement per kind for the whole batch;
        ``release`` (requests never sent) joins the released ones."""
        using = self.options.using
        released = [event.id for event in release]
        dead: list[tuple[Event, Decision]] = []
        retried: list[tuple[Event, Decision]] = []
        for event, decision in decided:
            if decision.action is Action.RELEASE:
                released.append(event.id)
            elif decision.action is Action.PAUSE:
                released.append(event.id)
                if result.configuration_error is None:
                    result.configuration_error = decision.message
                    self._pause(decision.message, decision.key)
            elif decision.action is Action.DEAD:
                dead.append((event, decision))
            else:
                retried.append((event, decision))
        if released:
            result.released += queries.release(lease, released, using)
        if dead:
            self._dead(lease, dead, result)
        if retried:
            self._retried(lease, retried, result)

    def _dead(self, lease: Lease, dead: list[tuple[Event, Decision]], result: BatchResult) -> None:
        failed = [queries.Failed(event.id, decision.message) for event, decision in dead]
        done = set(queries.mark_dead(lease, failed, self.options.using))
        result.dead += len(done)
        self._count([e for e, _ in dead if e.id in done], "dead", len(dead))
        for event, decision in dead:
            logger.warning(
                "dead-lettered event %d (%s %s, %s) after %d attempts: %s",
                event.id,
                event.kind,
                event.ordering_key,
                decision.failure.value,
                event.attempts,
                decision.message,
            )

    def _retried(
        self, lease: Lease, retried: list[tuple[Event, Decision]], result: BatchResult
    ) -> None:
        failed = [
            queries.Failed(event.id, decision.message, decision.delay)
            for event, decision in retried
        ]
        done = set(queries.mark_retry(lease, failed, self.options.using))
        result.retried += len(done)
        self._count([e for e, _ in retried if e.id in done], "retried", len(retried))
        for event, decision in retried:
            logger.debug(
                "event %d will be retried in %.1fs: %s", event.id, decision.delay, decision.message
            )
            if event.id in done:
                self.retry_causes.met(decision.message)

    def _settle_probe(
        self, lease: Lease, outcome: Outcome, decision: Decision, result: BatchResult
    ) -> None:
        """A paused relay's probe is the relay's question (is the configuration fixed?), not
        the event's try: whatever it met, the event keeps its attempts and its backoff."""
        event, using = outcome.event, self.options.using
        verdict = Probe.of(decision)
        if verdict is Probe.STILL_BROKEN:
            self._apply(lease, [(event, decision)], result)  # released, the pause tripped again
            return
        if outcome.error is not None and may_still_land(outcome.error):
            # The request may still be applied: its event and key stay leased until it can
            # no longer land, as a retry's backoff would hold them (late landings).
            result.released += queries.hold(lease, [event.id], self.options.landing_seconds, using)
        else:
            result.released += queries.release(lease, [event.id], using)
        if verdict is Probe.FIXED:
            logger.info(
                "the probe's event %d met an answer about its own data (%s): Stream accepts "
                "the configuration, resuming; the event is tried as any other",
                event.id,
                decision.message,
            )
            if self.pause.close():
                self.metrics.set_gauge(PAUSED, 0)
            return
        self.pause.postpone()
        logger.info(
            "the probe's event %d met %s: still paused, next probe in %.1fs; the event keeps "
            "its attempts and backoff",
            event.id,
            decision.message,
            self.pause.seconds_to_probe(),
        )

    def _pause(self, message: str, key: tuple | None) -> None:
        if self.pause.trip(message, key):
            logger.error(
                "configuration error: Stream refused the relay's credentials or app (%s); "
                "check STREAM_API_KEY and STREAM_API_SECRET (or STREAM_URL), the app and its "
                "feed groups. Pausing; nothing is dead-lettered.",
                message,
            )
        self.metrics.set_gauge(PAUSED, 1)

    def _count(self, settled: list[Event], outcome: str, of: int) -> None:
        """Count the ``settled`` events of ``of`` a statement was given; the rest are fenced."""
        if len(settled) != of:
            # Another relay took the lease over (ours expired): its settlement counts.
            lost = of - len(settled)
            logger.warning("%d of %d events were no longer ours to settle", lost, of)
            self.metrics.events("any", "fenced", lost)
        # One increment per kind, not per event: a settled batch is mostly one kind.
        for kind, count in Counter(event.kind for event in settled).items():
            self.metrics.events(kind, outcome, count)

