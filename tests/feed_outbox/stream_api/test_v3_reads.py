"""feed_manager's v3 reads (feed_outbox/stream_api/v3_reads.py) through the getstream SDK and the emulator:
follow lists past the 100 a v3 feed read can hold."""

import pytest
from django.test import override_settings

from feed_outbox.client import get_v3_client
from feed_outbox.feed_manager import feed_manager
from feed_outbox.stream_api.feed_reads import following

pytestmark = pytest.mark.usefixtures("stream_emulator")


@pytest.fixture
def timeline_following_130():
    from getstream.models import FeedRequest, FollowRequest

    feeds = get_v3_client().feeds
    targets = [f"user:t{n}" for n in range(130)]
    wanted = ["timeline:reader", *targets]
    for start in range(0, len(wanted), 100):
        feeds.create_feeds_batch(feeds=[
            FeedRequest(feed_group_id=f.split(":")[0], feed_id=f.split(":")[1])
            for f in wanted[start : start + 100]
        ])
    for start in range(0, len(targets), 100):  # in order: the last one is the newest
        feeds.get_or_create_follows(follows=[
            FollowRequest(source="timeline:reader", target=t) for t in targets[start : start + 100]
        ])
    return targets


@override_settings(FEED_OUTBOX_STREAM_API="v3", FEED_OUTBOX_READ_API="v3")
def test_a_v3_feed_lists_every_follow_newest_first_like_v2(timeline_following_130):
    feed = feed_manager.get_feed("timeline", "reader")
    rows = feed.following(offset=0, limit=500)["results"]
    assert len(rows) == 130 and rows[0]["target_id"] == "user:t129"
    assert {r["feed_id"] for r in rows} == {"timeline:reader"}
    assert [r["target_id"] for r in feed.following(offset=120, limit=5)["results"]] == [
        f"user:t{n}" for n in (9, 8, 7, 6, 5)
    ]
    assert [r["target_id"] for r in feed.following(feeds=["user:t3", "user:x"])["results"]] == [
        "user:t3"
    ]
    [follower] = feed_manager.get_feed("user", "t7").followers()["results"]
    assert follower["feed_id"] == "timeline:reader" and follower["created_at"]


@override_settings(FEED_OUTBOX_STREAM_API="v3")
def test_reconcile_reads_every_v3_follow_so_none_goes_unjudged(timeline_following_130):
    read = following("timeline:reader", api="v3")
    assert read.complete and read.targets == set(timeline_following_130)


def test_the_v3_read_bodies_are_what_the_sdks_request_models_encode():
    """Reads send JSON built by V3Feed (the SDK's AsyncStream has no typed feeds methods): the
    same bodies, once the SDK's post leaves out None, as its typed methods' request models."""
    from getstream.base import _strip_none
    from getstream.models import MarkActivityRequest, QueryFollowsRequest, SortParamRequest

    from feed_outbox.stream_api.v3_mapping import feed_owner
    from feed_outbox.stream_api.v3_reads import V3Feed, follow_pages

    mark = next(V3Feed(None, "notification", "u 1")._mark(True, ["g1", "g2"]))
    assert _strip_none(mark.json) == _strip_none(
        MarkActivityRequest(
            mark_all_seen=True, mark_read=["g1", "g2"], user_id=feed_owner("notification:u 1")
        ).to_dict()
    )
    query = next(follow_pages({"source_feed": "timeline:1"}))
    assert _strip_none(query.json) == _strip_none(
        QueryFollowsRequest(
            limit=100,
            sort=[SortParamRequest(field="created_at", direction=-1)],
            filter={"source_feed": "timeline:1"},
        ).to_dict()
    )
