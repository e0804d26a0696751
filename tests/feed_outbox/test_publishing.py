"""Bulk writes send no signals: the publishing API writes their events, one INSERT, same transaction."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.publishing import batch, publish
from feed_outbox.tracking import tracking_disabled
from sample_app.models import Tweet
from tests.factories import PostFactory, UserFactory
from tests.write_app.models import Post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INSERT_OUTBOX = 'INSERT INTO "feed_outbox_outboxevent"'


def outbox_inserts(queries):
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith(INSERT_OUTBOX)]


def by_key():
    return {e.ordering_key: e.kind for e in OutboxEvent.objects.all()}


class Boom(Exception):
    pass


def test_bulk_create_publishes_every_row_with_one_outbox_insert(outbox_drain, user_feed_activities):
    author = UserFactory()
    with CaptureQueriesContext(connection) as queries:
        posts = Post.objects.bulk_create(Post(user=author, text=f"p{n}") for n in range(5))
    assert len(outbox_inserts(queries)) == 1
    assert by_key() == {f"write_app.Post:{p.pk}": "add" for p in posts}
    outbox_drain()
    assert len(user_feed_activities(f"user:{author.pk}")) == 5


def test_bulk_create_skips_hidden_rows():
    author = UserFactory()
    visible, hidden = Post.objects.bulk_create(
        [Post(user=author, text="shown"), Post(user=author, deleted=True)]
    )
    assert by_key() == {f"write_app.Post:{visible.pk}": "add"}


def test_a_failed_bulk_create_leaves_neither_rows_nor_events():
    author = UserFactory()
    with pytest.raises(Boom), transaction.atomic():
        Post.objects.bulk_create([Post(user=author), Post(user=author)])
        raise Boom
    assert not Post.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_queryset_update_publishes_updates_and_removes_what_it_hid(
    outbox_drain, user_feed_activities
):
    author = UserFactory()
    keep, hide = PostFactory.create_batch(2, user=author)
    outbox_drain()
    OutboxEvent.objects.all().delete()

    assert Post.objects.filter(pk=keep.pk).update(text="renamed") == 1
    assert Post.objects.filter(pk=hide.pk, deleted=False).update(deleted=True) == 1

    assert by_key() == {
        f"write_app.Post:{keep.pk}": "update",
        f"write_app.Post:{hide.pk}": "remove",
    }
    outbox_drain()
    (activity,) = user_feed_activities(f"user:{author.pk}")
    assert (activity["foreign_id"], activity["text"]) == (f"write_app.Post:{keep.pk}", "renamed")


def test_bulk_update_publishes_each_row_once():
    posts = PostFactory.create_batch(3)
    for post in posts:
        post.text = "bulk"
    OutboxEvent.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        Post.objects.bulk_update(posts, ["text"])
    assert len(outbox_inserts(queries)) == 1
    updates = OutboxEvent.objects.filter(kind=EventKind.UPDATE)
    assert sorted(e.payload["text"] for e in updates) == ["bulk"] * 3


def test_queryset_delete_writes_its_removes_in_one_insert():
    author = UserFactory()
    PostFactory.create_batch(4, user=author)
    OutboxEvent.objects.all().delete()
    with CaptureQueriesContext(connection) as queries:
        Post.objects.filter(user=author).delete()
    assert len(outbox_inserts(queries)) == 1
    assert OutboxEvent.objects.filter(kind=EventKind.REMOVE).count() == 4


def test_publish_function_backfills_rows_written_without_signals(
    outbox_drain, user_feed_activities
):
    author = UserFactory()
    # A plain manager's bulk_create sends no signal: nothing is published...
    Tweet.objects.bulk_create([Tweet(user=author, text=f"t{n}") for n in range(3)])
    assert not OutboxEvent.objects.exists()
    # ...until the rows are published explicitly, in the caller's transaction.
    with transaction.atomic():
        events = publish(Tweet.objects.filter(user=author))
    assert [e.kind for e in events] == ["add"] * 3
    outbox_drain()
    assert len(user_feed_activities(f"user:{author.pk}")) == 3


def test_publish_honours_tracking_switches():
    post = PostFactory()
    OutboxEvent.objects.all().delete()
    with tracking_disabled(Post):
        assert publish([post], "update") == []
        Post.objects.filter(pk=post.pk).update(text="quiet")
    assert not OutboxEvent.objects.exists()


def test_queryset_publish_republishes_matched_rows():
    PostFactory.create_batch(3)
    OutboxEvent.objects.all().delete()
    Post.objects.all().publish("update")
    assert OutboxEvent.objects.filter(kind=EventKind.UPDATE).count() == 3


def test_publish_rejects_unsaved_instances_and_unknown_kinds():
    with pytest.raises(ValueError, match="primary key"):
        publish([Post(user=UserFactory())])
    with pytest.raises(ValueError):
        publish([PostFactory()], "upsert")


def test_batch_writes_the_events_of_many_saves_in_one_insert():
    author = UserFactory()
    with CaptureQueriesContext(connection) as queries, batch():
        for n in range(4):
            Tweet.objects.create(user=author, text=f"batched {n}")
        assert not OutboxEvent.objects.exists()  # written when the block ends
    assert len(outbox_inserts(queries)) == 1
    assert OutboxEvent.objects.count() == 4


def test_a_failing_batch_rolls_back_rows_and_events():
    author = UserFactory()
    with pytest.raises(Boom), batch():
        Tweet.objects.create(user=author, text="never")
        raise Boom
    assert not Tweet.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_a_bulk_write_larger_than_one_insert_publishes_every_row(monkeypatch):
    from feed_outbox.write import outbox

    monkeypatch.setattr(outbox, "MAX_ROWS_PER_INSERT", 3)
    author = UserFactory()
    posts = Post.objects.bulk_create(Post(user=author, text=f"p{n}") for n in range(7))
    events = OutboxEvent.objects.order_by("id")
    assert [e.ordering_key for e in events] == [f"write_app.Post:{p.pk}" for p in posts]
