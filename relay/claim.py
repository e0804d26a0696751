"""Claiming, leasing and settling outbox events: every database operation of the relay.

Transactions here are short: a claim commits before any Stream call is made, and settling
only touches rows whose lease token is still the caller's (a stale worker's mark is refused).
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from feed_outbox import conf
from feed_outbox.models import EventStatus, OutboxEvent
from relay.events import Event, Lease


def _blocking_statuses() -> list[str]:
    statuses = [EventStatus.PENDING]
    if conf.get("FEED_OUTBOX_BLOCK_KEY_ON_DEAD"):
        statuses.append(EventStatus.DEAD)
    return statuses


def claimable(using: str, now: datetime.datetime):
    """Pending events whose backoff is over, unleased (or lease expired), oldest of their key."""
    rows = OutboxEvent.objects.using(using)
    older_of_key = rows.filter(
        ordering_key=OuterRef("ordering_key"),
        id__lt=OuterRef("id"),
        status__in=_blocking_statuses(),
    )
    return (
        rows.filter(status=EventStatus.PENDING, available_at__lte=now)
        .filter(Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now))
        .exclude(Exists(older_of_key))
        .order_by("id")
    )


def claim_batch(owner: str, limit: int, lease_seconds: float, using: str = "default") -> Lease:
    """Lease up to ``limit`` claimable events to ``owner`` (SKIP LOCKED on PostgreSQL)."""
    now = timezone.now()
    token = uuid.uuid4()
    expires = now + datetime.timedelta(seconds=lease_seconds)
    with transaction.atomic(using=using):
        ids = list(
            claimable(using, now)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            OutboxEvent.objects.using(using).filter(id__in=ids).update(
                lease_owner=owner,
                lease_token=token,
                lease_expires_at=expires,
                attempts=F("attempts") + 1,
            )
            rows = OutboxEvent.objects.using(using).filter(id__in=ids).order_by("id")
            events = tuple(Event.from_row(row) for row in rows)
        else:
            events = ()
    return Lease(owner=owner, token=token, expires_at=expires, events=events)


def _held(lease: Lease, ids: Iterable[int], using: str):
    return OutboxEvent.objects.using(using).filter(id__in=list(ids), lease_token=lease.token)


def mark_delivered(lease: Lease, ids: Iterable[int], using: str = "default") -> int:
    """Settle delivered events; returns how many were still held by ``lease``."""
    return _held(lease, ids, using).update(
        status=EventStatus.DELIVERED,
        delivered_at=timezone.now(),
        lease_owner="",
        lease_token=None,
        lease_expires_at=None,
        last_error="",
    )


def mark_retry(
    lease: Lease, event_id: int, error: str, delay_seconds: float, using: str = "default"
) -> int:
    """Release an event for another try after ``delay_seconds``."""
    return _held(lease, [event_id], using).update(
        available_at=timezone.now() + datetime.timedelta(seconds=delay_seconds),
        lease_owner="",
        lease_token=None,
        lease_expires_at=None,
        last_error=error,
    )


def mark_dead(lease: Lease, event_id: int, error: str, using: str = "default") -> int:
    """Dead-letter an event with its error; later events of its key may proceed."""
    return _held(lease, [event_id], using).update(
        status=EventStatus.DEAD,
        lease_owner="",
        lease_token=None,
        lease_expires_at=None,
        last_error=error,
    )


def release(lease: Lease, ids: Iterable[int], using: str = "default", refund: bool = True) -> int:
    """Give events back untouched (shutdown, configuration error); the attempt is refunded."""
    update = {"lease_owner": "", "lease_token": None, "lease_expires_at": None}
    if refund:
        update["attempts"] = F("attempts") - 1
    return _held(lease, ids, using).update(**update)
