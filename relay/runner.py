"""The relay loop: claim a batch, publish it with no transaction open, settle it; repeat."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from feed_outbox import conf
from feed_outbox.client import build_client
from relay import claim
from relay.publisher import publish
from relay.retry import Failure, backoff_seconds, classify, describe

logger = logging.getLogger("relay")


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class RelayOptions:
    batch_size: int = 100
    poll_interval: float = 1.0
    lease_seconds: float | None = None
    max_attempts: int | None = None
    using: str = "default"
    owner: str = field(default_factory=default_owner)

    def __post_init__(self) -> None:
        if self.lease_seconds is None:
            self.lease_seconds = float(conf.get("FEED_OUTBOX_LEASE_SECONDS"))
        if self.max_attempts is None:
            self.max_attempts = int(conf.get("FEED_OUTBOX_MAX_ATTEMPTS"))


@dataclass
class StepResult:
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

    def add(self, step: StepResult) -> None:
        self.batches += 1
        self.delivered += step.delivered
        self.retried += step.retried
        self.dead += step.dead


class ConfigurationError(RuntimeError):
    """Stream rejects the credentials or the app: no event can be delivered until fixed."""


class Relay:
    def __init__(
        self, options: RelayOptions | None = None, client_factory: Callable[[], Any] = build_client
    ) -> None:
        self.options = options or RelayOptions()
        self._client_factory = client_factory
        self._client: Any = None
        self.paused_reason: str | None = None

    @property
    def healthy(self) -> bool:
        return self.paused_reason is None

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def step(self) -> StepResult:
        """Claim one batch, publish it, settle it."""
        opts = self.options
        started = time.monotonic()
        lease = claim.claim_batch(opts.owner, opts.batch_size, opts.lease_seconds, opts.using)
        result = StepResult(claimed=len(lease))
        if not lease.events:
            return result
        outcomes = publish(self.client, lease.events)
        delivered = [o.event.id for o in outcomes if o.ok]
        if delivered:
            result.delivered = claim.mark_delivered(lease, delivered, opts.using)
        for outcome in outcomes:
            if outcome.ok:
                continue
            self._settle_failure(lease, outcome.event, outcome.error, result)
        if result.configuration_error is None and self.paused_reason:
            logger.info("relay resumed: Stream accepts the configuration again")
            self.paused_reason = None
        logger.info(
            "batch claimed=%d delivered=%d retried=%d dead=%d released=%d in %.1fms",
            result.claimed,
            result.delivered,
            result.retried,
            result.dead,
            result.released,
            (time.monotonic() - started) * 1000,
        )
        return result

    def _settle_failure(self, lease, event, error, result: StepResult) -> None:
        opts = self.options
        kind = classify(error)
        message = describe(error)
        if kind is Failure.CONFIGURATION:
            result.released += claim.release(lease, [event.id], opts.using)
            if result.configuration_error is None:
                result.configuration_error = message
                self.paused_reason = message
                logger.error(
                    "configuration error: Stream refused the relay's credentials or app "
                    "(%s); check STREAM_API_KEY and STREAM_API_SECRET. Pausing; nothing is "
                    "dead-lettered.",
                    message,
                )
        elif kind is Failure.PERMANENT and event.attempts >= opts.max_attempts:
            result.dead += claim.mark_dead(lease, event.id, message, opts.using)
            logger.warning(
                "dead-lettered event %d (%s %s) after %d attempts: %s",
                event.id,
                event.kind,
                event.ordering_key,
                event.attempts,
                message,
            )
        else:
            delay = backoff_seconds(event.attempts)
            result.retried += claim.mark_retry(lease, event.id, message, delay, opts.using)
            logger.debug("event %d will be retried in %.1fs: %s", event.id, delay, message)

    def drain(self, raise_on_configuration_error: bool = True) -> DrainStats:
        """Publish until nothing is claimable (events waiting for a retry are left)."""
        stats = DrainStats()
        while True:
            step = self.step()
            if not step.claimed:
                return stats
            stats.add(step)
            if step.configuration_error:
                if raise_on_configuration_error:
                    raise ConfigurationError(step.configuration_error)
                return stats

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set; pause with backoff while the configuration is refused."""
        pauses = 0
        while not stop.is_set():
            step = self.step()
            if step.configuration_error:
                pauses += 1
                stop.wait(backoff_seconds(pauses, base=1.0, cap=60.0) + 1.0)
            elif not step.claimed:
                pauses = 0
                stop.wait(self.options.poll_interval)
            else:
                pauses = 0
