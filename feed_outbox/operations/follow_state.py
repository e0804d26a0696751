"""Follow truth: the newest follow/unfollow outbox event of each source→target pair.

feed-outbox does not know the application's Follow model; the follows it publishes are outbox
events (``aggregate_type="follow"``, ``ordering_key="follow:<source>><target>"``). The newest
event of a key is the pair's current state, which is why ``outbox_purge`` keeps it
(``feed_outbox.operations.retention``) and migration 0005 indexes ``(ordering_key, id)`` over follow rows.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db.models import Max, Q, QuerySet

from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.write.payload import format_time

FOLLOW_AGGREGATE = "follow"


@dataclass(frozen=True)
class FollowState:
    """A pair's newest event: ``following`` when it is a follow (delivered, pending or dead)."""

    event_id: int
    source: str
    target: str
    kind: str
    created_at: str  # Stream's time format (naive UTC), comparable with activity times
    keep_history: bool
    pending: bool
    options: dict[str, Any]

    @property
    def following(self) -> bool:
        return self.kind == EventKind.FOLLOW

    @property
    def key(self) -> str:
        return follow_key(self.source, self.target)

    @classmethod
    def from_row(
        cls,
        event_id: int,
        kind: str,
        feed: str,
        payload: dict,
        created_at: datetime.datetime,
        status: str,
    ) -> FollowState:
        options = {k: v for k, v in payload.items() if k != "target"}
        return cls(
            event_id=event_id,
            source=feed,
            target=payload["target"],
            kind=kind,
            created_at=format_time(created_at),
            keep_history=bool(options.get("keep_history")),
            pending=status == EventStatus.PENDING,
            options=options,
        )


def follow_key(source: str, target: str) -> str:
    return f"follow:{source}>{target}"


def newest_follow_events(using: str, source: str | None = None) -> QuerySet[OutboxEvent]:
    """Queryset of the newest follow/unfollow event of every pair (of ``source`` only)."""
    rows = OutboxEvent.objects.using(using).filter(aggregate_type=FOLLOW_AGGREGATE)
    if source is not None:
        rows = rows.filter(feed=source)
    newest = rows.order_by().values("ordering_key").annotate(newest=Max("id")).values("newest")
    return OutboxEvent.objects.using(using).filter(
        Q(id__in=newest), kind__in=[EventKind.FOLLOW, EventKind.UNFOLLOW]
    )


def follow_states(
    using: str, source: str | None = None, chunk_size: int = 2000
) -> Iterator[FollowState]:
    """Every pair's current state, streamed (a server-side cursor on PostgreSQL)."""
    rows = newest_follow_events(using, source).values_list(
        "id", "kind", "feed", "payload", "created_at", "status"
    )
    for row in rows.iterator(chunk_size=chunk_size):
        if isinstance(row[3], dict) and isinstance(row[3].get("target"), str):
            yield FollowState.from_row(*row)


def newest_states(keys: list[str], using: str) -> dict[str, FollowState]:
    """The current state of each follow key in ``keys`` that has an event."""
    rows = (
        OutboxEvent.objects.using(using)
        .filter(aggregate_type=FOLLOW_AGGREGATE, ordering_key__in=keys)
        .order_by()
        .values("ordering_key")
        .annotate(newest=Max("id"))
        .values("newest")
    )
    events = OutboxEvent.objects.using(using).filter(
        id__in=rows, kind__in=[EventKind.FOLLOW, EventKind.UNFOLLOW]
    )
    states = (
        FollowState.from_row(*row)
        for row in events.values_list("id", "kind", "feed", "payload", "created_at", "status")
    )
    return {state.key: state for state in states}
