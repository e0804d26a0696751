"""save_kind: what a save publishes, from what the instance last published (read when loaded)."""

import pytest

from feed_outbox.models import EventKind
from feed_outbox.write.lifecycle import save_kind
from sample_app.models import Tweet
from tests.factories import PostFactory, TweetFactory
from tests.write_app.models import Post

pytestmark = pytest.mark.django_db


def loaded(post: Post, **changes) -> Post:
    """The post read back from the database (so it knows what was published), then changed."""
    post = Post.objects.get(pk=post.pk)
    for name, value in changes.items():
        setattr(post, name, value)
    return post


def test_a_created_row_is_added_with_no_earlier_targets():
    assert save_kind(PostFactory.build(), created=True) == (EventKind.ADD, [])


def test_a_created_row_that_does_not_publish_writes_nothing():
    assert save_kind(PostFactory.build(deleted=True), created=True) == (None, None)


def test_a_published_row_saved_again_is_updated():
    assert save_kind(loaded(PostFactory(), text="edited"), created=False) == (
        EventKind.UPDATE,
        None,  # targets read back from a row are unknown: the update replaces them
    )


def test_a_published_row_turning_unpublished_is_removed():
    assert save_kind(loaded(PostFactory(), deleted=True), created=False) == (
        EventKind.REMOVE,
        None,
    )


def test_an_unpublished_row_saved_unpublished_writes_nothing():
    post = PostFactory(deleted=True)
    assert save_kind(loaded(post, text="still a draft"), created=False) == (None, None)


def test_an_unpublished_row_turning_published_is_added_again():
    post = PostFactory(deleted=True)
    assert save_kind(loaded(post, deleted=False), created=False) == (EventKind.ADD, None)


def test_a_row_whose_state_is_unknown_is_updated_or_removed():
    post = PostFactory()
    unknown = Post(pk=post.pk, user=post.user, text="rebuilt", created_at=post.created_at)
    assert save_kind(unknown, created=False) == (EventKind.UPDATE, None)
    unknown.deleted = True
    assert save_kind(unknown, created=False) == (EventKind.REMOVE, None)


def test_a_model_that_never_targets_keeps_no_memory_and_has_no_targets():
    tweet = Tweet.objects.get(pk=TweetFactory().pk)
    assert save_kind(tweet, created=False) == (EventKind.UPDATE, [])
