"""stream-django's write-side public names exist under feed_outbox with the same signature and meaning."""

import inspect

import pytest
from django.test import override_settings

from feed_outbox import activity, conf, managers, utils
from feed_outbox.exceptions import MissingDataException
from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import OutboxEvent
from tests.factories import TweetFactory, UserFactory
from tests.write_app.models import Pin

# (module, name, stream-django's parameters): a signature may only add optional parameters.
PUBLIC = [
    (activity, "model_content_type", ["cls"]),
    (activity, "create_reference", ["reference"]),
    (activity, "create_model_reference", ["model_instance"]),
    (utils, "get_class_from_string", ["path", "default"]),
    (managers.FeedManager, "disable_model_tracking", ["self", "model"]),
    (managers.FeedManager, "enable_model_tracking", ["self", "model"]),
    (managers.FeedManager, "get_user_feed", ["self", "user_id", "feed_type"]),
    (managers.FeedManager, "get_notification_feed", ["self", "user_id"]),
    (managers.FeedManager, "get_actor_feed", ["self", "instance"]),
    (managers.FeedManager, "follow_user", ["self", "user_id", "target_user_id"]),
    (managers.FeedManager, "unfollow_user", ["self", "user_id", "target_user_id"]),
    (managers.FeedManager, "get_feed", ["self", "feed", "user_id"]),
    (managers.FeedManager, "get_news_feeds", ["self", "user_id"]),
    (managers.FeedManager, "add_activity_to_feed", ["self", "instance"]),
    (managers.FeedManager, "remove_activity_from_feed", ["self", "instance"]),
    (managers.FeedManager, "should_track", ["self", "model"]),
    (managers.FeedManager, "activity_created", ["self", "sender", "instance", "created", "raw"]),
    (managers.FeedManager, "activity_delete", ["self", "sender", "instance"]),
    (managers.FeedManager, "bind_model", ["self", "sender"]),
    (activity.Activity, "create_activity", ["self"]),
    (activity.Activity, "activity_related_models", []),
]

HOOKS = [
    "activity_author_feed",
    "extra_activity_data",
    "activity_actor_attr",
    "activity_object_attr",
    "activity_actor_id",
    "activity_actor",
    "activity_verb",
    "activity_object",
    "activity_foreign_id",
    "activity_time",
    "activity_notify",
]


@pytest.mark.parametrize(
    ("owner", "name", "params"), PUBLIC, ids=lambda v: getattr(v, "__name__", v)
)
def test_function_exists_with_stream_djangos_parameters(owner, name, params):
    signature = inspect.signature(getattr(owner, name))
    names = list(signature.parameters)
    assert names[: len(params)] == params
    for extra in list(signature.parameters.values())[len(params) :]:
        assert extra.kind is inspect.Parameter.VAR_KEYWORD or extra.default is not extra.empty


@pytest.mark.parametrize("hook", HOOKS)
def test_activity_hooks_are_properties_as_in_stream_django(hook):
    assert isinstance(inspect.getattr_static(activity.Activity, hook), property)


def test_module_constants_and_helpers():
    assert managers.EVERY_MODEL == "EVERY_MODEL"
    assert issubclass(MissingDataException, Exception)
    with override_settings(STREAM_USER_FEED="wall", STREAM_NOTIFICATION_FEED="alerts"):
        assert (conf.USER_FEED, conf.NOTIFICATION_FEED) == ("wall", "alerts")
    assert conf.NEWS_FEEDS == {"timeline": "timeline", "timeline_aggregated": "timeline_aggregated"}
    assert conf.FEED_MANAGER_CLASS == "feed_outbox.managers.FeedManager"
    assert conf.is_valid_config()
    assert conf.DJANGO_MAJOR_VERSION >= 4.2
    with pytest.raises(AttributeError):
        conf.PERSONAL_FEED  # noqa: B018


def test_stream_djangos_unit_tests_of_the_mixin_hold():
    """What stream-django's test_activity.py checks, on a model with its overrides."""
    from tests.write_app.models import FeedNotifyingPost

    post = FeedNotifyingPost(pk=42, user_id=7)
    created = post.create_activity()
    assert created["verb"] == "post"
    assert created["actor"] == "auth.User:7"
    assert created["object"] == created["foreign_id"] == "write_app.Post:42"
    assert created["foreign_id"] == activity.create_model_reference(post)
    assert activity.create_reference("not-a-model") == "not-a-model"
    assert activity.model_content_type(FeedNotifyingPost) == "write_app.Post"


