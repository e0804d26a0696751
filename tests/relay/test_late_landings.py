"""A request that timed out may still be applied by Stream afterwards (the emulator applies a
write whose latency outlasts the client's timeout). The next event of its key must not be sent
while that can happen, or a late add would land after the remove that follows it."""

import time

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from sample_app.models import Tweet
from tests.factories import UserFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

TIMEOUT = 0.3  # the client's
LATENCY = 0.8  # Stream's: every write lands 0.5 s after the client gave up on it


def relay_env(landing_seconds):
    return {
        "DJANGO_SETTINGS_MODULE": "tests.chaos.settings",
        "CHAOS_STREAM_TIMEOUT": str(TIMEOUT),
        "CHAOS_LANDING_SECONDS": str(landing_seconds),
        "CHAOS_LEASE_SECONDS": "8",
    }


def run_add_then_remove(start_relay, stream_emulator, landing_seconds, latency=LATENCY):
    """Ten tweets created and deleted; the relay starts while Stream answers ``latency`` s
    late, and Stream recovers after two seconds. Returns the emulator's log of applied writes."""
    user = UserFactory()
    keys = []
    for i in range(10):
        tweet = Tweet.objects.create(user=user, text=f"gone {i}")
        keys.append(f"sample_app.Tweet:{tweet.pk}")
        tweet.delete()
    stream_emulator.set_faults(latency_ms=latency * 1000)
    relay = start_relay(
        "--poll-interval", "0.05", "--retry-backoff", "0.05", env=relay_env(landing_seconds)
    )
    relay.wait_for_log("started")
    time.sleep(2.0)
    stream_emulator.set_faults(latency_ms=0)
    wait_for(
        lambda: not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists(),
        timeout=60,
        interval=0.1,
    )
    time.sleep(latency + 0.2)  # anything still in flight at Stream has landed now
    return user, keys, stream_emulator.request_log()


def test_a_late_add_never_lands_after_the_remove_that_follows_it(
    start_relay, stream_emulator, user_feed_activities
):
    user, keys, log = run_add_then_remove(start_relay, stream_emulator, landing_seconds=1.5)

    assert user_feed_activities(f"user:{user.pk}") == []
    for key in keys:
        applied = [row["op"] for row in log if row.get("foreign_id") == key]
        assert "add_activity" in applied  # timed-out adds did land, late
        assert applied[-1] == "remove_activity", (key, applied)
    late = [row for row in log if row["op"] == "add_activity" and row.get("foreign_id") in keys]
    assert len(late) > len(keys)  # the retries met late landings: the test saw the hazard


def test_without_the_landing_window_a_late_add_resurrects_a_removed_activity(
    start_relay, stream_emulator, user_feed_activities
):
    # The control: a landing window shorter than Stream's latency (only the client timeout)
    # lets a key's remove overtake its own late add, as the relay did before causal order across keys.
    # Adds land 3 s late here, not 0.8: a relay slowed by a busy host (CI's parallel workers)
    # still sends its add's retry and the remove before a timed-out add lands.
    user, keys, log = run_add_then_remove(
        start_relay, stream_emulator, landing_seconds=0, latency=3.0
    )

    resurrected = [a["foreign_id"] for a in user_feed_activities(f"user:{user.pk}")]
    assert resurrected, "no late add landed after its remove: this test shows nothing"
