"""Repairs of reconcile's drift, queued through the outbox (``outbox_reconcile --fix``).

Nothing is sent to Stream from here: each fix is an outbox event the relay delivers in its
key's order, rebuilt from the row (locked) or the follow key's newest event as they are now,
so a change committed since the read wins. What each fix relies on Stream doing, and why we
believe it (stream-python's integration tests run against the real service; emulator code is
no evidence for the real service):

* follow relation missing → a follow with the pair's options. Stream copies the target's
  most recent ``activity_copy_limit`` (default 100, max 1000) activities: Stream's v2
  "Following Feeds" docs; stream-python ``test_flat_follow_copy_one``,
  ``test_follow_activity_copy_limit``.
* follow relation phantom → an unfollow (``keep_history`` as the newest unfollow said, else
  false). Stream drops the target's copies: ``test_flat_follow`` (unfollow leaves 0); that
  ``keep_history`` keeps them: the "Following Feeds" docs only.
* activity missing from a follower → the activity's add again, to the followed feed it comes
  from: an upsert (same ``foreign_id`` + ``time`` overwrites, ``test_uniqueness_foreign_id``).
  That Stream then copies the already stored activity to current followers lacking it is
  **unverified** for the real service (the emulator does it); a second reconcile after the
  drain shows whether it held. A re-follow would copy at most 1000 and is not used.
* missing from a ``to`` target → an update with ``RECONCILE_KEY`` (``previous_to`` unknown):
  the relay calls ``update_activity_to_targets(new_targets=…)`` and then upserts the activity.
  ``test_update_activity_to_targets`` shows the targets being replaced; that the copies in
  target feeds follow, and that the upsert restores a copy lost from a target Stream still
  lists, are **unverified**.
* phantom anywhere → a remove by foreign id from that feed (``test_remove_activity_by_foreign_id``
  for an author feed; on a follower's or target's copy **unverified**). Removing from the
  origin also removes followers' copies (``test_follow_and_delete``). A phantom ``to`` copy of
  a row that still exists also gets the ``RECONCILE_KEY`` update first, so Stream's target list
  forgets the feed.
* stale → the activity's upsert (one activity is shared by every feed it is in); with another
  ``time`` or duplicates, a remove from that feed first.

On Feeds v3 (``api="v3"``, rows for v3 only) a feed holds no copy of its own to remove: every
copy is the one activity of its home feed (``v3_mapping.activity_id(home, foreign_id)``), listed
in its ``feeds`` or materialised in followers. So each fix rewrites that home: stale data or
time → its upsert (same id, so every copy changes; reactions kept); anything a copy lacks or
holds wrongly → a hard delete of the home's activity, then its add again if the database
publishes it there, which lists the row's ``to`` targets as ``feeds`` and reaches the home's
current followers only. That an upsert of an existing id does not reach followers lacking it,
and that a re-add does, is the emulator's behaviour (**unverified** for the service); a re-add
loses the activity's reactions and moves it to the top of v3's ``created_at`` order
(``custom.time`` is kept).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import connections, router, transaction

from feed_outbox.activity import feed_id
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.operations.current_state import (
    activity_feed_ids,
    activity_models,
    lock_instances,
    pending_keys,
    remove_event,
)
from feed_outbox.operations.expected_state import FOLLOW, OWN, TO
from feed_outbox.operations.follow_state import newest_states
from feed_outbox.operations.reconcile import (
    FOLLOW_RELATION,
    MISSING,
    PHANTOM,
    STALE,
    Drift,
)
from feed_outbox.write.outbox import (
    LOCK_NAMESPACE,
    RECONCILE_KEY,
    activity_events,
    enqueue,
    follow_event,
)
from feed_outbox.write.references import model_content_type, split_foreign_id

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel

# Removes from a wrong feed go before adds to the right one (same key: FIFO order).
_ORDER = {PHANTOM: 0, STALE: 1, MISSING: 2}


def repair(
    drift: list[Drift], using: str | None = None, dry_run: bool = False, api: str | None = None
) -> int:
    """Queue the events that bring each drifted activity and follow relation to the
    database's state; returns how many. Follow fixes are written first (lower ids).

    ``api`` ("v2", "v3") writes the rows for that Stream API only (the drift was read there);
    None writes them for every API of FEED_OUTBOX_STREAM_API.
    """
    using = using or router.db_for_write(OutboxEvent)
    apis = (api,) if api else None
    follows = [d for d in drift if d.subject == FOLLOW_RELATION]
    activities = sorted(
        (d for d in drift if d.subject != FOLLOW_RELATION),
        key=lambda d: (_ORDER[d.kind], d.foreign_id),
    )
    # Two transactions: each takes its locks in the order writers do (no lock-order deadlock).
    with transaction.atomic(using=using):
        events = _follow_fixes(follows, using, api)
        if not dry_run:
            enqueue(events, using, apis=apis)
    with transaction.atomic(using=using):
        more = _activity_fixes(activities, using, api)
        if not dry_run:
            enqueue(more, using, apis=apis)
    return len(events) + len(more)


def _lock_followed_feeds(targets: list[str], using: str) -> None:
    """Take the exclusive lock a follow writer takes on the feed it follows
    (feed_outbox.write.outbox._write): a concurrent follow or unfollow of these feeds has then
    committed before we read the pair's newest event, or gets an id after our fix."""
    connection = connections[using]
    if connection.vendor != "postgresql" or not targets:
        return  # SQLite: one writer at a time already
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_advisory_xact_lock(%s, hashtext(feed)))"
            " FROM unnest(%s::text[]) AS feed",
            [LOCK_NAMESPACE, sorted(set(targets))],
        )


