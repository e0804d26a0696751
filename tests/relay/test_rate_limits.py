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
