"""What the database says an activity key should be now, as the outbox event that brings Stream there.

Replay, backfill and reconcile never trust an old event's payload for an activity: they lock the
model row and rebuild the event from it, so a concurrent delete either happened before (the
rebuild is a remove) or waits for the lock and queues its remove after ours.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from django.apps import apps

from feed_outbox.activity import Activity, feed_id, lock_for_update, related_queryset
from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.write.outbox import activity_events

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel


def activity_model(label: str) -> type[ActivityModel] | None:
    """The Activity model named ``app_label.Model`` (any case), or None."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    return cast("type[ActivityModel]", model) if issubclass(model, Activity) else None


def activity_models() -> list[type[ActivityModel]]:
    """Every concrete Activity model (a proxy shares its concrete model's activities)."""
    return [
        cast("type[ActivityModel]", m)
        for m in apps.get_models()
        if issubclass(m, Activity) and not m._meta.proxy and not m._meta.abstract
    ]


def remove_event(feed: str, foreign_id: str, aggregate_type: str) -> OutboxEvent:
    """A remove of ``foreign_id`` from ``feed``, for an instance that no longer exists."""
    return OutboxEvent(
        kind=EventKind.REMOVE,
        feed=feed,
        ordering_key=foreign_id,
        aggregate_type=aggregate_type,
        payload={"foreign_id": foreign_id},
    )


def pending_keys(keys: Iterable[str], using: str, api: str | None = None) -> set[str]:
    """Keys the relay still has work for: their newest state is already on its way.

    With ``api``, that API's pending rows only: another API's rows are that API's business.
    """
    keys = list(keys)
    if not keys:
        return set()
    rows = OutboxEvent.objects.using(using).filter(
        status=EventStatus.PENDING, ordering_key__in=keys
    )
    if api is not None:
        rows = rows.filter(api=api)
    return set(rows.values_list("ordering_key", flat=True))


def lock_instances(
    model: type[ActivityModel], pks: Iterable[str], using: str
) -> dict[str, ActivityModel]:
    """Instances by str(pk), row-locked until the caller's transaction ends (call in atomic()).

    Loaded with ``related_queryset``, so rebuilding their events issues no query each.
    """
    field = model._meta.pk
    values = []
    for pk in pks:
        try:
            values.append(field.to_python(pk))
        except Exception:  # a foreign id whose pk part does not fit the field: no such row
            continue
    rows = lock_for_update(related_queryset(model, using)).filter(pk__in=values)
    return {str(row.pk): row for row in rows}


def activity_feed_ids(instance: ActivityModel) -> list[str]:
    """Every feed the instance's activity is published to (the author feed by default)."""
    return [feed_id(feed) for feed in instance.activity_feeds()]


def feeds_of_keys(keys: Iterable[str], using: str) -> dict[str, list[str]]:
    """The feeds the outbox ever published each activity key to: where a gone row must go from."""
    feeds: dict[str, list[str]] = {}
    rows = (
        OutboxEvent.objects.using(using)
        .filter(ordering_key__in=list(keys))
        .exclude(kind__in=[EventKind.FOLLOW, EventKind.UNFOLLOW])
        .values_list("ordering_key", "feed")
        .distinct()
        .order_by("ordering_key", "feed")
    )
    for key, feed in rows:
        feeds.setdefault(key, []).append(feed)
    return feeds


def current_events(
    instance: ActivityModel | None, gone_from: list[str], foreign_id: str, aggregate_type: str
) -> list[OutboxEvent]:
    """Add the instance's activity to its feeds if it is published, else remove it; for a row
    that no longer exists, remove ``foreign_id`` from the feeds in ``gone_from``."""
    if instance is not None:
        published = instance.activity_should_publish()
        return activity_events(instance, EventKind.ADD if published else EventKind.REMOVE)
    return [remove_event(feed, foreign_id, aggregate_type) for feed in gone_from]
