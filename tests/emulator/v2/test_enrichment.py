"""Users, collections, reactions and the enrich/ reads that resolve references to them."""

from __future__ import annotations

import pytest
from stream.exceptions import DoesNotExistException

from tests.emulator.conftest import activity


def test_users_crud_and_get_or_create(client):
    created = client.users.add("ann", {"name": "Ann"})
    assert client.users.add("ann", {"name": "other"}, get_or_create=True)["data"] == {"name": "Ann"}
    client.feed("user", "x").follow("user", "ann")
    fetched = client.users.get("ann", with_follow_counts=True)
    assert fetched["id"] == created["id"] and fetched["followers_count"] == 1
    client.users.update("ann", {"name": "Annie"})
    assert client.users.get("ann")["data"] == {"name": "Annie"}
    client.users.delete("ann")
    with pytest.raises(DoesNotExistException):
        client.users.get("ann")


def test_collections_crud(client):
    entry = client.collections.add("items", {"n": 1}, id="42")
    assert entry["foreign_id"] == "items:42"
    client.collections.update("items", "42", data={"n": 2})
    assert client.collections.get("items", "42")["data"] == {"n": 2}
    client.collections.delete("items", "42")
    with pytest.raises(DoesNotExistException):
        client.collections.get("items", "42")


def test_enriched_read_resolves_user_and_collection_references(client):
    user = client.users.add("mike", {"name": "Mike"})
    entry = client.collections.add("items", {"name": "time machine"})
    user.pop("duration"), entry.pop("duration")
    feed = client.feed("user", "mike")
    feed.add_activity(
        {
            "actor": client.users.create_reference(user),
            "verb": "buy",
            "object": client.collections.create_reference(entry=entry),
        }
    )
    assert feed.get()["results"][0]["actor"] == "SU:mike"
    enriched = feed.get(enrich=True)["results"][0]
    assert enriched["actor"] == user and enriched["object"] == entry


def test_reactions_children_filter_and_soft_delete(client):
    aid = client.feed("user", "1").add_activity(activity(1))["id"]
    like = client.reactions.add("like", aid, "ann")
    child = client.reactions.add_child("like", like["id"], "bob")
    parent = client.reactions.get(like["id"])
    assert parent["children_counts"] == {"like": 1}
    assert parent["latest_children"]["like"][0]["id"] == child["id"]
    assert [r["id"] for r in client.reactions.filter(reaction_id=like["id"])["results"]] == [
        child["id"]
    ]
    by_activity = client.reactions.filter(kind="like", activity_id=aid, id_lte=like["id"])
    assert [r["id"] for r in by_activity["results"]] == [like["id"]]
    client.reactions.delete(like["id"], soft=True)
    assert client.reactions.get(like["id"])["deleted_at"] is not None
    client.reactions.restore(like["id"])
    assert "deleted_at" not in client.reactions.get(like["id"])
    with pytest.raises(DoesNotExistException):
        client.reactions.restore(like["id"])


def test_reaction_target_feeds_and_enriched_reaction_fields(client):
    aid = client.feed("user", "1").add_activity(activity(1))["id"]
    like = client.reactions.add(
        "like", aid, "ann", target_feeds=["notification:1"], target_feeds_extra_data={"p": 1}
    )
    [group] = client.feed("notification", "1").get()["results"]
    assert group["activities"][0]["reaction"] == f"SR:{like['id']}"
    assert group["activities"][0]["p"] == 1
    client.reactions.add("comment", aid, "bob")
    like.pop("duration")
    enriched = client.feed("user", "1").get(
        reactions={"own": True, "recent": True, "counts": True, "kinds": ["like"]}, user_id="ann"
    )["results"][0]
    assert enriched["reaction_counts"] == {"like": 1}
    assert enriched["own_reactions"]["like"][0] == like
    assert list(enriched["latest_reactions"]) == ["like"]
