"""Multiple databases: an event is written to the database its instance was saved to, in its transaction."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import OutboxEvent
from feed_outbox.publishing import publish
from sample_app.models import Tweet
from tests.write_app.models import Post

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "other"]),
]


class Boom(Exception):
    pass


def other_user(name="other-author"):
    return get_user_model().objects.db_manager("other").create(username=name)


def rows(alias):
    return list(OutboxEvent.objects.using(alias).values_list("kind", "ordering_key"))


def test_a_save_on_another_database_writes_its_event_there(outbox_drain, user_feed_activities):
    author = other_user()
    tweet = Tweet.objects.using("other").create(user=author, text="elsewhere")
    assert rows("other") == [("add", f"sample_app.Tweet:{tweet.pk}")]
    assert rows("default") == []

    tweet.text = "edited elsewhere"
    tweet.save()  # saved where it was loaded from
    tweet.delete()
    assert [kind for kind, _ in rows("other")] == ["add", "update", "remove"]
    assert rows("default") == []

    outbox_drain(using="other")
    assert user_feed_activities(f"user:{author.pk}") == []


def test_a_rollback_on_the_other_database_leaves_nothing_there():
    author = other_user()
    with pytest.raises(Boom), transaction.atomic(using="other"):
        Tweet.objects.using("other").create(user=author, text="never")
        raise Boom
    assert not Tweet.objects.using("other").exists()
    assert rows("other") == []


def test_the_event_commits_with_the_other_databases_transaction_not_defaults():
    author = other_user()
    # A transaction on default does not cover the other database: the save there is atomic
    # on its own and its event is committed with it, even when default rolls back.
    with pytest.raises(Boom), transaction.atomic(using="default"):
        Tweet.objects.using("other").create(user=author, text="committed on other")
        raise Boom
    assert Tweet.objects.using("other").count() == 1
    assert len(rows("other")) == 1


def test_follows_and_bulk_publishing_take_a_database():
    author = other_user()
    feed_manager.follow_user(1, author.pk, using="other")
    posts = Post.objects.using("other").bulk_create([Post(user=author), Post(user=author)])
    publish(posts, "update")
    kinds = [kind for kind, _ in rows("other")]
    assert kinds.count("follow") == len(feed_manager.news_feeds)
    assert kinds.count("add") == 2 and kinds.count("update") == 2
    assert rows("default") == []
