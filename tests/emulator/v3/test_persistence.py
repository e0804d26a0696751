"""`--data` persists the Feeds v3 store: every read answers the same after a restart (a clean
stop, or a SIGKILL that runs no shutdown code), driven by the real getstream SDK."""

from __future__ import annotations

import signal
import urllib.request
from typing import Any

import pytest
from getstream import Stream
from getstream.exceptions import StreamApiException
from getstream.models import ActivityRequest, FeedRequest, FollowRequest, UserRequest

from feed_outbox.emulator import Emulator
from tests.emulator.cli import KEY, SECRET, Cli

FEEDS = [  # (group, id, owner)
    ("user", "ann", "ann"),
    ("user", "bob", "bob"),
    ("timeline", "ann", "ann"),
    ("timeline", "bob", "bob"),
    ("notification", "ann", "ann"),
]


def sdk(url: str) -> Any:
    return Stream(api_key=KEY, api_secret=SECRET, base_url=url).feeds


def write(client: Stream, feeds: Any) -> str:
    """Every kind of v3 write the store persists; returns the id the emulator generated."""
    client.upsert_users(
        UserRequest(id="ann", name="Ann", custom={"plan": {"tier": 2}}),
        UserRequest(id="bob", role="admin"),
    )
    feeds.create_feeds_batch(
        feeds=[FeedRequest(feed_group_id=g, feed_id=i, created_by_id=o) for g, i, o in FEEDS]
    )
    feeds.upsert_activities(
        activities=[
            ActivityRequest(
                id="a1",
                type="post",
                feeds=["user:ann"],
                user_id="ann",
                text="first",
                custom={"foreign_id": "tweet:1", "nested": {"n": [1, 2.5, None]}},
                filter_tags=["x"],
                interest_tags=["y"],
                visibility="public",
                expires_at="2999-01-01T00:00:00Z",
            ),
            ActivityRequest(id="a2", type="post", feeds=["user:ann"], user_id="ann"),
            ActivityRequest(id="b1", type="like", feeds=["user:bob"], user_id="bob"),
        ]
    )
    # copies with their origin: the follow copies a1 and a2, then fan-out brings what follows
    feeds.follow(source="timeline:ann", target="user:ann")
    feeds.follow(source="timeline:ann", target="user:bob", activity_copy_limit=0)
    generated = feeds.add_activity(type="post", feeds=["user:bob"], user_id="bob", text="gen")
    in_two = ActivityRequest(
        id="a3", type="like", feeds=["user:ann", "notification:ann"], user_id="ann"
    )
    feeds.upsert_activities(activities=[in_two])
    feeds.update_activity("a1", user_id="ann", text="edited", custom={"foreign_id": "tweet:1"})
    feeds.update_activity_partial("a3", user_id="ann", set={"custom.mood": "happy"})
    feeds.delete_activities(ids=["a2"], hard_delete=True)
    # an unfollow removes its copies; one that keeps its history keeps them
    feeds.follow(source="timeline:bob", target="user:ann")
    feeds.unfollow("timeline:bob", "user:ann")
    feeds.follow(source="timeline:bob", target="user:bob")
    feeds.unfollow("timeline:bob", "user:bob", keep_history=True)
    # a batch that fails on its second follow has applied its first
    with pytest.raises(StreamApiException):
        feeds.follow_batch(
            follows=[
                FollowRequest(source="timeline:bob", target="user:ann"),
                FollowRequest(source="timeline:ann", target="user:ann"),  # already follows
            ]
        )
    return generated.data.activity.id


def _data(response: Any) -> dict[str, Any]:
    body = response.data.to_dict()
    body.pop("duration", None)
    return body


def reads(feeds: Any, ids: list[str]) -> dict[str, Any]:
    """Everything a client can read back: feeds, activities by id, and both queries."""
    answers: dict[str, Any] = {
        f"{g}:{i}": _data(feeds.get_or_create_feed(g, i, limit=100, user_id=o)) for g, i, o in FEEDS
    }
    for activity_id in ids:
        answers[f"activity {activity_id}"] = _data(feeds.get_activity(activity_id))
    answers["follows"] = _data(feeds.query_follows(limit=100))
    answers["activities"] = _data(feeds.query_activities(limit=100))
    return answers


def feed_ids(feeds: Any, group: str, feed_id: str) -> list[str]:
    return [a.id for a in feeds.get_or_create_feed(group, feed_id, limit=100).data.activities]


def check_restarted(feeds: Any, before: dict[str, Any], ids: list[str]) -> None:
    """The same answers as before the restart, and writes that build on what survived."""
    assert reads(feeds, ids) == before
    with pytest.raises(StreamApiException) as gone:
        feeds.get_activity("a2")
    assert gone.value.status_code == 404
    # creation order goes on: a new activity is the newest everywhere, fanned out by the follow
    feeds.upsert_activities(
        activities=[ActivityRequest(id="new", type="post", feeds=["user:ann"], user_id="ann")]
    )
    assert feed_ids(feeds, "user", "ann") == ["new", "a3", "a1"]
    assert feed_ids(feeds, "timeline", "ann")[0] == "new"
    assert feeds.query_activities(limit=1).data.activities[0].id == "new"
    # origins survived: unfollowing user:bob takes exactly its copies out of timeline:ann
    feeds.unfollow("timeline:ann", "user:bob")
    assert feed_ids(feeds, "timeline", "ann") == ["new", "a3", "a1"]


