"""Follow fan-out and copy, unfollow purge, follower and following lists."""

from __future__ import annotations

import pytest
from stream.exceptions import InputException

from tests.emulator.conftest import activity


def test_follow_copies_existing_activities_with_origin(client):
    user = client.feed("user", "1")
    ids = [user.add_activity(activity(i))["id"] for i in range(3)]
    timeline = client.feed("timeline", "1")
    timeline.follow("user", "1")
    results = timeline.get()["results"]
    assert [a["id"] for a in results] == ids[::-1]
    assert {a["origin"] for a in results} == {"user:1"}


def test_activity_copy_limit_copies_only_the_newest(client):
    user = client.feed("user", "1")
    ids = [user.add_activity(activity(i))["id"] for i in range(3)]
    client.feed("timeline", "1").follow("user", "1", activity_copy_limit=1)
    client.feed("timeline", "2").follow("user", "1", activity_copy_limit=0)
    assert [a["id"] for a in client.feed("timeline", "1").get()["results"]] == [ids[-1]]
    assert client.feed("timeline", "2").get()["results"] == []


def test_new_activities_fan_out_to_followers(client):
    client.feed("timeline", "1").follow("user", "1")
    added = client.feed("user", "1").add_activity(activity(1))
    [copy] = client.feed("timeline", "1").get()["results"]
    assert copy["id"] == added["id"]
    assert copy["origin"] == "user:1"


def test_fan_out_is_one_level(client):
    client.feed("timeline", "1").follow("flat", "1")
    client.feed("flat", "1").follow("user", "1")
    client.feed("user", "1").add_activity(activity(1))
    assert len(client.feed("flat", "1").get()["results"]) == 1
    assert client.feed("timeline", "1").get()["results"] == []


def test_removal_propagates_to_followers(client):
    timeline = client.feed("timeline", "1")
    timeline.follow("user", "1")
    user = client.feed("user", "1")
    aid = user.add_activity(activity(1))["id"]
    user.add_activity(activity(2, foreign_id="tweet:2"))
    user.remove_activity(aid)
    user.remove_activity(foreign_id="tweet:2")
    assert timeline.get()["results"] == []


def test_unfollow_purges_activities_from_the_target(client):
    timeline = client.feed("timeline", "1")
    timeline.add_activity(activity("own"))
    timeline.follow("user", "1")
    timeline.follow("user", "2")
    client.feed("user", "1").add_activity(activity(1))
    client.feed("user", "2").add_activity(activity(2))
    timeline.unfollow("user", "1")
    origins = sorted(str(a["origin"]) for a in timeline.get()["results"])
    assert origins == ["None", "user:2"]


def test_unfollow_keep_history_keeps_activities_but_stops_fan_out(client):
    timeline = client.feed("timeline", "1")
    timeline.follow("user", "1")
    client.feed("user", "1").add_activity(activity(1))
    timeline.unfollow("user", "1", keep_history=True)
    client.feed("user", "1").add_activity(activity(2))
    assert [a["object"] for a in timeline.get()["results"]] == ["tweet:1"]


def test_unfollow_of_a_feed_not_followed_is_not_an_error(client):
    client.feed("timeline", "1").unfollow("user", "9")


def test_following_and_followers_are_newest_first_with_offset(client):
    social = client.feed("timeline", "social")
    for name in ("a", "b", "c"):
        social.follow("user", name)
    following = social.following(offset=0, limit=2)["results"]
    assert [f["target_id"] for f in following] == ["user:c", "user:b"]
    assert following[0]["feed_id"] == "timeline:social"
    assert [f["target_id"] for f in social.following(offset=1, limit=5)["results"]] == [
        "user:b",
        "user:a",
    ]
    for name in ("x", "y"):
        client.feed("timeline", name).follow("user", "a")
    followers = client.feed("user", "a").followers()["results"]
    assert [f["feed_id"] for f in followers] == ["timeline:y", "timeline:x", "timeline:social"]
    assert {f["target_id"] for f in followers} == {"user:a"}


def test_following_filter_answers_do_i_follow(client):
    social = client.feed("timeline", "1")
    social.follow("user", "a")
    social.follow("user", "b")
    assert [f["target_id"] for f in social.following(feeds=["user:a"])["results"]] == ["user:a"]
    assert social.following(feeds=["user:zzz"])["results"] == []


def test_feed_cannot_follow_itself(client):
    with pytest.raises(InputException, match="itself"):
        client.feed("user", "1").follow("user", "1")


def test_only_flat_feeds_can_be_followed(client):
    with pytest.raises(InputException, match="flat"):
        client.feed("timeline", "1").follow("notification", "1")


def test_copy_limit_above_1000_is_rejected(client):
    with pytest.raises(InputException, match="activity_copy_limit"):
        client.feed("timeline", "1").follow("user", "1", activity_copy_limit=1001)


def test_follow_copies_only_the_targets_own_activities(client):
    client.feed("flat", "1").follow("user", "1")
    client.feed("user", "1").add_activity(activity("relayed"))
    own = client.feed("flat", "1").add_activity(activity("own"))
    client.feed("timeline", "1").follow("flat", "1")
    assert [a["id"] for a in client.feed("timeline", "1").get()["results"]] == [own["id"]]
