"""The consistency checker: what every feed should hold versus what a reader of Stream sees.

Expected content comes from ``truth.py``: the committed outbox replayed in commit order
through a model of Stream (``stream_model.py``), cross-checked against the sample app's rows.
What Stream holds is read through stream-python (``reads.py``; on Feeds v3 through the
getstream SDK and the v3 read adapter, against the v3 model ``stream_model_v3.py``), page by page: author feeds
(``user``) and timelines (``timeline``) as flat feeds, grouped timelines
(``timeline_aggregated``) and ``notification`` feeds as groups (group key -> foreign ids and
activity_count), and follow relations through ``following()``. Five counts per feed type
(user, timeline, timeline_aggregated, notification, follows), all must be 0:

* lost: an expected activity (or follow relation) that is absent;
* phantom: an activity (or follow relation) present that should not be: rolled back,
  deleted, never written, or not reached by any follow committed before it;
* duplicated: more than one activity for one foreign_id in one feed (or group), or a group
  whose activity_count is not the number of its activities;
* stale: the activity is there but its text or time is not the committed one, or it sits in
  another group than its verb and time make it;
* order violations, from the emulator's request log, defined below.

Commit order. The replay applies outbox events in id order. For one key that is commit
order (the object's row lock serialises its writers); for events of different keys that
interact (an activity of a feed, and a follow of that feed) it is commit order because the
outbox write takes advisory locks before its rows get their ids (feed_outbox.write.causality:
activities lock their feeds shared, follows the followed feed exclusively). When news feeds
differ, the report says how many of them the order Stream applied the writes in explains
(``diagnosis.py``), to tell a relay that delivered out of commit order from a model error.

Order violation. Per ordering key, the outbox holds events e1 < e2 < ... (outbox id order,
which for one key is commit order: the row lock of the object serialises its writers). The
relay delivers at least once, so the log may apply an event several times; what it must never
do is apply an event after a *later* event of the key was applied. The log records operations,
not event ids, so each applied operation is classified as PUT (add/update of the activity, or
follow) or DEL (remove, or unfollow), and the key's log sequence must be matchable to a
non-decreasing sequence of its events of the same class: applying e_i, e_i again (retry),
then e_j with j >= i is fine; a PUT applied when every PUT event of the key precedes an
already applied DEL (a resurrection), or a DEL applied after the last DEL was followed by an
applied PUT, is a violation. Greedy matching (stay on the current event while its class
matches, else move to the next event of the operation's class) finds a matching whenever one
exists. Limits, stated so nobody over-reads a zero: two PUTs of one key are indistinguishable
in the log, so a stale update applied after a newer one and then overwritten again is not
seen (a stale update that *stays* is counted as stale); removes of an activity that is not in
the feed are not logged by the emulator, which only shortens sequences.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.chaos import diagnosis
from tests.chaos.reads import read_flat, read_following, read_groups
from tests.chaos.stream_model_v3 import creations_from_log
from tests.chaos.truth import Expected, expected

PUT, DEL = "PUT", "DEL"
# The feed the rate-limit nemesis spends the budget on; not part of the workload.
NOISE_FEED = "user:ratelimitnoise"
EVENT_CLASS = {"add": PUT, "update": PUT, "follow": PUT, "remove": DEL, "unfollow": DEL}
LOG_CLASS = {
    "add_activity": PUT,
    "follow": PUT,
    "remove_activity": DEL,
    "unfollow": DEL,
}


# Feed types in the order they are reported; "follows" are the follow relations.
FEED_TYPES = ("user", "timeline", "timeline_aggregated", "notification", "follows")
COUNTS = ("lost", "phantom", "duplicated", "stale", "order_violations")
# The chaos emulator runs with its default feed groups: these two group their activities.
GROUPED = {"timeline_aggregated", "notification"}
FLAT = {"user", "timeline"}


def feed_type(feed: str) -> str:
    return feed.split(":", 1)[0]


@dataclass
class Report:
    by_type: dict[str, Counter] = field(
        default_factory=lambda: {kind: Counter() for kind in FEED_TYPES}
    )
    details: list[str] = field(default_factory=list)
    feeds_checked: int = 0
    activities_expected: int = 0
    writes_logged: int = 0  # applied writes of the workload the order check matched
    diagnosis: str = ""  # for a failed check: what the differences look like

    @property
    def counts(self) -> dict[str, int]:
        """The five counts over every feed type."""
        return {name: sum(c[name] for c in self.by_type.values()) for name in COUNTS}

    def type_counts(self, kind: str) -> dict[str, int]:
        counter = self.by_type.get(kind, Counter())
        return {name: counter[name] for name in COUNTS}

    def __getattr__(self, name: str) -> int:
        if name in COUNTS:
            return self.counts[name]
        raise AttributeError(name)

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def note(self, kind: str, message: str, feed_kind: str = "user") -> None:
        self.by_type.setdefault(feed_kind, Counter())[kind] += 1
        if len(self.details) < 50:
            self.details.append(f"{kind} [{feed_kind}]: {message}")

    def per_type(self) -> str:
        """``user=0/0/0/0/0 timeline=...``: lost/phantom/duplicated/stale/order per type."""
        return " ".join(
            f"{kind}={'/'.join(str(v) for v in self.type_counts(kind).values())}"
            for kind in self.by_type
        )


def combined(reports: dict[str, Report]) -> Report:
    """One report of several APIs' (a v2+v3 run): counts summed, details tagged with the API."""
    if len(reports) == 1:
        return next(iter(reports.values()))
    total = Report()
    for api, report in reports.items():
        for kind, counter in report.by_type.items():
            total.by_type.setdefault(kind, Counter()).update(counter)
        total.details += [f"{api} {d}" for d in report.details]
        total.feeds_checked += report.feeds_checked
        total.activities_expected += report.activities_expected
        total.writes_logged += report.writes_logged
        total.diagnosis = "; ".join(
            d for d in (total.diagnosis, report.diagnosis and f"{api}: {report.diagnosis}") if d
        )
    return total


