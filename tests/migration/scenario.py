"""The chirp project's life, one step per process: ``python -m tests.migration.scenario STEP``.

* ``publish`` (stream-django): users tweet, like (two likes of one tweet), post photos (one
  soft-deleted: the app's receiver removes it) and follow;
* ``edit`` (feed-outbox, after the switch): a tweet edited, a like and two tweets deleted (one
  with a like, by cascade), a follow and an unfollow, a new tweet and a new like; a photo
  soft-deleted through the app's receiver and saved again, the soft-deleted one restored;
* ``check`` (feed-outbox): every feed read through stream-python against what the database
  says; prints a JSON report of lost, phantom, duplicated and stale activities and follows.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict

import django
from django.utils import timezone


def publish() -> None:
    from django.contrib.auth import get_user_model

    from tests.migration.chirp_before.models import Follow, Like, Photo, Tweet

    users = {
        name: get_user_model().objects.create(username=name)
        for name in ("alice", "bob", "carol", "dave")
    }
    alice, bob, carol, dave = users.values()
    t1 = Tweet.objects.create(user=alice, text="first")
    Tweet.objects.create(user=alice, text="second")
    t3 = Tweet.objects.create(user=bob, text="bob's")
    t4 = Tweet.objects.create(user=carol, text="carol's")
    Like.objects.create(user=bob, tweet=t1)  # two likes of one tweet: one foreign id
    Like.objects.create(user=carol, tweet=t1)
    Like.objects.create(user=alice, tweet=t3)
    Like.objects.create(user=dave, tweet=t4)
    for source, target in ((bob, alice), (carol, alice), (dave, bob), (alice, carol)):
        Follow.objects.create(user=source, target=target)
    Photo.objects.create(user=alice, caption="sunset")
    Photo.objects.create(user=alice, caption="harbour")
    hidden = Photo.objects.create(user=bob, caption="blurry")
    hidden.deleted_at = timezone.now()
    hidden.save()  # the app's receiver removes it from Stream


def edit() -> None:
    from django.contrib.auth import get_user_model

    from tests.migration.chirp_after.models import Follow, Like, Photo, Tweet

    users = {u.username: u for u in get_user_model().objects.all()}
    alice, bob, carol, dave = (users[n] for n in ("alice", "bob", "carol", "dave"))
    first = Tweet.objects.get(text="first")
    first.text = "first, edited"
    first.save()
    Like.objects.get(user=bob, tweet=first).delete()
    Tweet.objects.get(text="second").delete()
    Tweet.objects.get(text="bob's").delete()  # and alice's like of it
    Follow.objects.create(user=dave, target=alice)
    Follow.objects.get(user=carol, target=alice).delete()
    Tweet.objects.create(user=alice, text="after the switch")
    Like.objects.create(user=dave, tweet=first)
    sunset = Photo.objects.get(caption="sunset")
    sunset.deleted_at = timezone.now()
    sunset.save()
    sunset.caption = "sunset (hidden)"
    sunset.save()  # saved again while hidden: stays out of every feed
    harbour = Photo.objects.get(caption="harbour")
    harbour.caption = "harbour at night"
    harbour.save()
    blurry = Photo.objects.get(caption="blurry")
    blurry.deleted_at = None
    blurry.save()  # restored: back in bob's feed and his followers' timelines, once


def truth() -> tuple[dict[str, dict[str, str]], dict[str, set[str]]]:
    """Per feed, ``{foreign_id: time}`` the database implies; per news feed, what it follows."""
    from django.contrib.auth import get_user_model

    from feed_outbox.write.outbox import activity_payload
    from tests.migration.chirp_after.models import Follow, Like, Photo, Tweet

    feeds: dict[str, dict[str, str]] = defaultdict(dict)
    photos = Photo.objects.filter(deleted_at=None)
    for row in [*Tweet.objects.all(), *Like.objects.select_related("tweet"), *photos]:
        payload = activity_payload(row)
        feeds[f"user:{row.user_id}"][payload["foreign_id"]] = payload["time"]
        for target in payload.get("to", ()):
            feeds[target][payload["foreign_id"]] = payload["time"]
    follows: dict[str, set[str]] = defaultdict(set)
    for follow in Follow.objects.all():
        for slug in ("timeline", "timeline_aggregated"):
            follows[f"{slug}:{follow.user_id}"].add(f"user:{follow.target_id}")
            feeds[f"{slug}:{follow.user_id}"].update(feeds[f"user:{follow.target_id}"])
    for user in get_user_model().objects.all():
        for slug in ("user", "notification", "timeline", "timeline_aggregated"):
            feeds.setdefault(f"{slug}:{user.pk}", {})
    return feeds, follows


def check() -> dict:
    from feed_outbox.operations.legacy_identity import stream_time
    from feed_outbox.stream_api.feed_reads import feed_entries, following

    wanted, wanted_follows = truth()
    report: dict[str, list] = {"lost": [], "phantom": [], "duplicated": [], "stale": []}
    for feed, expected in sorted(wanted.items()):
        seen = [(e["foreign_id"], stream_time(e["time"])) for e in feed_entries(feed)]
        counts = Counter(fid for fid, _ in seen)
        report["duplicated"] += [[feed, fid] for fid, n in counts.items() if n > 1]
        report["lost"] += [[feed, fid] for fid in expected if fid not in counts]
        report["phantom"] += [[feed, fid] for fid in counts if fid not in expected]
        report["stale"] += [
            [feed, fid, time, expected[fid]]
            for fid, time in seen
            if fid in expected and time != expected[fid]
        ]
        if feed.startswith("timeline"):
            targets = following(feed).targets
            report["lost"] += [[feed, f"follow {t}"] for t in wanted_follows[feed] - targets]
            report["phantom"] += [[feed, f"follow {t}"] for t in targets - wanted_follows[feed]]
    report["feeds"] = len(wanted)
    report["activities"] = sum(len(v) for v in wanted.values())
    return report


if __name__ == "__main__":
    django.setup()
    step = sys.argv[1]
    if step == "publish":
        publish()
    elif step == "edit":
        edit()
    elif step == "check":
        print(json.dumps(check()))
    else:
        raise SystemExit(f"unknown step {step!r}")
