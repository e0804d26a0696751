"""The v3 delivery: its plan and how the getstream SDK's failures read, then end to end: the
write side, the relay's v3 delivery, the SDK, HTTP, the emulator's v3 API, and back through
feed_manager's v3 reads."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from django.test import override_settings
from getstream.exceptions import StreamApiException, StreamTransportException

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import EventStatus, OutboxEvent
from relay.delivery.v3 import V3Delivery
from relay.events import Event
from relay.exceptions import ConfigurationError
from relay.options import RelayOptions
from relay.retry import Failure, classify, may_mean_configuration, may_still_land
from relay.runner import Relay
from sample_app.models import Follow
from tests.factories import OutboxEventFactory, TweetFactory, UserFactory


def event(id_, kind="add", feed="user:1", **payload):
    return Event(id_, kind, feed, f"key{id_}", payload or {"foreign_id": f"key{id_}"}, 1)


def test_events_group_by_kind_across_feeds_in_batches_of_100_with_their_operations_bucket():
    events = [event(i, feed=f"user:{i % 3}") for i in range(150)]
    events += [event(200, "remove"), event(201, "follow", target="user:2"), event(202, "nudge")]

    calls = V3Delivery().plan_calls(events)

    assert [(c.endpoint, len(c.events), c.rate_class) for c in calls] == [
        ("upsert_activities", 100, "v3:UpsertActivities"),
        ("upsert_activities", 50, "v3:UpsertActivities"),
        ("delete_activities", 1, "v3:DeleteActivities"),
        ("get_or_create_follows", 1, "v3:FollowBatch"),
        ("unknown:nudge", 1, "unknown:nudge"),  # send raises: dead-lettered after N tries
    ]


def _sent(body):
    """A body as the SDK sends it: without its None values (getstream/base.py, _strip_none)."""
    if isinstance(body, dict):
        return {k: _sent(v) for k, v in body.items() if v is not None}
    if isinstance(body, list):
        return [_sent(v) for v in body]
    return body


def test_each_prepared_body_is_what_the_sdks_request_models_encode():
    from getstream import models as m

    from relay.delivery import v3

    adds = [
        event(
            1,
            feed="user:1",
            foreign_id="sample_app.Tweet:1",
            verb="tweet",
            actor="auth.User:1",
            object="sample_app.Tweet:1",
            time="2026-01-01T00:00:00.000000",
            to=["timeline:2", "notification:3"],
            target=None,
            extra={"tags": ["a", None], "n": 1.5, "nested": {"x": None, "y": True}},
        ),
        event(2, feed="user:b_2", foreign_id="x:2", actor="auth.User:b 2", text="é ✓"),
    ]
    follows = [
        event(3, "follow", feed="timeline:1", target="user:2"),
        event(4, "follow", feed="timeline:1", target="user:3", activity_copy_limit=0),
    ]
    unfollows = [
        event(5, "unfollow", feed="timeline:1", target="user:2", keep_history=True),
        event(6, "unfollow", feed="timeline:1", target="user:3"),
    ]
    ids = ["a", "b"]
    fids = ["user:1", "timeline:b_2", "notification:x"]

    upsert = v3.upsert_body(adds)
    assert _sent(upsert) == _sent(
        m.UpsertActivitiesRequest(
            activities=[m.ActivityRequest(**a) for a in upsert["activities"]]
        ).to_dict()
    )
    assert upsert["activities"][0]["custom"]["extra"]["tags"] == ["a", None]
    assert _sent(v3.delete_body(ids)) == _sent(
        m.DeleteActivitiesRequest(ids=ids, hard_delete=True).to_dict()
    )
    assert _sent(v3.follow_body(follows)) == _sent(
        m.FollowBatchRequest(
            follows=[
                m.FollowRequest(source="timeline:1", target="user:2", activity_copy_limit=100),
                m.FollowRequest(source="timeline:1", target="user:3", activity_copy_limit=0),
            ]
        ).to_dict()
    )
    assert _sent(v3.unfollow_body(unfollows)) == _sent(
        m.UnfollowBatchRequest(
            follows=[
                m.UnfollowPair(source="timeline:1", target="user:2", keep_history=True),
                m.UnfollowPair(source="timeline:1", target="user:3", keep_history=False),
            ]
        ).to_dict()
    )
    assert _sent(v3.create_feeds_body(fids)) == _sent(
        m.CreateFeedsBatchRequest(
            feeds=[
                m.FeedRequest(feed_group_id="user", feed_id="1", created_by_id="1"),
                m.FeedRequest(feed_group_id="timeline", feed_id="b_2", created_by_id="b_2"),
                m.FeedRequest(feed_group_id="notification", feed_id="x", created_by_id="x"),
            ]
        ).to_dict()
    )


def _sdk_and_ours(client, path, body):
    """What the SDK's ``post`` and the relay's ``post`` each sent (method, URL, headers less the
    request id, bytes) and raised, for the same body on the same client."""
    from relay.delivery.v3 import post

    sent, raised = [], []
    http = client.feeds.client
    http.event_hooks["request"].append(sent.append)
    try:
        for send in (
            lambda: client.feeds.post(path, json=body),
            lambda: post(client.feeds, path, body),
        ):
            try:
                send()
                raised.append(None)
            except Exception as exc:  # what each raises is the point
                raised.append(exc)
    finally:
        http.event_hooks["request"].remove(sent.append)
    requests = [
        (
            r.method,
            str(r.url),
            {k: v for k, v in r.headers.items() if k != "x-client-request-id"},
            r.content,
        )
        for r in sent
    ]
    assert all(r.headers["x-client-request-id"] for r in sent)
    return requests, raised


@pytest.mark.usefixtures("stream_emulator")
def test_post_sends_the_sdks_request_and_raises_its_exceptions_without_reading_a_success():
    from feed_outbox.client import build_v3_client
    from relay.delivery import v3

    client = build_v3_client()
    feeds = v3.create_feeds_body(["user:1"])
    assert _sdk_and_ours(client, v3.PATHS[v3.CREATE_FEEDS], feeds)[1] == [None, None]
    upsert = v3.upsert_body(
        [event(1, foreign_id="x:1", actor="auth.User:1", target=None, extra={"l": ["é", None]})]
    )
    requests, raised = _sdk_and_ours(client, v3.PATHS[v3.UPSERT], upsert)
    assert raised == [None, None] and requests[0] == requests[1]
    assert b"null" in requests[1][3] and b'"target"' not in requests[1][3]  # the SDK's stripping

    bad = {"activities": [{"type": "tweet", "feeds": ["nosuchgroup:1"], "user_id": "1"}]}
    requests, raised = _sdk_and_ours(client, v3.PATHS[v3.UPSERT], bad)
    assert requests[0] == requests[1]
    sdk, ours = raised
    assert type(ours) is type(sdk) is StreamApiException
    fields = ("status_code", "code", "message", "exception_fields", "unrecoverable")
    assert [getattr(ours, f) for f in fields] == [getattr(sdk, f) for f in fields]
    sdk_body, our_body = (json.loads(e.raw_response_body) for e in raised)
    assert sdk_body.pop("duration") and our_body.pop("duration") and our_body == sdk_body
    assert ours.status_code == 404 and "nosuchgroup" in ours.message


def test_post_raises_the_sdks_exceptions_for_no_answer_and_for_a_page_that_is_not_json(
    stand_in,
):
    from feed_outbox.client import build_v3_client
    from relay.delivery import v3

    page = stand_in(200, b"<html>not Stream</html>")
    client = build_v3_client(api_key="k", api_secret="s", base_url=page.url)
    raised = _sdk_and_ours(client, v3.PATHS[v3.UPSERT], {"activities": []})[1]
    assert [type(e) for e in raised] == [StreamApiException] * 2
    assert raised[1].status_code == 200 and raised[1].raw_response_body == "<html>not Stream</html>"
    page.answer = (200, b"")  # an empty success reads as {} in the SDK too
    assert _sdk_and_ours(client, v3.PATHS[v3.UPSERT], {"activities": []})[1] == [None, None]

    with socket.socket() as unused:  # a port nothing listens on
        unused.bind(("127.0.0.1", 0))
        nowhere = f"http://localhost:{unused.getsockname()[1]}"
    client = build_v3_client(api_key="k", api_secret="s", base_url=nowhere)
    raised = _sdk_and_ours(client, v3.PATHS[v3.UPSERT], {"activities": []})[1]
    assert [type(e) for e in raised] == [StreamTransportException] * 2
    assert [type(e.__cause__) for e in raised] == [httpx.ConnectError] * 2
    assert not may_still_land(raised[1])


def test_v3_pool_threads_share_a_client_up_to_its_connections_with_one_hook_per_pool():
    from feed_outbox.client import build_v3_client

    built = []

    def build():
        client = build_v3_client(api_key="k", api_secret="s", base_url="http://localhost:1")
        client.max_conns_per_host = 3  # as if configured so: read from the client it built
        built.append(client)
        return client

    delivery = V3Delivery(build)
    handed = [delivery.build_client() for _ in range(4)]
    assert handed[:3] == [built[0]] * 3 and handed[3] is built[1] and len(built) == 2
    client = built[0]
    hooks = client.feeds.client.event_hooks["response"]
    first_pool, second_pool = [], []
    for _ in range(3):  # each thread of the first pool
        delivery.observe_responses(client, first_pool.append)
    assert hooks.count(first_pool.append) == 1
    delivery.observe_responses(client, second_pool.append)  # the relay's next run
    assert first_pool.append not in hooks and hooks.count(second_pool.append) == 1


def answer(status, code, message="detail", body=True):
    raw = json.dumps({"code": code, "message": message, "StatusCode": status}) if body else "<html>"
    return StreamApiException(status_code=status, code=code, message=message, raw_response_body=raw)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (answer(401, 43, "JWTAuth error: signature is not valid"), Failure.CONFIGURATION),
        (answer(401, 2, "api_key not found"), Failure.CONFIGURATION),
        (answer(400, 4, "activities: required"), Failure.PERMANENT),
        (answer(404, 16, "feed group 'timeline' does not exist"), Failure.CONFIGURATION),
        (answer(404, 16, "feed group 'nosuchgroup' does not exist"), Failure.PERMANENT),
        (answer(429, 9, "Too many requests"), Failure.RETRYABLE),
        (answer(500, -1, "internal error"), Failure.RETRYABLE),
        (answer(400, 77, "a code no page documents"), Failure.UNRECOGNISED),
        (StreamTransportException("read timeout"), Failure.RETRYABLE),
    ],
)
def test_each_v3_answer_has_its_class(exc, expected):
    assert classify(exc) is expected


def test_a_body_that_is_not_streams_may_mean_a_wrong_base_url():
    assert may_mean_configuration(answer(404, 0, "Not Found", body=False))
    assert not may_mean_configuration(answer(400, 4))


def transport_failure(cause: Exception) -> StreamTransportException:
    try:
        raise StreamTransportException(str(cause)) from cause
    except StreamTransportException as exc:
        return exc


def test_a_v3_request_without_an_answer_may_still_land_unless_it_never_left():
    request = httpx.Request("POST", "http://stream.invalid/api/v2/feeds/activities/batch")

    assert may_still_land(transport_failure(httpx.ReadTimeout("slow", request=request)))
    assert not may_still_land(transport_failure(httpx.ConnectError("refused", request=request)))
    assert not may_still_land(transport_failure(httpx.ConnectTimeout("slow", request=request)))
    assert may_still_land(answer(502, -1, "bad gateway")) and not may_still_land(answer(400, 4))


def end_to_end(test):
    """Real relay → getstream SDK → HTTP → the emulator's v3 API, on PostgreSQL."""
    return pytest.mark.postgres(pytest.mark.django_db(transaction=True)(test))


