"""The checker can fail: each of the five counts catches the anomaly it names."""

from __future__ import annotations

from tests.chaos.checker import Report, check_order, compare_feeds, compare_follows

T = "2026-01-02T03:04:05.678901"
FID = "sample_app.Tweet:1"


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
