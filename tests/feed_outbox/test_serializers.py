"""ActivitySerializer: enriched activities become JSON without exposing unchosen model fields."""

import datetime
import json
import uuid

import pytest

from feed_outbox.enrich import Enrich
from feed_outbox.serializers import ActivitySerializer, serialize_activities
from tests.factories import LikeFactory, TweetFactory

pytestmark = pytest.mark.django_db

FIELDS = {"auth.User": ["username"], "sample_app.Tweet": ["text", "created_at"]}


def enriched_page(*instances):
    return Enrich().enrich_activities([{**i.create_activity(), "id": "x"} for i in instances])


def test_an_enriched_page_is_json_ready_with_only_the_chosen_fields():
    tweet = TweetFactory(text="hello")
    (data,) = serialize_activities(enriched_page(tweet), FIELDS)

    json.dumps(data)  # no custom encoder needed
    assert data["actor"] == {
        "ref": f"auth.User:{tweet.user_id}",
        "model": "auth.user",
        "pk": tweet.user_id,
        "str": tweet.user.username,
        "username": tweet.user.username,
    }
    assert data["object"]["text"] == "hello"
    assert data["object"]["created_at"] == tweet.created_at.isoformat()
    assert data["time"] == tweet.create_activity()["time"].isoformat()
    assert "password" not in json.dumps(data)
    assert "not_enriched" not in data


def test_without_chosen_fields_a_model_shows_only_its_reference_and_str():
    tweet = TweetFactory()
    (data,) = ActivitySerializer().serialize_many(enriched_page(tweet))
    assert set(data["actor"]) == {"ref", "model", "pk", "str"}


def test_a_model_may_define_activity_json(monkeypatch):
    from sample_app.models import Tweet

    monkeypatch.setattr(Tweet, "activity_json", lambda self: {"len": len(self.text)}, raising=False)
    tweet = TweetFactory(text="four")
    (data,) = ActivitySerializer().serialize_many(enriched_page(tweet))
    assert data["object"]["len"] == 4


def test_aggregated_groups_serialize_their_activities_and_misses():
    like = LikeFactory()
    group = {
        "id": "g",
        "verb": "like",
        "updated_at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "activities": [{**like.create_activity(), "id": "a1"}],
    }
    like.tweet.delete()
    (enriched,) = Enrich().enrich_aggregated_activities([group])

    (data,) = serialize_activities([enriched], FIELDS)

    json.dumps(data)
    assert data["updated_at"] == "2026-01-02T03:04:05+00:00"
    (item,) = data["activities"]
    assert item["actor"]["username"] == like.user.username
    assert item["object"] == f"sample_app.Tweet:{like.tweet_id}"
    assert item["not_enriched"] == {"object": f"sample_app.Tweet:{like.tweet_id}"}
    assert data["not_enriched"] == {"a1": {"object": f"sample_app.Tweet:{like.tweet_id}"}}


def test_odd_values_become_strings():
    value = uuid.uuid4()
    data = ActivitySerializer().serialize({"id": value, "to": ("a", "b"), "n": 1.5, "x": object})
    assert data["id"] == str(value) and data["to"] == ["a", "b"] and data["n"] == 1.5
    json.dumps(data)
