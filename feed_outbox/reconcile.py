"""Reconcile: compare what the database says each author feed holds with what Stream holds.

Drift comes in three kinds: ``missing`` (published in the database, absent from the feed),
``phantom`` (in the feed, but the row is gone, unpublished or belongs in another feed) and
``stale`` (in the feed with other data or time, or more than once). Keys with pending events
are skipped: the relay is still bringing them up to date. ``repair`` queues the fixing events.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import models, router, transaction

from feed_outbox.client import get_client
from feed_outbox.current_state import (
    activity_feed_ids,
    activity_models,
    keys_with_pending,
    label_of,
    lock_instances,
    remove_event,
    split_foreign_id,
)
from feed_outbox.exceptions import ActivityDataError
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.outbox import activity_events, activity_payload, enqueue

# Stream adds these to every activity; "to" comes back with feed tokens appended.
IGNORED_FIELDS = frozenset({"to"})
MISSING, PHANTOM, STALE = "missing", "phantom", "stale"


@dataclass(frozen=True)
class Drift:
    kind: str
    feed: str
    foreign_id: str
    detail: str = ""
    # Stale drift whose fix must remove the old copies first (time differs, duplicates).
    needs_remove: bool = False


@dataclass
class ReconcileReport:
    feeds: int = 0
    expected: int = 0
    found: int = 0
    pending: int = 0
    invalid: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    queued: int = 0

    def counts(self) -> Counter:
        return Counter({MISSING: 0, PHANTOM: 0, STALE: 0}) + Counter(d.kind for d in self.drift)

    @property
    def consistent(self) -> bool:
        return not self.drift and not self.invalid


def expected_activities(
    models_: list[type[models.Model]], feed: str | None, using: str, report: ReconcileReport
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{feed: {foreign_id: payload}}`` for every published instance's feeds (``feed`` only)."""
    expected: dict[str, dict[str, dict[str, Any]]] = {}
    for model in models_:
        for instance in model._default_manager.using(using).iterator(chunk_size=1000):
            if not instance.activity_should_publish():
                continue
            targets = activity_feed_ids(instance)
            if feed is not None:
                targets = [target for target in targets if target == feed]
            if not targets:
                continue
            try:
                payload = activity_payload(instance)
            except ActivityDataError as exc:
                report.invalid.append(str(exc))
                continue
            for target in targets:
                expected.setdefault(target, {})[payload["foreign_id"]] = payload
    return expected


def feed_activities(feed: str, labels: set[str], page_size: int = 100) -> Iterator[dict]:
    """Direct activities of ``labels``' models in ``feed``, read page by page (newest first)."""
    slug, user_id = feed.split(":", 1)
    stream_feed = get_client().feed(slug, user_id)
    params: dict[str, Any] = {"limit": page_size}
    while True:
        results = stream_feed.get(**params)["results"]
        for activity in results:
            parsed = split_foreign_id(activity.get("foreign_id") or "")
            if parsed and parsed[0] in labels and not _copied_here(activity, feed):
                yield activity
        if len(results) < page_size:
            return
        params["id_lt"] = results[-1]["id"]


def _copied_here(activity: dict, feed: str) -> bool:
    """A copy from a followed feed (``origin``) or a ``to`` target: owned by another feed."""
    if activity.get("origin"):
        return True
    targets = activity.get("to") or []
    return feed in {str(target).split(" ", 1)[0] for target in targets}


