"""Async reads give what the sync reads give, through the clients' own async APIs: stream-python's
AsyncStreamClient on v2, the getstream SDK's AsyncStream on v3, real HTTP to the emulator.

Async code runs under asgiref's ``async_to_sync``, as Django's own async test support runs an
``async def`` test: its ORM calls then run on the test's thread, inside the test's transaction,
so the data a test writes is what the async reads enrich, and queries are counted.
"""

import pytest
import requests
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.test import override_settings
from getstream.exceptions import StreamTransportException

from feed_outbox import notifications
from feed_outbox.enrich import Enrich
from feed_outbox.feed_manager import feed_manager
from feed_outbox.pagination import FeedPaginator
from sample_app.models import Like, Retweet, Tweet
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(params=["v2", "v3", "v2+v3"])
def api(request):
    """What the outbox writes; feed_manager reads v2 unless only v3 is written (conf.read_api)."""
    with override_settings(FEED_OUTBOX_STREAM_API=request.param):
        yield request.param


def await_(coroutine_function, *args, **kwargs):
    return async_to_sync(coroutine_function)(*args, **kwargs)


def answer(body: dict) -> dict:
    """A feed read's answer without v2's ``duration`` (the server's time, different each read)."""
    return {k: v for k, v in body.items() if k != "duration"}


@pytest.fixture
def chirps(api, outbox_drain):
    """A reader following two authors who tweet, like and retweet: every feed holds something."""
    reader, ann, ben = UserFactory(), UserFactory(), UserFactory()
    for author in (ann, ben):
        feed_manager.follow_user(reader.pk, author.pk)
    outbox_drain()
    for n in range(4):
        tweet = TweetFactory(user=ann if n % 2 else ben, text=f"chirp {n}")
        Like.objects.create(user=reader, tweet=tweet)
        Like.objects.create(user=ben if n % 2 else ann, tweet=tweet)
    Retweet.objects.create(user=ben, tweet=tweet)
    outbox_drain()
    return reader, ann, ben


def _feeds(reader, ann):
    news = feed_manager.get_news_feeds(reader.pk)
    return {
        "timeline": news["timeline"],
        "timeline_aggregated": news["timeline_aggregated"],
        "user": feed_manager.get_user_feed(ann.pk),
        "notification": feed_manager.get_notification_feed(ann.pk),
    }


def test_aget_answers_what_get_answers_on_every_kind_of_feed(chirps, api):
    reader, ann, _ = chirps
    for name, feed in _feeds(reader, ann).items():
        for params in ({"limit": 3}, {"limit": 25}, {"limit": 2, "offset": 1}):
            sync = feed.get(**params)
            assert sync["results"], (api, name)
            assert answer(await_(feed.aget, **params)) == answer(sync), (api, name, params)
        older = sync["results"][0]["id"]
        assert answer(await_(feed.aget, limit=5, id_lt=older)) == answer(
            feed.get(limit=5, id_lt=older)
        )


def test_a_feed_read_async_is_the_api_the_sync_read_uses(chirps, api):
    reader, _, _ = chirps
    feed = feed_manager.get_news_feeds(reader.pk)["timeline"]
    assert type(feed).__name__ == ("V3Feed" if api == "v3" else "V2Feed")


def test_async_follow_lists_are_the_sync_ones(chirps, api):
    reader, ann, _ = chirps
    timeline = feed_manager.get_news_feeds(reader.pk)["timeline"]
    author = feed_manager.get_user_feed(ann.pk)
    assert len(timeline.following()["results"]) == 2
    assert answer(await_(timeline.afollowing)) == answer(timeline.following())
    assert answer(await_(timeline.afollowing, 1, 1)) == answer(timeline.following(1, 1))
    assert answer(await_(author.afollowers)) == answer(author.followers())


def test_async_notification_helpers_count_read_and_mark_like_the_sync_ones(chirps, api):
    _, ann, _ = chirps
    counts = notifications.notification_counts(ann.pk)
    assert counts.unseen == counts.unread > 0
    assert await_(notifications.anotification_counts, ann.pk) == counts
    page = notifications.read_notifications(ann.pk)
    assert answer(await_(notifications.aread_notifications, ann.pk)) == answer(page)

    first = page["results"][0]["id"]
    await_(notifications.amark_read, ann.pk, [first])
    assert await_(notifications.anotification_counts, ann.pk).unread == counts.unread - 1
    await_(notifications.amark_seen, ann.pk)
    after = notifications.notification_counts(ann.pk)
    assert (after.unseen, after.unread) == (0, counts.unread - 1)
    before = await_(notifications.aread_notifications, ann.pk, mark_read=True)
    assert [g["is_read"] for g in before["results"]].count(False) == counts.unread - 1
    assert notifications.notification_counts(ann.pk).unread == 0


