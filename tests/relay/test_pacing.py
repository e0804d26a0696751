"""The pacer: each bucket's window from X-Ratelimit-* headers, and a 429's wait until its reset."""

import threading

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


def test_requests_taken_after_the_answered_one_are_taken_off_the_window_it_reports():
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    # A new window: its budget is unknown, so eight threads send at once.
    for _ in range(8):
        assert pacer.acquire("add") == 0
    # The first one's answer: Stream allows 5 more after it; seven were sent after it.
    pacer.observe("add", headers(5, 1010), taken=1)

    # Nothing is left for a ninth request: it waits for the reset instead of a 429.
    assert pacer.acquire("add") >= 10


def test_a_lower_remaining_of_the_same_window_keeps_the_later_requests_counted():
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)
    pacer.observe("add", headers(100, 1010))
    first = pacer.taken("add") + 1
    for _ in range(4):
        pacer.acquire("add")
    # Another process of the app spent most of the window: after our first request Stream
    # allows 4 more, and three of ours were sent after it.
    pacer.observe("add", headers(4, 1010), taken=first)

    assert pacer.acquire("add") == 0  # the last of those 4
    assert pacer.acquire("add") >= 10


def test_an_answer_on_the_sending_thread_is_matched_to_that_threads_request():
    clock = FakeClock()
    pacer = RateLimitPacer(clock=clock, sleep=clock.sleep)

    ready, answer = threading.Event(), threading.Event()

    def sender():
        pacer.acquire("add")  # this thread's request, number 1
        ready.set()
        answer.wait(5)
        pacer.observe("add", headers(3, 1010))  # the hook, on the sending thread

    thread = threading.Thread(target=sender)
    thread.start()
    ready.wait(5)
    pacer.acquire("add")  # another thread's, sent after it: number 2
    answer.set()
    thread.join(5)

    assert pacer.acquire("add") == 0
    assert pacer.acquire("add") == 0  # 3 after request 1, one of them request 2
    assert pacer.acquire("add") >= 10
