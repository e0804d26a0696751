"""`to` targets: copies, their one-level fan-out, removal, and update_activity_to_targets."""

from __future__ import annotations

import datetime as dt

import pytest
from stream.exceptions import DoesNotExistException, InputException

from tests.emulator.conftest import activity


def ids(feed):
    return [a["id"] for a in feed.get()["results"]]


def test_to_copies_into_targets_and_their_followers(client):
    team, follower = client.feed("user", "team"), client.feed("timeline", "fan")
    follower.follow("user", "team")
    added = client.feed("user", "1").add_activity(activity(1, to=["user:team"]))
    [in_team] = team.get()["results"]
    [in_follower] = follower.get()["results"]
    assert in_team["id"] == in_follower["id"] == added["id"]
    assert in_team["origin"] is None
    assert in_follower["origin"] == "user:team"
    assert added["to"] == ["user:team"]


def test_removing_from_origin_feed_removes_from_targets_and_their_followers(client):
    follower = client.feed("timeline", "fan")
    follower.follow("user", "team")
    user = client.feed("user", "1")
    aid = user.add_activity(activity(1, to=["user:team", "notification:2"]))["id"]
    user.remove_activity(aid)
    for feed in (client.feed("user", "team"), follower, client.feed("notification", "2")):
        assert feed.get()["results"] == []


def test_add_activities_with_to(client):
    added = client.feed("user", "1").add_activities(
        [activity(1, to=["user:2", "user:3"]), activity(2, to=["user:2"])]
    )["activities"]
    assert ids(client.feed("user", "2")) == [added[1]["id"], added[0]["id"]]
    assert ids(client.feed("user", "3")) == [added[0]["id"]]


def test_more_than_100_targets_is_rejected(client):
    targets = [f"user:{i}" for i in range(101)]
    with pytest.raises(InputException, match="to"):
        client.feed("user", "1").add_activity(activity(1, to=targets))


def test_update_to_targets_replaces_adds_and_removes(client):
    now = dt.datetime(2024, 6, 1, 8, 0, 0)
    user = client.feed("user", "1")
    user.add_activity(activity(1, foreign_id="post:1", time=now, to=["user:2", "user:3"]))

    response = user.update_activity_to_targets("post:1", now, new_targets=["user:3", "user:4"])
    assert sorted(response["activity"]["to"]) == ["user:3", "user:4"]
    assert response["added"] == ["user:4"] and response["removed"] == ["user:2"]
    assert client.feed("user", "2").get()["results"] == []
    assert len(client.feed("user", "4").get()["results"]) == 1

    response = user.update_activity_to_targets(
        "post:1", now, added_targets=["user:5"], removed_targets=["user:3"]
    )
    assert sorted(response["activity"]["to"]) == ["user:4", "user:5"]
    assert client.feed("user", "3").get()["results"] == []
    assert len(client.feed("user", "5").get()["results"]) == 1
    # the shared activity shows the new targets everywhere
    assert sorted(user.get()["results"][0]["to"]) == ["user:4", "user:5"]


def test_update_to_targets_of_unknown_activity_is_does_not_exist(client):
    with pytest.raises(DoesNotExistException):
        client.feed("user", "1").update_activity_to_targets(
            "post:404", dt.datetime(2024, 1, 1), added_targets=["user:2"]
        )


def test_update_to_targets_rejects_new_with_added(client):
    with pytest.raises(InputException):
        client.feed("user", "1").update_activity_to_targets(
            "post:1", dt.datetime(2024, 1, 1), new_targets=["user:2"], added_targets=["user:3"]
        )
