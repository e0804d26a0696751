"""Each error class against the emulator's fault injection, with real relay processes."""

import signal

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from tests.factories import OutboxEventFactory, TweetFactory, UserFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# The emulator answers at once here: an unanswered write has landed before its retry.
FAST = ("--poll-interval", "0.1", "--retry-backoff", "0.05", "--landing-seconds", "0.2")


def pending():
    return OutboxEvent.objects.filter(status=EventStatus.PENDING).count()


def test_5xx_and_lost_responses_end_with_each_activity_in_its_feed_once(
    start_relay, stream_emulator, user_feed_activities
):
    # A lost response has applied the write: the retry must not duplicate it.
    stream_emulator.set_faults(error_rate=0.25, lost_response_rate=0.25)
    user = UserFactory()
    tweets = TweetFactory.create_batch(40, user=user)
    # One event a request: 40+ requests make "no fault of either kind was injected" (which
    # would prove nothing) vanishingly unlikely (0.75**40).
    relay = start_relay(*FAST, "--batch-size", "1")

    wait_for(lambda: pending() == 0, timeout=60, interval=0.2)

    stats = stream_emulator.stats()
    assert stats["faults"].get("error", 0) > 0 and stats["faults"].get("lost_response", 0) > 0
    stream_emulator.set_faults(error_rate=0, lost_response_rate=0)
    ids = [a["foreign_id"] for a in user_feed_activities(f"user:{user.pk}")]
    assert sorted(ids) == sorted(f"sample_app.Tweet:{t.pk}" for t in tweets)
    assert not OutboxEvent.objects.filter(status=EventStatus.DEAD).exists()
    assert OutboxEvent.objects.filter(attempts__gt=1).exists()  # retries happened
    relay.signal(signal.SIGTERM)
    assert relay.wait() == 0


def test_a_poison_event_is_dead_lettered_after_bounded_tries_and_blocks_only_its_key(
    start_relay, stream_emulator, user_feed_activities
):
    poison = OutboxEventFactory(ordering_key="k", feed="user:1")
    poison.payload["time"] = "not a time"  # Stream answers InputException (code 4)
    poison.save()
    after_poison = OutboxEventFactory(ordering_key="k", feed="user:1")
    unknown_group = OutboxEventFactory(feed="nosuchgroup:1")  # FeedConfigException (code 6)
    fine = [OutboxEventFactory(feed="user:1") for _ in range(5)]
    relay = start_relay(*FAST, "--max-attempts", "3", "--metrics-port", "0")

    wait_for(lambda: pending() == 0, timeout=60, interval=0.2)

    for dead in (poison, unknown_group):
        dead.refresh_from_db()
        assert dead.status == EventStatus.DEAD
        assert dead.attempts == 3
        assert "code" in dead.last_error and dead.last_error
    assert "code 4" in poison.last_error and "code 6" in unknown_group.last_error
    delivered = {e.pk for e in fine} | {after_poison.pk}  # its key proceeds by default
    assert (
        set(OutboxEvent.objects.filter(status=EventStatus.DELIVERED).values_list("pk", flat=True))
        == delivered
    )
    # The rest of the batch went out although a batch-mate was rejected.
    feed = {a["foreign_id"] for a in user_feed_activities("user:1")}
    assert feed == {e.ordering_key for e in fine} | {"k"}
    metrics = relay.get("/metrics")[1]
    assert 'feed_outbox_relay_events_total{kind="add",outcome="dead"} 2' in metrics
    assert relay.get("/readyz")[0] == 200  # a poison event is not a configuration problem


def test_a_wrong_secret_pauses_the_relay_unready_and_dead_letters_nothing(
    start_relay, stream_emulator
):
    TweetFactory.create_batch(3)
    wrong = "wrong-secret-5d1e"
    relay = start_relay(
        "--poll-interval", "0.2", "--metrics-port", "0",
        env={"FEED_OUTBOX_TEST_STREAM_API_SECRET": wrong},
    )  # fmt: skip

    relay.wait_for_log("configuration error")
    status, body = wait_for(lambda: (r := relay.get("/readyz"))[0] == 503 and r)
    assert "paused by a configuration error" in body
    assert relay.get("/healthz")[0] == 200  # alive: restarting it would not help
    assert "feed_outbox_relay_paused 1" in relay.get("/metrics")[1]
    assert not OutboxEvent.objects.exclude(status=EventStatus.PENDING).exists()
    relay.signal(signal.SIGTERM)
    assert relay.wait() == 0
    # Read once the relay has stopped: a paused relay's probe holds one event, counted as an
    # attempt while its request is in flight, and refunds it when the answer is the same
    # configuration error (CI once read the table mid-probe and saw attempts == 1).
    assert set(OutboxEvent.objects.values_list("attempts", flat=True)) == {0}
    assert wrong not in relay.output()
    assert stream_emulator.stats()["requests"]  # it did try
