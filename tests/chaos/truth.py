"""What every feed should hold after a run: the committed outbox replayed through the Stream model,
cross-checked against what the sample app's rows say, so a bug in the outbox cannot hide behind
a replay of itself.

Two independent sources:

* the rows (PostgreSQL after the run): every committed Tweet is one activity in its author's
  user feed (foreign_id ``sample_app.Tweet:<pk>``, time = ``created_at`` to the microsecond,
  ``text`` = the committed text); a Like or Retweet is in the reactor's user feed and, by
  ``to``, in the tweet author's notification feed unless the author reacted; a Follow row makes
  the user's news feeds follow the target's user feed.
* the outbox replayed in id order through ``stream_model`` — the only way to know timelines
  and grouped timelines, which depend on when each follow happened relative to each activity
  (copy limit, ``activity_copy_limit=0``, ``keep_history``), not only on the final rows.

The replay's author feeds, notification feeds and follow relations must equal the rows'; each
difference is counted (lost: the rows have it and the replay does not; phantom: the other way;
stale: both, with different data) under the feed's type, with a detail saying so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tests.chaos.stream_model import StreamModel, default_group_key, replay_committed

Flat = dict[str, tuple[str, Any]]  # foreign_id -> (time, text)


@dataclass
class Expected:
    flat: dict[str, Flat] = field(default_factory=dict)  # user and timeline feeds
    grouped: dict[str, dict[str, Flat]] = field(default_factory=dict)  # feed -> group -> ...
    follows: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class RowTruth:
    authors: dict[str, Flat]
    notifications: dict[str, Flat]
    follows: dict[str, set[str]]


def from_rows(user_ids: list[int]) -> RowTruth:
    """Author feeds, notification feeds and follow relations as the sample app's rows say."""
    from feed_outbox.conf import get, news_feed_slugs
    from feed_outbox.write.payload import format_time
    from sample_app.models import Follow, Like, Retweet, Tweet

    authors: dict[str, Flat] = {f"user:{u}": {} for u in user_ids}
    notifications: dict[str, Flat] = {}
    notification = get("STREAM_NOTIFICATION_FEED")
    for pk, user_id, created_at, text in Tweet.objects.values_list(
        "pk", "user_id", "created_at", "text"
    ):
        authors.setdefault(f"user:{user_id}", {})[f"sample_app.Tweet:{pk}"] = (
            format_time(created_at),
            text,
        )
    for model in (Like, Retweet):
        rows = model.objects.values_list("pk", "user_id", "created_at", "tweet__user_id")
        for pk, user_id, created_at, author_id in rows:
            activity = (format_time(created_at), None)
            foreign_id = f"{model._meta.label}:{pk}"
            authors.setdefault(f"user:{user_id}", {})[foreign_id] = activity
            if author_id != user_id:
                notifications.setdefault(f"{notification}:{author_id}", {})[foreign_id] = activity
    follows: dict[str, set[str]] = defaultdict(set)
    for user_id, target_id in Follow.objects.values_list("user_id", "target_id"):
        for slug in news_feed_slugs().values():
            follows[f"{slug}:{user_id}"].add(f"user:{target_id}")
    return RowTruth(authors, notifications, dict(follows))


def _cross_check(report: Any, what: str, rows: dict[str, Flat], replay: dict[str, Flat]) -> None:
    for feed in sorted(set(rows) | set(replay)):
        want, got = rows.get(feed, {}), replay.get(feed, {})
        kind = feed.split(":", 1)[0]
        for foreign_id in sorted(set(want) | set(got)):
            if foreign_id not in got:
                report.note("lost", f"outbox replay lacks {foreign_id} in {feed} ({what})", kind)
            elif foreign_id not in want:
                report.note(
                    "phantom", f"outbox replay has {foreign_id} in {feed}, rows do not", kind
                )
            elif want[foreign_id] != got[foreign_id]:
                report.note(
                    "stale",
                    f"outbox replay has {foreign_id} in {feed} as {got[foreign_id]}, "
                    f"rows say {want[foreign_id]}",
                    kind,
                )


def expected(
    report: Any,
    user_ids: list[int],
    flat_slugs: set[str],
    grouped_slugs: set[str],
    api: str = "v2",
    creations: dict[str, list[int]] | None = None,
) -> tuple[Expected, StreamModel]:
    """Every feed's expected content on ``api``; differences between replay and rows go to
    ``report``."""
    rows = from_rows(user_ids)
    model = replay_committed(api, creations)
    feeds = model.feed_ids() | set(rows.authors) | set(rows.notifications)
    replayed_authors = {f: model.flat(f) for f in feeds if f.startswith("user:")}
    _cross_check(report, "a committed row", rows.authors, replayed_authors)
    notification_slugs = {f.split(":", 1)[0] for f in rows.notifications} | {"notification"}
    replayed_notifications = {
        f: model.flat(f) for f in feeds if f.split(":", 1)[0] in notification_slugs
    }
    _cross_check(report, "a committed reaction", rows.notifications, replayed_notifications)
    replayed_follows = model.follows()
    for source in sorted(set(rows.follows) | set(replayed_follows)):
        want, got = rows.follows.get(source, set()), replayed_follows.get(source, set())
        for target in sorted(want - got):
            report.note("lost", f"outbox replay lacks follow {source} → {target}", "follows")
        for target in sorted(got - want):
            report.note("phantom", f"outbox replay has follow {source} → {target}", "follows")

    result = Expected(follows=rows.follows)
    for feed in sorted(feeds):
        slug = feed.split(":", 1)[0]
        if slug == "user":
            result.flat[feed] = rows.authors.get(feed, {})
        elif slug in grouped_slugs:
            result.grouped[feed] = model.groups(feed, default_group_key)
        elif slug in flat_slugs:
            result.flat[feed] = model.flat(feed)
    return result, model
