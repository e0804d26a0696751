"""The outbox table: one row per change that Stream must learn about, written in the change's transaction."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.utils import timezone

#: Kinds of events that put activities into feeds (and so reach the feeds' followers).
ACTIVITY_KINDS = ("add", "update", "remove")
#: Kinds of events that change who follows a feed.
FOLLOW_KINDS = ("follow", "unfollow")


class EventKind(models.TextChoices):
    ADD = "add", "add activity"
    UPDATE = "update", "update activity"
    REMOVE = "remove", "remove activity"
    FOLLOW = "follow", "follow feed"
    UNFOLLOW = "unfollow", "unfollow feed"


class StreamApi(models.TextChoices):
    """Which Stream API an outbox row is delivered to (FEED_OUTBOX_STREAM_API)."""

    V2 = "v2", "Feeds v2 (stream-python)"
    V3 = "v3", "Feeds v3 (getstream)"


class EventStatus(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    DEAD = "dead", "dead letter"


class OutboxEvent(models.Model):
    """A change to publish.

    Columns map onto Debezium's Outbox Event Router: ``aggregate_type`` → aggregatetype,
    ``ordering_key`` → aggregateid, ``kind`` → type, ``payload`` → payload, so a team that
    outgrows the relay can switch to CDC without a migration.
    """

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    # The feed the call is made on ("user:42"); for follows, the following feed.
    feed = models.CharField(max_length=255)
    # Events sharing a key are applied in commit order: the activity's foreign_id,
    # or "follow:<source>><target>" for a follow relation.
    ordering_key = models.CharField(max_length=255)
    aggregate_type = models.CharField(max_length=255, blank=True, default="")
    # Everything the relay sends, with the activity ``time`` frozen at write time.
    payload = models.JSONField()
    # The API this row is delivered to. With FEED_OUTBOX_STREAM_API = "v2+v3" the write side
    # writes one row per API, so each API has its own delivery state and order (an outage of
    # one never holds the other); rows written before the column existed are v2's.
    api = models.CharField(max_length=8, choices=StreamApi.choices, default=StreamApi.V2)
    status = models.CharField(
        max_length=16, choices=EventStatus.choices, default=EventStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Not claimable before this instant (retry backoff).
    # NULL: claimable now. Only the relay sets it (retry backoff), on its own clock, so a writer
    # whose clock runs ahead never holds back its own events.
    available_at = models.DateTimeField(null=True, blank=True, default=None)
    # Lease of the relay worker that claimed the event; the token fences stale workers.
    lease_owner = models.CharField(max_length=255, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.UUIDField(null=True, blank=True)
    # Set by the relay on PostgreSQL (relay.queries.park): an older pending event this one must
    # wait for (its key's, or across keys). The claim's indexes leave parked rows out, so a
    # backlog held behind a few events is not walked by every claim; the blocker's settlement
    # clears it. NULL: not known to be blocked.
    parked_behind = models.BigIntegerField(null=True, blank=True, default=None, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    # W3C trace context of the span that wrote the event (the optional OpenTelemetry extra):
    # the relay's Stream call becomes a span linked to it. Columns of their own, not payload
    # keys, so the payload stays the activity and Debezium can carry them as message headers.
    traceparent = models.CharField(max_length=255, null=True, blank=True, default=None)
    tracestate = models.TextField(null=True, blank=True, default=None)

    class Meta:
        verbose_name = "outbox event"
        verbose_name_plural = "outbox events"
        ordering = ("id",)
        indexes = [
            # The claim query and the "older event of my key still pending?" probe only
            # ever look at pending rows: partial indexes stay small as history grows.
            models.Index(
                fields=["ordering_key", "id"],
                name="feed_outbox_pending_key",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["id"],
                name="feed_outbox_pending_id",
                condition=Q(status="pending"),
            ),
            # The claim groups events per feed (one add_activities call each): it reads
            # the oldest pending events of a few feeds at a time.
            models.Index(
                fields=["feed", "id"],
                name="feed_outbox_pending_feed",
                condition=Q(status="pending"),
            ),
            models.Index(
                fields=["ordering_key", "id"],
                name="feed_outbox_dead_key",
                condition=Q(status="dead"),
            ),
            models.Index(fields=["status", "delivered_at"], name="feed_outbox_status_delivered"),
            # Causal order across keys: an activity event waits for older pending follows of
            # a feed it is added to. Follows are few: this index stays tiny.
            models.Index(
                KT("payload__target"),
                "id",
                name="feed_outbox_pending_follow",
                condition=Q(status="pending", kind__in=FOLLOW_KINDS),
            ),
            # (On PostgreSQL, migration 0004 also adds a GIN index over pending payloads' `to`
            # targets: a follow waits for older pending activities copied to its target.)
            # Follow truth: the newest event of each follow key (reconcile reads it, purge
            # keeps it); small, as follows are a sliver of the outbox.
            models.Index(
                fields=["ordering_key", "id"],
                name="feed_outbox_follow_key",
                condition=Q(aggregate_type="follow"),
            ),
        ]
        permissions = [
            ("retry_outboxevent", "Can retry outbox events now"),
            ("requeue_outboxevent", "Can requeue dead outbox events"),
            ("kill_outboxevent", "Can mark outbox events dead"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.ordering_key} → {self.feed} ({self.status})"
