"""The checker's model of Stream agrees with the emulator's store on random writes, and its
follow semantics are the documented ones (copy limit, keep_history, one-level fan-out)."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from feed_outbox.emulator import aggregation
from feed_outbox.emulator.feed_groups import build_feed_groups
from feed_outbox.emulator.v2.store import Store
from feed_outbox.stream_api import v3_mapping
from tests.chaos.stream_model import StreamModel, default_group_key
from tests.chaos.stream_model_v3 import StreamModelV3, creations_from_log

BASE = dt.datetime(2026, 1, 2, 23, 59, 50)
USERS = range(1, 6)


def _time(i: int) -> str:
    return (BASE + dt.timedelta(seconds=i / 7)).isoformat(timespec="microseconds")


def _random_writes(rng: random.Random, count: int) -> list[tuple[str, str, dict]]:
    """Outbox-like events over five users' feeds, with `to` targets, updates that retarget,
    copy limits 0/2/default and unfollows with and without history."""
    events: list[tuple[str, str, dict]] = []
    made: dict[str, tuple[str, str]] = {}  # foreign_id -> (author feed, time)
    for i in range(count):
        roll = rng.random()
        user = rng.choice(USERS)
        if roll < 0.4 or not made:
            fid = f"t:{i}"
            made[fid] = (f"user:{user}", _time(i))
            payload = _activity(rng, fid, made[fid][1], user)
            events.append(("add", made[fid][0], payload))
        elif roll < 0.55:
            fid = rng.choice(sorted(made))
            payload = _activity(rng, fid, made[fid][1], int(made[fid][0][5:]))
            if rng.random() < 0.5:
                payload["_outbox"] = {"previous_to": None}
            events.append(("update", made[fid][0], payload))
        elif roll < 0.7:
            fid = rng.choice(sorted(made))
            events.append(("remove", made[fid][0], {"foreign_id": fid}))
        else:
            source = f"{rng.choice(['timeline', 'timeline_aggregated'])}:{user}"
            target = f"user:{rng.choice([u for u in USERS if u != user])}"
            if roll < 0.87:
                limit = rng.choice([None, 0, 2])
                payload = {"target": target} | (
                    {} if limit is None else {"activity_copy_limit": limit}
                )
                events.append(("follow", source, payload))
            else:
                payload = {"target": target, "keep_history": rng.random() < 0.5}
                events.append(("unfollow", source, payload))
    return events


def _activity(rng: random.Random, fid: str, time: str, user: int) -> dict:
    payload = {
        "actor": f"auth.User:{user}",
        "verb": rng.choice(["tweet", "like"]),
        "object": fid,
        "foreign_id": fid,
        "time": time,
        "text": f"v{rng.randrange(1000)}",
    }
    targets = [f"notification:{u}" for u in USERS if u != user and rng.random() < 0.25]
    if targets:
        payload["to"] = targets
    return payload


def _apply_to_store(store: Store, kind: str, feed: str, payload: dict) -> None:
    """What the relay's stream-python calls do to the emulator (relay/delivery/v2.py)."""
    data = {k: v for k, v in payload.items() if k not in ("_outbox", "to")}
    if kind in ("add", "update"):
        data.setdefault("target", "")
        to = list(payload.get("to") or [])
        if "_outbox" in payload:
            aid = store.find(data["foreign_id"], data["time"])
            if aid is not None:
                current = store.activities[aid].get("to", [])
                added = [t for t in to if t not in current]
                store.update_targets(feed, aid, added, [t for t in current if t not in to])
        store.add(feed, data, to)
    elif kind == "remove":
        store.remove_by_foreign_id(feed, payload["foreign_id"])
    elif kind == "follow":
        store.follow(feed, payload["target"], payload.get("activity_copy_limit"))
    else:
        store.unfollow(feed, payload["target"], payload["keep_history"])


def _store_feed(store: Store, fid: str) -> dict[str, tuple[str, str]]:
    feed = store.feeds.get(fid)
    if feed is None:
        return {}
    return {
        store.activities[aid]["foreign_id"]: (t, store.activities[aid].get("text"))
        for t, aid in feed.order
    }


