"""outbox_purge deletes old delivered events only, in batches, and is safe to run twice."""

import datetime

import pytest
from django.test import override_settings
from django.utils import timezone

from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.outbox import enqueue, follow_event

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

DAY = datetime.timedelta(days=1)


def plant(status, age, n=1):
    """``n`` events of ``status`` created (and, if delivered, delivered) ``age`` ago."""
    at = timezone.now() - age
    events = enqueue(follow_event(f"timeline:{i}", "user:1", EventKind.FOLLOW) for i in range(n))
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
