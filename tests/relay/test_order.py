"""Per-key order across three relay processes: add → update → remove of the same objects."""

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from sample_app.models import Tweet
from tests.factories import TweetFactory, UserFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def all_settled():
    return not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists()


@pytest.mark.slow
def test_three_relays_apply_each_objects_events_in_commit_order(
    start_relay, stream_emulator, user_feed_activities
):
    # Requests take 5-15 ms and some answer 500: retries and parallel workers interleave.
    stream_emulator.set_faults(latency_ms=10, latency_jitter_ms=10, error_rate=0.1)
    args = ("--poll-interval", "0.2", "--concurrency", "4", "--batch-size", "3")
    args += ("--retry-backoff", "0.05")
    relays = [start_relay(*args) for _ in range(3)]
    # All three are listening before the first write, so none drains it all alone at start-up.
    for relay in relays:
        wait_for(lambda r=relay: "started (batch size" in r.output(), what="a relay to start")
    users = UserFactory.create_batch(3)
    tweets = [TweetFactory(user=users[i % 3], text="v0") for i in range(30)]
    for round_ in (1, 2):
        for tweet in tweets:
            tweet.text = f"v{round_}"
            tweet.save()
    removed_keys = [f"sample_app.Tweet:{t.pk}" for t in tweets[::3]]
    for tweet in tweets[::3]:
        tweet.delete()
    for tweet in tweets[1::3]:
        tweet.text = "final"
        tweet.save()

    wait_for(all_settled, timeout=90, interval=0.2)
    stream_emulator.set_faults(latency_ms=0, latency_jitter_ms=0, error_rate=0)  # for reads

    assert not OutboxEvent.objects.filter(status=EventStatus.DEAD).exists()
    working = [r for r in relays if "batch lease=" in r.output()]
    assert len(working) >= 2  # the processes really shared the keys
    truth = {f"sample_app.Tweet:{t.pk}": t.text for t in Tweet.objects.all()}
    seen = {}
    for user in users:
        for activity in user_feed_activities(f"user:{user.pk}"):
            assert activity["foreign_id"] not in seen, "an activity appears twice"
            seen[activity["foreign_id"]] = activity["text"]
    assert seen == truth  # removed ones absent, others carry their last committed text

    # The emulator applied each key's writes exactly in the order the outbox recorded them
    # (an injected 500 applies nothing, so every event is applied once).
    op = {"add": "add_activity", "update": "add_activity", "remove": "remove_activity"}
    log = stream_emulator.request_log()
    for key in {e.ordering_key for e in OutboxEvent.objects.all()}:
        expected = [
            op[k]
            for k in OutboxEvent.objects.filter(ordering_key=key).values_list("kind", flat=True)
        ]
        applied = [r["op"] for r in log if r["foreign_id"] == key]
        assert applied == expected, key
    assert any(removed_key in seen for removed_key in removed_keys) is False
