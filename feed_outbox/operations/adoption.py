"""Adopting what stream-django published: its follows recorded, its activities re-keyed.

A project switching from stream-django has activities in Stream under stream-django's identity
(``feed_outbox.operations.legacy_identity``) and follows that never went through the outbox. Left alone,
a later delete removes a foreign id Stream never saw (the Like stays), an edit under another
``time`` adds a second activity, and reconcile cannot tell a stream-django follow from a
phantom. Adoption, in this order:

1. **follows**: every relation a news feed of a user has on Stream gets a follow outbox event
   (``activity_copy_limit=0``: the relation exists, nothing is copied again), so follow truth
   (``feed_outbox.operations.follow_state``) knows it and the adds below come after it;
2. **activities**, per Activity model: each author feed is read page by page; an activity of
   the model's verbs that is not the current identity of a published row (stream-django's
   foreign id or time, an orphan of a deleted row) is removed **by activity id** — Stream
   then drops its ``to`` and follower copies too — never by foreign id, which stream-django
   shared between a tweet and its likes;
3. **adds**: ``outbox_backfill`` of the model: an add under feed-outbox's identity for each
   published row that has no outbox event yet (Stream overwrites an unchanged identity in
   place, keeping its id and copies).

Every write is an outbox event, delivered by the relay like any other. Running it again
queues nothing already queued: pairs with a follow event, activity ids with an undelivered
remove, and rows with any event are skipped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import router, transaction

from feed_outbox import conf
from feed_outbox.activity import Activity, feed_id, related_queryset
from feed_outbox.exceptions import ActivityDataError
from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.operations.backfill import backfill
from feed_outbox.operations.follow_state import follow_key, newest_states
from feed_outbox.operations.legacy_identity import legacy_identity, legacy_verbs, stream_time
from feed_outbox.stream_api.feed_reads import feed_entries, following
from feed_outbox.stream_api.rate_limits import RequestPacer
from feed_outbox.write.outbox import activity_payload, enqueue, follow_event, new_event

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel

#: aggregate_type of adoption's removes: not a model label, so reconcile and replay by model
#: never read them as the state of a row; ordering_key ``stream_django:<activity id>``.
LEGACY_AGGREGATE = "stream_django"


@dataclass
class AdoptionReport:
    dry_run: bool = False
    feeds_read: int = 0
    follows_seen: int = 0
    follows_recorded: int = 0
    activities_seen: int = 0  # activities of an adopted model's verbs in its author feeds
    kept: int = 0  # already under feed-outbox's identity
    rekeyed: int = 0  # under stream-django's identity of a row: removed, the row re-added
    orphaned: int = 0  # no row has this identity (deleted, unpublished): removed
    removal_pending: int = 0  # an earlier run's remove is not delivered yet
    added: int = 0
    already_in_outbox: int = 0
    invalid: list[str] = field(default_factory=list)
    # (kind, feed) of each queued event, in order: what the drain estimate is computed from.
    planned: list[tuple[str, str]] = field(default_factory=list)


def author_feed_id(instance: Activity) -> str:
    """The author feed stream-django added an instance's activity to (managers.py:59-64)."""
    from feed_outbox.feed_manager import feed_manager

    return f"{feed_manager.get_actor_feed(instance)}:{instance.activity_actor_id}"


def legacy_remove_event(feed: str, activity_id: str, foreign_id: Any) -> OutboxEvent:
    """A remove of one activity, by its Stream id, from the feed it was added to."""
    return new_event(
        EventKind.REMOVE,
        feed,
        f"{LEGACY_AGGREGATE}:{activity_id}",
        LEGACY_AGGREGATE,
        {"activity_id": activity_id, "foreign_id": foreign_id},
    )


