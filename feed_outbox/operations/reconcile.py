"""Reconcile: compare every feed readers read with what the database says it should hold.

Feeds covered: author feeds (``activity_feeds()``), ``to`` targets such as notification feeds
(``activity_notify``), and the timelines and grouped timelines reached through follows, whose
follow relations are checked too (``Feed.following``). What each feed should hold is derived
in ``feed_outbox.operations.expected_state`` (read its docstring for the rules) and spooled to disk, so
memory holds one feed's expectation and one feed's read at a time.

Drift: ``missing`` (required by the database, absent), ``phantom`` (present, but the row is
gone, unpublished, not listed there, or came from a feed this one does not follow), ``stale``
(present with other data or time, or more than once); for follow relations ``missing`` and
``phantom``. Keys and follow pairs with pending events are skipped: the relay is on them.

**Exit 0 proves** that, in every feed read, every activity the database requires is present
once with its committed data, nothing it forbids is present, and every follow relation of the
sources read is as the newest follow/unfollow event says. Activities a follower may hold but
need not (those committed before the follow, beyond ``activity_copy_limit``) are not required.
Not checked: activities of other models (or non-model foreign ids); feeds no activity, outbox
event or follow names; follows of feeds that are neither follow sources nor news feeds;
activities hidden in groups Stream returned only in part (``unverified``, printed); phantom
follows past the 900 rows Stream's ``following`` can page through.

``api="v3"`` judges Feeds v3 against the same expectation (docs/topics/feeds-v3.md): reads go
through the getstream SDK (``feed_reads``), only v3's pending rows skip a key, and a feed holds
one v3 activity per home feed (the feed it was added to, ``feeds[0]``, whose id
``v3_mapping.activity_id(home, foreign_id)`` it has), so copies of one foreign id from several
homes count once: a copy from a home that should not hold it is that home's phantom. v3's
follows are listed whole (QueryFollows, page by page), so every v3 follow is judged.
"""

from __future__ import annotations

import datetime
import json
from collections import Counter
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import Max

from feed_outbox import conf
from feed_outbox.activity import related_queryset
from feed_outbox.exceptions import ActivityDataError
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.operations.current_state import activity_feed_ids, activity_models, pending_keys
from feed_outbox.operations.expected_state import FOLLOW, OWN, TO, ExpectedState, FeedExpectation
from feed_outbox.operations.follow_state import (
    FOLLOW_AGGREGATE,
    FollowState,
    follow_key,
    follow_states,
)
from feed_outbox.stream_api.feed_reads import FeedRead, feed_entries, following
from feed_outbox.write.outbox import activity_payload
from feed_outbox.write.references import model_content_type, split_foreign_id

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel

# Stream adds these to every activity; "to" comes back with feed tokens appended.
IGNORED_FIELDS = frozenset({"to"})
MISSING, PHANTOM, STALE = "missing", "phantom", "stale"
ACTIVITY, FOLLOW_RELATION = "activity", "follow"
ACTIVITY_KINDS = (EventKind.ADD, EventKind.UPDATE, EventKind.REMOVE)
#: Rows fetched per round trip while spooling (model rows, add events): with one feed's
#: expectation and read, what bounds reconcile's memory.
SPOOL_CHUNK = 1000


@dataclass(frozen=True)
class Drift:
    kind: str
    feed: str
    foreign_id: str  # the activity's foreign id, or the follow key for a follow relation
    detail: str = ""
    # Stale drift whose fix must remove the old copies first (time differs, duplicates).
    needs_remove: bool = False
    # How the activity is (or should be) in the feed: own, to, or follow (from ``origin``).
    route: str = OWN
    origin: str | None = None
    subject: str = ACTIVITY
    target: str = ""  # the followed feed of a follow relation's drift
    # v3: the feed the copy was added to (its id is that feed's); None on v2 or when absent.
    home: str | None = None


@dataclass
class ReconcileReport:
    feeds: int = 0
    expected: int = 0  # required activities, summed over feeds
    allowed: int = 0  # follow copies the database allows but does not require
    found: int = 0
    pending: int = 0
    unverified: int = 0  # required activities absent from a feed whose groups were truncated
    truncated_groups: int = 0
    incomplete_following: int = 0  # sources following more than Stream lets us list
    follows_checked: int = 0
    peak_held: int = 0  # most expected activities held in memory at once
    invalid: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    queued: int = 0

    def counts(self, subject: str = ACTIVITY) -> Counter:
        kinds = Counter({MISSING: 0, PHANTOM: 0, STALE: 0})
        return kinds + Counter(d.kind for d in self.drift if d.subject == subject)

    @property
    def consistent(self) -> bool:
        return not self.drift and not self.invalid


