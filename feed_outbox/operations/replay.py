"""Replay: re-publish the latest state of every key touched by a selection of past events.

Never the old events themselves: an add whose remove came later must replay as the remove.
Idempotent because an add carries the activity's frozen foreign_id + time (Stream overwrites;
on Feeds v3 the id derived from feed + foreign_id). ``api`` replays to one Stream API only:
its rows are selected, its pending rows skip a key, and the new rows are written for it alone.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db import router, transaction
from django.db.models import Max, QuerySet

from feed_outbox import conf
from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.operations.current_state import (
    activity_model,
    current_events,
    feeds_of_keys,
    lock_instances,
    pending_keys,
)
from feed_outbox.stream_api.rate_limits import DrainEstimate, estimate_drain
from feed_outbox.write.outbox import enqueue, follow_event
from feed_outbox.write.references import split_foreign_id

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel


@dataclass(frozen=True)
class ReplaySelection:
    """Which past events to replay the keys of; every criterion narrows the selection."""

    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    feed: str | None = None
    ordering_key: str | None = None
    model: str | None = None  # "app_label.Model", matched against aggregate_type
    dead: bool = False  # dead letters instead of delivered events
    api: str | None = None  # one Stream API ("v2", "v3"); None: every configured one

    def rows(self, using: str) -> QuerySet[OutboxEvent]:
        rows = OutboxEvent.objects.using(using)
        return rows.filter(api=self.api) if self.api else rows

    def queryset(self, using: str) -> QuerySet[OutboxEvent]:
        status = EventStatus.DEAD if self.dead else EventStatus.DELIVERED
        rows = self.rows(using).filter(status=status)
        if self.since:
            rows = rows.filter(created_at__gte=self.since)
        if self.until:
            rows = rows.filter(created_at__lt=self.until)
        if self.feed:
            rows = rows.filter(feed=self.feed)
        if self.ordering_key:
            rows = rows.filter(ordering_key=self.ordering_key)
        if self.model:
            rows = rows.filter(aggregate_type__iexact=self.model)
        return rows


@dataclass
class ReplayReport:
    keys: int = 0
    queued: Counter = field(default_factory=Counter)
    already_pending: int = 0
    estimate: DrainEstimate | None = None
    dry_run: bool = False

    @property
    def total_queued(self) -> int:
        return sum(self.queued.values())


def replay(
    selection: ReplaySelection,
    using: str | None = None,
    dry_run: bool = False,
    chunk_size: int = 500,
    on_chunk: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Queue the current state of each selected key, keys in the order they last changed.

    ``on_chunk(done, total)`` is called after each chunk of keys (for a progress bar).
    """
    using = using or router.db_for_write(OutboxEvent)
    selected = selection.queryset(using).values("ordering_key")
    latest = list(
        selection.rows(using)
        .filter(ordering_key__in=selected)
        .values("ordering_key")
        .annotate(latest=Max("id"))
        .order_by("latest")
        .values_list("ordering_key", "latest")
    )
    report = ReplayReport(keys=len(latest), dry_run=dry_run)
    planned: list[tuple[str, str]] = []
    for start in range(0, len(latest), chunk_size):
        chunk = latest[start : start + chunk_size]
        with transaction.atomic(using=using):
            events = _current_events(chunk, using, report, selection.api)
            if not dry_run:
                enqueue(events, using, apis=(selection.api,) if selection.api else None)
        for event in events:
            report.queued[event.kind] += 1
            planned.append((event.kind, event.feed))
        if on_chunk:
            on_chunk(start + len(chunk), len(latest))
    report.estimate = estimate_drain(planned)
    return report


def _current_events(
    chunk: list[tuple[str, int]], using: str, report: ReplayReport, api: str | None = None
) -> list[OutboxEvent]:
    rows = OutboxEvent.objects.using(using).in_bulk([latest for _key, latest in chunk])
    by_label: dict[str, list[str]] = {}
    for key, _latest in chunk:
        parsed = split_foreign_id(key)
        if parsed and activity_model(parsed[0]):
            by_label.setdefault(parsed[0], []).append(parsed[1])
    # Lock first, then look for pending events: a writer holding a row lock inserts its event
    # before it commits, so once we have the lock its event is visible to the check below.
    instances = {}
    for label, pks in by_label.items():
        model = activity_model(label)
        assert model is not None  # by_label holds Activity models' labels only
        for pk, instance in lock_instances(model, pks, using).items():
            instances[f"{label}:{pk}"] = instance
    keys = [key for key, _latest in chunk]
    pending = pending_keys(keys, using, api)  # another API's pending rows do not hold this one
    gone_from = feeds_of_keys([k for k in keys if k not in instances], using)
    events = []
    for key, latest_id in chunk:
        if key in pending:
            report.already_pending += 1
            continue
        events.extend(_events_for(key, rows[latest_id], instances.get(key), gone_from))
    return events


def _events_for(
    key: str, latest: OutboxEvent, instance: ActivityModel | None, gone_from: dict[str, list[str]]
) -> list[OutboxEvent]:
    if latest.kind in (EventKind.FOLLOW, EventKind.UNFOLLOW):
        options = {k: v for k, v in latest.payload.items() if k != "target"}
        kind = EventKind(latest.kind)
        return [follow_event(latest.feed, latest.payload["target"], kind, **options)]
    parsed = split_foreign_id(key)
    if parsed and activity_model(parsed[0]):
        feeds = gone_from.get(key) or [latest.feed]
        return current_events(instance, feeds, key, latest.aggregate_type)
    # An activity of a model that no longer exists in the code: its last event is all we know.
    return [
        OutboxEvent(
            kind=latest.kind,
            feed=latest.feed,
            ordering_key=key,
            aggregate_type=latest.aggregate_type,
            payload=latest.payload,
        )
    ]


def blocked_by_dead_letters() -> bool:
    """With FEED_OUTBOX_BLOCK_KEY_ON_DEAD a key's dead letter holds back its replayed events."""
    return bool(conf.get("FEED_OUTBOX_BLOCK_KEY_ON_DEAD"))
