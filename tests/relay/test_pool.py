"""StreamPool: calls published on threads with a client each, paced within their lease, a bad
event of a batch isolated; 429s waited out and sent again, never failures (with fake
deliveries, then end to end)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from feed_outbox.models import EventStatus, OutboxEvent
from relay.calls import Call
from relay.events import Event
from relay.exceptions import LeaseExpiring
from relay.metrics import RATE_LIMITED, STREAM_FAILURES, STREAM_REQUEST_SECONDS, Metrics
from relay.pool import StreamPool, publish_call
from tests.factories import OutboxEventFactory
from tests.polling import wait_for


class RateLimitReached(Exception):
    pass


class Response:
    def __init__(self, status_code: int, headers: dict[str, str] | None = None) -> None:
        self.status_code, self.headers = status_code, headers or {}


class FakeDelivery:
    """Sends by running ``answer(call)``: a Response the client observes, then raises if it is
    an error (a 429 as RateLimitReached, anything else as ``error``)."""

    api = "fake"

    def __init__(self, answer=lambda call: Response(200), error=RuntimeError) -> None:
        self.answer, self.error = answer, error
        self.clients: list[threading.Thread] = []
        self.sent: list[Call] = []
        self.kept: list[tuple[BaseException, object]] = []
        self._observers: dict[object, object] = {}

    def build_client(self) -> object:
        self.clients.append(threading.current_thread())
        return object()

    def observe_responses(self, client, observe) -> None:
        self._observers[client] = observe

    def close(self) -> None:
        self.closed = True

    def send(self, client, call: Call, pace) -> None:
        pace(call.rate_class)
        self.sent.append(call)
        response = self.answer(call)
        self._observers[client](response)
        if response.status_code == 429:
            raise RateLimitReached()
        if response.status_code >= 400:
            raise self.error(f"HTTP {response.status_code}")

    def rate_limited(self, exc: BaseException) -> bool:
        return isinstance(exc, RateLimitReached)

    def keep_raw_answer(self, exc: BaseException, response) -> None:
        self.kept.append((exc, response))


def call(*ids: int, rate_class: str = "add") -> Call:
    events = tuple(Event(i, "add", "user:1", f"key{i}", {"foreign_id": f"key{i}"}, 1) for i in ids)
    return Call("add_activities", events, rate_class)


def far() -> float:
    return time.monotonic() + 600.0


@pytest.fixture
def pool():
    made: list[StreamPool] = []

    def make(delivery: FakeDelivery, concurrency: int = 2, in_flight: float = 1.0) -> StreamPool:
        made.append(
            StreamPool(
                None, concurrency, Metrics(), in_flight, lease_seconds=60.0, delivery=delivery
            )
        )
        return made[-1]

    yield make
    for each in made:
        each.shutdown()


def test_calls_are_published_on_pool_threads_each_with_a_client_of_its_own(pool):
    delivery = FakeDelivery()
    stream = pool(delivery, concurrency=3)
    stream.warm_up(timeout=10)

    outcomes = [stream.submit(call(i), far).result(10) for i in range(6)]

    assert [o.ok for [o] in outcomes] == [True] * 6
    assert len(delivery.clients) == 3 and len(set(delivery.clients)) == 3  # one per thread
    assert threading.current_thread() not in delivery.clients
    metrics = stream._metrics
    assert metrics.counter(f"{STREAM_REQUEST_SECONDS}_count", endpoint="add_activities") == 6


def test_the_clients_close_once_the_pool_has_waited_for_its_threads(pool):
    delivery = FakeDelivery()
    stream = pool(delivery)
    stream.submit(call(1), far).result(10)

    stream.shutdown(wait=False)  # a sidecar past its grace period: threads may still send
    assert not getattr(delivery, "closed", False)
    stream.shutdown(wait=True)
    assert delivery.closed


def test_a_failure_is_counted_by_its_class_and_its_answer_kept_for_the_delivery(pool):
    delivery = FakeDelivery(answer=lambda c: Response(503), error=requests.ConnectionError)
    stream = pool(delivery)

    [outcome] = stream.submit(call(1), far).result(10)

    assert isinstance(outcome.error, requests.ConnectionError)
    [(kept_error, response)] = delivery.kept
    assert kept_error is outcome.error and response.status_code == 503
    labels = {"endpoint": "add_activities", "failure_class": "retryable"}
    assert stream._metrics.counter(STREAM_FAILURES, **labels) == 1


def test_a_429_is_waited_out_until_its_reset_and_sent_again_without_a_failure(pool):
    answers = iter([Response(429, {"Retry-After": "0.4"}), Response(200)])
    delivery = FakeDelivery(answer=lambda c: next(answers))
    stream = pool(delivery)
    started = time.monotonic()

    [outcome] = stream.submit(call(1, rate_class="v3:UpsertActivities"), far).result(10)

    assert outcome.ok and len(delivery.sent) == 2
    assert time.monotonic() - started >= 0.4
    assert stream._metrics.counter(RATE_LIMITED, bucket="v3:UpsertActivities") == 1
    assert (
        stream._metrics.counter(
            STREAM_FAILURES, endpoint="add_activities", failure_class="retryable"
        )
        == 0
    )


def test_a_request_that_could_outlast_its_lease_is_never_sent(pool):
    delivery = FakeDelivery()
    stream = pool(delivery, in_flight=5.0)  # a request may stay 5 s in flight

    [outcome] = stream.submit(call(1), lambda: time.monotonic() + 3.0).result(10)

    assert isinstance(outcome.error, LeaseExpiring) and delivery.sent == []


def test_a_wait_for_a_reset_gives_up_when_the_pool_stops_waiting(pool):
    delivery = FakeDelivery()
    stream = pool(delivery)
    stream.pacer.exhausted("add", {"Retry-After": "60"})

    future = stream.submit(call(1), far)
    time.sleep(0.2)
    stream.stop_waiting()
    [outcome] = future.result(10)

    assert isinstance(outcome.error, LeaseExpiring) and delivery.sent == []


def test_a_batch_that_fails_for_one_events_data_is_sent_again_singly():
    sent = []

    def send(call):
        sent.append([e.id for e in call.events])
        if 2 in sent[-1]:
            raise TypeError("bad activity")  # permanent: the event's own data

    outcomes = publish_call(send, call(1, 2, 3))

    assert [(o.event.id, o.ok) for o in outcomes] == [(1, True), (2, False), (3, True)]
    assert sent == [[1, 2, 3], [1], [2], [3]]


def test_a_batch_that_fails_for_a_retryable_reason_fails_whole():
    sent = []

    def send(call):
        sent.append(call)
        raise requests.ConnectionError("reset")

    outcomes = publish_call(send, call(1, 2))

    assert [o.ok for o in outcomes] == [False, False] and len(sent) == 1


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_backlog_drains_under_compressed_stream_limits_without_a_surfaced_failure(
    start_relay, stream_emulator
):
    # 1,000 add requests per window, windows 10x shorter (6 s); 2,200 unbatchable events, so
    # over 1,000 of them fall into one whole window, whenever the first one started.
    stream_emulator.set_faults(rate_limits="stream", rate_limit_scale=10)
    OutboxEventFactory.create_batch(2200)
    relay = start_relay("--poll-interval", "0.2", "--concurrency", "8", "--metrics-port", "0")

    wait_for(
        lambda: not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists(),
        timeout=90,
        interval=0.2,
    )

    assert not OutboxEvent.objects.exclude(last_error="").exists()  # nothing failed
    assert set(OutboxEvent.objects.values_list("attempts", flat=True)) == {1}
    stats = stream_emulator.stats()
    assert stats["requests"]["add_activity"] == 2200
    metrics = relay.get("/metrics")[1]
    # Over 1,000 requests land in one full window: it must have paced itself, and did so
    # from the headers, before Stream said no (a 429 would only happen for requests already
    # in flight when the budget ran out).
    assert 'feed_outbox_relay_rate_limit_waits_total{bucket="add"}' in metrics
    assert stats["rate_limited"] == 0


def _spend_the_upsert_window(client, budget: int, keep: float) -> float:
    """Use up this window's UpsertActivities budget the way another process of the app would;
    returns the reset its 429 names, at least ``keep`` seconds ahead (a window ending sooner
    is waited out and the next one spent from its start)."""
    import time

    from getstream.exceptions import StreamRateLimitException
    from getstream.models import ActivityRequest, FeedRequest

    feeds = client.feeds
    feeds.create_feeds_batch(feeds=[FeedRequest(feed_group_id="user", feed_id="other")])
    for _ in range(5):
        try:
            for n in range(budget + 1):
                feeds.upsert_activities(
                    activities=[ActivityRequest(id=f"o{n}", type="t", feeds=["user:other"])]
                )
        except StreamRateLimitException as exc:
            reset = exc.rate_limit_info.reset.timestamp()
            if reset - time.time() >= keep:
                return reset
            time.sleep(max(0.0, reset - time.time()) + 0.1)
        # else a window ended within the burst (its budget came back): spend the new one.
    raise AssertionError("the emulator never answered 429")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_v3_429s_are_waited_out_until_their_reset_without_spending_attempts(stream_emulator):
    """Feeds v3 end to end: the emulator answers the getstream SDK 429 (X-RateLimit-* and
    Retry-After, as the SDK reads them); the relay waits for the reset and sends again."""
    import time

    from django.test import override_settings

    from feed_outbox.client import build_v3_client
    from feed_outbox.feed_manager import feed_manager
    from relay.options import RelayOptions
    from relay.runner import Relay

    budget, events, window = 3, 5, 5.0
    # 5-second windows of 3 upserts: the 5 events (one request each) need two windows after
    # the spent one, which has 3.5 s or more left when the relay starts (a loaded machine's
    # start-up must not reach the next window, or no 429 would be met).
    stream_emulator.set_faults(
        rate_limits="stream",
        rate_limit_scale=12,
        rate_limit_counts={"v3:UpsertActivities": budget},
    )
    rows = [OutboxEventFactory(api="v3", feed=f"user:r{n}") for n in range(events)]
    with override_settings(
        FEED_OUTBOX_STREAM_API="v3", FEED_OUTBOX_READ_API="v3", FEED_OUTBOX_MAX_ATTEMPTS=2
    ):
        reset = _spend_the_upsert_window(build_v3_client(), budget, keep=window - 1.5)
        spent = stream_emulator.stats()
        started = time.time()
        stats = Relay(RelayOptions(api="v3", batch_size=1, concurrency=2)).drain()
        finished = time.time()

        assert (stats.delivered, stats.dead) == (events, 0)
        assert set(OutboxEvent.objects.values_list("status", flat=True)) == {EventStatus.DELIVERED}
        assert set(OutboxEvent.objects.values_list("attempts", flat=True)) == {1}
        assert not OutboxEvent.objects.exclude(last_error="").exists()
        for row in rows:
            [activity] = feed_manager.get_feed(*row.feed.split(":")).get()["results"]
            assert activity["foreign_id"] == row.payload["foreign_id"]

    after = stream_emulator.stats()
    answered_429 = after["rate_limited"] - spent["rate_limited"]
    upserts = after["requests"]["v3:UpsertActivities"] - spent["requests"]["v3:UpsertActivities"]
    # Stream said no at least once (the window was spent), the relay waited for the reset it
    # named instead of retrying at once, and every other request fit a window.
    assert answered_429 >= 1 and upserts == events + answered_429
    assert answered_429 <= 2 * 2  # at most the requests in flight per window, not a retry storm
    assert started < reset
    # the last 2 events waited for the window after the reset: paced, not 429-looped
    assert finished >= reset + window - 0.1
