"""The emulator's Feeds v3 API, driven by the real getstream SDK, against the documented
behaviour (docs/topics/feeds-v3.md has the source of each)."""

from __future__ import annotations

import jwt
import pytest
from getstream import Stream
from getstream.exceptions import StreamApiException, StreamRateLimitException
from getstream.models import ActivityRequest, FeedRequest, FollowRequest, UnfollowPair

from feed_outbox.testing import EMULATOR_KEY, EMULATOR_SECRET
from tests.polling import within_one_window


@pytest.fixture
def v3(stream_emulator):
    client = Stream(api_key=EMULATOR_KEY, api_secret=EMULATOR_SECRET,
                    base_url=stream_emulator.url)
    feeds = client.feeds
    feeds.create_feeds_batch(
        feeds=[FeedRequest(feed_group_id=g, feed_id=i, created_by_id=i)
               for g, i in [("user", "1"), ("user", "2"), ("timeline", "9"),
                            ("notification", "5"), ("aggregated", "6")]]
    )
    return feeds


def post(feeds, id_, feed="user:1", **custom):
    return feeds.upsert_activities(
        activities=[ActivityRequest(id=id_, type="tweet", feeds=[feed], user_id="1", custom=custom)]
    )


def ids(feeds, group, feed_id):
    return [a.id for a in feeds.get_or_create_feed(group, feed_id, limit=100).data.activities]


def test_an_upsert_by_id_overwrites_never_duplicates(v3):
    post(v3, "a", n=1)
    post(v3, "a", n=2)
    [activity] = v3.get_or_create_feed("user", "1", limit=10).data.activities
    assert activity.id == "a" and activity.custom == {"n": 2}


def test_an_upsert_creates_a_missing_feed_but_not_a_missing_group(v3):
    # Stream's v3 Activities page, "Auto-creating feeds": no getOrCreate needed before adding
    post(v3, "b", feed="user:404")
    assert ids(v3, "user", "404") == ["b"]
    with pytest.raises(StreamApiException) as raised:
        post(v3, "c", feed="nosuchgroup:1")
    assert raised.value.status_code == 404 and raised.value.code == 16
    assert "feed group 'nosuchgroup' does not exist" in raised.value.message


def test_a_batch_with_one_feed_of_a_missing_group_applies_nothing(v3):
    with pytest.raises(StreamApiException):
        v3.upsert_activities(activities=[
            ActivityRequest(id="ok", type="t", feeds=["user:1"]),
            ActivityRequest(id="new", type="t", feeds=["user:77"]),
            ActivityRequest(id="bad", type="t", feeds=["nosuchgroup:1"]),
        ])
    assert ids(v3, "user", "1") == []
    assert ids(v3, "user", "77") == []


def test_an_upsert_replaces_the_feeds_an_activity_is_in(v3):
    v3.upsert_activities(activities=[ActivityRequest(id="m", type="t", feeds=["user:1", "user:2"])])
    v3.upsert_activities(activities=[ActivityRequest(id="m", type="t", feeds=["user:1"])])
    assert ids(v3, "user", "1") == ["m"] and ids(v3, "user", "2") == []


def test_delete_of_an_unknown_id_is_404_and_deletes_nothing(v3):
    post(v3, "x")
    with pytest.raises(StreamApiException) as raised:
        v3.delete_activities(ids=["x", "unknown"], hard_delete=True)
    assert raised.value.status_code == 404
    assert ids(v3, "user", "1") == ["x"]


def test_follow_copies_all_unless_limited_and_unfollow_keeps_history_on_request(v3):
    for n in range(3):
        post(v3, f"p{n}")
    v3.get_or_create_follows(follows=[FollowRequest(source="timeline:9", target="user:1",
                                                    activity_copy_limit=2)])
    assert ids(v3, "timeline", "9") == ["p2", "p1"]
    again = v3.get_or_create_follows(follows=[FollowRequest(source="timeline:9", target="user:1")])
    assert again.data.created == []  # get-or-create: the follow exists, nothing copied again
    post(v3, "p3")  # one level of fan-out to followers
    assert ids(v3, "timeline", "9")[0] == "p3"
    v3.get_or_create_unfollows(follows=[UnfollowPair(source="timeline:9", target="user:1",
                                                     keep_history=True)])
    assert len(ids(v3, "timeline", "9")) == 3
    v3.get_or_create_follows(follows=[FollowRequest(source="timeline:9", target="user:2")])
    v3.get_or_create_unfollows(follows=[UnfollowPair(source="timeline:9", target="user:1")])
    v3.get_or_create_unfollows(follows=[UnfollowPair(source="timeline:9", target="user:1")])


