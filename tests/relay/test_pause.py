"""A paused relay's probe asks whether the configuration was fixed: whatever answer it meets
(a delivery, a 5xx, a 429, a timeout or lost response, a credential error, an input error),
its event keeps its attempts and its backoff. Real client → HTTP → emulator, on PostgreSQL."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from feed_outbox.client import build_client
from feed_outbox.models import EventStatus, OutboxEvent
from relay.options import RelayOptions
from relay.pause import Pause, Probe
from relay.retry import Action, Decision, Failure
from relay.runner import Relay
from tests.factories import OutboxEventFactory
from tests.polling import wait_for

LANDING = 1.5  # seconds an unanswered probe's request may still land (its lease is kept)
# An event with a history before the relay paused: two tries spent, a backoff long over.
BEFORE_ATTEMPTS = 2
BEFORE_AVAILABLE = timezone.now() - datetime.timedelta(minutes=5)


def paused_relay(stream_emulator, client_factory=build_client) -> Relay:
    """A relay that a suspended app (401, code 7) paused; the app is reinstated afterwards."""
    relay = Relay(
        RelayOptions(
            poll_interval=0.05,
            concurrency=2,
            lease_seconds=6.0,
            landing_seconds=LANDING,
            grace_period=5.0,
            owner="probe-test",
        ),
        client_factory=client_factory,
    )
    stream_emulator.set_faults(suspended=True)
    relay.drain(raise_on_configuration_error=False)
    assert relay.paused_reason and "SiteSuspended" in relay.paused_reason
    stream_emulator.set_faults(suspended=False)
    OutboxEvent.objects.update(attempts=BEFORE_ATTEMPTS, available_at=BEFORE_AVAILABLE)
    return relay


def probe(relay: Relay, stream_emulator) -> int:
    """Let the paused relay probe now; how many requests reached the emulator meanwhile."""
    before = stream_emulator.stats()["total_requests"]
    relay.drain(raise_on_configuration_error=False)
    relay.close()
    return stream_emulator.stats()["total_requests"] - before


def untouched(event: OutboxEvent) -> OutboxEvent:
    event.refresh_from_db()
    assert (event.attempts, event.available_at) == (BEFORE_ATTEMPTS, BEFORE_AVAILABLE)
    return event


def test_the_verdict_of_a_probe_comes_from_the_retry_decision():
    def verdict(action: Action, failure: Failure) -> Probe:
        return Probe.of(Decision(action, "message", failure))

    assert verdict(Action.PAUSE, Failure.CONFIGURATION) is Probe.STILL_BROKEN
    assert verdict(Action.RETRY, Failure.PERMANENT) is Probe.FIXED
    assert verdict(Action.DEAD, Failure.PERMANENT) is Probe.FIXED
    assert verdict(Action.RETRY, Failure.UNRECOGNISED) is Probe.FIXED
    assert verdict(Action.RETRY, Failure.RETRYABLE) is Probe.INCONCLUSIVE
    assert verdict(Action.RELEASE, Failure.RETRYABLE) is Probe.INCONCLUSIVE  # a 429 wait ran out


def test_the_pause_probes_after_its_backoff_and_a_delivery_closes_it():
    now = [100.0]
    pause = Pause(clock=lambda: now[0])
    assert pause.may_claim() and pause.claim_limit(100) == 100

    assert pause.trip("bad secret", ("k",)) is True
    assert pause.trip("bad secret", ("k",)) is False  # paused already: logged once
    assert not pause.may_claim() and pause.claim_limit(100) == 1 and pause.is_for(("k",))
    now[0] += 200.0
    assert pause.may_claim()
    assert pause.close() is True and not pause.paused and pause.close() is False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_probe_that_is_delivered_resumes_the_relay_without_counting_an_attempt(stream_emulator):
    event = OutboxEventFactory(feed="user:1")
    relay = paused_relay(stream_emulator)

    assert probe(relay, stream_emulator) == 1

    assert untouched(event).status == EventStatus.DELIVERED
    assert relay.paused_reason is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"error_rate": 1.0}, id="5xx"),
        pytest.param({"latency_ms": 1500}, id="timeout"),
        pytest.param({"lost_response_rate": 1.0}, id="lost-response"),
    ],
)
def test_a_probe_without_an_answer_keeps_its_events_attempts_backoff_and_key_held(
    stream_emulator, fault
):
    event = OutboxEventFactory(feed="user:1")
    later_of_key = OutboxEventFactory(feed="user:1", ordering_key=event.ordering_key)
    relay = paused_relay(stream_emulator, client_factory=lambda: build_client(timeout=0.5))
    stream_emulator.set_faults(**fault)

    before = stream_emulator.stats()["total_requests"]
    probe(relay, stream_emulator)

    assert untouched(event).status == EventStatus.PENDING
    assert relay.paused_reason and "SiteSuspended" in relay.paused_reason  # still paused
    # Its request may still land: the event (and so its key) stays leased that long, as a
    # retry's backoff would hold it, so a later event of the key cannot overtake the write.
    assert event.lease_expires_at > timezone.now()
    assert event.lease_expires_at <= timezone.now() + datetime.timedelta(seconds=LANDING)
    later_of_key.refresh_from_db()
    assert (later_of_key.status, later_of_key.attempts) == (EventStatus.PENDING, BEFORE_ATTEMPTS)
    # The emulator counts a request once it answered (a slow one after the client gave up).
    assert wait_for(lambda: stream_emulator.stats()["total_requests"] - before == 1, timeout=5)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_probe_held_by_a_429_keeps_its_events_attempts_and_backoff(stream_emulator):
    event = OutboxEventFactory(feed="user:1")
    relay = paused_relay(stream_emulator)
    # One request per window, and windows of hours (scaled), so none ends during the test.
    stream_emulator.set_faults(
        rate_limits="stream", rate_limit_counts={"add_activity": 1}, rate_limit_scale=0.001
    )
    build_client().feed("user", "2").add_activity(
        {"actor": "auth.User:2", "verb": "tweet", "object": "x", "foreign_id": "x"}
    )  # the window's one request is spent: the probe meets a 429, waits, and gives up

    assert probe(relay, stream_emulator) >= 1

    assert stream_emulator.stats()["rate_limited"] >= 1
    assert untouched(event).status == EventStatus.PENDING
    assert event.lease_owner == ""  # a 429 was never applied: nothing to wait for
    assert relay.paused_reason and "SiteSuspended" in relay.paused_reason


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_probe_that_meets_a_credential_error_keeps_its_events_attempts_and_backoff(
    stream_emulator,
):
    event = OutboxEventFactory(feed="user:1")
    wrong = lambda: build_client(api_secret="not-the-secret-9f2c")  # noqa: E731
    relay = Relay(RelayOptions(poll_interval=0.05, owner="probe-test"), client_factory=wrong)
    relay.drain(raise_on_configuration_error=False)
    assert relay.paused_reason and "signature" in relay.paused_reason
    OutboxEvent.objects.update(attempts=BEFORE_ATTEMPTS, available_at=BEFORE_AVAILABLE)

    assert probe(relay, stream_emulator) == 1

    assert untouched(event).status == EventStatus.PENDING and event.lease_owner == ""
    assert relay.paused_reason and "signature" in relay.paused_reason


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_probe_that_meets_an_input_error_resumes_and_only_the_events_own_tries_count(
    stream_emulator,
):
    poison = OutboxEventFactory(feed="user:1")
    poison.payload["time"] = "not a time"  # Stream answers InputException (code 4)
    poison.save()
    relay = paused_relay(stream_emulator)

    # The probe, then the event's own first try: the emulator checks the token before the
    # data, so an input error means the credentials work again and the relay resumes.
    assert probe(relay, stream_emulator) == 2

    poison.refresh_from_db()
    assert relay.paused_reason is None
    assert poison.attempts == BEFORE_ATTEMPTS + 1  # its own try counted, the probe not
    assert "code 4" in poison.last_error and poison.status == EventStatus.PENDING


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_paused_relay_probes_with_one_event_at_a_time(stream_emulator):
    events = OutboxEventFactory.create_batch(4, feed="user:1")
    relay = paused_relay(stream_emulator)
    stream_emulator.set_faults(error_rate=1.0)

    assert probe(relay, stream_emulator) == 1

    for event in events:
        untouched(event)
