"""Aggregated and notification feeds: grouping, ordering, seen/read state and marking."""

from __future__ import annotations

import datetime as dt

from feed_outbox.emulator import Emulator
from tests.emulator.conftest import API_KEY, API_SECRET, activity

DAY1, DAY2 = dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 2, 9)


def test_aggregated_feed_groups_by_verb_and_day(client):
    feed = client.feed("aggregated", "1")
    feed.add_activity(activity(1, verb="like", actor="a", time=DAY1))
    feed.add_activity(activity(2, verb="like", actor="b", time=DAY1 + dt.timedelta(hours=1)))
    feed.add_activity(activity(3, verb="like", actor="a", time=DAY2))
    feed.add_activity(activity(4, verb="post", actor="a", time=DAY1))
    groups = feed.get()["results"]
    by_group = {g["group"]: g for g in groups}
    assert set(by_group) == {"like_2024-01-01", "like_2024-01-02", "post_2024-01-01"}
    day1 = by_group["like_2024-01-01"]
    assert day1["activity_count"] == 2 and day1["actor_count"] == 2
    assert day1["verb"] == "like"
    assert [a["object"] for a in day1["activities"]] == ["tweet:2", "tweet:1"]
    # the most recently updated group comes first
    assert groups[0]["group"] == "post_2024-01-01"
    assert {"id", "created_at", "updated_at"} <= set(day1)


def test_aggregated_feed_follows_flat_feed_with_origin(client):
    client.feed("user", "1").add_activity(activity(1))
    agg = client.feed("aggregated", "1")
    agg.follow("user", "1")
    [group] = agg.get()["results"]
    assert group["activities"][0]["origin"] == "user:1"


def test_notification_feed_counts_and_mark_seen_by_id(client):
    feed = client.feed("notification", "1")
    for verb in ("follow", "like", "comment"):
        feed.add_activity(activity(verb, verb=verb))
    response = feed.get()
    assert response["unseen"] == 3 and response["unread"] == 3
    groups = response["results"]
    assert not any(g["is_seen"] or g["is_read"] for g in groups)

    marking = feed.get(mark_seen=[groups[0]["id"], groups[1]["id"]])
    assert marking["unseen"] == 3  # the answer shows the state before marking
    after = feed.get()
    assert after["unseen"] == 1 and after["unread"] == 3
    seen = {g["id"]: g["is_seen"] for g in after["results"]}
    assert seen == {groups[0]["id"]: True, groups[1]["id"]: True, groups[2]["id"]: False}


def test_mark_read_does_not_mark_seen(client):
    feed = client.feed("notification", "1")
    feed.add_activity(activity(1, verb="like"))
    feed.add_activity(activity(2, verb="follow"))
    feed.get(mark_read=True)
    after = feed.get()
    assert after["unread"] == 0 and after["unseen"] == 2
    assert all(g["is_read"] and not g["is_seen"] for g in after["results"])


def test_new_activity_makes_its_group_unseen_again(client):
    feed = client.feed("notification", "1")
    feed.add_activity(activity(1, verb="like"))
    feed.add_activity(activity(2, verb="follow"))
    feed.get(mark_seen="true")
    assert feed.get()["unseen"] == 0
    feed.add_activity(activity(3, verb="like"))
    response = feed.get()
    assert response["unseen"] == 1
    first = response["results"][0]
    assert first["verb"] == "like" and not first["is_seen"] and first["activity_count"] == 2


def test_custom_aggregation_format(monkeypatch):
    monkeypatch.delenv("LOCAL", raising=False)
    import stream

    spec = {"type": "aggregated", "aggregation_format": "{{ actor }}"}
    with Emulator(api_key=API_KEY, api_secret=API_SECRET, feed_groups={"by_actor": spec}) as emu:
        client = stream.connect(API_KEY, API_SECRET, base_url=emu.url)
        feed = client.feed("by_actor", "1")
        feed.add_activity(activity(1, actor="ann", verb="like"))
        feed.add_activity(activity(2, actor="ann", verb="post"))
        feed.add_activity(activity(3, actor="bob", verb="like"))
        assert sorted(g["group"] for g in feed.get()["results"]) == ["ann", "bob"]