def test_async_pages_are_the_sync_pages(chirps, api):
    reader, ann, _ = chirps
    paginator = FeedPaginator(2)
    for feed in _feeds(reader, ann).values():
        cursor = None
        while True:
            page = paginator.page(feed, cursor)
            assert await_(paginator.apage, feed, cursor) == page
            if not page.has_next:
                break
            cursor = page.next_cursor
        assert await_(paginator.apage_or_first, feed, "../x") == paginator.page(feed)


def test_async_enrichment_is_the_sync_enrichment_with_one_query_per_model(
    chirps, django_assert_num_queries
):
    reader, ann, _ = chirps
    feeds = _feeds(reader, ann)
    flat = feeds["timeline"].get(limit=25)["results"]
    groups = feeds["timeline_aggregated"].get(limit=25)["results"]
    assert {a["verb"] for a in flat} == {"tweet", "like", "retweet"}
    # foreign_id too: four model classes (users, tweets, likes, retweets), one query each
    enrich = Enrich(fields=("actor", "object", "foreign_id"))

    with django_assert_num_queries(4):
        enriched = await_(enrich.aenrich_activities, [dict(a) for a in flat])
    with django_assert_num_queries(4):
        assert enriched == enrich.enrich_activities([dict(a) for a in flat])
    assert all(a.enriched for a in enriched)
    assert {type(a["foreign_id"]).__name__ for a in enriched} == {"Tweet", "Like", "Retweet"}
    with django_assert_num_queries(4):
        grouped = await_(enrich.aenrich_aggregated_activities, groups)
    assert grouped == enrich.enrich_aggregated_activities(groups)
    assert [a.activities for a in grouped] == [
        a.activities for a in enrich.enrich_aggregated_activities(groups)
    ]


def test_async_enrichment_tracks_what_it_could_not_load_as_the_sync_one_does(chirps):
    reader, _, _ = chirps
    flat = feed_manager.get_news_feeds(reader.pk)["timeline"].get(limit=5)["results"]
    flat[0] = {**flat[0], "object": "sample_app.Tweet:999999", "actor": "auth.Group:1"}
    sync = Enrich().enrich_activities([dict(a) for a in flat])
    enriched = await_(Enrich().aenrich_activities, [dict(a) for a in flat])
    assert (
        enriched[0].not_enriched_data
        == sync[0].not_enriched_data
        == {"object": "sample_app.Tweet:999999"}
    )
    assert enriched == sync


def failure(read, *args, **kwargs) -> Exception:
    with pytest.raises(Exception) as caught:
        read(*args, **kwargs)
    return caught.value


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_a_failed_async_read_raises_what_the_sync_read_raises_naming_the_feed(
    stream_emulator, api, settings
):
    settings.FEED_OUTBOX_STREAM_API = api
    feed = feed_manager.get_feed("nosuchgroup", "7")
    sync, asynchronous = failure(feed.get, limit=1), failure(await_, feed.aget, limit=1)
    assert type(asynchronous) is type(sync) and str(asynchronous) == str(sync)
    assert "nosuchgroup" in str(sync)  # the service's own message names the group
    for exc in (sync, asynchronous):
        assert exc.__notes__ == ["while reading the Stream feed nosuchgroup:7"]
        assert settings.STREAM_API_SECRET not in str(exc) + repr(exc)


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_stream_out_of_reach_fails_an_async_read_with_the_sync_reads_exception_class(
    stream_emulator, api, settings
):
    settings.FEED_OUTBOX_STREAM_API = api
    settings.STREAM_BASE_URL = "http://localhost:1"  # nothing listens there
    feed = feed_manager.get_user_feed(3)
    sync, asynchronous = failure(feed.get, limit=1), failure(await_, feed.aget, limit=1)
    expected = {"v2": requests.ConnectionError, "v3": StreamTransportException}[api]
    assert isinstance(sync, expected) and isinstance(asynchronous, expected)
    for exc in (sync, asynchronous):
        assert exc.__notes__ == ["while reading the Stream feed user:3"]
        assert settings.STREAM_API_SECRET not in str(exc) + repr(exc)


def test_async_enrichment_awaits_an_async_fetch_hook_and_runs_a_sync_one(chirps):
    reader, _, _ = chirps
    flat = feed_manager.get_news_feeds(reader.pk)["timeline"].get(limit=5)["results"]
    calls = []

    class Hooks(Enrich):
        async def afetch_sample_app__tweet_instances(self, pks):
            calls.append("async tweets")
            return await Tweet.objects.ain_bulk(list(pks))

        def fetch_auth__user_instances(self, pks):
            calls.append("sync users")  # a query: only works on Django's thread for it
            return get_user_model().objects.in_bulk(list(pks))

    enriched = await_(Hooks().aenrich_activities, [dict(a) for a in flat])
    assert sorted(calls) == ["async tweets", "sync users"]
    assert all(a.enriched for a in enriched)
    assert enriched == Enrich().enrich_activities([dict(a) for a in flat])
