"""How far behind the relay is: counts and lag read from the outbox table (cheap queries)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import router
from django.db.models import Min
from django.utils import timezone

from feed_outbox.models import EventStatus, OutboxEvent


@dataclass(frozen=True)
class OutboxLag:
    pending: int
    oldest_pending_at: datetime.datetime | None

    @property
    def seconds(self) -> float:
        """Age of the oldest undelivered event (0 when the relay has caught up)."""
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (timezone.now() - self.oldest_pending_at).total_seconds())

    @property
    def caught_up(self) -> bool:
        return self.pending == 0


def outbox_lag(using: str | None = None) -> OutboxLag:
    """Pending events and the commit time of the oldest one; uses the pending partial index."""
    alias = using or router.db_for_read(OutboxEvent)
    agg = (
        OutboxEvent.objects.using(alias)
        .filter(status=EventStatus.PENDING)
        .aggregate(oldest=Min("created_at"), pending=Min("id"))
    )
    if agg["pending"] is None:
        return OutboxLag(pending=0, oldest_pending_at=None)
    pending = OutboxEvent.objects.using(alias).filter(status=EventStatus.PENDING).count()
    return OutboxLag(pending=pending, oldest_pending_at=agg["oldest"])
