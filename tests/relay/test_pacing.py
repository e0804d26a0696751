"""The pacer: each bucket's window from X-Ratelimit-* headers, and a 429's wait until its reset."""

import pytest

from relay.pacing import RateLimited, RateLimitPacer


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


def test_a_429_without_a_reset_header_waits_its_retry_after():
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.exhausted("v3:UpsertActivities", {"Retry-After": "4"})

    pacer.acquire("v3:UpsertActivities")
    assert 1004 <= clock.now <= 1004.2