def foreign_ids(feed: str, api: str = "v3") -> list[str]:
    with override_settings(FEED_OUTBOX_READ_API=api):
        slug, user_id = feed.split(":")
        return [
            a["foreign_id"] for a in feed_manager.get_feed(slug, user_id).get(limit=100)["results"]
        ]


@end_to_end
@override_settings(FEED_OUTBOX_STREAM_API="v3")
def test_v3_add_update_remove_reach_the_feed_and_read_back_as_v2_activities(outbox_drain):
    user = UserFactory()
    kept, edited, removed = TweetFactory.create_batch(3, user=user)
    outbox_drain()
    edited.text = "edited on v3"
    edited.save()
    removed.delete()
    stats = outbox_drain()

    assert stats.dead == 0 and not OutboxEvent.objects.filter(api="v2").exists()
    activities = feed_manager.get_feed("user", user.pk).get(limit=10)["results"]
    assert sorted(a["foreign_id"] for a in activities) == sorted(
        f"sample_app.Tweet:{t.pk}" for t in (kept, edited)
    )
    by_id = {a["foreign_id"]: a for a in activities}
    shown = by_id[f"sample_app.Tweet:{edited.pk}"]
    assert shown["text"] == "edited on v3" and shown["verb"] == "tweet"
    assert shown["actor"] == f"auth.User:{user.pk}"  # the v2 reference, kept in custom


