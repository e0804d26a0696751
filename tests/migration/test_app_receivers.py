"""The app's explicit calls win within a save: receivers a stream-django app connects itself,
before or after feed-outbox's, that call the feed manager during a save or delete of an Activity
end with the feeds the app meant, read back through stream-python from every feed a reader
reads (author feed, a follower's timeline and grouped timeline, the notification feed).

The rule (docs/topics/migrating.md, "Your own receivers"): a publishing hook the app calls for an
instance during its save or delete, before feed-outbox's receiver, makes that receiver publish
nothing; called after it, it is written after its events and so applied after them. Either way
the app's call decides. Follows have their own ordering keys and never interfere.
"""

from __future__ import annotations

import contextlib

import pytest
from django.db.models.signals import post_delete, post_save
from django.dispatch.dispatcher import _make_id
from django.utils import timezone

from feed_outbox.client import get_client
from feed_outbox.feed_manager import feed_manager
from feed_outbox.write import signals
from tests.factories import PinboardFollowFactory, PinFactory, RepinFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ORDERS = ["app_first", "feed_outbox_first"]
OPERATIONS = ["create", "edit", "soft_delete", "relive", "delete"]

# What the app's receiver calls, with the arguments stream-django's users pass.
ACTIVITY_HOOKS = {
    "activity_delete": lambda sender, instance, kwargs: feed_manager.activity_delete(
        sender, instance, **kwargs
    ),
    "remove_activity_from_feed": lambda sender, instance, kwargs: (
        feed_manager.remove_activity_from_feed(instance)
    ),
    "add_activity_to_feed": lambda sender, instance, kwargs: (
        feed_manager.add_activity_to_feed(instance)
    ),
    "activity_created": lambda sender, instance, kwargs: feed_manager.activity_created(
        sender, instance, kwargs.get("created", False), raw=False
    ),
    "nothing": lambda sender, instance, kwargs: None,
}
FOLLOW_HOOKS = {
    "follow_user": lambda sender, instance, kwargs: feed_manager.follow_user(
        instance.user_id, instance.target_id
    ),
    "unfollow_user": lambda sender, instance, kwargs: feed_manager.unfollow_user(
        instance.user_id, instance.target_id
    ),
}


@contextlib.contextmanager
def app_receiver(signal, model, call, order):
    """Connect the app's receiver before or after feed-outbox's own for ``model``."""

    def receiver(sender, instance, **kwargs):
        call(sender, instance, kwargs)

    ours = f"feed_outbox:{model._meta.label}"
    own = {post_save: signals._on_save, post_delete: signals._on_delete}[signal]
    if order == "app_first":
        signal.disconnect(sender=model, dispatch_uid=ours)
        signal.connect(receiver, sender=model, weak=False)
        signal.connect(own, sender=model, dispatch_uid=ours, weak=False)
    else:
        signal.connect(receiver, sender=model, weak=False)
    keys = [entry[0] for entry in signal.receivers]
    app_at = keys.index((_make_id(receiver), _make_id(model)))
    ours_at = keys.index((ours, _make_id(model)))
    assert (app_at < ours_at) == (order == "app_first")
    try:
        yield
    finally:
        signal.disconnect(receiver, sender=model)


def occurrences(feed: str, foreign_id: str) -> list[dict]:
    """The activities with ``foreign_id`` in ``feed``, read as a page does (groups opened)."""
    slug, user_id = feed.split(":")
    results = get_client().feed(slug, user_id).get(limit=100)["results"]
    return [
        activity
        for item in results
        for activity in item.get("activities", [item])
        if activity["foreign_id"] == foreign_id
    ]


def following(feed: str) -> set[str]:
    slug, user_id = feed.split(":")
    return {f["target_id"] for f in get_client().feed(slug, user_id).following()["results"]}


class World:
    """An author, a follower of the author's feed, and a third user (notified or followed)."""

    def __init__(self, drain, commit):
        self.drain, self.commit = drain, commit
        self.author, self.follower, self.other = UserFactory.create_batch(3)
        with commit():
            feed_manager.follow_user(self.follower.pk, self.author.pk)
        drain()

    def reader_feeds(self) -> list[str]:
        return [
            f"user:{self.author.pk}",
            f"timeline:{self.follower.pk}",
            f"timeline_aggregated:{self.follower.pk}",
            f"notification:{self.other.pk}",
        ]

    def before(self, operation: str, factory, **fields):
        """The row as it stands before ``operation`` (None before a create), all delivered."""
        if operation == "create":
            return None
        with self.commit():
            row = factory(user=self.author, **fields)
        if operation == "relive":  # unpinned earlier, the stream-django way
            with self.commit():
                row.deleted_at = timezone.now()
                row.save()
                feed_manager.activity_delete(type(row), row)
        self.drain()
        return type(row).objects.get(pk=row.pk)  # a new request reads it again

    def perform(self, operation: str, row, factory, **fields) -> str:
        """Do ``operation`` in one transaction; returns the row's foreign id."""
        with self.commit():
            if operation == "create":
                row = factory(user=self.author, **fields)
                return f"{row._meta.label}:{row.pk}"
            foreign_id = f"{row._meta.label}:{row.pk}"
            if operation == "edit":
                if hasattr(row, "message"):
                    row.message = "edited"
            elif operation == "soft_delete":
                row.deleted_at = timezone.now()
            elif operation == "relive":
                row.deleted_at = None
            if operation == "delete":
                row.delete()
            else:
                row.save()
        return foreign_id


@pytest.fixture
def world(outbox_drain, django_capture_on_commit_callbacks):
    def commit():  # what a request's commit runs: the on_commit memory of what was published
        return django_capture_on_commit_callbacks(execute=True)

    return World(outbox_drain, commit)


