"""The consistency checker: the feeds the database says should exist versus what Stream holds.

Truth comes from PostgreSQL after the run: every committed Tweet is one activity in its
author's user feed (foreign_id ``sample_app.Tweet:<pk>``, time = ``created_at`` to the
microsecond, ``text`` = the committed text); every Follow row makes the follower's news
feeds follow the target's user feed, so those feeds hold exactly the target's tweets.
What Stream holds is read through stream-python with pagination (user feeds) and the
emulator's ``feeds.json`` (news feeds and follow relations). Five counts, all must be 0:

* lost: an expected activity (or follow relation) that is absent;
* phantom: an activity (or follow relation) present that the database does not have:
  rolled back, deleted, or never written;
* duplicated: more than one activity for one foreign_id in one feed (which covers the same
  foreign_id + time twice, and two activities for one object with different times);
* stale: the activity is there but its text or time is not the committed one;
* order violations, from the emulator's request log, defined below.

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


@dataclass
class Report:
    lost: int = 0
    phantom: int = 0
    duplicated: int = 0
    stale: int = 0
    order_violations: int = 0
    details: list[str] = field(default_factory=list)
    feeds_checked: int = 0
    activities_expected: int = 0

    @property
    def counts(self) -> dict[str, int]:
        return {
            "lost": self.lost,
            "phantom": self.phantom,
            "duplicated": self.duplicated,
            "stale": self.stale,
            "order_violations": self.order_violations,
        }

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def note(self, kind: str, message: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        if len(self.details) < 50:
            self.details.append(f"{kind}: {message}")


def expected_state(user_ids: list[int]) -> tuple[dict, dict]:
    """From the database: ``{feed: {foreign_id: (time, text)}}`` and ``{source: {target}}``.

    A tweet is in its author's user feed; a like or retweet is in the reactor's user feed and,
    by ``to``, in the tweet author's notification feed unless the author reacted; a Follow row
    makes the user's news feeds follow the target's user feed and hold all of it.
    """
    from feed_outbox.conf import get, news_feed_slugs
    from feed_outbox.payload import format_time
    from sample_app.models import Follow, Like, Retweet, Tweet

    user_feed: dict[int, dict[str, tuple[str, str | None]]] = {u: {} for u in user_ids}
    feeds: dict[str, dict[str, tuple[str, str | None]]] = {}
    notification = get("STREAM_NOTIFICATION_FEED")
    for pk, user_id, created_at, text in Tweet.objects.values_list(
        "pk", "user_id", "created_at", "text"
    ):
        user_feed.setdefault(user_id, {})[f"sample_app.Tweet:{pk}"] = (
            format_time(created_at),
            text,
        )
    for model in (Like, Retweet):
        rows = model.objects.values_list("pk", "user_id", "created_at", "tweet__user_id")
        for pk, user_id, created_at, author_id in rows:
            activity = (format_time(created_at), None)
            foreign_id = f"{model._meta.label}:{pk}"
            user_feed.setdefault(user_id, {})[foreign_id] = activity
            if author_id != user_id:
                feeds.setdefault(f"{notification}:{author_id}", {})[foreign_id] = activity
    follows: dict[str, set[str]] = defaultdict(set)
    for user_id, activities in user_feed.items():
        feeds[f"user:{user_id}"] = dict(activities)
        for slug in news_feed_slugs().values():
            feeds.setdefault(f"{slug}:{user_id}", {})
    for user_id, target_id in Follow.objects.values_list("user_id", "target_id"):
        for slug in news_feed_slugs().values():
            follows[f"{slug}:{user_id}"].add(f"user:{target_id}")
            feeds[f"{slug}:{user_id}"].update(user_feed.get(target_id, {}))
    return feeds, follows


def read_user_feed(client: Any, feed: str) -> list[dict]:
    """Every activity of a flat feed, page by page, through stream-python."""
    slug, user_id = feed.split(":", 1)
    handle = client.feed(slug, user_id)
    activities: list[dict] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = handle.get(**params)["results"]
        activities.extend(page)
        if len(page) < params["limit"]:
            return activities
        params["id_lt"] = page[-1]["id"]


def _time_str(value: Any) -> str:
    """Stream's time string; stream-python decodes it into a naive UTC datetime."""
    from feed_outbox.payload import TIME_FORMAT, format_time

    if isinstance(value, str) or value is None:
        return value
    return value.strftime(TIME_FORMAT) if value.tzinfo is None else format_time(value)


