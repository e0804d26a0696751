"""Shadow read (``outbox_reconcile --compare v2 v3``): feed by feed, one Stream API against another.

Stream's migration step 2 ("shadow-read v3"): before reads switch, every feed the outbox
names should hold the same activities, by ``foreign_id`` + ``time`` (v3 keeps both in
``custom``; ids differ by design), and every follow source the same follow relations. The
database is not consulted for what feeds should hold (``outbox_reconcile --api`` does that);
it only names the feeds (every outbox event's feed, ``to`` target and followed feed) and
skips keys with a pending event, which the relay is still delivering to one API or both.
Memory holds one feed's identities from each API; reads are paged.

Not compared: activity data beyond identity (reconcile ``--api`` checks it against the
database), feeds no outbox event names, follows of feeds that never followed through the
outbox, and follows past what one API can list (``incomplete`` sources: v2 lists 900 rows;
v3's QueryFollows lists every follow).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.db import connections, router

from feed_outbox.models import OutboxEvent
from feed_outbox.operations.current_state import pending_keys
from feed_outbox.operations.follow_state import FOLLOW_AGGREGATE, follow_key
from feed_outbox.operations.reconcile import normal_value
from feed_outbox.stream_api.feed_reads import FeedRead, feed_entries, following

ACTIVITY, FOLLOW_RELATION = "activity", "follow"


@dataclass(frozen=True)
class Difference:
    """Something one API holds and the other does not (``only_in`` names the holder)."""

    feed: str
    only_in: str
    subject: str  # activity or follow
    what: str  # "foreign_id @ time", or the followed feed
    count: int = 1


@dataclass
class ShadowReport:
    apis: tuple[str, str]
    feeds: int = 0
    activities: int = 0  # identities read, summed over feeds and both APIs
    follows_checked: int = 0
    pending: int = 0
    truncated_groups: int = 0
    incomplete: int = 0  # follow sources whose follows one API could not list whole
    differences: list[Difference] = field(default_factory=list)

    def counts(self, subject: str = ACTIVITY) -> Counter:
        found = Counter(dict.fromkeys(self.apis, 0))
        for item in self.differences:
            if item.subject == subject:
                found[item.only_in] += item.count
        return found

    @property
    def identical(self) -> bool:
        return not self.differences


def compare_apis(
    first: str = "v2",
    second: str = "v3",
    feed: str | None = None,
    using: str | None = None,
    page_size: int = 100,
    on_feed: Callable[[int], None] | None = None,
) -> ShadowReport:
    """Read every feed the outbox names (or ``feed``) from both APIs and report differences."""
    using = using or router.db_for_read(OutboxEvent)
    report = ShadowReport((first, second))
    for name in [feed] if feed else named_feeds(using):
        report.feeds += 1
        _compare_activities(name, report, using, page_size)
        if _is_follow_source(name, using):
            _compare_follows(name, report, using)
        if on_feed:
            on_feed(report.feeds)
    return report


def _identities(feed: str, api: str, page_size: int, report: ShadowReport) -> Counter:
    read = FeedRead()
    found: Counter = Counter()
    for activity in feed_entries(feed, page_size, read, api=api):
        found[(activity.get("foreign_id") or "", normal_value(activity.get("time")))] += 1
    report.truncated_groups += read.truncated_groups
    report.activities += sum(found.values())
    return found


def _compare_activities(feed: str, report: ShadowReport, using: str, page_size: int) -> None:
    first, second = report.apis
    held = {api: _identities(feed, api, page_size, report) for api in report.apis}
    surplus = {first: held[first] - held[second], second: held[second] - held[first]}
    keys = {fid for counter in surplus.values() for fid, _time in counter}
    pending = pending_keys(keys, using)
    report.pending += len(pending)
    for api, counter in surplus.items():
        for (foreign_id, time), count in sorted(counter.items(), key=str):
            if foreign_id not in pending:
                what = f"{foreign_id} @ {time}"
                report.differences.append(Difference(feed, api, ACTIVITY, what, count))


def _compare_follows(source: str, report: ShadowReport, using: str) -> None:
    first, second = report.apis
    reads = {first: following(source, api=first)}
    reads[second] = following(source, reads[first].targets, api=second)
    if any(not read.complete for read in reads.values()):
        report.incomplete += 1
    report.follows_checked += 1
    pending = pending_keys([follow_key(source, t) for t in _either(reads)], using)
    for api, other in ((first, second), (second, first)):
        if not reads[other].complete:
            continue  # the other API could not list all it holds: absence proves nothing
        for target in sorted(reads[api].targets - reads[other].targets):
            if follow_key(source, target) in pending:
                report.pending += 1
                continue
            report.differences.append(Difference(source, api, FOLLOW_RELATION, target))


def _either(reads: dict) -> set[str]:
    return set().union(*(read.targets for read in reads.values()))


def named_feeds(using: str) -> Iterator[str]:
    """Every feed an outbox event names, sorted, each once: its feed, ``to`` targets and a
    follow's target (streamed on PostgreSQL)."""
    connection = connections[using]
    table = connection.ops.quote_name(OutboxEvent._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT feed FROM {table}"
                f" UNION SELECT jsonb_array_elements_text(payload->'to') FROM {table}"
                "  WHERE jsonb_typeof(payload->'to') = 'array'"
                f" UNION SELECT payload->>'target' FROM {table}"
                "  WHERE aggregate_type = %s AND payload->>'target' IS NOT NULL"
                " ORDER BY 1",
                [FOLLOW_AGGREGATE],
            )
            while rows := cursor.fetchmany(1000):
                yield from (name for (name,) in rows if _is_feed(name))
        return
    names: set[str] = set()
    for name, payload in OutboxEvent.objects.using(using).values_list("feed", "payload"):
        names.add(name)
        if isinstance(payload, dict):
            names.update(t for t in payload.get("to") or () if isinstance(t, str))
            if isinstance(payload.get("target"), str):
                names.add(payload["target"])
    yield from sorted(n for n in names if _is_feed(n))


def _is_feed(name: str | None) -> bool:
    return isinstance(name, str) and name.count(":") == 1


def _is_follow_source(feed: str, using: str) -> bool:
    # One indexed query per feed rather than every source in memory.
    rows = OutboxEvent.objects.using(using).filter(aggregate_type=FOLLOW_AGGREGATE, feed=feed)
    return rows.exists()