@end_to_end
@override_settings(FEED_OUTBOX_STREAM_API="v3")
def test_redelivering_delivered_v3_events_changes_nothing(outbox_drain, stream_emulator):
    user = UserFactory()
    tweets = TweetFactory.create_batch(5, user=user)
    outbox_drain()
    OutboxEvent.objects.update(status=EventStatus.PENDING)  # as if every answer was lost
    outbox_drain()

    assert sorted(foreign_ids(f"user:{user.pk}")) == sorted(
        f"sample_app.Tweet:{t.pk}" for t in tweets
    )
    assert stream_emulator.v3_state(lambda store: len(store.activities)) == 5


@end_to_end
@override_settings(FEED_OUTBOX_STREAM_API="v3")
def test_a_v3_follow_copies_the_target_and_an_unfollow_purges_it(outbox_drain):
    reader, author = UserFactory(), UserFactory()
    tweets = TweetFactory.create_batch(3, user=author)
    Follow.objects.follow(reader, author)
    outbox_drain()
    assert sorted(foreign_ids(f"timeline:{reader.pk}")) == sorted(
        f"sample_app.Tweet:{t.pk}" for t in tweets
    )
    later = TweetFactory(user=author)  # fans out to the follower on v3 too
    outbox_drain()
    assert f"sample_app.Tweet:{later.pk}" in foreign_ids(f"timeline:{reader.pk}")

    Follow.objects.unfollow(reader, author)
    outbox_drain()
    assert foreign_ids(f"timeline:{reader.pk}") == []