def compare_feeds(report: Report, expected: dict, actual: dict[str, list[dict]]) -> None:
    for feed in sorted(set(expected) | set(actual) - {NOISE_FEED}):
        want = expected.get(feed, {})
        have: dict[str, list[dict]] = defaultdict(list)
        for activity in actual.get(feed, []):
            have[activity.get("foreign_id")].append(activity)
        report.feeds_checked += 1
        report.activities_expected += len(want)
        for foreign_id, (time, text) in want.items():
            found = have.get(foreign_id)
            if not found:
                report.note("lost", f"{foreign_id} missing from {feed}")
                continue
            stored = found[0]
            if _time_str(stored.get("time")) != time or stored.get("text") != text:
                report.note(
                    "stale",
                    f"{foreign_id} in {feed} is ({_time_str(stored.get('time'))}, "
                    f"{stored.get('text')!r}), committed ({time}, {text!r})",
                )
        for foreign_id, found in have.items():
            if foreign_id not in want:
                report.note("phantom", f"{foreign_id} in {feed} was never committed or was removed")
            if len(found) > 1:
                for _ in found[1:]:
                    report.note("duplicated", f"{foreign_id} is {len(found)} times in {feed}")


def compare_follows(report: Report, expected: dict[str, set], actual: dict[str, list]) -> None:
    for source in sorted(set(expected) | set(actual)):
        want, have = expected.get(source, set()), set(actual.get(source, []))
        for target in sorted(want - have):
            report.note("lost", f"follow {source} → {target} missing")
        for target in sorted(have - want):
            report.note("phantom", f"follow {source} → {target} is not in the database")


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
        sequence = sequences.get(key)
        if sequence is None:
            report.note("order_violations", f"{row['op']} on {key}, which has no outbox event")
            continue
        at = position.get(key, 0)
        while at < len(sequence) and sequence[at] != op:
            at += 1
        if at == len(sequence):
            report.note(
                "order_violations",
                f"{row['op']} on {key} (log seq {row['seq']}) came after every {op} event "
                f"of the key was superseded; events {sequence}",
            )
            continue
        position[key] = at


def check(
    user_ids: list[int], client: Any, emulator_feeds: dict[str, dict], log: list[dict]
) -> Report:
    """Compare the database with the emulator after the relays drained; returns the counts."""
    from feed_outbox.models import OutboxEvent

    report = Report()
    expected, follows = expected_state(user_ids)
    actual: dict[str, list[dict]] = {}
    for feed in expected:
        if feed.startswith("user:"):
            actual[feed] = read_user_feed(client, feed)  # the real client, with pagination
    for feed, data in emulator_feeds.items():
        if not feed.startswith("user:"):
            actual[feed] = data["activities"]
        elif feed not in actual:
            actual[feed] = data["activities"]
    compare_feeds(report, expected, actual)
    following = {f: d["following"] for f, d in emulator_feeds.items() if d["following"]}
    compare_follows(report, follows, following)
    events = list(OutboxEvent.objects.values_list("id", "kind", "feed", "ordering_key"))
    check_order(report, events, log)
    return report


def fault_counts(emulator: Counter, harness: Counter) -> dict[str, int]:
    """Faults injected by kind: the emulator's own counters plus the harness's."""
    counts = Counter({k: v for k, v in emulator.items() if v})
    counts.update({k: v for k, v in harness.items() if v})
    return dict(sorted(counts.items()))
