"""The Activity mixin: stream-django's defaults, and the fixes (proxies, time zones, no mutation)."""

import datetime

import pytest
from django.test import override_settings

from feed_outbox.activity import Activity, lock_for_update, related_queryset
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.write.outbox import activity_payload
from sample_app.models import Follow, Tweet
from tests.factories import UserFactory
from tests.write_app.models import (
    SHARED_EXTRA,
    FeedNotifyingPost,
    LikeOfTweet,
    Pin,
    Post,
    PostProxy,
    SharedExtraPost,
)


def test_actor_attr_defaults_to_user_then_actor():
    class WithActor(Activity):
        actor = "tommaso"

    class WithUser(Activity):
        user = "thierry"
        actor = "ignored"

    assert WithActor().activity_actor_attr == "tommaso"
    assert WithUser().activity_actor_attr == "thierry"


def test_naive_times_are_read_in_time_zone_not_assumed_utc():
    naive = datetime.datetime(2026, 7, 1, 12, 0, 0)
    tweet = Tweet(pk=1, user_id=2, text="t", created_at=naive)
    with override_settings(USE_TZ=False, TIME_ZONE="Europe/Paris"):
        assert activity_payload(tweet)["time"] == "2026-07-01T10:00:00.000000"
    with override_settings(USE_TZ=False, TIME_ZONE="UTC"):
        assert activity_payload(tweet)["time"] == "2026-07-01T12:00:00.000000"


def test_aware_times_are_converted_to_utc_whatever_the_time_zone():
    paris = datetime.timezone(datetime.timedelta(hours=2))
    tweet = Tweet(pk=1, user_id=2, created_at=datetime.datetime(2026, 7, 1, 12, tzinfo=paris))
    with override_settings(TIME_ZONE="America/New_York"):
        assert activity_payload(tweet)["time"] == "2026-07-01T10:00:00.000000"


def test_the_time_field_is_configurable():
    posted = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)

    class Posted(Activity):
        user = "u"
        posted_at = posted

    class Chosen(Posted):
        activity_time_field = "posted_at"

    assert Chosen().activity_time == posted.replace(tzinfo=None)
    with override_settings(FEED_OUTBOX_TIME_FIELD="posted_at"):
        assert Posted().activity_time == posted.replace(tzinfo=None)


def test_create_activity_never_mutates_the_extra_data_dict():
    post = SharedExtraPost(pk=3, user_id=4, mentions="5")
    activity = post.create_activity()
    assert activity["to"] == ["notification:5"]
    assert activity["text"] == "shared"
    assert SHARED_EXTRA == {"text": "shared"}


def test_activity_notify_accepts_feeds_and_feed_ids():
    activity = FeedNotifyingPost(pk=1, user_id=2).create_activity()
    assert activity["to"] == ["notification:7", "notification:8"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_proxy_shares_the_concrete_models_foreign_id_verb_and_history():
    proxy = PostProxy.objects.create(user=UserFactory(), text="via proxy")
    Post.objects.get(pk=proxy.pk).delete()
    add, remove = OutboxEvent.objects.order_by("id")
    assert (add.kind, remove.kind) == (EventKind.ADD, EventKind.REMOVE)
    assert add.ordering_key == remove.ordering_key == f"write_app.Post:{proxy.pk}"
    assert add.payload["verb"] == "post"
    assert add.aggregate_type == "write_app.Post"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_mixin_after_model_is_bound_and_atomic_like_stream_djangos_pin():
    author = UserFactory()
    pin = Pin.objects.create(author=author)
    event = OutboxEvent.objects.get()
    assert event.payload["actor"] == f"auth.User:{author.pk}"
    assert event.payload["foreign_id"] == event.payload["object"] == f"write_app.Pin:{pin.pk}"
    assert event.payload["verb"] == "pin"
    assert event.feed == f"user:{author.pk}"


def test_a_like_whose_object_is_a_tweet_keeps_its_own_foreign_id():
    activity = LikeOfTweet(pk=1, user_id=2).create_activity()
    assert activity["object"] == "sample_app.Tweet:9"
    assert activity["foreign_id"] == "write_app.Post:1"


def test_related_queryset_loads_what_the_hooks_name_on_the_database_asked():
    rows = related_queryset(Tweet, "other")
    assert rows.db == "other"
    assert rows.query.select_related == {"user": {}}
    assert related_queryset(Follow).query.select_related is False


def test_lock_for_update_locks_the_models_own_rows_only_when_relations_are_joined():
    joined = lock_for_update(related_queryset(Tweet)).query
    plain = lock_for_update(related_queryset(Follow)).query
    assert joined.select_for_update and joined.select_for_update_of == ("self",)
    assert plain.select_for_update and plain.select_for_update_of == ()