def test_v3_state_survives_a_stop_and_restart_on_the_same_file(tmp_path):
    data = str(tmp_path / "emulator.sqlite3")
    emulator = Emulator(api_key=KEY, api_secret=SECRET, port=0, data_path=data).start()
    client = Stream(api_key=KEY, api_secret=SECRET, base_url=emulator.url)
    ids = ["a1", "a3", "b1", write(client, client.feeds)]
    before = reads(client.feeds, ids)
    state = emulator.v3_state(lambda s: (dict(s.entries), s.last_seq))
    emulator.stop()

    again = Emulator(api_key=KEY, api_secret=SECRET, port=0, data_path=data).start()
    try:
        # the entries of every feed, with the feed each copy came from, and the counter
        assert again.v3_state(lambda s: (dict(s.entries), s.last_seq)) == state
        assert state[0]["timeline:ann"][ids[-1]] == "user:bob"
        kept = {"b1": "user:bob", ids[-1]: "user:bob"}  # the unfollow that kept its history
        assert state[0]["timeline:bob"] == {**kept, "a1": "user:ann", "a3": "user:ann"}
        check_restarted(sdk(again.url), before, ids)
    finally:
        again.stop()


def test_v3_writes_survive_a_sigkill_and_restart(tmp_path):
    data = str(tmp_path / "emulator.sqlite3")
    cli = Cli("--data", data)
    client = Stream(api_key=KEY, api_secret=SECRET, base_url=cli.url)
    ids = ["a1", "a3", "b1", write(client, client.feeds)]
    before = reads(client.feeds, ids)
    cli.stop(signal.SIGKILL)  # no shutdown hook: only what was committed before answering

    again = Cli("--data", data)
    try:
        check_restarted(sdk(again.url), before, ids)
    finally:
        again.stop()


def test_the_reset_endpoint_clears_the_persisted_v3_state(tmp_path):
    data = str(tmp_path / "emulator.sqlite3")
    emulator = Emulator(api_key=KEY, api_secret=SECRET, port=0, data_path=data).start()
    client = Stream(api_key=KEY, api_secret=SECRET, base_url=emulator.url)
    write(client, client.feeds)
    reset = urllib.request.Request(
        f"{emulator.url}/_emulator/reset",
        data=b"",
        method="POST",
        headers={"X-Emulator-Control": "1"},
    )
    with urllib.request.urlopen(reset, timeout=5) as answer:
        assert answer.status == 200
    emulator.stop()

    again = Emulator(api_key=KEY, api_secret=SECRET, port=0, data_path=data).start()
    try:
        state = again.v3_state(lambda s: [s.users, s.feeds, s.activities, s.follows])
        assert state == [{}, {}, {}, {}]
        assert sdk(again.url).query_follows(limit=100).data.follows == []
    finally:
        again.stop()


def test_feeds_of_a_group_no_longer_configured_are_skipped_on_load(tmp_path):
    data = str(tmp_path / "emulator.sqlite3")
    groups = {"extra": "flat"}
    emulator = Emulator(
        api_key=KEY, api_secret=SECRET, port=0, data_path=data, feed_groups=groups
    ).start()
    feeds = sdk(emulator.url)
    feeds.create_feeds_batch(
        feeds=[FeedRequest(feed_group_id=g, feed_id="1") for g in ("extra", "user", "timeline")]
    )
    feeds.follow(source="timeline:1", target="extra:1")
    feeds.upsert_activities(
        activities=[ActivityRequest(id="e", type="post", feeds=["extra:1", "user:1"])]
    )
    emulator.stop()

    again = Emulator(api_key=KEY, api_secret=SECRET, port=0, data_path=data).start()
    try:
        feeds = sdk(again.url)
        with pytest.raises(StreamApiException) as missing:
            feeds.get_or_create_feed("extra", "1")
        assert missing.value.status_code == 404
        assert feed_ids(feeds, "user", "1") == ["e"]
        assert feeds.query_follows(limit=100).data.follows == []  # its follow went with it
        assert feeds.get_activity("e").data.activity.feeds == ["extra:1", "user:1"]
    finally:
        again.stop()


def test_what_a_failed_batch_applied_survives_a_sigkill(tmp_path):
    data = str(tmp_path / "emulator.sqlite3")
    cli = Cli("--data", data)
    feeds = sdk(cli.url)
    feeds.create_feeds_batch(
        feeds=[FeedRequest(feed_group_id=g, feed_id="1") for g in ("user", "timeline")]
    )
    feeds.follow(source="timeline:1", target="user:1")
    with pytest.raises(StreamApiException):
        feeds.follow_batch(
            follows=[
                FollowRequest(source="user:1", target="timeline:1"),
                FollowRequest(source="timeline:1", target="user:1"),  # already follows: 400
            ]
        )
    cli.stop(signal.SIGKILL)  # the failed batch was the last request: nothing flushed it since

    again = Cli("--data", data)
    try:
        follows = sdk(again.url).query_follows(limit=100).data.follows
        pairs = [(f.source_feed.feed, f.target_feed.feed) for f in follows]
        assert pairs == [("user:1", "timeline:1"), ("timeline:1", "user:1")]  # newest first
    finally:
        again.stop()
