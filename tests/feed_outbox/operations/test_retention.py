"""outbox_purge deletes old delivered events only, in batches, and is safe to run twice."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.write.outbox import enqueue, follow_event
from tests.factories import OutboxEventFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DAY = datetime.timedelta(days=1)


def plant(status, age, n=1):
    """``n`` activity events of ``status`` created (and, if delivered, delivered) ``age`` ago."""
    return age_events(OutboxEventFactory.create_batch(n), status, age)


def age_events(events, status, age):
    at = timezone.now() - age
    OutboxEvent.objects.filter(id__in=[e.id for e in events]).update(
        status=status,
        created_at=at,
        delivered_at=at if status == EventStatus.DELIVERED else None,
    )
    return events


def remaining():
    return sorted(OutboxEvent.objects.values_list("status", flat=True))


def test_purge_deletes_old_delivered_and_leaves_pending_dead_and_recent(run_command):
    plant(EventStatus.DELIVERED, 8 * DAY, n=25)
    plant(EventStatus.DELIVERED, 1 * DAY)
    plant(EventStatus.PENDING, 30 * DAY)
    plant(EventStatus.DEAD, 30 * DAY)

    result = run_command("outbox_purge", "--batch-size", "10")

    assert result.code == 0, result.err
    assert "deleted 25 events" in result.out
    assert remaining() == ["dead", "delivered", "pending"]
    again = run_command("outbox_purge")
    assert again.code == 0 and "0 delivered events" in again.out
    assert remaining() == ["dead", "delivered", "pending"]


@override_settings(FEED_OUTBOX_RETENTION=3600)
def test_purge_follows_the_retention_setting_and_dry_run_deletes_nothing(run_command):
    plant(EventStatus.DELIVERED, datetime.timedelta(hours=2), n=3)
    dry = run_command("outbox_purge", "--dry-run")
    assert "3 delivered events" in dry.out and "nothing deleted" in dry.out
    assert OutboxEvent.objects.count() == 3
    assert run_command("outbox_purge").code == 0
    assert OutboxEvent.objects.count() == 0


def test_purge_deletes_dead_and_pending_only_when_named(run_command):
    plant(EventStatus.DEAD, 30 * DAY)
    plant(EventStatus.PENDING, 30 * DAY)
    assert run_command("outbox_purge", "--include-dead", "--older-than", "7d").code == 0
    assert remaining() == ["pending"]
    assert run_command("outbox_purge", "--include-pending").code == 0
    assert remaining() == []


def test_purge_rejects_a_malformed_duration(run_command):
    result = run_command("outbox_purge", "--older-than", "soon")
    assert result.code != 0 and "is not a duration" in result.err


def test_purge_keeps_the_newest_event_of_every_follow_key(run_command):
    """The newest follow/unfollow event of a pair is its current state: reconcile's truth."""

    def pair(source, *kinds, **options):
        return [enqueue([follow_event(source, "user:1", kind, **options)])[0] for kind in kinds]

    followed = pair("timeline:1", EventKind.FOLLOW, EventKind.UNFOLLOW, EventKind.FOLLOW)
    unfollowed = pair("timeline:2", EventKind.FOLLOW, EventKind.UNFOLLOW, keep_history=True)
    dead = pair("timeline:3", EventKind.FOLLOW)
    age_events(followed + unfollowed, EventStatus.DELIVERED, 30 * DAY)
    age_events(dead, EventStatus.DEAD, 30 * DAY)
    plant(EventStatus.DELIVERED, 30 * DAY, n=3)

    result = run_command("outbox_purge", "--include-dead", "--batch-size", "2")

    assert result.code == 0, result.err
    assert "deleted 6 events" in result.out
    kept = OutboxEvent.objects.order_by("ordering_key")
    assert [(e.ordering_key, e.kind, e.id) for e in kept] == [
        ("follow:timeline:1>user:1", "follow", followed[-1].id),
        ("follow:timeline:2>user:1", "unfollow", unfollowed[-1].id),
        ("follow:timeline:3>user:1", "follow", dead[-1].id),
    ]
    assert run_command("outbox_purge", "--include-dead").out.count("0 ") >= 1
    assert OutboxEvent.objects.count() == 3