def test_notification_feeds_answer_groups_and_counts(v3):
    v3.upsert_activities(activities=[
        ActivityRequest(id=f"n{i}", type="like", feeds=["notification:5"]) for i in range(3)
    ])
    data = v3.get_or_create_feed("notification", "5", limit=10).data
    [group] = data.aggregated_activities
    assert group.activity_count == 3 and group.group.startswith("like_")
    assert data.notification_status.unseen == 1


def notify(feeds, *types, start=0):
    feeds.upsert_activities(activities=[
        ActivityRequest(id=f"n{start + i}", type=t, feeds=["notification:5"], user_id=str(i))
        for i, t in enumerate(types)
    ])


def notifications(feeds):
    data = feeds.get_or_create_feed("notification", "5", limit=10).data
    groups = {g.group.split("_")[0]: g for g in data.aggregated_activities}
    return data.notification_status, groups


def test_mark_all_seen_and_read_by_group_id_as_v3_answers_them(v3):
    notify(v3, "like", "follow", "comment")
    status, groups = notifications(v3)
    assert (status.unseen, status.unread) == (3, 3)
    assert not any(g.is_seen or g.is_read for g in groups.values())

    v3.mark_activity("notification", "5", mark_all_seen=True)
    v3.mark_activity("notification", "5", mark_read=[groups["like"].group])
    status, groups = notifications(v3)
    assert (status.unseen, status.unread) == (0, 2)  # marking seen does not mark read
    assert all(g.is_seen for g in groups.values())
    assert {k for k, g in groups.items() if g.is_read} == {"like"}
    assert status.last_seen_at is not None and status.last_read_at is None
    assert status.read_activities == [groups["like"].group]

    v3.mark_activity("notification", "5", mark_all_read=True)
    assert notifications(v3)[0].unread == 0


def test_a_group_updated_after_its_mark_is_unseen_again(v3):
    notify(v3, "like", "follow")
    v3.mark_activity("notification", "5", mark_all_seen=True, mark_all_read=True)
    notify(v3, "like", start=10)  # a newer activity in the like group
    status, groups = notifications(v3)
    assert (status.unseen, status.unread) == (1, 1)
    assert not groups["like"].is_seen and groups["follow"].is_seen
    assert groups["like"].activity_count == 2


def test_marking_ids_marks_only_those_groups_and_a_bad_request_nothing(v3):
    notify(v3, "like", "follow")
    _status, groups = notifications(v3)
    v3.mark_activity("notification", "5", mark_seen=[groups["follow"].group, "no-such-group"])
    status, groups = notifications(v3)
    assert status.unseen == 1 and groups["follow"].is_seen and not groups["like"].is_seen
    with pytest.raises(StreamApiException) as raised:
        v3.mark_activity("notification", "404", mark_all_seen=True)
    assert raised.value.status_code == 404


def test_wrong_key_wrong_secret_and_user_tokens_are_refused_as_v3_does(stream_emulator):
    url = stream_emulator.url
    cases = [
        (Stream(api_key="nope", api_secret=EMULATOR_SECRET, base_url=url), 401, 2),
        (Stream(api_key=EMULATOR_KEY, api_secret="wrong", base_url=url), 401, 43),
        (Stream(api_key=EMULATOR_KEY, base_url=url,
                token=jwt.encode({"user_id": "1"}, EMULATOR_SECRET)), 403, 17),
    ]
    for client, status, code in cases:
        with pytest.raises(StreamApiException) as raised:
            client.feeds.create_feeds_batch(feeds=[FeedRequest(feed_group_id="user", feed_id="3")])
        assert (raised.value.status_code, raised.value.code) == (status, code)
        assert raised.value.api_error is not None  # the SDK parsed v3's error envelope


def test_rate_limits_are_per_endpoint_per_minute_with_headers(v3, stream_emulator):
    within_one_window(30)  # 301 requests in one minute window, on a loaded machine too
    stream_emulator.set_faults(rate_limits="stream")
    answer = post(v3, "r")
    assert answer.headers()["x-ratelimit-limit"] == "300"
    for n in range(299):
        post(v3, f"r{n}")
    with pytest.raises(StreamRateLimitException) as raised:
        post(v3, "over")
    assert raised.value.status_code == 429 and raised.value.code == 9
    assert raised.value.retry_after is not None and raised.value.rate_limit_info.remaining == 0
    assert ids(v3, "user", "1")  # another endpoint's budget is untouched