def _follow_fixes(drift: list[Drift], using: str, api: str | None) -> list[OutboxEvent]:
    keys = sorted({d.foreign_id for d in drift})
    if not keys:
        return []
    _lock_followed_feeds([d.target for d in drift], using)
    pending = pending_keys(set(keys), using, api)
    states = newest_states(keys, using)
    events = []
    for item in drift:
        if item.foreign_id in pending:
            continue
        state = states.get(item.foreign_id)
        following = state is not None and state.following
        if item.kind == MISSING and following and state is not None:
            events.append(follow_event(item.feed, item.target, EventKind.FOLLOW, **state.options))
        elif item.kind == PHANTOM and not following:
            keep = bool(state and state.keep_history)
            events.append(
                follow_event(item.feed, item.target, EventKind.UNFOLLOW, keep_history=keep)
            )
    return events


def _activity_fixes(drift: list[Drift], using: str, api: str | None) -> list[OutboxEvent]:
    by_label: dict[str, set[str]] = {}
    for item in drift:
        label, pk = split_foreign_id(item.foreign_id) or ("", "")
        by_label.setdefault(label, set()).add(pk)
    instances: dict[str, ActivityModel] = {}
    for model in activity_models():
        label = model_content_type(model)
        if label in by_label:
            for pk, instance in lock_instances(model, by_label[label], using).items():
                instances[f"{label}:{pk}"] = instance
    # Locks first, then pending: a writer holding the row lock has inserted its event.
    pending = pending_keys({d.foreign_id for d in drift}, using, api)
    if api == "v3":
        return _v3_fixes([d for d in drift if d.foreign_id not in pending], instances)
    events: list[OutboxEvent] = []
    seen: set[tuple] = set()
    for item in drift:
        if item.foreign_id in pending:
            continue
        for event in _fix(item, instances.get(item.foreign_id)):
            identity = (event.kind, event.feed, event.ordering_key, RECONCILE_KEY in event.payload)
            if identity not in seen:  # one re-add serves every follower that lacks it
                seen.add(identity)
                events.append(event)
    return events


