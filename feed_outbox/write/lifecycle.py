"""Which events a save or delete of an Activity becomes, from what was published before.

"Publish only what was published": an instance remembers whether its activity is in Stream
(read when it is loaded, and after each committed save), so a soft-deleted row is removed
once, a draft saved again publishes nothing, and an object turning visible again is added.

"The app's explicit calls win within a save": a stream-django app's own receivers call the
feed manager's hooks during a save or delete (a soft delete removing its activity). Each save
and delete of an Activity has an OperationScope: a hook the app calls for the instance before
feed-outbox's receiver runs makes that receiver publish nothing; one called after it is written
after its events, so it is applied after them.
"""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from feed_outbox.activity import Activity, _per_class
from feed_outbox.feed_manager import get_feed_manager
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.write import outbox

# (published, to) of the last committed publication; None where unknown.
_UNKNOWN: tuple[bool | None, list[str] | None] = (None, None)
_STATE_ATTR = "feed_outbox_published"


@_per_class
def remembers_state(cls: type[Activity]) -> bool:
    """Only models that can unpublish or retarget need a memory; the rest pay nothing."""
    return (
        cls.activity_should_publish is not Activity.activity_should_publish
        or cls.activity_notify is not Activity.activity_notify
    )


@_per_class
def _never_targets(cls: type[Activity]) -> bool:
    return cls.activity_notify is Activity.activity_notify


def published_state(instance: Activity) -> tuple[bool | None, list[str] | None]:
    """What Stream has for ``instance``: (is it published, its ``to`` targets); None: unknown."""
    if _never_targets(type(instance)):
        published, _ = getattr(instance._state, _STATE_ATTR, _UNKNOWN)
        return published, []
    return getattr(instance._state, _STATE_ATTR, _UNKNOWN)


def loaded(instance: Activity, complete: bool) -> None:
    """Called for rows read from the database: their state is what was last published.

    Deferred fields would make ``activity_should_publish`` query, so such rows stay unknown.
    """
    if complete:
        setattr(instance._state, _STATE_ATTR, (bool(instance.activity_should_publish()), None))


def _remember(instance: Activity, published: bool, to: list[str] | None, using: str) -> None:
    # Known only once committed: a rolled-back save must not make us skip the next remove.
    state = instance._state
    setattr(state, _STATE_ATTR, _UNKNOWN)
    transaction.on_commit(lambda: setattr(state, _STATE_ATTR, (published, to)), using=using)


def save_kind(instance: Activity, created: bool) -> tuple[EventKind | None, list[str] | None]:
    """What a save publishes: add on create, update while published, add/remove on transitions.

    Returns the kind (None: nothing) and, for an update, the ``to`` targets last published.
    """
    publish = bool(instance.activity_should_publish())
    was_published, previous_to = (False, []) if created else published_state(instance)
    if publish:
        return (EventKind.ADD if was_published is False else EventKind.UPDATE), previous_to
    if was_published is False:
        return None, None
    return EventKind.REMOVE, None


def saved(instance: Activity, kind: EventKind | None, events: Any, using: str) -> None:
    """Remember (once committed) what the save published, for the next save's decision."""
    if not remembers_state(type(instance)):
        return
    published = kind in (EventKind.ADD, EventKind.UPDATE) or (
        kind is None and instance.activity_should_publish()
    )
    to = None
    if published and isinstance(events, list) and events and isinstance(events[0], OutboxEvent):
        to = events[0].payload.get("to", [])
    _remember(instance, bool(published), to, using)


def is_published(instance: Activity) -> bool:
    """Whether Stream has the instance's activity: what was remembered, else its current state."""
    published = published_state(instance)[0]
    if published is None:
        published = bool(instance.activity_should_publish())
    return published


_SCOPE_ATTR = "feed_outbox_scope"


class OperationScope:
    """One save or delete of an instance, while its signals are sent."""

    __slots__ = ("automatic", "explicit")

    def __init__(self) -> None:
        self.automatic = False  # feed-outbox's own receiver is running
        self.explicit = False  # the app called a publishing hook for the instance


def open_scope(instance: Activity) -> OperationScope | None:
    """Start a save's or delete's scope; returns the one it replaces (a save within a save)."""
    state = instance._state
    outer = getattr(state, _SCOPE_ATTR, None)
    setattr(state, _SCOPE_ATTR, OperationScope())
    return outer


def close_scope(instance: Activity, outer: OperationScope | None = None) -> None:
    setattr(instance._state, _SCOPE_ATTR, outer)


def run_automatic(hook: str, sender: type, instance: Activity, kwargs: dict[str, Any]) -> Any:
    """Call the feed manager's ``hook`` (``activity_created``/``activity_delete``) as
    feed-outbox's receiver for ``instance``, unless the app's own call decided already."""
    scope = getattr(instance._state, _SCOPE_ATTR, None)
    if scope is not None and scope.explicit:
        return None
    # The manager itself, not the feed_manager proxy: a proxy look-up costs a save ~1 µs.
    receiver = getattr(get_feed_manager(), hook)
    if scope is None:
        return receiver(sender, instance=instance, **kwargs)
    scope.automatic = True
    try:
        return receiver(sender, instance=instance, **kwargs)
    finally:
        scope.automatic = False


def hook_called(instance: Activity) -> bool:
    """Note a call of a feed manager hook for ``instance``; False when feed-outbox's receiver
    made it. The app's call decides what the current save or delete publishes, even when it
    writes nothing (``activity_delete`` of an activity already removed)."""
    scope = getattr(instance._state, _SCOPE_ATTR, None)
    if scope is None:
        return True
    if scope.automatic:
        return False
    scope.explicit = True
    return True


def explicit_events(instances: Any, kind: str) -> list[OutboxEvent]:
    """Events for ``publish(instances, kind)``: the current state of each instance, as ``kind``.

    ``add``/``update`` publish instances whose ``activity_should_publish()`` is true and remove
    the others (an update may have just hidden them); ``remove`` removes every instance.
    """
    kind = EventKind(kind)
    if kind not in (EventKind.ADD, EventKind.UPDATE, EventKind.REMOVE):
        raise ValueError(f"publish() takes add, update or remove, not {kind!r}")
    events: list[OutboxEvent] = []
    for instance in instances:
        if not isinstance(instance, Activity) or not isinstance(instance, models.Model):
            raise TypeError(f"{instance!r} is not an Activity model instance")
        if instance.pk is None:
            raise ValueError(f"{instance!r} has no primary key: save it before publishing")
        if kind != EventKind.REMOVE and not instance.activity_should_publish():
            if kind == EventKind.UPDATE:
                events += outbox.activity_events(instance, EventKind.REMOVE)
            continue
        events += outbox.activity_events(instance, kind, previous_to=published_state(instance)[1])
    return events
