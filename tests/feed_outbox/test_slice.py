"""The vertical slice: a save becomes an outbox row in its transaction, and a drain puts it in the feed."""

import datetime

import pytest
from django.db import transaction

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from sample_app.models import Follow, Tweet
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


class Boom(Exception):
    pass


def test_rolled_back_tweet_leaves_no_outbox_row_and_no_feed_entry(
    outbox_drain, user_feed_activities
):
    author = UserFactory()
    with pytest.raises(Boom), transaction.atomic():
        Tweet.objects.create(user=author, text="never happened")
        assert OutboxEvent.objects.count() == 1  # visible inside the transaction
        raise Boom

    assert not Tweet.objects.exists()
    assert not OutboxEvent.objects.exists()
    outbox_drain()
    assert user_feed_activities(f"user:{author.pk}") == []


def test_committed_tweet_reaches_the_author_feed_with_frozen_time(
    outbox_drain, user_feed_activities
):
    created_at = datetime.datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=datetime.UTC)
    tweet = TweetFactory(created_at=created_at, text="hello")
    event = OutboxEvent.objects.get()
    assert event.kind == EventKind.ADD
    assert event.feed == f"user:{tweet.user_id}"
    assert event.payload["time"] == "2026-03-04T05:06:07.891011"

    stats = outbox_drain()

    assert stats.delivered == 1
    (activity,) = user_feed_activities(f"user:{tweet.user_id}")
    assert activity["actor"] == f"auth.User:{tweet.user_id}"
    assert activity["verb"] == "tweet"
    assert activity["object"] == f"sample_app.Tweet:{tweet.pk}"
    assert activity["foreign_id"] == f"sample_app.Tweet:{tweet.pk}"
    assert activity["time"] == created_at
    assert activity["text"] == "hello"
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED
    assert event.delivered_at is not None


def test_a_save_outside_any_transaction_is_still_atomic_with_its_outbox_row(monkeypatch):
    from feed_outbox.write import outbox

    author = UserFactory()

    def fail(*args, **kwargs):
        raise Boom("outbox write failed")

    monkeypatch.setattr(outbox, "enqueue", fail)
    with pytest.raises(Boom):
        Tweet.objects.create(user=author, text="autocommit")
    assert not Tweet.objects.exists()


def test_draining_twice_or_delivering_twice_leaves_one_activity(outbox_drain, user_feed_activities):
    tweet = TweetFactory()
    outbox_drain()
    assert outbox_drain().delivered == 0

    # Deliver the same row again, as a relay that died before marking it would.
    OutboxEvent.objects.update(status=EventStatus.PENDING, delivered_at=None)
    assert outbox_drain().delivered == 1

    activities = user_feed_activities(f"user:{tweet.user_id}")
    assert [a["foreign_id"] for a in activities] == [f"sample_app.Tweet:{tweet.pk}"]


def test_follow_user_puts_the_targets_tweets_in_the_followers_timeline(
    outbox_drain, user_feed_activities
):
    reader, writer = UserFactory(), UserFactory()
    old = TweetFactory(user=writer, text="before the follow")
    Follow.objects.follow(reader, writer)
    assert OutboxEvent.objects.filter(kind=EventKind.FOLLOW).count() == len(feed_manager.news_feeds)
    outbox_drain()
    new = TweetFactory(user=writer, text="after the follow")
    outbox_drain()

    timeline = user_feed_activities(f"timeline:{reader.pk}")
    assert [a["foreign_id"] for a in timeline] == [
        f"sample_app.Tweet:{new.pk}",
        f"sample_app.Tweet:{old.pk}",
    ]


def test_unfollow_user_removes_the_targets_tweets_from_the_timeline(
    outbox_drain, user_feed_activities
):
    reader, writer = UserFactory(), UserFactory()
    TweetFactory(user=writer)
    Follow.objects.follow(reader, writer)
    outbox_drain()
    assert user_feed_activities(f"timeline:{reader.pk}")

    Follow.objects.unfollow(reader, writer)
    outbox_drain()
    assert user_feed_activities(f"timeline:{reader.pk}") == []


def test_deleting_a_tweet_removes_it_from_the_feed(outbox_drain, user_feed_activities):
    tweet = TweetFactory()
    outbox_drain()
    author_id = tweet.user_id
    tweet.delete()
    assert OutboxEvent.objects.filter(kind=EventKind.REMOVE).count() == 1
    outbox_drain()
    assert user_feed_activities(f"user:{author_id}") == []
