"""Timelines end as if events were applied in commit order across keys, end to end:
the sample app's models, ``python -m relay`` processes, the real client and the emulator, and
every feed a reader reads (timeline and grouped timeline) read back page by page."""

import datetime
import time
import uuid

import pytest
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.functions import Now

from feed_outbox.client import get_client
from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventStatus, OutboxEvent
from sample_app.models import Tweet
from tests.factories import UserFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.slow]

RELAY = ("--poll-interval", "0.1", "--retry-backoff", "0.05")


def settled():
    return not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists()


def hold(events, seconds):
    """Lease ``events`` to a relay that died holding them: claimable again after ``seconds``."""
    expires = ExpressionWrapper(
        Now() + datetime.timedelta(seconds=seconds), output_field=DateTimeField()
    )
    OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(
        lease_owner="dead-relay", lease_token=uuid.uuid4(), lease_expires_at=expires, attempts=1
    )


def read_flat(feed):
    slug, user_id = feed.split(":", 1)
    handle, params, found = get_client().feed(slug, user_id), {"limit": 100}, []
    while True:
        page = handle.get(**params)["results"]
        found += page
        if len(page) < params["limit"]:
            return [a["foreign_id"] for a in found]
        params["id_lt"] = page[-1]["id"]


def read_grouped(feed):
    """The activities of every group of an aggregated feed, group pages followed by id_lt."""
    slug, user_id = feed.split(":", 1)
    handle, params, found = get_client().feed(slug, user_id), {"limit": 25}, []
    while True:
        page = handle.get(**params)["results"]
        for group in page:
            assert group["activity_count"] == len(group["activities"])
            found += [a["foreign_id"] for a in group["activities"]]
        if len(page) < params["limit"]:
            return found
        params["id_lt"] = page[-1]["id"]


def keys(tweets):
    return sorted(f"sample_app.Tweet:{t.pk}" for t in tweets)


def test_a_held_follow_still_brings_every_later_post_past_the_copy_limit(start_relay):
    reader, author = UserFactory(), UserFactory()
    follows = feed_manager.follow_user(reader.pk, author.pk)  # committed first
    # Held until released below, however long a loaded host takes to get there (a hold
    # of a few seconds could expire before the check, and the posts then rightly go).
    hold(follows, seconds=120)
    tweets = [Tweet.objects.create(user=author, text=f"t{i}") for i in range(150)]
    relay = start_relay(*RELAY)

    relay.wait_for_log("started")
    time.sleep(1.0)  # the relay polls every 0.1 s: it has had its chances to claim them
    # While the follow is held, the author's posts wait behind it: delivering them first
    # would leave the follow to copy only the newest 100.
    assert not OutboxEvent.objects.filter(feed=f"user:{author.pk}", status="delivered").exists()
    hold(follows, seconds=0)  # the dead relay's lease ends: the follow is claimable again
    wait_for(settled, timeout=60, interval=0.2)

    assert sorted(read_flat(f"user:{author.pk}")) == keys(tweets)
    assert sorted(read_flat(f"timeline:{reader.pk}")) == keys(tweets)
    assert sorted(read_grouped(f"timeline_aggregated:{reader.pk}")) == keys(tweets)


def test_a_follow_copying_nothing_leaves_out_what_was_posted_before_it(start_relay):
    reader, author = UserFactory(), UserFactory()
    before = [Tweet.objects.create(user=author, text=f"b{i}") for i in range(3)]
    # The posts' events are held, as by a dead relay: the follow must not overtake them.
    hold(OutboxEvent.objects.filter(feed=f"user:{author.pk}"), seconds=2)
    feed_manager.follow_user(reader.pk, author.pk, activity_copy_limit=0)
    after = [Tweet.objects.create(user=author, text="a")]
    start_relay(*RELAY)

    wait_for(settled, timeout=60, interval=0.2)

    assert sorted(read_flat(f"user:{author.pk}")) == keys(before + after)
    assert sorted(read_flat(f"timeline:{reader.pk}")) == keys(after)
    assert sorted(read_grouped(f"timeline_aggregated:{reader.pk}")) == keys(after)


def test_an_unfollow_keeping_history_keeps_what_was_posted_before_it(start_relay):
    reader, author = UserFactory(), UserFactory()
    feed_manager.follow_user(reader.pk, author.pk)
    relay = start_relay(*RELAY)
    wait_for(settled, timeout=30, interval=0.1)
    relay.kill()

    posted = [Tweet.objects.create(user=author, text=f"p{i}") for i in range(3)]
    hold(OutboxEvent.objects.filter(feed=f"user:{author.pk}", status="pending"), seconds=2)
    feed_manager.unfollow_user(reader.pk, author.pk, keep_history=True)
    Tweet.objects.create(user=author, text="after the unfollow")
    start_relay(*RELAY)
    wait_for(settled, timeout=60, interval=0.2)

    assert sorted(read_flat(f"timeline:{reader.pk}")) == keys(posted)
    assert sorted(read_grouped(f"timeline_aggregated:{reader.pk}")) == keys(posted)
