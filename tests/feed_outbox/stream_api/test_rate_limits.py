"""The drain estimate replay and backfill print: requests batched like the relay, per-endpoint limits."""

from feed_outbox.stream_api.rate_limits import estimate_drain, requests_for, seconds_for


def test_adds_of_one_feed_share_a_request_within_a_claimed_batch():
    events = [("add", "user:1")] * 250 + [("add", "user:2")] * 50
    assert requests_for(events, batch_size=100) == {"add_activities": 4}
    assert requests_for(events, batch_size=500) == {"add_activities": 4}  # 100 per request


def test_removes_and_follows_are_one_request_each():
    calls = requests_for([("remove", "user:1")] * 3 + [("follow", "timeline:1")])
    assert calls == {"remove": 3, "follow": 1}


def test_the_slowest_endpoint_sets_the_drain_time():
    assert seconds_for("add_activities", 1_000) == 60.0
    assert seconds_for("remove", 600) == 120.0
    # 13,000 adds: the 15-minute window (12,000) pushes the rest past 15 minutes.
    assert seconds_for("add_activities", 13_000) == 900.0
    estimate = estimate_drain([("remove", "user:1")] * 300 + [("add", "user:1")] * 100)
    assert estimate.seconds == 60.0
    assert "1.0 min" in estimate.describe() and "300 remove" in estimate.describe()