def _time_str(value: Any) -> str:
    """Stream's time string; stream-python decodes it into a naive UTC datetime."""
    from feed_outbox.write.payload import TIME_FORMAT, format_time

    if isinstance(value, str) or value is None:
        return value
    return value.strftime(TIME_FORMAT) if value.tzinfo is None else format_time(value)


def _compare_activities(
    report: Report, where: str, kind: str, want: dict, found: list[dict]
) -> None:
    """One flat feed or one group: expected {foreign_id: (time, text)} against what was read."""
    have: dict[str, list[dict]] = defaultdict(list)
    for activity in found:
        have[activity.get("foreign_id")].append(activity)
    report.activities_expected += len(want)
    for foreign_id, (time, text) in want.items():
        present = have.get(foreign_id)
        if not present:
            report.note("lost", f"{foreign_id} missing from {where}", kind)
            continue
        stored = present[0]
        if _time_str(stored.get("time")) != time or stored.get("text") != text:
            report.note(
                "stale",
                f"{foreign_id} in {where} is ({_time_str(stored.get('time'))}, "
                f"{stored.get('text')!r}), committed ({time}, {text!r})",
                kind,
            )
    for foreign_id, present in have.items():
        if foreign_id not in want:
            report.note("phantom", f"{foreign_id} in {where} should not be there", kind)
        for _ in present[1:]:
            report.note("duplicated", f"{foreign_id} is {len(present)} times in {where}", kind)


def compare_feeds(report: Report, expected: dict, actual: dict[str, list[dict]]) -> None:
    """Flat feeds: ``{feed: {foreign_id: (time, text)}}`` against ``{feed: [activity]}``."""
    for feed in sorted(set(expected) | set(actual) - {NOISE_FEED}):
        report.feeds_checked += 1
        _compare_activities(
            report, feed, feed_type(feed), expected.get(feed, {}), actual.get(feed, [])
        )


def compare_groups(report: Report, expected: dict, actual: dict[str, list[dict]]) -> None:
    """Grouped feeds: ``{feed: {group: {foreign_id: (time, text)}}}`` against the groups read.

    Groups are compared as sets: their order depends on when activities arrived, which no
    replay can know. An activity in the wrong group is lost from its group and phantom in the
    other.
    """
    for feed in sorted(set(expected) | set(actual)):
        kind = feed_type(feed)
        report.feeds_checked += 1
        want_groups = expected.get(feed, {})
        have_groups: dict[str, list[dict]] = defaultdict(list)
        for group in actual.get(feed, []):
            if group["group"] in have_groups:
                report.note("duplicated", f"group {group['group']} twice in {feed}", kind)
            have_groups[group["group"]].extend(group["activities"])
            if group.get("activity_count") != len(group["activities"]):
                report.note(
                    "duplicated",
                    f"group {group['group']} of {feed} has activity_count "
                    f"{group.get('activity_count')} for {len(group['activities'])} activities",
                    kind,
                )
        for key in sorted(set(want_groups) | set(have_groups)):
            where = f"{feed} group {key}"
            _compare_activities(
                report, where, kind, want_groups.get(key, {}), have_groups.get(key, [])
            )


def compare_follows(report: Report, expected: dict[str, set], actual: dict[str, list]) -> None:
    for source in sorted(set(expected) | set(actual)):
        want, have = expected.get(source, set()), actual.get(source, [])
        for target in sorted(want - set(have)):
            report.note("lost", f"follow {source} → {target} missing", "follows")
        for target in sorted(set(have) - want):
            report.note("phantom", f"follow {source} → {target} should not be there", "follows")
        for target, n in Counter(have).items():
            if n > 1:
                report.note("duplicated", f"follow {source} → {target} listed {n} times", "follows")