def _placement(item: Drift, instance: ActivityModel | None) -> tuple[bool, list[str], bool]:
    """Whether the row publishes its activity now, the feeds it publishes it to, and whether
    the drifted feed is one of them by the drift's route (its own feeds, or a ``to`` target)."""
    if instance is None or not instance.activity_should_publish():
        return False, [], False  # unpublished: in no feed, so drifted by no route
    own = activity_feed_ids(instance)
    notified = [feed_id(f) for f in instance.activity_notify or ()]
    here = (item.route == OWN and item.feed in own) or (item.route == TO and item.feed in notified)
    return True, own, here


def _fix(item: Drift, instance: ActivityModel | None) -> list[OutboxEvent]:
    label = (split_foreign_id(item.foreign_id) or ("", ""))[0]
    published, own, here = _placement(item, instance)
    if item.kind == PHANTOM:
        if here:
            return []  # published here since the read: not drift any more
        events = []
        if instance is not None and published and item.route == TO:
            events += _to_update(instance)
        return [*events, remove_event(item.feed, item.foreign_id, label)]
    if instance is None or not published or (item.route in (OWN, TO) and not here):
        # Gone, unpublished or belonging elsewhere: nothing to add here; a stale copy goes.
        return [] if item.kind == MISSING else [remove_event(item.feed, item.foreign_id, label)]
    events = []
    if item.needs_remove:
        events.append(remove_event(item.feed, item.foreign_id, label))
    if item.route == OWN:
        events += [e for e in activity_events(instance, EventKind.ADD) if e.feed == item.feed]
    elif item.route == TO:
        events += _to_update(instance)
    elif item.route == FOLLOW:
        # The add to the feed the copy comes from: Stream fans it out to that feed's followers.
        source = item.origin if item.origin in own else own[0]
        events += [e for e in activity_events(instance, EventKind.ADD) if e.feed == source]
    return events


def _to_update(instance: ActivityModel) -> list[OutboxEvent]:
    """An update that makes Stream's ``to`` targets exactly the row's (previous ones unknown)."""
    return activity_events(instance, EventKind.UPDATE, previous_to=None)[:1]


# What a v3 fix does to an activity's home feed, weakest first: the strongest asked wins.
_UPSERT, _DELETE, _REWRITE = 1, 2, 3


def _v3_fixes(drift: list[Drift], instances: dict[str, ActivityModel]) -> list[OutboxEvent]:
    """One action per (foreign id, home): mixing an upsert with a delete + re-add of the same
    activity in one run must not end with the delete."""
    actions: dict[tuple[str, str], int] = {}
    for item in drift:
        found = _v3_action(item, instances.get(item.foreign_id))
        if found is not None:
            key = (item.foreign_id, found[0])
            actions[key] = max(actions.get(key, 0), found[1])
    events: list[OutboxEvent] = []
    for (foreign_id, home), action in actions.items():
        label = (split_foreign_id(foreign_id) or ("", ""))[0]
        if action in (_DELETE, _REWRITE):
            events.append(remove_event(home, foreign_id, label))
        if action in (_UPSERT, _REWRITE):
            instance = instances[foreign_id]
            events += [e for e in activity_events(instance, EventKind.ADD) if e.feed == home]
    return events


def _v3_action(item: Drift, instance: ActivityModel | None) -> tuple[str, int] | None:
    published, own, here = _placement(item, instance)
    if item.kind == PHANTOM:
        if here:
            return None  # published here since the read
        home = item.home or item.feed
        return (home, _REWRITE if home in own else _DELETE)
    if not published or (item.route in (OWN, TO) and not here):
        if item.kind == MISSING:
            return None
        home = item.home or item.feed
        return (home, _REWRITE if home in own else _DELETE)
    if item.route == OWN:
        home = item.feed
    elif item.route == TO:
        home = own[0]  # the add that lists the `to` targets as feeds
    else:
        home = item.origin if item.origin in own else own[0]
    if item.kind == STALE:
        return (home, _UPSERT)  # one activity in every feed: its upsert corrects each copy
    return (home, _REWRITE)
