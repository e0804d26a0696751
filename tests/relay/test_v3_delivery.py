"""Delivery to Feeds v3 end to end: the write side, the relay's v3 delivery, the getstream SDK,
HTTP, the emulator's v3 API, and back through feed_manager's v3 reads."""

from __future__ import annotations

import pytest
from django.test import override_settings

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventStatus, OutboxEvent
from relay.exceptions import ConfigurationError
from relay.options import RelayOptions
from relay.runner import Relay
from sample_app.models import Follow
from tests.factories import OutboxEventFactory, TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def foreign_ids(feed: str, api: str = "v3") -> list[str]:
    with override_settings(FEED_OUTBOX_READ_API=api):
        slug, user_id = feed.split(":")
        return [a["foreign_id"] for a in feed_manager.get_feed(slug, user_id).get(limit=100)["results"]]


@override_settings(FEED_OUTBOX_STREAM_API="v3")
def test_v3_add_update_remove_reach_the_feed_and_read_back_as_v2_activities(outbox_drain):
    user = UserFactory()
    kept, edited, removed = TweetFactory.create_batch(3, user=user)
    outbox_drain()
    edited.text = "edited on v3"
    edited.save()
    removed.delete()
    stats = outbox_drain()

    assert stats.dead == 0 and not OutboxEvent.objects.filter(api="v2").exists()
    activities = feed_manager.get_feed("user", user.pk).get(limit=10)["results"]
    assert sorted(a["foreign_id"] for a in activities) == sorted(
        f"sample_app.Tweet:{t.pk}" for t in (kept, edited)
    )
    by_id = {a["foreign_id"]: a for a in activities}
    shown = by_id[f"sample_app.Tweet:{edited.pk}"]
    assert shown["text"] == "edited on v3" and shown["verb"] == "tweet"
    assert shown["actor"] == f"auth.User:{user.pk}"  # the v2 reference, kept in custom


@override_settings(FEED_OUTBOX_STREAM_API="v3")
def test_redelivering_delivered_v3_events_changes_nothing(outbox_drain, stream_emulator):
    user = UserFactory()
    tweets = TweetFactory.create_batch(5, user=user)
    outbox_drain()
    OutboxEvent.objects.update(status=EventStatus.PENDING)  # as if every answer was lost
    outbox_drain()

    assert sorted(foreign_ids(f"user:{user.pk}")) == sorted(
        f"sample_app.Tweet:{t.pk}" for t in tweets
    )
    assert stream_emulator.v3_state(lambda store: len(store.activities)) == 5


@override_settings(FEED_OUTBOX_STREAM_API="v3")
def test_a_v3_follow_copies_the_target_and_an_unfollow_purges_it(outbox_drain):
    reader, author = UserFactory(), UserFactory()
    tweets = TweetFactory.create_batch(3, user=author)
    Follow.objects.follow(reader, author)
    outbox_drain()
    assert sorted(foreign_ids(f"timeline:{reader.pk}")) == sorted(
        f"sample_app.Tweet:{t.pk}" for t in tweets
    )
    later = TweetFactory(user=author)  # fans out to the follower on v3 too
    outbox_drain()
    assert f"sample_app.Tweet:{later.pk}" in foreign_ids(f"timeline:{reader.pk}")

    Follow.objects.unfollow(reader, author)
    outbox_drain()
    assert foreign_ids(f"timeline:{reader.pk}") == []


@override_settings(FEED_OUTBOX_STREAM_API="v2+v3")
def test_v2_plus_v3_writes_a_row_per_api_and_both_feeds_end_equal(outbox_drain):
    user = UserFactory()
    tweets = TweetFactory.create_batch(4, user=user)
    tweets[0].delete()
    assert OutboxEvent.objects.filter(api="v2").count() == 5
    assert OutboxEvent.objects.filter(api="v3").count() == 5
    outbox_drain()

    feed = f"user:{user.pk}"
    assert sorted(foreign_ids(feed, "v2")) == sorted(foreign_ids(feed, "v3"))
    assert len(foreign_ids(feed, "v3")) == 3


@override_settings(FEED_OUTBOX_STREAM_API="v2+v3")
def test_a_v3_configuration_error_pauses_only_the_v3_relay(stream_emulator):
    from feed_outbox.client import build_client, build_v3_client

    user = UserFactory()
    TweetFactory.create_batch(3, user=user)
    bad_v3 = Relay(
        RelayOptions(api="v3", owner="v3"),
        client_factory=lambda: build_v3_client(api_secret="not-the-secret"),
    )
    with pytest.raises(ConfigurationError):
        bad_v3.drain()
    v2 = Relay(RelayOptions(api="v2", owner="v2"), client_factory=build_client)
    assert v2.drain().delivered == 3  # v3's pause holds none of v2's rows

    v3_rows = OutboxEvent.objects.filter(api="v3")
    assert set(v3_rows.values_list("status", flat=True)) == {EventStatus.PENDING}
    assert set(v3_rows.values_list("attempts", flat=True)) == {0}  # released, refunded
    assert Relay(RelayOptions(api="v3", owner="v3b")).drain().delivered == 3


@override_settings(FEED_OUTBOX_STREAM_API="v3", FEED_OUTBOX_MAX_ATTEMPTS=2)
def test_a_v3_poison_event_is_dead_lettered_and_blocks_only_its_key(stream_emulator):
    poison = OutboxEventFactory(api="v3", ordering_key="k", feed="nosuchgroup:1")
    after = OutboxEventFactory(api="v3", ordering_key="k", feed="user:1")
    fine = OutboxEventFactory(api="v3", feed="user:1")
    relay_options = {"retry_backoff": 0.0, "landing_seconds": 0.0}
    for _ in range(3):
        Relay(RelayOptions(api="v3", **relay_options)).drain()
        OutboxEvent.objects.filter(status=EventStatus.PENDING).update(available_at=None)

    statuses = dict(OutboxEvent.objects.values_list("id", "status"))
    assert statuses[poison.id] == EventStatus.DEAD
    assert statuses[after.id] == statuses[fine.id] == EventStatus.DELIVERED
    poison.refresh_from_db()
    assert "HTTP 404" in poison.last_error and "feed group 'nosuchgroup'" in poison.last_error


def test_backfill_api_v3_fills_a_new_v3_app_from_the_database_and_skips_what_it_has(
    outbox_drain,
):
    from django.core.management import call_command

    user = UserFactory()
    tweets = TweetFactory.create_batch(3, user=user)  # written for v2 only (the default)
    call_command("outbox_backfill", "sample_app.Tweet", "--api", "v3", verbosity=0)
    call_command("outbox_backfill", "sample_app.Tweet", "--api", "v3", verbosity=0)
    assert OutboxEvent.objects.filter(api="v3").count() == 3
    with override_settings(FEED_OUTBOX_STREAM_API="v2+v3"):
        outbox_drain()
    assert sorted(foreign_ids(f"user:{user.pk}")) == sorted(
        f"sample_app.Tweet:{t.pk}" for t in tweets
    )
