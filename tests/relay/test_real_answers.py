"""Each failure class end to end against the answers the real service gives (real client →
HTTP → emulator, or a raw stand-in server sending exactly a documented answer, so a drift of
the emulator cannot hide a misclassification), with the relay's production loop."""

from __future__ import annotations

import signal
import threading
import time

import pytest
from django.test import override_settings

from feed_outbox.models import EventStatus, OutboxEvent
from relay.options import RelayOptions
from relay.runner import Relay
from tests.factories import OutboxEventFactory, TweetFactory
from tests.polling import wait_for
from tests.stream_answers import ANSWERS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

FAST = ("--poll-interval", "0.1", "--retry-backoff", "0.05", "--metrics-port", "0")


def statuses():
    return sorted(OutboxEvent.objects.values_list("status", "attempts"))


def between_probes():
    """Statuses once no probe holds an event: a paused relay's probe counts an attempt while
    its request is out and refunds it when the answer says the configuration is wrong."""
    wait_for(lambda: not OutboxEvent.objects.exclude(lease_owner="").exists(), timeout=10)
    return statuses()


def test_the_real_wrong_secret_answer_pauses_the_relay_and_spends_no_attempt(start_relay, stand_in):
    # Exactly what Stream sends for a token signed with the wrong secret (stream-go2#98).
    real = stand_in(403, b'{"detail":"signature is invalid","status_code":403,"code":17,'
                    b'"exception":"NotAllowedException","duration":"0.00ms"}')  # fmt: skip
    TweetFactory.create_batch(5)
    relay = start_relay(
        *FAST, "--max-attempts", "2", env={"FEED_OUTBOX_TEST_STREAM_BASE_URL": real.url}
    )

    relay.wait_for_log("configuration error")
    assert wait_for(lambda: relay.get("/readyz")[0] == 503)
    first = real.requests
    wait_for(lambda: real.requests > first + 1, timeout=20)  # probed again, twice: still paused
    assert relay.get("/readyz")[0] == 503
    assert between_probes() == [(EventStatus.PENDING, 0)] * 5  # nothing dead, no attempt spent

    real.answer = (200, b'{"duration": "1.00ms"}')  # the secret is fixed
    wait_for(lambda: not OutboxEvent.objects.exclude(status=EventStatus.DELIVERED).exists(), 30)
    assert relay.get("/readyz")[0] == 200
    relay.signal(signal.SIGTERM)
    assert relay.wait() == 0


def test_an_unknown_code_is_dead_lettered_after_max_attempts_with_the_raw_answer(
    start_relay, stand_in
):
    # An answer stream-python does not know (its 2015 form, stream-ruby#26): code 413.
    body = {
        "code": 413,
        "detail": "The request body was too large (limit is 128k)",
        "duration": "0ms",
        "exception": "RequestTooLarge",
        "status_code": 413,
    }
    unknown = stand_in(413, body)
    event = OutboxEventFactory(feed="user:1")
    relay = start_relay(
        *FAST, "--max-attempts", "2", env={"FEED_OUTBOX_TEST_STREAM_BASE_URL": unknown.url}
    )

    wait_for(lambda: OutboxEvent.objects.filter(status=EventStatus.DEAD).exists(), timeout=30)
    event.refresh_from_db()
    assert event.attempts == 2
    assert "code 413" in event.last_error and '"exception": "RequestTooLarge"' in event.last_error
    assert relay.get("/readyz")[0] == 200  # an event's fault, not the app's
    relay.signal(signal.SIGTERM)
    assert relay.wait() == 0


def test_a_suspended_app_pauses_the_relay_until_it_is_reinstated(start_relay, stream_emulator):
    stream_emulator.set_faults(suspended=True)
    TweetFactory.create_batch(3)
    relay = start_relay(*FAST, "--max-attempts", "2")

    relay.wait_for_log("configuration error")
    assert wait_for(lambda: relay.get("/readyz")[0] == 503)
    assert "SiteSuspendedException" in relay.get("/readyz")[1]
    time.sleep(2)  # long enough for probes
    assert between_probes() == [(EventStatus.PENDING, 0)] * 3

    stream_emulator.set_faults(suspended=False)
    wait_for(lambda: not OutboxEvent.objects.exclude(status=EventStatus.DELIVERED).exists(), 30)
    assert relay.get("/readyz")[0] == 200
    relay.signal(signal.SIGTERM)
    assert relay.wait() == 0


def drain_once(**options) -> Relay:
    """The sidecar loop, in process, until nothing is claimable (or the relay paused)."""
    relay = Relay(RelayOptions(poll_interval=0.05, concurrency=2, **options))
    relay.run(threading.Event(), until_idle=True)
    return relay


def test_a_configured_feed_group_stream_does_not_know_pauses_the_relay(stream_emulator):
    # STREAM_NEWS_FEEDS names a group the app on Stream lacks: every event for it would fail.
    OutboxEventFactory.create_batch(2, feed="flatfeed:1")
    with override_settings(STREAM_NEWS_FEEDS={"timeline": "timeline", "flat": "flatfeed"}):
        for _ in range(3):
            relay = drain_once(max_attempts=1)
            ready, why = relay.ready()
            assert not ready and "FeedConfigException" in why
    assert statuses() == [(EventStatus.PENDING, 0)] * 2


def test_a_not_allowed_answer_every_event_meets_pauses_instead_of_dead_lettering(
    stream_emulator, stand_in
):
    # 403/17 with Stream's policy wording can be one call's fault; met by the whole batch, it
    # is the app's (a permissions policy), and nothing may be dead-lettered for it.
    policy = stand_in(403, ANSWERS["token_out_of_scope"].body())
    OutboxEventFactory.create_batch(3, feed="user:1")
    with override_settings(STREAM_BASE_URL=policy.url):
        relay = drain_once(max_attempts=1)
    assert not relay.ready()[0] and "no policies allowing" in relay.ready()[1]
    assert statuses() == [(EventStatus.PENDING, 0)] * 3
