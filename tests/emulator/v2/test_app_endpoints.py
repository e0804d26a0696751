"""App-level calls: update_activities, partial update, get_activities, add_to_many, *_many, stats."""

from __future__ import annotations

import datetime as dt

import pytest
from stream.exceptions import DoesNotExistException, FeedConfigException, InputException

from tests.emulator.conftest import activity

WHEN = dt.datetime(2024, 2, 2, 2, 2, 2, 222222)


def test_update_activities_replaces_data_and_keeps_id_everywhere(client):
    client.feed("timeline", "1").follow("user", "1")
    added = client.feed("user", "1").add_activity(activity(1, foreign_id="p:1", time=WHEN, rev=1))
    client.update_activities([activity(1, foreign_id="p:1", time=WHEN, rev=2, verb="edit")])
    for feed in (client.feed("user", "1"), client.feed("timeline", "1")):
        [stored] = feed.get()["results"]
        assert stored["id"] == added["id"]
        assert (stored["rev"], stored["verb"]) == (2, "edit")


def test_update_activities_requires_foreign_id_and_time(client):
    with pytest.raises(InputException, match="foreign_id"):
        client.update_activities([activity(1, time=WHEN)])
    with pytest.raises(InputException, match="time"):
        client.update_activities([activity(1, foreign_id="p:1")])


def test_partial_update_by_id_and_by_foreign_id(client):
    feed = client.feed("user", "1")
    added = feed.add_activity(
        activity(1, foreign_id="p:1", time=WHEN, product={"name": "shoe", "price": 9, "c": "b"})
    )
    client.activity_partial_update(
        id=added["id"], set={"product.name": "boot", "extra": {"a": 1}}, unset=["product.c"]
    )
    [stored] = feed.get()["results"]
    assert stored["product"] == {"name": "boot", "price": 9}
    assert stored["extra"] == {"a": 1}
    client.activity_partial_update(foreign_id="p:1", time=WHEN, set={"extra.a": 2})
    [stored] = feed.get()["results"]
    assert stored["extra"] == {"a": 2} and stored["id"] == added["id"]
    assert stored["verb"] == "tweet"  # nothing else changed


def test_partial_update_of_unknown_activity_is_does_not_exist(client):
    with pytest.raises(DoesNotExistException):
        client.activity_partial_update(id="7f090b16-e8cf-11f1-a597-7ff0eec1a3f1", set={"a": 1})


def test_partial_update_cannot_change_the_key(client):
    added = client.feed("user", "1").add_activity(activity(1, foreign_id="p:1", time=WHEN))
    with pytest.raises(InputException, match="foreign_id"):
        client.activity_partial_update(id=added["id"], set={"foreign_id": "other"})


def test_activities_partial_update_batch(client):
    feed = client.feed("user", "1")
    first = feed.add_activity(activity(1, score=1))
    second = feed.add_activity(activity(2, score=1))
    response = client.activities_partial_update(
        [{"id": first["id"], "set": {"score": 5}}, {"id": second["id"], "unset": ["score"]}]
    )
    assert len(response["activities"]) == 2
    by_id = {a["id"]: a for a in feed.get()["results"]}
    assert by_id[first["id"]]["score"] == 5
    assert "score" not in by_id[second["id"]]


def test_get_activities_by_ids_and_by_foreign_id_time(client):
    added = client.feed("user", "1").add_activity(activity(1, foreign_id="p:1", time=WHEN))
    other = client.feed("user", "2").add_activity(activity(2))
    by_ids = client.get_activities(ids=[added["id"], other["id"]])["results"]
    assert [a["id"] for a in by_ids] == [added["id"], other["id"]]
    by_key = client.get_activities(foreign_id_times=[("p:1", WHEN)])["results"]
    assert [a["id"] for a in by_key] == [added["id"]]
    other_time = WHEN + dt.timedelta(seconds=1)
    assert client.get_activities(foreign_id_times=[("p:1", other_time)])["results"] == []


def test_removed_activity_is_gone_from_get_activities(client):
    feed = client.feed("user", "1")
    added = feed.add_activity(activity(1))
    feed.remove_activity(added["id"])
    assert client.get_activities(ids=[added["id"]])["results"] == []


def test_add_to_many_adds_to_each_feed_without_fan_out(client):
    client.feed("timeline", "9").follow("user", "1")
    client.add_to_many(activity(1, custom="data"), ["user:1", "user:2", "flat:3"])
    for fid in ("user:1", "user:2", "flat:3"):
        [stored] = client.feed(*fid.split(":")).get()["results"]
        assert stored["custom"] == "data"
    assert client.feed("timeline", "9").get()["results"] == []


def test_add_to_many_unknown_group(client):
    with pytest.raises(FeedConfigException):
        client.add_to_many(activity(1), ["user:1", "missing:2"])


def test_follow_many_with_copy_limit_and_unfollow_many(client):
    for n in range(3):
        client.feed("user", str(n)).add_activity(activity(n))
    follows = [{"source": f"timeline:{n}", "target": f"user:{n}"} for n in range(3)]
    client.follow_many(follows, activity_copy_limit=0)
    for n in range(3):
        following = client.feed("timeline", str(n)).following()["results"]
        assert [f["target_id"] for f in following] == [f"user:{n}"]
        assert client.feed("timeline", str(n)).get()["results"] == []
    client.follow_many([{"source": "timeline:9", "target": "user:1"}])
    assert len(client.feed("timeline", "9").get()["results"]) == 1
    client.unfollow_many(
        [
            {"source": "timeline:9", "target": "user:1", "keep_history": True},
            {"source": "timeline:0", "target": "user:0"},
        ]
    )
    assert len(client.feed("timeline", "9").get()["results"]) == 1
    assert client.feed("timeline", "9").following()["results"] == []
    assert client.feed("timeline", "0").following()["results"] == []


def test_unfollow_many_rejects_a_bad_target(client):
    with pytest.raises(InputException):
        client.unfollow_many([{"source": "user:1", "target": 42}])


def test_follow_stats_counts_with_slug_filters(client):
    me = client.feed("user", "me")
    for name in ("a", "b"):
        me.follow("user", name)
    client.feed("timeline", "x").follow("user", "me")
    client.feed("user", "y").follow("user", "me")
    stats = client.follow_stats("user:me")["results"]
    assert stats["following"]["count"] == 2 and stats["followers"]["count"] == 2
    stats = client.follow_stats("user:me", followers_slugs=["timeline"])["results"]
    assert stats["followers"]["count"] == 1