def reconcile(
    feed: str | None = None,
    model: type[ActivityModel] | None = None,
    using: str | None = None,
    page_size: int = 100,
    on_feed: Callable[[int, int], None] | None = None,
    api: str = "v2",
) -> ReconcileReport:
    """Read every feed in scope from Stream and report its drift from the database.

    ``feed`` reads that feed only (its follows too); ``model`` judges that model's activities
    only and leaves follow relations alone; ``api`` is the Stream API read ("v2" or "v3").
    """
    models_ = [model] if model is not None else activity_models()
    labels = {model_content_type(m) for m in models_}
    using = using or router.db_for_read(OutboxEvent)
    report = ReconcileReport()
    with ExpectedState() as spool:
        _spool(spool, models_, labels, feed, using, report)
        report.feeds = spool.feed_count()
        news_slugs = set(conf.news_feed_slugs().values())
        for done, name in enumerate(spool.feeds(), 1):
            expectation = spool.expect(name)
            _reconcile_feed(expectation, labels, using, page_size, report, api)
            if model is None and (expectation.follows or name.split(":")[0] in news_slugs):
                report.drift.extend(
                    compare_follows(expectation.feed, expectation.follows, report, api)
                )
            if on_feed:
                on_feed(done, report.feeds)
        report.peak_held = spool.peak_held
    return report


def _spool(
    spool: ExpectedState,
    models_: list[type[ActivityModel]],
    labels: set[str],
    feed: str | None,
    using: str,
    report: ReconcileReport,
) -> None:
    """Write the follow truth, every published activity, and each key's newest add."""
    targets = set()
    for state in follow_states(using, source=feed, chunk_size=SPOOL_CHUNK):
        spool.add_follow(state)
        targets.add(state.target)
    # Scoped to one feed: only its own activities and those of the feeds it follows matter.
    wanted = None if feed is None else {feed} | targets
    for model in models_:
        rows = related_queryset(model, using).order_by("pk")
        for instance in rows.iterator(chunk_size=SPOOL_CHUNK):
            if not instance.activity_should_publish():
                continue
            feeds = activity_feed_ids(instance)
            try:
                payload = activity_payload(instance)
            except ActivityDataError as exc:
                report.invalid.append(str(exc))
                continue
            if wanted is not None:
                feeds = [f for f in feeds if f in wanted]
                if not feeds and not wanted.intersection(payload.get("to") or ()):
                    continue
            spool.add_activity(payload, feeds)
    # Of any feed: a `to` target's copies (and its followers') come from the author feed's add.
    adds = OutboxEvent.objects.using(using).filter(kind=EventKind.ADD, aggregate_type__in=labels)
    newest = adds.order_by().values("ordering_key").annotate(newest=Max("id"))
    for key, event_id in newest.values_list("ordering_key", "newest").iterator(
        chunk_size=SPOOL_CHUNK
    ):
        spool.add_newest_add(key, event_id)
    if feed is not None:
        spool.add_feeds([feed])
        spool.seal(list_feeds=False)
        return
    # Feeds the outbox ever wrote to or notified: where phantoms of now-empty feeds would hide.
    spool.add_feeds(_written_feeds(labels, using))
    spool.seal()


def _written_feeds(labels: set[str], using: str) -> Iterator[str]:
    events = OutboxEvent.objects.using(using).filter(
        aggregate_type__in=labels, kind__in=ACTIVITY_KINDS
    )
    yield from events.order_by().values_list("feed", flat=True).distinct().iterator()
    connection = connections[using]
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(OutboxEvent._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT DISTINCT jsonb_array_elements_text(payload->'to') FROM {table}"
                " WHERE aggregate_type = ANY(%s) AND jsonb_typeof(payload->'to') = 'array'",
                [sorted(labels)],
            )
            while rows := cursor.fetchmany(1000):
                yield from (target for (target,) in rows)
        return
    for payload in events.filter(payload__has_key="to").values_list("payload", flat=True):
        yield from (t for t in payload.get("to") or () if isinstance(t, str))


def _reconcile_feed(
    expectation: FeedExpectation,
    labels: set[str],
    using: str,
    page_size: int,
    report: ReconcileReport,
    api: str = "v2",
) -> None:
    name = expectation.feed
    read = FeedRead()
    actual: dict[str, list[dict]] = {}
    for activity in feed_entries(name, page_size, read, api=api):
        foreign_id = activity.get("foreign_id") or ""
        parsed = split_foreign_id(foreign_id)
        if parsed and parsed[0] in labels:
            actual.setdefault(foreign_id, []).append(activity)
    wanted = expectation.activities
    if api == "v3":
        actual = {k: [_v3_copy(name, v, wanted.get(k))] for k, v in actual.items()}
    pending = pending_keys(set(actual) | set(wanted), using, api)
    report.pending += len(pending)
    report.expected += sum(1 for e in wanted.values() if e.required)
    report.allowed += sum(1 for e in wanted.values() if not e.required)
    report.found += sum(len(v) for v in actual.values())
    report.truncated_groups += read.truncated_groups
    wanted = {k: v for k, v in wanted.items() if k not in pending}
    actual = {k: v for k, v in actual.items() if k not in pending}
    drift = compare_feed(name, wanted, actual, expectation.pending_origins)
    if read.truncated_groups:
        # Stream returned only part of some groups: an absent activity may be in a hidden part.
        unseen = [d for d in drift if d.kind == MISSING]
        report.unverified += len(unseen)
        drift = [d for d in drift if d.kind != MISSING]
    report.drift.extend(drift)