def test_an_rfc3339_expires_at_is_answered_as_v3_times_are(v3):
    from datetime import UTC, datetime

    added = v3.add_activity(type="story", feeds=["user:1"], user_id="1",
                            expires_at="2030-01-02T03:04:05Z").data.activity
    assert added.expires_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with pytest.raises(StreamApiException) as raised:
        v3.add_activity(type="story", feeds=["user:1"], expires_at="tomorrow")
    assert (raised.value.status_code, raised.value.code) == (400, 4)


def test_update_activity_changes_what_it_gives_and_keeps_the_rest(v3):
    post(v3, "u", keep=1)
    updated = v3.update_activity("u", text="edited", user_id="1", custom={"n": 2}).data.activity
    assert (updated.text, updated.custom, updated.feeds) == ("edited", {"n": 2}, ["user:1"])
    assert ids(v3, "user", "1") == ["u"]
    with pytest.raises(StreamApiException) as raised:
        v3.update_activity("nope", text="x")
    assert raised.value.status_code == 404


def test_a_partial_update_sets_and_unsets_dotted_custom_fields(v3):
    post(v3, "p", a=1, b={"c": 2, "d": 3})
    changed = v3.update_activity_partial(
        "p", set={"custom.b.c": 20, "text": "t"}, unset=["custom.a"]
    ).data.activity
    assert changed.custom == {"b": {"c": 20, "d": 3}} and changed.text == "t"
    with pytest.raises(StreamApiException) as raised:
        v3.update_activity_partial("p", set={"type": "other"})
    assert raised.value.status_code == 400


def test_query_activities_filters_sorts_and_pages(v3):
    from getstream.models import SortParamRequest

    for n, kind in enumerate(["post", "photo", "post", "post"]):
        v3.upsert_activities(activities=[ActivityRequest(
            id=f"q{n}", type=kind, feeds=["user:1"], user_id="1", custom={"priority": n})])
    first = v3.query_activities(limit=2, filter={"activity_type": "post", "user_id": "1"}).data
    assert [a.id for a in first.activities] == ["q3", "q2"] and first.next
    second = v3.query_activities(limit=2, next=first.next,
                                 filter={"activity_type": "post", "user_id": "1"}).data
    assert [a.id for a in second.activities] == ["q0"] and not second.next
    ranked = v3.query_activities(
        filter={"$or": [{"custom.priority": {"$gte": 2}}, {"id": {"$in": ["q0"]}}]},
        sort=[SortParamRequest(field="created_at", direction=1)],
    ).data
    assert [a.id for a in ranked.activities] == ["q0", "q2", "q3"]
    with pytest.raises(StreamApiException) as raised:
        v3.query_activities(filter={"popularity": {"$near": 1}})
    assert raised.value.status_code == 400  # never a silently wrong page


def test_query_follows_filters_by_source_and_target_feed(v3):
    v3.get_or_create_follows(follows=[FollowRequest(source="timeline:9", target="user:1"),
                                      FollowRequest(source="timeline:9", target="user:2")])
    every = v3.query_follows(limit=10).data.follows
    assert {f.target_feed.feed for f in every} == {"user:1", "user:2"}
    [one] = v3.query_follows(filter={"target_feed": "user:2"}).data.follows
    assert (one.source_feed.feed, one.status) == ("timeline:9", "accepted")
    gone = v3.unfollow("timeline:9", "user:2").data.follow
    assert gone.target_feed.feed == "user:2"
    assert [f.target_feed.feed for f in v3.query_follows().data.follows] == ["user:1"]