def _log_key(row: dict) -> str | None:
    if row.get("feed") == NOISE_FEED:
        return None  # the nemesis's own requests
    if row["op"] in ("add_activity", "remove_activity") and row.get("feed"):
        return f"{row['feed']}|{row['foreign_id']}"
    if row["op"] in ("follow", "unfollow"):
        return f"follow:{row['feed']}>{row['target']}"
    return None


def _event_key(kind: str, feed: str, ordering_key: str) -> str:
    return ordering_key if kind in ("follow", "unfollow") else f"{feed}|{ordering_key}"


def check_order(report: Report, events: list[tuple], log: list[dict]) -> None:
    """``events``: (id, kind, feed, ordering_key) rows; ``log``: the emulator's applied writes."""
    sequences: dict[str, list[str]] = defaultdict(list)
    for _id, kind, feed, ordering_key in sorted(events):
        sequences[_event_key(kind, feed, ordering_key)].append(EVENT_CLASS[kind])
    position: dict[str, int] = {}
    for row in log:
        key = _log_key(row)
        if key is None:
            continue
        op = LOG_CLASS[row["op"]]
        report.writes_logged += 1
        kind = "follows" if key.startswith("follow:") else feed_type(row["feed"])
        sequence = sequences.get(key)
        if sequence is None:
            report.note(
                "order_violations", f"{row['op']} on {key}, which has no outbox event", kind
            )
            continue
        at = position.get(key, 0)
        while at < len(sequence) and sequence[at] != op:
            at += 1
        if at == len(sequence):
            report.note(
                "order_violations",
                f"{row['op']} on {key} (log seq {row['seq']}) came after every {op} event "
                f"of the key was superseded; events {sequence}",
                kind,
            )
            continue
        position[key] = at


def feeds_to_read(user_ids: list[int], expected: Expected) -> set[str]:
    """Every feed the workload touched, and every feed of every user of the run (where a
    phantom would show up in a feed nothing should have touched)."""
    feeds = set(expected.flat) | set(expected.grouped) | set(expected.follows)
    feeds |= {f"{slug}:{u}" for u in user_ids for slug in FEED_TYPES if slug != "follows"}
    return feeds - {NOISE_FEED}


def check(user_ids: list[int], client: Any, log: list[dict], api: str = "v2") -> Report:
    """Compare what should be on ``api`` with what a reader reads after the relays drained:
    ``client`` is stream-python's for v2, a ``reads.V3Reader`` for v3; ``log`` that API's."""
    from feed_outbox.models import OutboxEvent

    report = Report()
    creations = creations_from_log(log) if api == "v3" else None
    want, _model = expected(report, user_ids, FLAT, GROUPED, api, creations)
    flat: dict[str, list[dict]] = {}
    grouped: dict[str, list[dict]] = {}
    following: dict[str, list[str]] = {}
    for feed in sorted(feeds_to_read(user_ids, want)):
        if feed_type(feed) in GROUPED:
            grouped[feed] = read_groups(client, feed)
        else:
            flat[feed] = read_flat(client, feed)
        following[feed] = read_following(client, feed)
    compare_feeds(report, want.flat, flat)
    compare_groups(report, want.grouped, grouped)
    compare_follows(report, want.follows, {f: t for f, t in following.items() if t})
    events = OutboxEvent.objects.filter(api=api).values_list("id", "kind", "feed", "ordering_key")
    events = list(events)
    check_order(report, events, log)
    if not report.ok:
        report.diagnosis = diagnosis.explained(log, *_news_ids(want, flat, grouped))
    return report


def _news_ids(want: Expected, flat: dict, grouped: dict) -> tuple[dict, dict]:
    """Foreign ids per news feed: as Stream holds them, and as the commit order gives them."""
    held = {f: {a["foreign_id"] for a in acts} for f, acts in flat.items()}
    held.update(
        {
            f: {a["foreign_id"] for g in groups for a in g["activities"]}
            for f, groups in grouped.items()
        }
    )
    should = {f: set(acts) for f, acts in want.flat.items()}
    should.update({f: {i for g in gs.values() for i in g} for f, gs in want.grouped.items()})
    news = {
        f for f in set(held) | set(should) if feed_type(f) in ("timeline", "timeline_aggregated")
    }
    return {f: held.get(f, set()) for f in news}, {f: should.get(f, set()) for f in news}


def fault_counts(emulator: Counter, harness: Counter) -> dict[str, int]:
    """Faults injected by kind: the emulator's own counters plus the harness's."""
    counts = Counter({k: v for k, v in emulator.items() if v})
    counts.update({k: v for k, v in harness.items() if v})
    return dict(sorted(counts.items()))