def _v3_copy(feed: str, copies: list[dict], want: Any) -> dict:
    """The one v3 copy of a foreign id that this feed is judged by: the one from the home the
    database expects (this feed, or a followed feed it comes from); others are their homes'
    phantoms, reported when those feeds are read."""
    homes = {feed} | (set(want.origins) if want is not None else set())
    for copy in copies:
        if (copy.get("origin") or feed) in homes:
            return copy
    return copies[0]


def normal_value(value: Any) -> Any:
    """A value as JSON would carry it, times as naive UTC ISO strings (v2 and v3 spell them
    differently)."""
    if isinstance(value, datetime.datetime):
        value = value.replace(tzinfo=None).isoformat(timespec="microseconds")
    elif isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            value = parsed.replace(tzinfo=None).isoformat(timespec="microseconds")
        except ValueError:
            pass
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _route_of(routes: set[str]) -> str:
    return OWN if OWN in routes else TO if TO in routes else FOLLOW


def compare_feed(
    feed: str,
    expected: dict,
    actual: dict[str, list[dict]],
    pending_origins: AbstractSet[str] = frozenset(),
) -> list[Drift]:
    """Drift of one feed: ``expected`` maps foreign ids to Expectations, ``actual`` to copies."""
    drift = []
    for foreign_id, want in expected.items():
        copies = actual.get(foreign_id)
        route = _route_of(want.routes)
        origin = min(want.origins) if route == FOLLOW and want.origins else None
        if not copies:
            if want.required:
                detail = f"from {origin}, followed before it was added" if origin else ""
                drift.append(Drift(MISSING, feed, foreign_id, detail, route=route, origin=origin))
            continue
        if len(copies) > 1:
            detail = f"{len(copies)} copies"
            drift.append(Drift(STALE, feed, foreign_id, detail, True, route, origin))
            continue
        differs = sorted(
            key
            for key, value in want.payload.items()
            if key not in IGNORED_FIELDS and normal_value(value) != normal_value(copies[0].get(key))
        )
        if differs:
            detail = ", ".join(differs) + " differ"
            home = (copies[0].get("v3_feeds") or [None])[0]
            drift.append(
                Drift(STALE, feed, foreign_id, detail, "time" in differs, route, origin, home=home)
            )
    for foreign_id in sorted(actual.keys() - expected.keys()):
        copy = actual[foreign_id][0]
        origin = copy.get("origin") or None
        home = (copy.get("v3_feeds") or [None])[0]
        if origin in pending_origins:
            continue
        if origin:
            route, detail = FOLLOW, f"from {origin}: not followed, or not there, per the database"
        elif feed in {str(t).split(" ", 1)[0] for t in copy.get("to") or ()}:
            route, detail = TO, "the database does not notify this feed"
        else:
            route, detail = OWN, "not published in this feed in the database"
        drift.append(
            Drift(PHANTOM, feed, foreign_id, detail, route=route, origin=origin, home=home)
        )
    return drift


def compare_follows(
    source: str, follows: list[FollowState], report: ReconcileReport, api: str = "v2"
) -> list[Drift]:
    """Follow relations of ``source`` on Stream against each pair's newest outbox event."""
    wanted = {s.target for s in follows if s.following and not s.pending}
    pending = {s.target for s in follows if s.pending}
    read = following(source, wanted, api=api)
    report.follows_checked += 1
    if not read.complete:
        report.incomplete_following += 1
        if api == "v3":  # v3 lists 100 follows and cannot be asked for the others
            wanted &= read.targets
    drift = [
        Drift(
            MISSING,
            source,
            follow_key(source, t),
            "not followed on Stream",
            subject=FOLLOW_RELATION,
            target=t,
        )
        for t in sorted(wanted - read.targets)
    ]
    drift += [
        Drift(
            PHANTOM,
            source,
            follow_key(source, t),
            "followed on Stream, not in the database",
            subject=FOLLOW_RELATION,
            target=t,
        )
        for t in sorted(read.targets - wanted - pending)
    ]
    return drift


__all__ = [
    "FOLLOW_AGGREGATE",
    "Drift",
    "ReconcileReport",
    "compare_feed",
    "reconcile",
]
