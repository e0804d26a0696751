"""Backfill: queue add events for rows that existed before feed-outbox was installed.

Chunked by primary key, one transaction per chunk, so an interrupted run keeps what it
committed; a key that already has any outbox event is skipped, so running again (or running
on a live database) queues nothing twice.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import models, router, transaction

from feed_outbox import conf
from feed_outbox.activity import lock_for_update, related_queryset
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.write.outbox import activity_events, enqueue

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel


@dataclass
class BackfillReport:
    scanned: int = 0
    queued: int = 0
    already_in_outbox: int = 0
    unpublished: int = 0
    last_pk: Any = None
    dry_run: bool = False
    # (kind, feed) of each queued event, in order: what the drain estimate is computed from.
    planned: list[tuple[str, str]] = field(default_factory=list)


def time_field(model: type[ActivityModel]) -> str:
    return model.activity_time_field or conf.get("FEED_OUTBOX_TIME_FIELD")


def rows_to_backfill(
    model: type[ActivityModel], using: str, since: datetime.datetime | None = None
) -> models.QuerySet:
    rows = related_queryset(model, using).order_by("pk")
    if since is not None:
        rows = rows.filter(**{f"{time_field(model)}__gte": since})
    return rows


def backfill(
    model: type[ActivityModel],
    since: datetime.datetime | None = None,
    batch_size: int = 500,
    using: str | None = None,
    dry_run: bool = False,
    after_pk: Any = None,
    on_chunk: Callable[[BackfillReport], None] | None = None,
    api: str | None = None,
) -> BackfillReport:
    """Queue an add for each published row of ``model`` (from ``since``, after ``after_pk``);
    with ``api``, for that Stream API only (a key already in its rows is skipped), which is
    how a new v3 app is filled from the database while v2 keeps running."""
    using = using or router.db_for_write(model)
    rows = rows_to_backfill(model, using, since)
    report = BackfillReport(dry_run=dry_run, last_pk=after_pk)
    while True:
        page = rows if report.last_pk is None else rows.filter(pk__gt=report.last_pk)
        with transaction.atomic(using=using):
            # The lock keeps a concurrent edit's event after ours (its row lock waits for us).
            # Related rows come with the chunk: building its events queries nothing per row.
            chunk = list(lock_for_update(page)[:batch_size])
            if not chunk:
                return report
            # The outbox row goes where the write side puts it: the instance's database.
            events = _add_events(chunk, using, report, api)
            if not dry_run:
                enqueue(events, using, apis=(api,) if api else None)
        report.scanned += len(chunk)
        report.queued += len(events)
        report.last_pk = chunk[-1].pk
        if on_chunk:
            on_chunk(report)


def _add_events(
    chunk: list, using: str, report: BackfillReport, api: str | None = None
) -> list[OutboxEvent]:
    keys = {instance.activity_foreign_id: instance for instance in chunk}
    rows = OutboxEvent.objects.using(using).filter(ordering_key__in=list(keys))
    if api is not None:
        rows = rows.filter(api=api)
    known = set(rows.values_list("ordering_key", flat=True))
    events = []
    for key, instance in keys.items():
        if key in known:
            report.already_in_outbox += 1
        elif not instance.activity_should_publish():
            report.unpublished += 1
        else:
            for event in activity_events(instance, EventKind.ADD):
                events.append(event)
                report.planned.append((EventKind.ADD, event.feed))
    return events
