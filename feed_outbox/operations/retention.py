"""Retention: delete old delivered events in small batches, each its own short transaction.

Pending events are work not done yet and dead letters are evidence; both are kept unless the
caller names them explicitly. The newest event of every follow key is never purged: it is the
pair's current state, the only follow truth feed-outbox has (``feed_outbox.operations.follow_state``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import router, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from feed_outbox import conf
from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.operations.follow_state import FOLLOW_AGGREGATE


def retention() -> datetime.timedelta:
    """FEED_OUTBOX_RETENTION: seconds (or a timedelta) a delivered event is kept."""
    value = conf.get("FEED_OUTBOX_RETENTION")
    return value if isinstance(value, datetime.timedelta) else datetime.timedelta(seconds=value)


@dataclass(frozen=True)
class PurgePlan:
    older_than: datetime.timedelta
    include_dead: bool = False
    include_pending: bool = False

    def cutoff(self, now: datetime.datetime | None = None) -> datetime.datetime:
        return (now or timezone.now()) - self.older_than

    def condition(self, now: datetime.datetime | None = None) -> Q:
        cutoff = self.cutoff(now)
        # Delivered events age from their delivery; the others have only their creation time.
        condition = Q(status=EventStatus.DELIVERED, delivered_at__lt=cutoff)
        if self.include_dead:
            condition |= Q(status=EventStatus.DEAD, created_at__lt=cutoff)
        if self.include_pending:
            condition |= Q(status=EventStatus.PENDING, created_at__lt=cutoff)
        return condition & (~Q(aggregate_type=FOLLOW_AGGREGATE) | Q(Exists(_newer_of_key())))


def _newer_of_key() -> QuerySet[OutboxEvent]:
    """A later event of the same follow key exists (the newest is kept: it is the truth)."""
    return OutboxEvent.objects.filter(
        aggregate_type=FOLLOW_AGGREGATE,
        ordering_key=OuterRef("ordering_key"),
        id__gt=OuterRef("id"),
    )


def purgeable(plan: PurgePlan, using: str | None = None) -> QuerySet[OutboxEvent]:
    using = using or router.db_for_write(OutboxEvent)
    return OutboxEvent.objects.using(using).filter(plan.condition())


def purge(
    plan: PurgePlan,
    using: str | None = None,
    batch_size: int = 1000,
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Delete what ``plan`` selects, ``batch_size`` rows per transaction; returns the count.

    Rows a relay holds (SKIP LOCKED) are left for the next run instead of waited for.
    """
    using = using or router.db_for_write(OutboxEvent)
    now = timezone.now()
    deleted = 0
    while True:
        with transaction.atomic(using=using):
            ids = list(
                OutboxEvent.objects.using(using)
                .filter(plan.condition(now))
                .order_by("id")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            count, _ = OutboxEvent.objects.using(using).filter(id__in=ids).delete()
        deleted += count
        if on_batch:
            on_batch(count)
