"""Every model change becomes the right outbox event, and after a drain the feed shows the truth."""

import datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.write.outbox import RECONCILE_KEY
from sample_app.models import Tweet
from tests.factories import PostFactory, TweetFactory, UserFactory
from tests.write_app.models import Broadcast, Post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T0 = datetime.datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.UTC)


def kinds():
    return list(OutboxEvent.objects.order_by("id").values_list("kind", flat=True))


def foreign_ids(activities):
    return [a["foreign_id"] for a in activities]


class Boom(Exception):
    pass


def test_rolled_back_update_and_delete_leave_no_event():
    tweet = TweetFactory()
    for change in (lambda: tweet.save(), lambda: tweet.delete()):
        with pytest.raises(Boom), transaction.atomic():
            change()
            raise Boom
    assert kinds() == ["add"]


def test_update_keeps_foreign_id_and_frozen_time_and_changes_fields(
    outbox_drain, user_feed_activities
):
    tweet = TweetFactory(text="first", created_at=T0)
    outbox_drain()
    (before,) = user_feed_activities(f"user:{tweet.user_id}")

    tweet.text = "edited"
    tweet.save()

    update = OutboxEvent.objects.get(kind=EventKind.UPDATE)
    add = OutboxEvent.objects.get(kind=EventKind.ADD)
    assert update.ordering_key == add.ordering_key == f"sample_app.Tweet:{tweet.pk}"
    assert update.payload["time"] == add.payload["time"] == "2026-05-06T07:08:09.123456"
    assert update.payload["text"] == "edited"
    outbox_drain()
    (after,) = user_feed_activities(f"user:{tweet.user_id}")
    assert after["id"] == before["id"]
    assert after["text"] == "edited"
    assert after["time"] == T0


def test_update_of_a_loaded_instance_reads_no_actor_row():
    tweet = TweetFactory()
    loaded = Tweet.objects.get(pk=tweet.pk)
    loaded.text = "no extra select"
    with CaptureQueriesContext(connection) as queries:
        loaded.save()
    # The actor comes from user_id: UPDATE the tweet, INSERT its event, nothing read.
    verbs = [q["sql"].split()[0] for q in queries.captured_queries]
    assert [v for v in verbs if v not in ("BEGIN", "COMMIT")] == ["UPDATE", "INSERT"]
    assert kinds() == ["add", "update"]


def test_create_adds_one_outbox_insert_and_reads_nothing():
    author = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        Tweet.objects.create(user=author, text="lean")
    verbs = [q["sql"].split()[0] for q in queries.captured_queries]
    assert [v for v in verbs if v not in ("BEGIN", "COMMIT")] == ["INSERT", "INSERT"]


def test_delete_removes_by_foreign_id_from_every_feed(outbox_drain, user_feed_activities):
    author = UserFactory()
    broadcast = Broadcast.objects.create(user=author, topic="news")
    outbox_drain()
    assert len(user_feed_activities("topic:news")) == 1
    assert len(user_feed_activities(f"user:{author.pk}")) == 1

    foreign_id = f"write_app.Broadcast:{broadcast.pk}"
    broadcast.delete()

    removes = OutboxEvent.objects.filter(kind=EventKind.REMOVE)
    assert sorted(removes.values_list("feed", flat=True)) == ["topic:news", f"user:{author.pk}"]
    assert {e.payload["foreign_id"] for e in removes} == {foreign_id}
    outbox_drain()
    assert user_feed_activities("topic:news") == []
    assert user_feed_activities(f"user:{author.pk}") == []


def test_soft_delete_removes_and_undelete_adds_back_with_the_original_time(
    outbox_drain, user_feed_activities
):
    post = PostFactory(created_at=T0)
    feed = f"user:{post.user_id}"
    outbox_drain()

    post.deleted = True
    post.save()
    assert kinds() == ["add", "remove"]
    outbox_drain()
    assert user_feed_activities(feed) == []

    post.deleted = False
    post.save()
    assert kinds() == ["add", "remove", "add"]
    outbox_drain()
    (activity,) = user_feed_activities(feed)
    assert activity["time"] == T0


def test_soft_delete_also_takes_the_copy_out_of_the_notified_feed(
    outbox_drain, user_feed_activities
):
    reader = UserFactory()
    post = PostFactory(mentions=str(reader.pk))
    outbox_drain()
    assert len(user_feed_activities(f"notification:{reader.pk}")) == 1

    post.deleted = True
    post.save()
    outbox_drain()
    assert user_feed_activities(f"notification:{reader.pk}") == []


