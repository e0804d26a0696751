"""The checker can fail: each of the five counts catches the anomaly it names."""

from __future__ import annotations

from tests.chaos.checker import (
    Report,
    check_order,
    compare_feeds,
    compare_follows,
    compare_groups,
)
from tests.chaos.stream_model import StreamModel

T = "2026-01-02T03:04:05.678901"
FID = "sample_app.Tweet:1"
NEWS = ("timeline", "timeline_aggregated")


def log(*ops):
    """Log rows for key FID in user:1 (or a follow of timeline:1 on user:2)."""
    rows = []
    for seq, op in enumerate(ops, 1):
        if op in ("follow", "unfollow"):
            rows.append({"seq": seq, "op": op, "feed": "timeline:1", "target": "user:2"})
        else:
            rows.append({"seq": seq, "op": op, "feed": "user:1", "foreign_id": FID, "time": T})
    return rows


def events(*kinds):
    key = {"follow": "follow:timeline:1>user:2", "unfollow": "follow:timeline:1>user:2"}
    feed = {"follow": "timeline:1", "unfollow": "timeline:1"}
    return [(i, k, feed.get(k, "user:1"), key.get(k, FID)) for i, k in enumerate(kinds, 1)]


def order_violations(event_kinds, applied):
    report = Report()
    check_order(report, events(*event_kinds), log(*applied))
    return report.order_violations


def test_retried_events_applied_in_key_order_are_no_violation():
    assert order_violations(("add", "update", "remove"), ("add_activity",) * 3) == 0
    assert (
        order_violations(
            ("add", "update", "remove"),
            ("add_activity", "add_activity", "remove_activity", "remove_activity"),
        )
        == 0
    )
    assert order_violations(("follow", "unfollow", "follow"), ("follow", "unfollow", "follow")) == 0


def test_an_add_applied_after_the_remove_is_a_violation():
    assert order_violations(("add", "remove"), ("add_activity", "remove_activity", "add_activity"))
    assert order_violations(("follow", "unfollow"), ("follow", "unfollow", "follow")) == 1


def test_a_remove_applied_after_a_later_readd_is_a_violation():
    kinds = ("add", "remove", "update")
    applied = ("add_activity", "remove_activity", "add_activity", "remove_activity")
    assert order_violations(kinds, applied) == 1


def test_an_applied_write_without_any_outbox_event_is_a_violation():
    report = Report()
    check_order(report, [], log("add_activity"))
    assert report.order_violations == 1


def test_lost_phantom_duplicated_and_stale_activities_are_counted():
    expected = {
        "user:1": {FID: (T, "hello"), "sample_app.Tweet:2": (T, "two")},
        "user:2": {"sample_app.Tweet:3": (T, "three")},
    }
    actual = {
        "user:1": [
            {"foreign_id": FID, "time": T, "text": "hello (old)"},
            {"foreign_id": "sample_app.Tweet:9", "time": T, "text": "rolled back"},
        ],
        "user:2": [
            {"foreign_id": "sample_app.Tweet:3", "time": T, "text": "three"},
            {"foreign_id": "sample_app.Tweet:3", "time": "2026-01-02T03:04:05.000000"},
        ],
    }
    report = Report()
    compare_feeds(report, expected, actual)
    assert report.counts == {
        "lost": 1,  # Tweet:2
        "phantom": 1,  # Tweet:9
        "duplicated": 1,  # Tweet:3 twice
        "stale": 1,  # Tweet:1's text
        "order_violations": 0,
    }


def test_equal_feeds_and_follows_count_nothing():
    expected = {"user:1": {FID: (T, "hello")}}
    report = Report()
    compare_feeds(report, expected, {"user:1": [{"foreign_id": FID, "time": T, "text": "hello"}]})
    compare_follows(report, {"timeline:1": {"user:2"}}, {"timeline:1": ["user:2"]})
    assert report.ok


def test_missing_and_extra_follow_relations_are_lost_and_phantom():
    report = Report()
    compare_follows(report, {"timeline:1": {"user:2"}}, {"timeline:1": ["user:3"]})
    assert (report.lost, report.phantom) == (1, 1)


