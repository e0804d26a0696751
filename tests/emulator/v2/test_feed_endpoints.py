"""Add, read, remove and uniqueness on flat feeds, through the real stream-python client."""

from __future__ import annotations

import datetime as dt

import pytest
from stream.exceptions import FeedConfigException, InputException

from tests.emulator.conftest import activity


def test_add_activity_returns_stored_activity_with_time_based_id(client):
    response = client.feed("user", "1").add_activity(activity(1, foreign_id="tweet:1"))
    assert response["foreign_id"] == "tweet:1"
    assert response["actor"] == "user:1"
    assert isinstance(response["time"], dt.datetime)
    assert response["id"][14] == "1"  # UUID version 1
    assert "duration" in response


def test_scalar_fields_come_back_as_strings(client):
    feed = client.feed("user", "1")
    feed.add_activity({"actor": 1, "verb": "tweet", "object": 3})
    [stored] = feed.get()["results"]
    assert (stored["actor"], stored["object"]) == ("1", "3")


def test_get_returns_newest_first_and_paginates(client):
    feed = client.feed("user", "1")
    base = dt.datetime(2024, 1, 1, 12, 0, 0)
    ids = [
        feed.add_activity(activity(i, time=base + dt.timedelta(minutes=i)))["id"] for i in range(5)
    ]
    newest_first = list(reversed(ids))
    assert [a["id"] for a in feed.get(limit=5)["results"]] == newest_first
    assert [a["id"] for a in feed.get(limit=2, offset=1)["results"]] == newest_first[1:3]
    assert [a["id"] for a in feed.get(limit=2, id_lt=ids[3])["results"]] == [ids[2], ids[1]]
    assert [a["id"] for a in feed.get(limit=10, id_lte=ids[1])["results"]] == [ids[1], ids[0]]
    assert [a["id"] for a in feed.get(limit=10, id_gt=ids[2])["results"]] == [ids[4], ids[3]]
    assert [a["id"] for a in feed.get(limit=10, id_gte=ids[3])["results"]] == [ids[4], ids[3]]


def test_custom_time_is_ordered_by_time_not_insertion(client):
    feed = client.feed("user", "1")
    now = dt.datetime.now(dt.UTC)
    feed.add_activity(activity(1, foreign_id="a", time=now))
    feed.add_activity(activity(2, foreign_id="b", time=now - dt.timedelta(days=1)))
    feed.add_activity(activity(3, foreign_id="c", time=now + dt.timedelta(seconds=1)))
    assert [a["foreign_id"] for a in feed.get()["results"]] == ["c", "a", "b"]


def test_same_foreign_id_and_time_updates_in_place_and_keeps_id(client):
    feed = client.feed("user", "1")
    when = dt.datetime(2024, 5, 1, 10, 30, 0, 123456)
    first = feed.add_activity(activity(1, foreign_id="tweet:1", time=when, text="v1"))
    second = feed.add_activity(activity(1, foreign_id="tweet:1", time=when, text="v2"))
    assert second["id"] == first["id"]
    results = feed.get()["results"]
    assert len(results) == 1
    assert results[0]["text"] == "v2"


def test_same_foreign_id_with_other_time_is_another_activity(client):
    feed = client.feed("user", "1")
    feed.add_activity(activity(1, foreign_id="tweet:1", time=dt.datetime(2024, 1, 1)))
    feed.add_activity(activity(1, foreign_id="tweet:1", time=dt.datetime(2024, 1, 2)))
    assert len(feed.get()["results"]) == 2


def test_time_with_zone_is_stored_in_utc(client):
    feed = client.feed("user", "1")
    feed.add_activity(activity(1, time="2024-03-01T12:00:00+02:00"))
    [stored] = feed.get()["results"]
    assert stored["time"] == dt.datetime(2024, 3, 1, 10, 0, tzinfo=dt.UTC)


def test_add_activities_batch(client):
    feed = client.feed("user", "1")
    response = feed.add_activities([activity(1), activity(2, verb="like")])
    ids = [a["id"] for a in response["activities"]]
    assert [a["id"] for a in feed.get()["results"]] == ids[::-1]


def test_remove_by_id(client):
    feed = client.feed("user", "1")
    keep = feed.add_activity(activity(1))["id"]
    gone = feed.add_activity(activity(2))["id"]
    assert feed.remove_activity(gone)["removed"] == gone
    assert [a["id"] for a in feed.get()["results"]] == [keep]


def test_remove_by_foreign_id_removes_every_activity_with_it(client):
    feed = client.feed("user", "1")
    feed.add_activity(activity(1, foreign_id="tweet:1", time=dt.datetime(2024, 1, 1)))
    feed.add_activity(activity(1, foreign_id="tweet:1", time=dt.datetime(2024, 1, 2)))
    feed.add_activity(activity(2, foreign_id="tweet:2"))
    feed.remove_activity(foreign_id="tweet:1")
    assert [a["foreign_id"] for a in feed.get()["results"]] == ["tweet:2"]


def test_removing_unknown_activity_succeeds_silently(client):
    feed = client.feed("user", "1")
    feed.remove_activity(foreign_id="tweet:missing")
    feed.remove_activity("7f090b16-e8cf-11f1-a597-7ff0eec1a3f1")


def test_one_activity_is_shared_by_the_feeds_it_is_in(client):
    user, timeline = client.feed("user", "1"), client.feed("timeline", "1")
    timeline.follow("user", "1")
    when = dt.datetime(2024, 1, 1)
    user.add_activity(activity(1, foreign_id="tweet:1", time=when, text="old"))
    user.add_activity(activity(1, foreign_id="tweet:1", time=when, text="new"))
    assert timeline.get()["results"][0]["text"] == "new"


@pytest.mark.parametrize("missing", ["actor", "verb", "object"])
def test_missing_required_field_is_input_error_naming_it(client, missing):
    data = activity(1)
    del data[missing]
    with pytest.raises(InputException) as raised:
        client.feed("user", "1").add_activity(data)
    assert missing in str(raised.value)
    assert raised.value.status_code == 400


def test_bad_time_is_input_error(client):
    with pytest.raises(InputException, match="time"):
        client.feed("user", "1").add_activity(activity(1, time="yesterday-ish"))


def test_unknown_feed_group_is_feed_config_error(client):
    with pytest.raises(FeedConfigException) as raised:
        client.feed("nosuchgroup", "1").add_activity(activity(1))
    assert "nosuchgroup" in str(raised.value)
    with pytest.raises(FeedConfigException):
        client.feed("nosuchgroup", "1").get()
