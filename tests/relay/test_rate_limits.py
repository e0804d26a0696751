"""Rate limits: the relay paces itself on X-Ratelimit-* headers and waits out 429s, never failing."""

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from relay.pacing import RateLimited, RateLimitPacer
from tests.factories import OutboxEventFactory
from tests.polling import wait_for


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def headers(remaining, reset):
    return {"X-Ratelimit-Remaining": str(remaining), "X-Ratelimit-Reset": str(reset)}


def test_the_pacer_waits_for_the_reset_once_the_window_is_spent():
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.observe("add", headers(2, 1010))

    assert pacer.acquire("add") == 0
    assert pacer.acquire("add") == 0
    waited = pacer.acquire("add")  # the third would be a 429: wait for the window's end

    assert 10 <= waited <= 10.2
    assert clock.slept and pacer.acquire("add") == 0  # a new window: unknown budget, go


def test_out_of_order_responses_never_raise_the_remaining_budget():
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.observe("add", headers(0, 1010))
    pacer.observe("add", headers(5, 1010))  # an older response arriving late

    assert pacer.acquire("add") >= 10


def test_a_429_blocks_its_bucket_until_the_reset_and_no_other_bucket():
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.exhausted("add", headers(0, 1003))

    assert pacer.acquire("remove") == 0
    with pytest.raises(RateLimited):
        pacer.acquire("add", keep_waiting=lambda: clock.now < 1001)
    pacer.acquire("add")
    assert 1003 <= clock.now <= 1003.2  # released at the reset, not before


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


def test_a_429_without_a_reset_header_waits_its_retry_after():
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.exhausted("v3:UpsertActivities", {"Retry-After": "4"})

    pacer.acquire("v3:UpsertActivities")
    assert 1004 <= clock.now <= 1004.2


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
        rate_limits="stream", rate_limit_scale=12,
        rate_limit_counts={"v3:UpsertActivities": budget},
    )
    rows = [OutboxEventFactory(api="v3", feed=f"user:r{n}") for n in range(events)]
    with override_settings(FEED_OUTBOX_STREAM_API="v3", FEED_OUTBOX_READ_API="v3",
                           FEED_OUTBOX_MAX_ATTEMPTS=2):
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