def test_grouped_feeds_count_lost_phantom_duplicated_and_stale_per_group():
    expected = {
        "notification:1": {
            "like_2026-01-02": {"sample_app.Like:1": (T, None), "sample_app.Like:2": (T, None)},
            "retweet_2026-01-02": {"sample_app.Retweet:1": (T, None)},
        }
    }
    actual = {
        "notification:1": [
            {
                "id": "g1",
                "group": "like_2026-01-02",
                "activity_count": 3,  # says three, lists two: counted as duplicated
                "activities": [
                    {"foreign_id": "sample_app.Like:1", "time": T},
                    {"foreign_id": "sample_app.Like:9", "time": T},
                ],
            },
            {
                "id": "g2",
                "group": "retweet_2026-01-02",
                "activity_count": 2,
                "activities": [
                    {"foreign_id": "sample_app.Retweet:1", "time": "2026-01-02T00:00:00.000000"},
                    {"foreign_id": "sample_app.Retweet:1", "time": T},
                ],
            },
        ]
    }
    report = Report()
    compare_groups(report, expected, actual)
    assert report.type_counts("notification") == {
        "lost": 1,  # Like:2
        "phantom": 1,  # Like:9
        "duplicated": 2,  # the count, and Retweet:1 twice in its group
        "stale": 1,  # Retweet:1's first copy has another time
        "order_violations": 0,
    }
    assert report.type_counts("user") == dict.fromkeys(report.counts, 0)


def test_counts_are_reported_per_feed_type():
    report = Report()
    compare_feeds(report, {"timeline:1": {FID: (T, "x")}}, {"user:1": [{"foreign_id": FID}]})
    compare_follows(report, {}, {"timeline:1": ["user:2", "user:2"]})
    assert report.type_counts("timeline")["lost"] == 1
    assert report.type_counts("user")["phantom"] == 1
    assert report.type_counts("follows") == {
        **dict.fromkeys(report.counts, 0),
        "phantom": 1,
        "duplicated": 1,
    }
    assert report.counts["phantom"] == 2
    assert "timeline=1/0/0/0/0" in report.per_type()


def _held_follow_events() -> list[tuple[str, str, dict]]:
    """A follows B (committed), then B posts 150 tweets, each later: the commit order."""
    follows = [("follow", f"{slug}:1", {"target": "user:2"}) for slug in NEWS]
    tweets = [
        (
            "add",
            "user:2",
            {
                "actor": "auth.User:2",
                "verb": "tweet",
                "object": f"sample_app.Tweet:{i}",
                "foreign_id": f"sample_app.Tweet:{i}",
                "time": f"2026-01-02T03:04:{i // 100:02d}.{i % 100:06d}",
                "text": f"tweet {i}",
            },
        )
        for i in range(1, 151)
    ]
    return follows + tweets


def _as_stream_leaves_them(events) -> tuple[dict, dict]:
    """Apply ``events`` in this order to the emulator's store; return the feeds as read."""
    from feed_outbox.emulator.feed_groups import build_feed_groups
    from feed_outbox.emulator.v2.feed_reads import read_groups
    from feed_outbox.emulator.v2.store import Store

    store = Store(build_feed_groups())
    for kind, feed, payload in events:
        if kind == "add":
            store.add(feed, dict(payload, target=""), [])
        else:
            store.follow(feed, payload["target"], None)
    flat = {
        fid: [store.activities[aid] for _t, aid in feed.newest_first()]
        for fid, feed in store.feeds.items()
        if fid.split(":")[0] in ("user", "timeline")
    }
    grouped = {"timeline_aggregated:1": read_groups(store, store.feeds["timeline_aggregated:1"])}
    return flat, grouped


def _expected_after(events) -> tuple[dict, dict]:
    model = StreamModel().replay(events)
    flat = {f: model.flat(f) for f in ("user:2", "timeline:1")}
    return flat, {"timeline_aggregated:1": model.groups("timeline_aggregated:1")}


def test_a_follow_delivered_after_its_targets_150_later_tweets_loses_50_and_is_counted():
    committed = _held_follow_events()
    follows, tweets = committed[:2], committed[2:]
    want_flat, want_grouped = _expected_after(committed)
    assert len(want_flat["timeline:1"]) == 150

    # The relay held the follow (a dead relay's lease) and delivered the tweets first: Stream
    # copied only the newest 100 when the follow landed.
    have_flat, have_grouped = _as_stream_leaves_them(tweets + follows)
    report = Report()
    compare_feeds(report, want_flat, have_flat)
    compare_groups(report, want_grouped, have_grouped)
    zero = dict.fromkeys(report.counts, 0)
    assert report.type_counts("timeline") == {**zero, "lost": 50}
    assert report.type_counts("timeline_aggregated") == {**zero, "lost": 50}
    assert report.type_counts("user") == zero
    lost = [d for d in report.details if d.startswith("lost [timeline]")]
    assert "sample_app.Tweet:1 missing from timeline:1" in lost[0]  # the oldest fifty

    # Delivered in commit order, the same checker counts nothing.
    in_order = Report()
    have_flat, have_grouped = _as_stream_leaves_them(committed)
    compare_feeds(in_order, want_flat, have_flat)
    compare_groups(in_order, want_grouped, have_grouped)
    assert in_order.ok, in_order.details