def test_feed_manager_reads_like_stream_djangos():
    assert feed_manager.get_user_feed(42).id == "user:42"
    assert feed_manager.get_user_feed(42, "personal").id == "personal:42"
    assert feed_manager.get_notification_feed(42).id == "notification:42"
    assert feed_manager.get_feed("timeline", 42).id == "timeline:42"
    feeds = feed_manager.get_news_feeds(42)
    assert feeds["timeline"].id == "timeline:42"
    assert feeds["timeline_aggregated"].id == "timeline_aggregated:42"
    assert feed_manager.get_actor_feed(Pin(author_id=42)) == "user"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_stream_djangos_model_integration_flow_writes_events():
    """stream-django's Pin test: create publishes, delete removes, disabled tracking is silent."""
    author = UserFactory()
    pin = Pin.objects.create(author=author)
    pin.delete()
    assert list(OutboxEvent.objects.values_list("kind", flat=True)) == ["add", "remove"]
    feed_manager.disable_model_tracking()
    try:
        TweetFactory().delete()
    finally:
        feed_manager.enable_model_tracking()
    assert OutboxEvent.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_follow_and_unfollow_user_through_the_outbox_with_feed_type():
    feed_manager.follow_user(1, 2)
    feed_manager.unfollow_user(1, 2, feed_type="timeline")
    feed_manager.follow_feed("topic:7", "user:2", activity_copy_limit=0)
    feed_manager.unfollow_feed("topic:7", "user:2", keep_history=True)
    events = list(OutboxEvent.objects.values_list("kind", "feed", "ordering_key", "payload"))
    assert events == [
        ("follow", "timeline:1", "follow:timeline:1>user:2", {"target": "user:2"}),
        (
            "follow",
            "timeline_aggregated:1",
            "follow:timeline_aggregated:1>user:2",
            {"target": "user:2"},
        ),
        (
            "unfollow",
            "timeline:1",
            "follow:timeline:1>user:2",
            {"target": "user:2", "keep_history": False},
        ),
        (
            "follow",
            "topic:7",
            "follow:topic:7>user:2",
            {"target": "user:2", "activity_copy_limit": 0},
        ),
        (
            "unfollow",
            "topic:7",
            "follow:topic:7>user:2",
            {"target": "user:2", "keep_history": True},
        ),
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_follow_feed_delivers_an_arbitrary_feed_into_a_timeline(outbox_drain, user_feed_activities):
    from tests.write_app.models import Broadcast

    reader = UserFactory()
    feed_manager.follow_feed(f"timeline:{reader.pk}", "topic:news")
    Broadcast.objects.create(user=UserFactory(), topic="news")
    outbox_drain()
    (activity,) = user_feed_activities(f"timeline:{reader.pk}")
    assert activity["verb"] == "broadcast"

    feed_manager.unfollow_feed(f"timeline:{reader.pk}", "topic:news")
    outbox_drain()
    assert user_feed_activities(f"timeline:{reader.pk}") == []


class AlsoToTopicManager(managers.FeedManager):
    """A stream-django style subclass: overrides add_activity_to_feed with the old signature."""

    def add_activity_to_feed(self, instance):
        events = super().add_activity_to_feed(instance)
        return events + feed_manager_follow_marker(instance)


def feed_manager_follow_marker(instance):
    # Something only the override writes: a follow of the author's topic feed.
    from feed_outbox.models import EventKind
    from feed_outbox.write import outbox

    event = outbox.follow_event(f"topic:{instance.activity_actor_id}", "user:1", EventKind.FOLLOW)
    return outbox.enqueue([event])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(STREAM_FEED_MANAGER_CLASS=f"{__name__}.AlsoToTopicManager")
def test_a_feed_manager_subclass_overriding_add_activity_to_feed_is_used_by_saves():
    tweet = TweetFactory()
    tweet.delete()
    assert list(OutboxEvent.objects.values_list("kind", "feed")) == [
        ("add", f"user:{tweet.user_id}"),
        ("follow", f"topic:{tweet.user_id}"),
        ("remove", f"user:{tweet.user_id}"),
    ]