@end_to_end
@override_settings(FEED_OUTBOX_STREAM_API="v2+v3")
def test_v2_plus_v3_writes_a_row_per_api_and_both_feeds_end_equal(outbox_drain):
    user = UserFactory()
    tweets = TweetFactory.create_batch(4, user=user)
    tweets[0].delete()
    assert OutboxEvent.objects.filter(api="v2").count() == 5
    assert OutboxEvent.objects.filter(api="v3").count() == 5
    outbox_drain()

    feed = f"user:{user.pk}"
    assert sorted(foreign_ids(feed, "v2")) == sorted(foreign_ids(feed, "v3"))
    assert len(foreign_ids(feed, "v3")) == 3


@end_to_end
@override_settings(FEED_OUTBOX_STREAM_API="v2+v3")
def test_a_v3_configuration_error_pauses_only_the_v3_relay(stream_emulator):
    from feed_outbox.client import build_client, build_v3_client

    user = UserFactory()
    TweetFactory.create_batch(3, user=user)
    bad_v3 = Relay(
        RelayOptions(api="v3", owner="v3"),
        client_factory=lambda: build_v3_client(api_secret="not-the-secret"),
    )
    with pytest.raises(ConfigurationError):
        bad_v3.drain()
    v2 = Relay(RelayOptions(api="v2", owner="v2"), client_factory=build_client)
    assert v2.drain().delivered == 3  # v3's pause holds none of v2's rows

    v3_rows = OutboxEvent.objects.filter(api="v3")
    assert set(v3_rows.values_list("status", flat=True)) == {EventStatus.PENDING}
    assert set(v3_rows.values_list("attempts", flat=True)) == {0}  # released, refunded
    assert Relay(RelayOptions(api="v3", owner="v3b")).drain().delivered == 3


@end_to_end
@override_settings(FEED_OUTBOX_STREAM_API="v3", FEED_OUTBOX_MAX_ATTEMPTS=2)
def test_a_v3_poison_event_is_dead_lettered_and_blocks_only_its_key(stream_emulator):
    poison = OutboxEventFactory(api="v3", ordering_key="k", feed="nosuchgroup:1")
    after = OutboxEventFactory(api="v3", ordering_key="k", feed="user:1")
    fine = OutboxEventFactory(api="v3", feed="user:1")
    relay_options = {"retry_backoff": 0.0, "landing_seconds": 0.0}
    for _ in range(3):
        Relay(RelayOptions(api="v3", **relay_options)).drain()
        OutboxEvent.objects.filter(status=EventStatus.PENDING).update(available_at=None)

    statuses = dict(OutboxEvent.objects.values_list("id", "status"))
    assert statuses[poison.id] == EventStatus.DEAD
    assert statuses[after.id] == statuses[fine.id] == EventStatus.DELIVERED
    poison.refresh_from_db()
    assert "HTTP 404" in poison.last_error and "feed group 'nosuchgroup'" in poison.last_error


@end_to_end
def test_backfill_api_v3_fills_a_new_v3_app_from_the_database_and_skips_what_it_has(
    outbox_drain,
):
    from django.core.management import call_command

    user = UserFactory()
    tweets = TweetFactory.create_batch(3, user=user)  # written for v2 only (the default)
    call_command("outbox_backfill", "sample_app.Tweet", "--api", "v3", verbosity=0)
    call_command("outbox_backfill", "sample_app.Tweet", "--api", "v3", verbosity=0)
    assert OutboxEvent.objects.filter(api="v3").count() == 3
    with override_settings(FEED_OUTBOX_STREAM_API="v2+v3"):
        outbox_drain()
    assert sorted(foreign_ids(f"user:{user.pk}")) == sorted(
        f"sample_app.Tweet:{t.pk}" for t in tweets
    )
