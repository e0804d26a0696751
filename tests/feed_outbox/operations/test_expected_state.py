"""ExpectedState: what each feed should hold, spooled from real rows, outbox events and follows."""

import pytest
from django.db.models import Max

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.operations.current_state import activity_feed_ids
from feed_outbox.operations.expected_state import FOLLOW, OWN, TO, ExpectedState
from feed_outbox.operations.follow_state import follow_states
from feed_outbox.write.outbox import activity_payload
from tests.factories import LikeFactory, TweetFactory, UserFactory

pytestmark = pytest.mark.django_db


def spooled(*instances, list_feeds=True) -> ExpectedState:
    """A sealed spool of the instances' activities, their keys' newest adds and every follow."""
    spool = ExpectedState()
    for instance in instances:
        spool.add_activity(activity_payload(instance), activity_feed_ids(instance))
    adds = OutboxEvent.objects.filter(kind=EventKind.ADD).values("ordering_key")
    for key, newest in adds.annotate(newest=Max("id")).values_list("ordering_key", "newest"):
        spool.add_newest_add(key, newest)
    for state in follow_states("default"):
        spool.add_follow(state)
    spool.seal(list_feeds=list_feeds)
    return spool


def test_an_activity_is_required_in_its_own_feed_and_its_to_targets():
    like = LikeFactory()
    key = like.activity_foreign_id
    with spooled(like) as spool:
        own = spool.expect(f"user:{like.user_id}").activities[key]
        notified = spool.expect(f"notification:{like.tweet.user_id}").activities[key]
        assert sorted(spool.feeds()) == [
            f"notification:{like.tweet.user_id}",
            f"user:{like.user_id}",
        ]

    assert own.required and own.routes == {OWN} and own.payload == activity_payload(like)
    assert notified.required and notified.routes == {TO}


def test_a_follower_requires_what_came_after_the_follow_and_allows_what_came_before():
    reader, author = UserFactory(), UserFactory()
    before = TweetFactory(user=author)
    feed_manager.follow_feed(f"timeline:{reader.pk}", f"user:{author.pk}")
    OutboxEvent.objects.update(status=EventStatus.DELIVERED)
    after = TweetFactory(user=author)

    with spooled(before, after) as spool:
        expected = spool.expect(f"timeline:{reader.pk}")

    copies = expected.activities
    assert not copies[before.activity_foreign_id].required
    assert copies[after.activity_foreign_id].required
    assert copies[after.activity_foreign_id].routes == {FOLLOW}
    assert copies[after.activity_foreign_id].origins == {f"user:{author.pk}"}
    assert [s.target for s in expected.follows] == [f"user:{author.pk}"]
    assert expected.pending_origins == set()


def test_a_pending_follow_leaves_its_target_unjudged():
    reader, author = UserFactory(), UserFactory()
    feed_manager.follow_feed(f"timeline:{reader.pk}", f"user:{author.pk}")
    tweet = TweetFactory(user=author)

    with spooled(tweet) as spool:
        expected = spool.expect(f"timeline:{reader.pk}")

    assert expected.activities == {}
    assert expected.pending_origins == {f"user:{author.pk}"}


@pytest.mark.parametrize("keep_history", [True, False])
def test_an_unfollow_allows_the_earlier_copies_only_with_keep_history(keep_history):
    reader, author = UserFactory(), UserFactory()
    source, target = f"timeline:{reader.pk}", f"user:{author.pk}"
    feed_manager.follow_feed(source, target)
    tweet = TweetFactory(user=author)
    feed_manager.unfollow_feed(source, target, keep_history=keep_history)
    later = TweetFactory(user=author)
    OutboxEvent.objects.update(status=EventStatus.DELIVERED)

    with spooled(tweet, later) as spool:
        copies = spool.expect(source).activities

    if keep_history:
        assert list(copies) == [tweet.activity_foreign_id]
        assert not copies[tweet.activity_foreign_id].required
    else:
        assert copies == {}


def test_sealed_without_listing_it_reads_only_the_feeds_added():
    tweet = TweetFactory()
    with spooled(tweet, list_feeds=False) as spool:
        spool.add_feeds(["user:elsewhere"])
        assert list(spool.feeds()) == ["user:elsewhere"]
        assert spool.feed_count() == 1
        assert spool.expect(f"user:{tweet.user_id}").activities  # still expected when read
        assert spool.peak_held == 1
