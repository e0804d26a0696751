"""The claim across ordering keys: follows and the activities of the feeds they follow wait for
each other in id order; other keys never wait. On PostgreSQL (the SQL) and on SQLite's rule."""

import pytest

from feed_outbox.models import OutboxEvent
from feed_outbox.write.causality import blocked_across_keys, lock_plan
from feed_outbox.write.outbox import follow_event
from relay import queries
from tests.factories import OutboxEventFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def follow(source, target, kind="follow", **options):
    event = follow_event(source, target, kind, **options)
    event.save()
    return event


def add(feed, to=(), kind="add"):
    event = OutboxEventFactory(kind=kind, feed=feed)
    if to:
        event.payload["to"] = list(to)
        event.save()
    return event


def claimed(limit=100):
    return [e.id for e in queries.claim_batch("relay-a", limit, 30.0).events]


def portable_blocked():
    rows = list(OutboxEvent.objects.filter(status="pending"))
    return blocked_across_keys(rows, rows)


def test_an_activity_waits_for_an_older_follow_of_its_feed():
    followed = follow("timeline:1", "user:2")
    tweet = add("user:2")
    elsewhere = add("user:3")

    assert claimed() == [followed.id, elsewhere.id]
    assert portable_blocked() == {tweet.id}


def test_a_follow_waits_for_older_activities_of_the_feed_it_follows():
    tweet = add("user:2")
    followed = follow("timeline:1", "user:2", activity_copy_limit=0)
    other_follow = follow("timeline:1", "user:3")

    assert claimed() == [tweet.id, other_follow.id]
    assert portable_blocked() == {followed.id}


def test_an_unfollow_keeping_history_waits_for_older_activities_of_its_feed():
    tweet = add("user:2")
    unfollow = follow("timeline:1", "user:2", kind="unfollow", keep_history=True)

    assert claimed() == [tweet.id]
    assert portable_blocked() == {unfollow.id}


def test_to_targets_count_as_feeds_the_activity_is_added_to():
    topic_follow = follow("timeline:1", "topic:7")
    copied_to_topic = add("user:2", to=["topic:7", "notification:5"])
    notified = add("user:3", to=["notification:5"])

    assert claimed() == [topic_follow.id, notified.id]
    assert portable_blocked() == {copied_to_topic.id}


def test_a_follow_waits_for_an_older_activity_copied_to_its_feed_by_to():
    copied_to_topic = add("user:2", to=["topic:7"])
    topic_follow = follow("timeline:1", "topic:7")

    assert claimed() == [copied_to_topic.id]
    assert portable_blocked() == {topic_follow.id}


def test_removes_wait_for_older_follows_and_follows_for_older_removes():
    followed = follow("timeline:1", "user:2")
    remove = add("user:2", kind="remove")
    removed_before = add("user:4", kind="remove")
    follow_after = follow("timeline:1", "user:4")

    assert claimed() == [followed.id, removed_before.id]
    assert portable_blocked() == {remove.id, follow_after.id}


def test_a_delivered_follow_no_longer_holds_its_feeds_activities():
    followed = follow("timeline:1", "user:2")
    tweet = add("user:2")
    lease = queries.claim_batch("relay-a", 100, 30.0)
    assert [e.id for e in lease.events] == [followed.id]

    queries.mark_delivered(lease, [followed.id])
    assert claimed() == [tweet.id]


def test_a_leased_follow_holds_its_feeds_activities_until_settled_or_expired():
    follow("timeline:1", "user:2")
    add("user:2")
    queries.claim_batch("relay-a", 100, 30.0)  # a relay holds the follow (and may die with it)

    assert claimed() == []


def test_activities_of_one_feed_never_wait_for_each_other():
    tweets = [add("user:2") for _ in range(5)]

    assert claimed() == [t.id for t in tweets]


def test_lock_plan_is_sorted_and_a_followed_feed_is_locked_exclusively():
    events = [
        OutboxEvent(kind="add", feed="user:2", payload={"to": ["notification:9"]}),
        OutboxEvent(kind="follow", feed="timeline:1", payload={"target": "user:2"}),
        OutboxEvent(kind="remove", feed="user:0", payload={"foreign_id": "x"}),
    ]

    assert lock_plan(events) == [("notification:9", False), ("user:0", False), ("user:2", True)]


def test_relays_with_skewed_clocks_share_the_databases_clock(monkeypatch):
    # One clock: a relay whose host clock runs an hour ahead must not take a lease
    # that is live by the database's clock, and its backoffs are counted on that clock too.
    import datetime

    from django.utils import timezone

    events = [add("user:2"), add("user:3")]
    live = queries.claim_batch("relay-a", 1, 30.0)
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: real_now() + datetime.timedelta(hours=1))

    ahead = queries.claim_batch("relay-ahead", 100, 30.0)
    assert [e.id for e in ahead.events] == [events[1].id]
    assert ahead.expires_at < real_now() + datetime.timedelta(seconds=60)

    queries.mark_retry(ahead, [queries.Failed(events[1].id, "HTTP 500", delay_seconds=5)])
    row = OutboxEvent.objects.get(pk=events[1].pk)
    assert row.available_at < real_now() + datetime.timedelta(seconds=60)
    assert live.events[0].id == events[0].id


@pytest.mark.parametrize("block_on_dead", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_the_sql_claim_rule_and_the_portable_one_agree_on_a_random_outbox(seed, block_on_dead):
    # The claimable rule exists twice: CLAIMABLE (SQL, PostgreSQL) and claimable() plus
    # blocked_across_keys (the portable claim, SQLite). Both must pick the same events.
    import datetime
    import random

    from django.db import connection
    from django.test import override_settings
    from django.utils import timezone

    rng = random.Random(seed)
    feeds = [f"user:{n}" for n in range(1, 5)] + ["timeline:1", "timeline:2"]
    hour = datetime.timedelta(hours=1)
    now = timezone.now()
    for _ in range(120):
        kind = rng.choice(["add", "add", "update", "remove", "follow", "unfollow"])
        status = rng.choice(["pending"] * 4 + ["delivered", "dead"])
        fields = {
            "status": status,
            "api": rng.choice(["v2"] * 5 + ["v3"]),
            "available_at": rng.choice([None, None, now - hour, now + hour]),
            "lease_expires_at": rng.choice([None, None, None, now - hour, now + hour]),
        }
        if kind in ("follow", "unfollow"):
            source, target = rng.sample(feeds, 2)
            event = follow(source, target, kind)
            OutboxEvent.objects.filter(id=event.id).update(**fields)
        else:
            event = OutboxEventFactory(
                kind=kind,
                feed=rng.choice(feeds),
                ordering_key=f"tests.Item:{rng.randint(1, 25)}",
                **fields,
            )
            if rng.random() < 0.3 and kind != "remove":
                event.payload["to"] = rng.sample(feeds, rng.randint(1, 2))
                event.save()

    sql = queries.CLAIMABLE + (queries.BLOCKED_BY_DEAD if block_on_dead else "")
    with override_settings(FEED_OUTBOX_BLOCK_KEY_ON_DEAD=block_on_dead):
        for api in ("v2", "v3"):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT e.id FROM {queries.TABLE} e WHERE {sql.replace('{table}', queries.TABLE)}",
                    {"api": api},
                )
                by_sql = {row[0] for row in cursor.fetchall()}
            rows = list(queries.claimable("default", timezone.now(), api))
            older = OutboxEvent.objects.filter(status="pending", api=api)
            portable = {row.id for row in rows} - blocked_across_keys(rows, older)

            assert by_sql == portable, api