def _normal(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        value = value.replace(tzinfo=None).isoformat(timespec="microseconds")
    elif isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            value = parsed.replace(tzinfo=None).isoformat(timespec="microseconds")
        except ValueError:
            pass
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def compare_feed(
    feed: str, expected: dict[str, dict], actual: dict[str, list[dict]]
) -> list[Drift]:
    drift = []
    for foreign_id, payload in expected.items():
        copies = actual.get(foreign_id)
        if not copies:
            drift.append(Drift(MISSING, feed, foreign_id))
            continue
        if len(copies) > 1:
            drift.append(Drift(STALE, feed, foreign_id, f"{len(copies)} copies", True))
            continue
        differs = sorted(
            key
            for key, value in payload.items()
            if key not in IGNORED_FIELDS and _normal(value) != _normal(copies[0].get(key))
        )
        if differs:
            detail = ", ".join(differs) + " differ"
            drift.append(Drift(STALE, feed, foreign_id, detail, needs_remove="time" in differs))
    for foreign_id in actual.keys() - expected.keys():
        drift.append(Drift(PHANTOM, feed, foreign_id, "not published in the database"))
    return drift


def reconcile(
    feed: str | None = None,
    model: type[models.Model] | None = None,
    using: str | None = None,
    page_size: int = 100,
    on_feed: Callable[[int, int], None] | None = None,
) -> ReconcileReport:
    """Read every feed in scope from Stream and report its drift from the database."""
    models_ = [model] if model is not None else activity_models()
    labels = {label_of(m) for m in models_}
    alias = using or router.db_for_read(OutboxEvent)
    report = ReconcileReport()
    expected = expected_activities(models_, feed, alias, report)
    if feed is not None:
        feeds = {feed}
    else:
        # Feeds the outbox ever wrote to: where phantoms of now-empty feeds would hide.
        written = (
            OutboxEvent.objects.using(alias)
            .filter(aggregate_type__in=labels)
            .exclude(kind__in=[EventKind.FOLLOW, EventKind.UNFOLLOW])
            .values_list("feed", flat=True)
            .distinct()
        )
        feeds = set(expected) | set(written)
    report.feeds = len(feeds)
    for done, name in enumerate(sorted(feeds), 1):
        actual: dict[str, list[dict]] = {}
        for activity in feed_activities(name, labels, page_size):
            actual.setdefault(activity["foreign_id"], []).append(activity)
        wanted = expected.get(name, {})
        pending = keys_with_pending(set(actual) | set(wanted), alias)
        report.pending += len(pending)
        report.expected += len(wanted)
        report.found += sum(len(v) for v in actual.values())
        wanted = {k: v for k, v in wanted.items() if k not in pending}
        actual = {k: v for k, v in actual.items() if k not in pending}
        report.drift.extend(compare_feed(name, wanted, actual))
        if on_feed:
            on_feed(done, len(feeds))
    return report


def repair(drift: list[Drift], using: str | None = None, dry_run: bool = False) -> int:
    """Queue the events that bring each drifted activity to the database's state; returns
    how many. Rows are locked and pending events re-checked, so a concurrent change wins."""
    alias = using or router.db_for_write(OutboxEvent)
    # Removes from the wrong feed go before adds to the right one (same key: FIFO order).
    order = {PHANTOM: 0, STALE: 1, MISSING: 2}
    drift = sorted(drift, key=lambda d: (order[d.kind], d.foreign_id))
    by_label: dict[str, set[str]] = {}
    for item in drift:
        label, pk = split_foreign_id(item.foreign_id) or ("", "")
        by_label.setdefault(label, set()).add(pk)
    with transaction.atomic(using=alias):
        instances: dict[str, models.Model] = {}
        for model in activity_models():
            label = label_of(model)
            if label in by_label:
                for pk, instance in lock_instances(model, by_label[label], alias).items():
                    instances[f"{label}:{pk}"] = instance
        pending = keys_with_pending({d.foreign_id for d in drift}, alias)
        events = []
        for item in drift:
            if item.foreign_id in pending:
                continue
            events.extend(_fix(item, instances.get(item.foreign_id)))
        if not dry_run:
            enqueue(events, alias)
    return len(events)


def _fix(item: Drift, instance: models.Model | None) -> list[OutboxEvent]:
    label = (split_foreign_id(item.foreign_id) or ("", ""))[0]
    belongs_here = (
        instance is not None
        and instance.activity_should_publish()
        and item.feed in activity_feed_ids(instance)
    )
    if not belongs_here:
        # Gone, unpublished or in another feed: nothing to add here, the copy here must go.
        return [] if item.kind == MISSING else [remove_event(item.feed, item.foreign_id, label)]
    if item.kind == PHANTOM:
        return []  # published here since the read: not drift any more
    events = []
    if item.needs_remove:
        events.append(remove_event(item.feed, item.foreign_id, label))
    events.extend(e for e in activity_events(instance, EventKind.ADD) if e.feed == item.feed)
    return events
