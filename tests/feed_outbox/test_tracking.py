"""Tracking switches silence exactly what they name, and nothing (migrate included) leaves them off."""

import json

import pytest
from django.core.management import call_command
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import OutboxEvent
from feed_outbox.tracking import tracking_disabled
from sample_app.models import Tweet
from tests.factories import PostFactory, TweetFactory, UserFactory
from tests.write_app.models import Post, PostProxy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _tracking_restored():
    yield
    feed_manager.enable_model_tracking()
    for model in (Tweet, Post, PostProxy):
        feed_manager.enable_model_tracking(model)


def events():
    return OutboxEvent.objects.count()


def test_setting_disables_every_model_and_is_read_at_use_time():
    with override_settings(STREAM_DISABLE_MODEL_TRACKING=True):
        TweetFactory()
        PostFactory()
    assert events() == 0
    TweetFactory()
    assert events() == 1


def test_disable_model_tracking_silences_one_model_until_enabled():
    feed_manager.disable_model_tracking(Tweet)
    tweet = TweetFactory()
    PostFactory()
    assert OutboxEvent.objects.get().aggregate_type == "write_app.Post"
    feed_manager.enable_model_tracking(Tweet)
    tweet.delete()
    assert events() == 2


def test_disable_model_tracking_without_a_model_silences_all():
    feed_manager.disable_model_tracking()
    TweetFactory()
    PostFactory()
    assert events() == 0


def test_disabling_the_concrete_model_covers_its_proxy():
    feed_manager.disable_model_tracking(Post)
    PostProxy.objects.create(user=UserFactory())
    assert events() == 0


def test_tracking_disabled_context_manager_is_scoped():
    with tracking_disabled():
        TweetFactory()
    with tracking_disabled(Tweet):
        TweetFactory()
        PostFactory()
    TweetFactory()
    assert list(OutboxEvent.objects.values_list("aggregate_type", flat=True)) == [
        "write_app.Post",
        "sample_app.Tweet",
    ]


def test_migrate_publishes_nothing_and_leaves_tracking_on():
    call_command("migrate", verbosity=0)
    assert events() == 0
    TweetFactory()
    assert events() == 1  # stream-django's pre_migrate hook left tracking off here


def test_a_data_migration_writing_historical_models_publishes_nothing():
    from django.db import connection

    state = MigrationExecutor(connection).loader.project_state()
    HistoricalUser = state.apps.get_model("auth", "User")
    HistoricalTweet = state.apps.get_model("sample_app", "Tweet")
    user = HistoricalUser.objects.create(username="historical")
    HistoricalTweet.objects.create(user=user, text="written by a migration")
    assert Tweet.objects.count() == 1
    assert events() == 0


def test_fixtures_loaded_raw_never_publish(tmp_path):
    user = UserFactory()
    fixture = tmp_path / "tweets.json"
    fixture.write_text(
        json.dumps(
            [
                {
                    "model": "sample_app.tweet",
                    "pk": 9001,
                    "fields": {
                        "user": user.pk,
                        "text": "from a fixture",
                        "created_at": "2026-01-01T00:00:00Z",
                    },
                }
            ]
        )
    )
    call_command("loaddata", str(fixture), verbosity=0)
    assert Tweet.objects.filter(pk=9001).exists()
    assert events() == 0


@override_settings(STREAM_USER_FEED="profile", STREAM_NEWS_FEEDS={"main": "home", "agg": "digest"})
def test_feed_settings_are_honoured_by_name_and_value():
    reader, writer = UserFactory(), UserFactory()
    tweet = TweetFactory(user=writer)
    feed_manager.follow_user(reader.pk, writer.pk)
    feed_manager.follow_user(reader.pk, writer.pk, feed_type="main")
    rows = OutboxEvent.objects.order_by("id")
    assert [(e.kind, e.feed, e.payload.get("target")) for e in rows] == [
        ("add", f"profile:{writer.pk}", None),
        ("follow", f"home:{reader.pk}", f"profile:{writer.pk}"),
        ("follow", f"digest:{reader.pk}", f"profile:{writer.pk}"),
        ("follow", f"home:{reader.pk}", f"profile:{writer.pk}"),
    ]
    assert rows[0].ordering_key == f"sample_app.Tweet:{tweet.pk}"
    assert rows[1].ordering_key == f"follow:home:{reader.pk}>profile:{writer.pk}"


@override_settings(STREAM_NOTIFICATION_FEED="alerts")
def test_notification_feed_setting_is_honoured():
    assert feed_manager.notification_feed == "alerts"
    assert feed_manager.get_notification_feed(3).id == "alerts:3"
