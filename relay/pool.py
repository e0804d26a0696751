"""Threads that make the Stream requests: each with its own client (and HTTP session), paced;
publishing a call, whose failed batch is sent again singly to isolate a bad event.

Only Stream calls run here; every database operation stays on the relay's main thread. What
a request is and how its answers read is the delivery's (relay.delivery): v2 or v3.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from relay.calls import Call, Outcome
from relay.delivery import Delivery, delivery_for
from relay.exceptions import LeaseExpiring, RateLimited
from relay.metrics import Metrics
from relay.pacing import RateLimitPacer
from relay.retry import BOUNDED, classify
from relay.tracing import stream_span

logger = logging.getLogger("relay")


class StreamPool:
    def __init__(
        self,
        client_factory: Callable[[], Any],
        concurrency: int,
        metrics: Metrics,
        in_flight_seconds: float,
        lease_seconds: float,
        on_done: Callable[[], None] | None = None,
        delivery: Delivery | None = None,
    ) -> None:
        self._delivery = delivery or delivery_for("v2", client_factory)
        self._local = threading.local()
        self._metrics = metrics
        # Time a request needs before its lease ends: as long as it may stay in flight at
        # Stream (the client timeout, or FEED_OUTBOX_LANDING_SECONDS if longer), so a relay
        # that dies mid-request leaves no write that can land after its lease passed on. A
        # lease too short for that (check feed_outbox.W002) still leaves half of itself.
        self._margin = min(in_flight_seconds + 1.0, lease_seconds / 2)
        self._stopping = False
        self._on_done = on_done
        self.pacer = RateLimitPacer(on_wait=metrics.rate_limit_wait)
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, concurrency), thread_name_prefix="relay-stream"
        )

    def submit(self, call: Call, deadline: Callable[[], float]) -> Future[list[Outcome]]:
        """Publish ``call`` on a pool thread; ``deadline()`` is the lease's current end (monotonic)."""
        future = self._executor.submit(self._run, call, deadline)
        if self._on_done is not None:
            on_done = self._on_done
            future.add_done_callback(lambda _f: on_done())
        return future

    def warm_up(self, timeout: float = 30.0) -> None:
        """Start every thread and build its client now, not on the first events' time."""
        threads = self._executor._max_workers
        barrier = threading.Barrier(threads)

        def build() -> None:
            try:
                self._client()
            except BaseException:
                barrier.abort()  # the others must not wait for a thread that failed
                raise
            barrier.wait(timeout)  # holds this thread so the next task starts another one

        started = time.monotonic()
        for future in [self._executor.submit(build) for _ in range(threads)]:
            future.result(timeout)
        # Startup's cost shows (the getstream SDK's import and clients take seconds on a
        # busy host), and a supervisor or a test can tell when the relay can deliver.
        logger.info("%d Stream clients ready in %.1fs", threads, time.monotonic() - started)

    def stop_waiting(self) -> None:
        """Requests waiting for a rate-limit reset give up (their events are released)."""
        self._stopping = True

    def shutdown(self, wait: bool = True) -> None:
        """Cancel what has not started; stop rate-limit waits. Having waited for the threads,
        close the clients they sent with (a sidecar that does not wait is exiting)."""
        self.stop_waiting()
        self._executor.shutdown(wait=wait, cancel_futures=True)
        if wait:
            self._delivery.close()

    # -- on pool threads -----------------------------------------------------------------

    def _client(self) -> Any:
        state = self._local
        if getattr(state, "client", None) is None:
            state.bucket = None
            state.client = self._delivery.build_client()
            self._delivery.observe_responses(state.client, self._observe)
        return state.client

    def _observe(self, response: Any) -> None:
        # The client keeps only the status and detail of an error answer: keep the body.
        self._local.answer = response if response.status_code >= 400 else None
        bucket = getattr(self._local, "bucket", None)
        if bucket is None:
            return
        if response.status_code == 429:
            self.pacer.exhausted(bucket, response.headers)
        else:
            self.pacer.observe(bucket, response.headers)

    def _run(self, call: Call, deadline: Callable[[], float]) -> list[Outcome]:
        client = self._client()

        def send(one: Call) -> None:
            self._send(client, one, deadline)

        return publish_call(send, call)

    def _send(self, client: Any, call: Call, deadline: Callable[[], float]) -> None:
        while True:
            started = time.monotonic()
            self._local.answer = None
            delivery = self._delivery
            try:
                with stream_span(call):
                    delivery.send(client, call, lambda bucket: self._pace(bucket, deadline))
            except LeaseExpiring:
                raise  # nothing was sent
            except Exception as exc:
                delivery.keep_raw_answer(exc, getattr(self._local, "answer", None))
                if not delivery.rate_limited(exc):
                    self._metrics.stream_failure(call.endpoint, classify(exc).value)
                    raise
                # The hook recorded the reset; wait for it and send again (not a failure).
                self._metrics.rate_limited(self._local.bucket or call.rate_class)
                continue
            finally:
                self._local.bucket = None
                seconds = time.monotonic() - started
                self._metrics.stream_request(call.endpoint, seconds)
            logger.debug(
                "%s of %d events in %.1fms", call.endpoint, len(call.events), seconds * 1000
            )
            return

    def _pace(self, bucket: str, deadline: Callable[[], float]) -> None:
        """Before each request: take one from ``bucket``'s window, within the lease."""

        def lease_holds() -> bool:
            # A request must end inside the lease: a late write could land after a newer
            # event of the same key that another relay delivered meanwhile. The main thread
            # renews leases, so ``deadline()`` moves on while we wait for a rate-limit reset.
            return not self._stopping and time.monotonic() < deadline() - self._margin

        try:
            self.pacer.acquire(bucket, keep_waiting=lease_holds)
        except RateLimited as exc:
            raise LeaseExpiring(str(exc)) from None
        if not lease_holds():
            raise LeaseExpiring("the lease ends before a request could finish")
        self._local.bucket = bucket


def publish_call(send: Callable[[Call], None], call: Call) -> list[Outcome]:
    """Make ``call`` with ``send``; a permanent failure of a batch is isolated by sending its
    events singly (``send`` is the delivery's send bound to a client, plus pacing: StreamPool)."""
    try:
        send(call)
    except Exception as exc:  # classified by the caller (relay.retry)
        if len(call.events) > 1 and classify(exc) in BOUNDED:
            # One bad activity fails the whole request (or the request is too large as a
            # whole): only the bad one should be retried.
            return [outcome for single in call.split() for outcome in publish_call(send, single)]
        return [Outcome(event, exc) for event in call.events]
    return [Outcome(event) for event in call.events]