def expected_visible(hook: str, operation: str) -> bool:
    if hook in ("activity_delete", "remove_activity_from_feed"):
        return False
    if hook in ("add_activity_to_feed", "activity_created"):
        return True
    # feed-outbox's own receiver alone: a model without activity_should_publish() stays
    # published through a soft delete (outbox_switch_check reports such models).
    return operation != "delete"


def assert_feeds(world, foreign_id: str, visible: bool, notified: bool, message: str | None):
    for feed in world.reader_feeds():
        found = occurrences(feed, foreign_id)
        wanted = int(visible and (notified or not feed.startswith("notification")))
        assert len(found) == wanted, (feed, found)
        if found and message is not None:
            assert found[0].get("message") == message, (feed, found)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("hook", list(ACTIVITY_HOOKS))
@pytest.mark.parametrize("factory", [PinFactory, RepinFactory], ids=["pin", "repin"])
def test_activity_hook_called_by_the_app_decides_what_the_save_publishes(
    world, factory, hook, operation, order
):
    row = world.before(operation, factory, influencer=world.other)
    model = factory._meta.model
    signal = post_delete if operation == "delete" else post_save
    with app_receiver(signal, model, ACTIVITY_HOOKS[hook], order):
        foreign_id = world.perform(operation, row, factory, influencer=world.other)
    world.drain()
    current = model.objects.filter(pk=foreign_id.split(":")[1]).first()
    message = current.message if current is not None else None
    assert_feeds(
        world,
        foreign_id,
        visible=expected_visible(hook, operation),
        notified=model is RepinFactory._meta.model,
        message=message,
    )


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("hook", list(FOLLOW_HOOKS))
def test_follow_hook_called_by_the_app_sets_the_follow_and_leaves_the_activity_alone(
    world, hook, operation, order
):
    row = world.before(operation, PinboardFollowFactory, target=world.other)
    if row is not None:  # the relation as the app made it on creation
        with world.commit():
            feed_manager.follow_user(row.user_id, row.target_id)
        world.drain()
    signal = post_delete if operation == "delete" else post_save
    model = PinboardFollowFactory._meta.model
    with app_receiver(signal, model, FOLLOW_HOOKS[hook], order):
        foreign_id = world.perform(operation, row, PinboardFollowFactory, target=world.other)
    world.drain()
    assert_feeds(
        world,
        foreign_id,
        visible=expected_visible("nothing", operation),
        notified=True,
        message=None,
    )
    target = f"user:{world.other.pk}"
    for news_feed in ("timeline", "timeline_aggregated"):
        followed = target in following(f"{news_feed}:{world.author.pk}")
        assert followed == (hook == "follow_user"), (news_feed, hook, operation)


def unpin_receiver(sender, instance, **kwargs):
    """The soft-delete receiver of a Pinterest-like app written for stream-django."""
    if instance.deleted_at is not None:
        feed_manager.activity_delete(sender, instance, **kwargs)


def follow_change(sender, instance, created, **kwargs):
    """Its follow receiver: follow on creation, unfollow on a soft delete."""
    if created:
        feed_manager.follow_user(instance.user_id, instance.target_id)
    if instance.deleted_at is not None:
        feed_manager.unfollow_user(instance.user_id, instance.target_id)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("factory", [PinFactory, RepinFactory], ids=["pin", "repin"])
def test_unpinned_pin_leaves_every_feed_and_a_repin_adds_it_back_once(world, factory, order):
    model = factory._meta.model
    with app_receiver(post_save, model, lambda s, i, kw: unpin_receiver(s, i, **kw), order):
        with world.commit():
            pin = factory(user=world.author, influencer=world.other)
        foreign_id = f"{model._meta.label}:{pin.pk}"
        notified = model is RepinFactory._meta.model
        world.drain()
        assert_feeds(world, foreign_id, visible=True, notified=notified, message=pin.message)
        for step in range(2):  # unpin, repin, twice: each lands in every feed
            pin = model.objects.get(pk=pin.pk)
            with world.commit():
                pin.deleted_at = timezone.now()
                pin.save()
            world.drain()
            assert_feeds(world, foreign_id, visible=False, notified=notified, message=None)
            with world.commit():  # saved again while unpinned: still gone
                pin.message = f"unpinned {step}"
                pin.save()
            world.drain()
            assert_feeds(world, foreign_id, visible=False, notified=notified, message=None)
            pin = model.objects.get(pk=pin.pk)
            with world.commit():
                pin.deleted_at = None
                pin.message = f"repinned {step}"
                pin.save()
            world.drain()
            assert_feeds(world, foreign_id, visible=True, notified=notified, message=pin.message)


@pytest.mark.parametrize("order", ORDERS)
def test_soft_deleted_follow_unfollows_and_keeps_its_activity_like_stream_django(world, order):
    model = PinboardFollowFactory._meta.model
    receiver = lambda s, i, kw: follow_change(s, i, **kw)  # noqa: E731
    with app_receiver(post_save, model, receiver, order):
        with world.commit():
            pin = PinFactory(user=world.other, influencer=world.author)
            follow = PinboardFollowFactory(user=world.author, target=world.other)
        world.drain()
        timeline = f"timeline:{world.author.pk}"
        assert occurrences(timeline, f"pinboard.Pin:{pin.pk}")
        with world.commit():
            follow.deleted_at = timezone.now()
            follow.save()
        world.drain()
    assert not occurrences(timeline, f"pinboard.Pin:{pin.pk}")
    assert f"user:{world.other.pk}" not in following(timeline)
    # stream-django never removed the follow activity; neither does the automatic update.
    assert_feeds(world, f"pinboard.Follow:{follow.pk}", visible=True, notified=True, message=None)