class Adoption:
    """One run over ``models`` on database ``using``; ``on_progress(phase, done, total)``."""

    def __init__(
        self,
        activity_models: list[type[ActivityModel]],
        using: str | None = None,
        dry_run: bool = False,
        page_size: int = 100,
        on_progress: Callable[[str, int, int], None] | None = None,
    ) -> None:
        self.models = activity_models
        self.using = using or router.db_for_write(OutboxEvent)
        self.page_size = page_size
        self.on_progress = on_progress or (lambda phase, done, total: None)
        self.report = AdoptionReport(dry_run=dry_run)
        self.feed_reads = RequestPacer("read_feed")
        self.following_reads = RequestPacer("read_following")

    def run(self) -> AdoptionReport:
        self.record_follows()
        for model in self.models:
            self.rekey(model)
            self.add(model)
        return self.report

    # 1. follows ------------------------------------------------------------------------
    def follow_sources(self) -> list[str]:
        # stream-django followed from the *keys* of STREAM_NEWS_FEEDS (managers.py:53-57
        # iterates the dict); feed-outbox follows from its values. Both are read.
        slugs = sorted(set(conf.news_feed_slugs()) | set(conf.news_feed_slugs().values()))
        users = get_user_model()._default_manager.using(self.using).order_by("pk")
        return [f"{slug}:{pk}" for pk in users.values_list("pk", flat=True) for slug in slugs]

    def record_follows(self) -> None:
        sources = self.follow_sources()
        for done, source in enumerate(sources, 1):
            self.following_reads.wait()
            targets = sorted(following(source).targets)
            self.report.follows_seen += len(targets)
            known = newest_states([follow_key(source, t) for t in targets], self.using)
            events = [
                follow_event(source, target, EventKind.FOLLOW, activity_copy_limit=0)
                for target in targets
                if follow_key(source, target) not in known
            ]
            self._queue(events)
            self.report.follows_recorded += len(events)
            self.on_progress("follows", done, len(sources))

    # 2. activities ---------------------------------------------------------------------
    def identities(self, model: type[ActivityModel]) -> tuple[dict, dict, set[str]]:
        """Per feed: feed-outbox's identities of published rows, and stream-django's of every
        row (for the report); and the author feeds stream-django wrote them to."""
        current: dict[str, set] = defaultdict(set)
        legacy: dict[str, set] = defaultdict(set)
        feeds: set[str] = set()
        for instance in related_queryset(model, self.using).order_by("pk").iterator(500):
            try:
                # managers.py:59-64: stream-django added to the actor's author feed only.
                author = author_feed_id(instance)
                feeds.add(author)
                legacy[author].add(legacy_identity(instance))
                if instance.activity_should_publish():
                    payload = activity_payload(instance)
                    identity = (payload["foreign_id"], payload["time"])
                    for feed in instance.activity_feeds():
                        current[feed_id(feed)].add(identity)
            except (ActivityDataError, AttributeError) as exc:
                self.report.invalid.append(f"{model._meta.label}:{instance.pk}: {exc}")
        # Authors whose rows are all gone may still have orphans in their feeds.
        slugs = {feed.split(":", 1)[0] for feed in feeds} | {conf.get("STREAM_USER_FEED")}
        users = get_user_model()._default_manager.using(self.using)
        for pk in users.values_list("pk", flat=True):
            feeds.update(f"{slug}:{pk}" for slug in slugs)
        return current, legacy, feeds

    def rekey(self, model: type[ActivityModel]) -> None:
        current, legacy, feeds = self.identities(model)
        verbs = legacy_verbs(model)
        label = model._meta.label
        for done, feed in enumerate(sorted(feeds), 1):
            removes: dict[str, tuple[OutboxEvent, bool]] = {}
            for entry in feed_entries(feed, self.page_size, before_page=self.feed_reads.wait):
                if entry.get("verb") not in verbs or entry.get("origin"):
                    continue  # another model's, or a copy removed with its origin
                self.report.activities_seen += 1
                identity = (entry.get("foreign_id"), stream_time(entry.get("time")))
                if identity in current.get(feed, ()):
                    self.report.kept += 1
                    continue
                event = legacy_remove_event(feed, entry["id"], entry.get("foreign_id"))
                removes[event.ordering_key] = (event, identity in legacy.get(feed, ()))
            self.report.feeds_read += 1
            pending = set(
                OutboxEvent.objects.using(self.using)
                .filter(ordering_key__in=list(removes))
                .exclude(status=EventStatus.DELIVERED)
                .values_list("ordering_key", flat=True)
            )
            self.report.removal_pending += len(pending)
            events = []
            for key, (event, of_a_row) in removes.items():
                if key not in pending:
                    events.append(event)
                    self.report.rekeyed += of_a_row
                    self.report.orphaned += not of_a_row
            self._queue(events)
            self.on_progress(f"activities {label}", done, len(feeds))

    # 3. adds ---------------------------------------------------------------------------
    def add(self, model: type[ActivityModel]) -> None:
        done = backfill(model, using=self.using, dry_run=self.report.dry_run)
        self.report.added += done.queued
        self.report.already_in_outbox += done.already_in_outbox
        self.report.planned += done.planned

    def _queue(self, events: list[OutboxEvent]) -> None:
        self.report.planned += [(event.kind, event.feed) for event in events]
        if events and not self.report.dry_run:
            with transaction.atomic(using=self.using):
                enqueue(events, self.using)