def test_saving_a_soft_deleted_row_again_publishes_nothing():
    post = PostFactory(deleted=True)
    assert kinds() == []
    loaded = Post.objects.get(pk=post.pk)
    loaded.text = "still hidden"
    loaded.save()
    post.save()
    assert kinds() == []


def test_a_loaded_soft_deleted_row_made_visible_is_added(outbox_drain, user_feed_activities):
    post = PostFactory(deleted=True)
    loaded = Post.objects.get(pk=post.pk)
    loaded.deleted = False
    loaded.save()
    assert kinds() == ["add"]
    outbox_drain()
    assert foreign_ids(user_feed_activities(f"user:{post.user_id}")) == [
        f"write_app.Post:{post.pk}"
    ]


def test_queryset_delete_removes_only_what_was_published(outbox_drain, user_feed_activities):
    author = UserFactory()
    visible = PostFactory.create_batch(2, user=author)
    PostFactory(user=author, deleted=True)
    outbox_drain()

    Post.objects.filter(user=author).delete()

    removes = OutboxEvent.objects.filter(kind=EventKind.REMOVE)
    assert sorted(removes.values_list("ordering_key", flat=True)) == sorted(
        f"write_app.Post:{p.pk}" for p in visible
    )
    outbox_drain()
    assert user_feed_activities(f"user:{author.pk}") == []


def test_a_rolled_back_soft_delete_does_not_make_the_next_one_silent(outbox_drain):
    post = PostFactory()
    post.deleted = True
    with pytest.raises(Boom), transaction.atomic():
        post.save()
        raise Boom
    post.save()  # the row is still visible in the database: this save must remove it
    assert kinds() == ["add", "remove"]


def test_an_update_that_changes_the_to_targets_says_what_they_were():
    reader, other = UserFactory(), UserFactory()
    post = PostFactory(mentions=str(reader.pk))
    assert OutboxEvent.objects.get().payload["to"] == [f"notification:{reader.pk}"]

    post.mentions = str(other.pk)
    post.save()

    update = OutboxEvent.objects.get(kind=EventKind.UPDATE)
    assert update.payload["to"] == [f"notification:{other.pk}"]
    assert update.payload[RECONCILE_KEY] == {"previous_to": [f"notification:{reader.pk}"]}


def test_an_update_with_the_same_targets_needs_no_reconciliation():
    reader = UserFactory()
    post = PostFactory(mentions=str(reader.pk))
    post.text = "same audience"
    post.save()
    update = OutboxEvent.objects.get(kind=EventKind.UPDATE)
    assert update.payload["to"] == [f"notification:{reader.pk}"]
    assert RECONCILE_KEY not in update.payload


def test_an_update_of_a_loaded_row_cannot_know_the_old_targets():
    post = PostFactory(mentions=str(UserFactory().pk))
    fresh = Post.objects.get(pk=post.pk)
    fresh.text = "unknown history"
    fresh.save()
    last = OutboxEvent.objects.latest("id")
    assert last.payload[RECONCILE_KEY] == {"previous_to": None}  # relay: set the targets


def test_a_model_without_to_targets_never_needs_reconciliation():
    tweet = TweetFactory()
    Tweet.objects.get(pk=tweet.pk).save()
    update = OutboxEvent.objects.get(kind=EventKind.UPDATE)
    assert "to" not in update.payload
    assert RECONCILE_KEY not in update.payload


def test_update_moves_the_notification_to_the_new_mention(outbox_drain, user_feed_activities):
    reader, other = UserFactory(), UserFactory()
    post = PostFactory(mentions=str(reader.pk))
    outbox_drain()
    assert len(user_feed_activities(f"notification:{reader.pk}")) == 1

    post.mentions = str(other.pk)
    post.save()
    outbox_drain()

    assert user_feed_activities(f"notification:{reader.pk}") == []
    assert len(user_feed_activities(f"notification:{other.pk}")) == 1


def test_every_row_carries_what_the_relay_needs():
    before = datetime.datetime.now(datetime.UTC)
    tweet = TweetFactory(created_at=T0)
    event = OutboxEvent.objects.get()
    assert (event.kind, event.feed, event.ordering_key, event.aggregate_type) == (
        "add",
        f"user:{tweet.user_id}",
        f"sample_app.Tweet:{tweet.pk}",
        "sample_app.Tweet",
    )
    assert event.payload == {
        "actor": f"auth.User:{tweet.user_id}",
        "verb": "tweet",
        "object": f"sample_app.Tweet:{tweet.pk}",
        "foreign_id": f"sample_app.Tweet:{tweet.pk}",
        "time": "2026-05-06T07:08:09.123456",
        "text": tweet.text,
    }
    assert event.created_at >= before