@pytest.mark.parametrize("seed", range(8))
def test_the_model_matches_the_emulator_on_random_writes(seed):
    rng = random.Random(seed)
    events = _random_writes(rng, 400)
    store = Store(build_feed_groups())
    for event in events:
        _apply_to_store(store, *event)
    model = StreamModel().replay(events)

    for fid in sorted(set(store.feeds) | model.feed_ids()):
        assert model.flat(fid) == _store_feed(store, fid), fid
        if not fid.startswith(("user:", "timeline:")):
            feed = store.feeds.get(fid)
            keys = {
                aggregation.group_key(feed.group.aggregation_format, store.activities[aid])
                for _t, aid in (feed.order if feed else [])
            }
            assert set(model.groups(fid)) == keys, fid
    assert model.follows() == {s: set(t) for s, t in store.following.items() if t}


def _tweets(author: int, count: int, start: int = 0) -> list[tuple[str, str, dict]]:
    return [
        (
            "add",
            f"user:{author}",
            {
                "actor": f"auth.User:{author}",
                "verb": "tweet",
                "object": f"t:{i}",
                "foreign_id": f"t:{i}",
                "time": _time(i),
                "text": str(i),
            },
        )
        for i in range(start, start + count)
    ]


def test_a_follow_copies_only_the_newest_hundred_and_then_fans_out_every_add():
    before = _tweets(2, 120)
    after = _tweets(2, 30, start=120)
    model = StreamModel().replay([*before, ("follow", "timeline:1", {"target": "user:2"}), *after])
    held = model.flat("timeline:1")
    assert len(held) == 130
    assert set(held) == {f"t:{i}" for i in range(20, 150)}


def test_copy_limit_zero_copies_nothing_and_keep_history_keeps_the_copies():
    model = StreamModel().replay(
        [
            *_tweets(2, 3),
            ("follow", "timeline:1", {"target": "user:2", "activity_copy_limit": 0}),
            *_tweets(2, 2, start=3),
            ("unfollow", "timeline:1", {"target": "user:2", "keep_history": True}),
            *_tweets(2, 1, start=5),
        ]
    )
    assert set(model.flat("timeline:1")) == {"t:3", "t:4"}
    assert model.follows() == {}


def test_a_re_add_reaches_followers_that_lack_it_and_grouping_is_verb_and_day():
    model = StreamModel().replay(
        [
            *_tweets(2, 2),
            ("follow", "timeline_aggregated:1", {"target": "user:2", "activity_copy_limit": 0}),
            _tweets(2, 1)[0],  # t:0 updated: an add with the same foreign_id and time
        ]
    )
    assert model.groups("timeline_aggregated:1") == {"tweet_2026-01-02": {"t:0": (_time(0), "0")}}
    assert default_group_key({"verb": "like", "time": _time(100)}) == "like_2026-01-03"


def test_v3_follow_ranks_activities_by_creation_across_emulator_restarts():
    # The emulator's v3 log numbers its rows from 1 again after a restart, and the checker
    # keeps them per incarnation: 120 tweets created before a restart, 30 after, then a
    # follow copies the newest hundred by creation, which are the last hundred written.
    before, after = _tweets(2, 120), _tweets(2, 30, start=120)

    def rows(events, incarnation):
        return [
            {
                "seq": seq,
                "incarnation": incarnation,
                "op": "add_activity",
                "created": True,
                "id": v3_mapping.activity_id(feed, payload["foreign_id"]),
            }
            for seq, (_kind, feed, payload) in enumerate(events, 1)
        ]

    creations = creations_from_log([*rows(after, 1), *rows(before, 0)])  # in any order
    follow = ("follow", "timeline:1", {"target": "user:2"})
    model = StreamModelV3(creations).replay([*before, *after, follow])
    assert set(model.flat("timeline:1")) == {f"t:{i}" for i in range(50, 150)}
