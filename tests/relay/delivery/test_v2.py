"""The v2 delivery's plan: what Stream lets us batch goes in one request, without reordering a
key, and the drain estimate counts the same requests; then its batch endpoints end to end."""

import datetime

import pytest
from stream import exceptions as stream_exceptions

from feed_outbox.client import get_client
from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.write.outbox import RECONCILE_KEY
from relay.delivery.v2 import V2Delivery, plan_calls
from relay.events import Event
from tests.factories import OutboxEventFactory, UserFactory


def event(id_, kind="add", feed="user:1", **payload):
    return Event(id_, kind, feed, f"key{id_}", payload or {"foreign_id": f"key{id_}"}, 1)


def test_adds_and_updates_of_one_feed_share_an_add_activities_call_of_at_most_100():
    events = [event(i, "add" if i % 2 else "update") for i in range(150)] + [
        event(999, feed="user:2")
    ]

    calls = plan_calls(events)

    assert [(c.endpoint, len(c.events)) for c in calls] == [
        ("add_activities", 100),
        ("add_activities", 50),
        ("add_activities", 1),
    ]
    assert [e.id for e in calls[0].events] == list(range(100))  # id order kept


def test_follows_share_follow_many_per_copy_limit_unfollows_share_unfollow_many():
    events = [
        event(1, "follow", "timeline:1", target="user:2"),
        event(2, "follow", "timeline:3", target="user:2"),
        event(3, "follow", "timeline:4", target="user:2", activity_copy_limit=0),
        event(4, "unfollow", "timeline:5", target="user:2"),
        event(5, "unfollow", "timeline:6", target="user:2", keep_history=True),
    ]

    calls = plan_calls(events)

    assert [(c.endpoint, [e.id for e in c.events]) for c in calls] == [
        ("follow_many", [1, 2]),
        ("follow_many", [3]),
        ("unfollow_many", [4, 5]),
    ]


def test_removes_go_one_by_one():
    calls = plan_calls([event(1, "remove"), event(2, "remove")])

    assert [(c.endpoint, len(c.events)) for c in calls] == [("remove_activity", 1)] * 2
    assert {c.rate_class for c in calls} == {"remove"}


@pytest.mark.postgres
@pytest.mark.django_db
def test_follows_and_unfollows_reach_stream_through_the_batch_endpoints(
    outbox_drain, stream_emulator
):
    alice, bob, carol = UserFactory.create_batch(3)
    feed_manager.follow_user(alice.pk, bob.pk)
    feed_manager.follow_user(carol.pk, bob.pk)
    outbox_drain()
    feed_manager.unfollow_user(carol.pk, bob.pk)
    outbox_drain()

    assert not OutboxEvent.objects.exclude(status=EventStatus.DELIVERED).exists()
    requests = stream_emulator.stats()["requests"]
    assert requests.get("follow_many") and requests.get("unfollow_many")
    assert "follow" not in requests and "unfollow" not in requests
    following = get_client().feed("timeline", str(alice.pk)).following()["results"]
    assert [f["target_id"] for f in following] == [f"user:{bob.pk}"]
    assert get_client().feed("timeline", str(carol.pk)).following()["results"] == []


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_update_that_changes_to_targets_moves_the_copies_and_sends_no_instructions(
    outbox_drain, stream_emulator, user_feed_activities
):
    added = OutboxEventFactory(feed="user:1", ordering_key="tests.Item:1")
    added.payload["to"] = ["notification:9"]
    added.save()
    outbox_drain()
    assert len(user_feed_activities("notification:9")) == 1
    payload = {**added.payload, "to": ["notification:8"], "text": "edited"}
    payload[RECONCILE_KEY] = {"previous_to": ["notification:9"]}
    OutboxEventFactory(kind="update", feed="user:1", ordering_key="tests.Item:1", payload=payload)

    outbox_drain()

    assert not OutboxEvent.objects.exclude(status=EventStatus.DELIVERED).exists()
    assert user_feed_activities("notification:9") == []
    [group] = user_feed_activities("notification:8")  # a notification feed: groups
    [copy] = group["activities"]
    [original] = user_feed_activities("user:1")
    assert original["text"] == copy["text"] == "edited"
    assert RECONCILE_KEY not in original
    assert stream_emulator.stats()["requests"]["update_activity_to_targets"] == 1


def test_the_relays_clients_read_answers_without_decoding_datetimes_and_still_raise_errors(
    stream_emulator,
):
    feed = V2Delivery().build_client().feed("user", "1")
    time = "2026-12-01T10:00:00.000000"
    data = {"actor": "a:1", "verb": "tweet", "object": "o:1", "foreign_id": "o:1", "time": time}

    answer = feed.add_activity(data)

    assert isinstance(answer["time"], str)  # stream-python's own reading makes it a datetime
    [stored] = get_client().feed("user", "1").get()["results"]  # the app's client: unchanged
    assert isinstance(stored["time"], datetime.datetime)
    with pytest.raises(stream_exceptions.DoesNotExistException):
        feed.update_activity_to_targets("o:2", time, new_targets=["user:2"])


@pytest.mark.parametrize("seed", range(20))
def test_the_drain_estimate_counts_the_requests_the_relay_plans(seed):
    # Both read rate_limits.V2_REQUESTS; this holds plan_calls' refinements out of the count.
    import random
    from collections import Counter

    from feed_outbox.stream_api.rate_limits import requests_for

    rng = random.Random(seed)
    kinds = ["add", "update", "remove", "follow", "unfollow"]
    events = []
    for i in range(rng.randint(1, 300)):
        kind, feed = rng.choice(kinds), f"user:{rng.randint(1, 4)}"
        payload = {"foreign_id": f"key{i}", "target": f"user:{rng.randint(1, 4)}"}
        events.append(Event(i, kind, feed, f"key{i}", payload, 1))
    names = {
        "add_activities": "add_activities",
        "remove_activity": "remove",
        "follow_many": "follow",
        "unfollow_many": "unfollow",
    }
    planned = Counter(names[call.endpoint] for call in plan_calls(events))

    assert requests_for([(e.kind, e.feed) for e in events], batch_size=len(events)) == planned