def test_feed_groups_are_created_updated_deleted_and_reset(v3, stream_emulator):
    from getstream.models import AggregationConfig, NotificationConfig

    made = v3.create_feed_group(id="alerts", aggregation=AggregationConfig(format="{{ type }}"),
                                notification=NotificationConfig(track_seen=True)).data
    assert made.feed_group.id == "alerts" and made.feed_group.created_at is not None
    with pytest.raises(StreamApiException):
        v3.create_feed_group(id="alerts")
    assert v3.get_feed_group("alerts").data.feed_group.notification.track_seen
    v3.get_or_create_feed("alerts", "7", user_id="7")
    notify_feed = v3.get_or_create_feed("alerts", "7").data
    assert notify_feed.notification_status is not None  # a notification group
    # An update replaces every setting (Stream's "full-replacement semantics"): without its
    # notification and aggregation settings the group reads as a flat one.
    v3.update_feed_group(id="alerts", custom={"team": "x"})
    after = v3.get_feed_group("alerts").data.feed_group
    assert (after.custom, after.notification, after.aggregation) == ({"team": "x"}, None, None)
    assert "alerts" in v3.list_feed_groups().data.groups
    assert v3.get_or_create_feed("alerts", "7").data.notification_status is None
    v3.delete_feed_group(id="alerts")
    with pytest.raises(StreamApiException) as raised:
        v3.get_feed_group("alerts")
    assert raised.value.status_code == 404
    v3.create_feed_group(id="later")
    stream_emulator.reset()
    assert "later" not in v3.list_feed_groups().data.groups


def test_feed_views_are_stored_and_answered(v3):
    created = v3.create_feed_view(id="v", activity_selectors=[{"type": "popular"}]).data
    assert created.feed_view.id == "v"
    v3.update_feed_view(id="v", activity_selectors=[{"type": "following"}])
    got = v3.get_or_create_feed_view(id="v").data
    assert not got.was_created and got.feed_view.activity_selectors[0].type == "following"
    assert list(v3.list_feed_views().data.views) == ["v"]
    v3.delete_feed_view(id="v")
    with pytest.raises(StreamApiException):
        v3.get_feed_view("v")


def test_a_pinned_activity_is_answered_with_the_feed_until_unpinned(v3):
    post(v3, "pin-me")
    pinned = v3.pin_activity("user", "1", "pin-me", user_id="1").data
    assert (pinned.feed, pinned.activity.id, pinned.user_id) == ("user:1", "pin-me", "1")
    [pin] = v3.get_or_create_feed("user", "1").data.pinned_activities
    assert pin.activity.id == "pin-me" and pin.user.id == "1"
    v3.unpin_activity("user", "1", "pin-me", user_id="1")
    assert v3.get_or_create_feed("user", "1").data.pinned_activities == []
    with pytest.raises(StreamApiException) as raised:
        v3.pin_activity("user", "2", "pin-me")  # not in that feed
    assert raised.value.status_code == 404


def test_bookmarks_are_added_to_folders_moved_queried_and_deleted(v3):
    from getstream.models import AddFolderRequest

    post(v3, "b")
    first = v3.add_bookmark("b", user_id="1", new_folder=AddFolderRequest(name="later")).data
    folder = first.bookmark.folder
    assert (first.bookmark.object_id, folder.name) == ("b", "later")
    with pytest.raises(StreamApiException):
        v3.add_bookmark("b", user_id="1", folder_id=folder.id)  # once per folder
    moved = v3.update_bookmark("b", folder_id=folder.id, user_id="1",
                               new_folder=AddFolderRequest(name="read")).data.bookmark
    assert moved.folder.name == "read"
    [found] = v3.query_bookmarks(filter={"user_id": "1"}).data.bookmarks
    assert found.folder.id == moved.folder.id
    assert v3.query_bookmarks(filter={"user_id": "2"}).data.bookmarks == []
    v3.delete_bookmark("b", moved.folder.id, "1")
    assert v3.query_bookmarks(filter={"user_id": "1"}).data.bookmarks == []


def test_comments_are_added_updated_queried_and_deleted(v3):
    post(v3, "c")
    added = v3.add_comment(comment="first", object_id="c", object_type="activity",
                           user_id="1").data.comment
    reply = v3.add_comment(comment="reply", object_id="c", object_type="activity",
                           user_id="2", parent_id=added.id).data.comment
    assert (added.text, added.status, reply.parent_id) == ("first", "active", added.id)
    assert v3.update_comment(added.id, comment="edited").data.comment.edited_at is not None
    found = v3.query_comments(filter={"object_id": "c", "user_id": "1"}).data.comments
    assert [c.text for c in found] == ["edited"]
    soft = v3.delete_comment(added.id, hard_delete=False).data
    assert soft.comment.status == "deleted" and soft.activity.id == "c"
    v3.delete_comment(reply.id, hard_delete=True)
    with pytest.raises(StreamApiException) as raised:
        v3.get_comment(reply.id)
    assert raised.value.status_code == 404
    with pytest.raises(StreamApiException):
        v3.add_comment(comment="x", object_id="missing", object_type="activity", user_id="1")
