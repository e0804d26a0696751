"""Building outbox events from activities and follows, and writing them in the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import models, router

from feed_outbox import conf
from feed_outbox.activity import Activity, model_content_type
from feed_outbox.exceptions import ActivityDataError
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.payload import encoded_size, json_safe

logger = logging.getLogger("feed_outbox")


def author_feed_id(instance: Activity) -> str:
    from feed_outbox.feed_manager import feed_manager

    return f"{feed_manager.get_actor_feed(instance)}:{instance.activity_actor_id}"


def activity_payload(instance: Activity) -> dict[str, Any]:
    """The activity as JSON with its time frozen now; raises ActivityDataError on bad data."""
    label = model_content_type(type(instance))
    activity = instance.create_activity()
    payload = {key: json_safe(value, model=label, field=key) for key, value in activity.items()}
    size = encoded_size(payload)
    limit = conf.get("FEED_OUTBOX_MAX_ACTIVITY_BYTES")
    if size > limit:
        raise ActivityDataError(
            f"{label}: the activity for {payload['foreign_id']} is {size} bytes, over "
            f"FEED_OUTBOX_MAX_ACTIVITY_BYTES ({limit}); store less in extra_activity_data"
        )
    if size > conf.get("FEED_OUTBOX_WARN_ACTIVITY_BYTES"):
        logger.warning(
            "%s: the activity for %s is %d bytes; Stream advises keeping activities under 1 KB",
            label,
            payload["foreign_id"],
            size,
        )
    return payload


def activity_event(instance: Activity, kind: EventKind) -> OutboxEvent:
    """An unsaved event for ``instance``: add, update or remove of its activity."""
    label = model_content_type(type(instance))
    if kind == EventKind.REMOVE:
        foreign_id = instance.activity_foreign_id
        payload: dict[str, Any] = {"foreign_id": foreign_id}
    else:
        payload = activity_payload(instance)
        foreign_id = payload["foreign_id"]
    return OutboxEvent(
        kind=kind,
        feed=author_feed_id(instance),
        ordering_key=foreign_id,
        aggregate_type=label,
        payload=payload,
    )


def follow_event(source: str, target: str, kind: EventKind, **options: Any) -> OutboxEvent:
    """An unsaved follow/unfollow event of feed ``source`` (``slug:id``) on feed ``target``."""
    if kind not in (EventKind.FOLLOW, EventKind.UNFOLLOW):
        raise ValueError(f"follow_event takes follow or unfollow, not {kind!r}")
    for name, value in (("source", source), ("target", target)):
        if not isinstance(value, str) or value.count(":") != 1:
            raise ActivityDataError(f"{name} feed {value!r} is not a feed id like 'user:42'")
    return OutboxEvent(
        kind=kind,
        feed=source,
        ordering_key=f"follow:{source}>{target}",
        aggregate_type="follow",
        payload={"target": target, **options},
    )


def enqueue(events: Iterable[OutboxEvent], using: str | None = None) -> list[OutboxEvent]:
    """Write events in one INSERT on ``using`` (default: the outbox's write database)."""
    events = list(events)
    if not events:
        return events
    alias = using or router.db_for_write(OutboxEvent)
    return OutboxEvent.objects.using(alias).bulk_create(events)


def db_alias_for(instance: models.Model, using: str | None = None) -> str:
    return using or instance._state.db or router.db_for_write(type(instance), instance=instance)
