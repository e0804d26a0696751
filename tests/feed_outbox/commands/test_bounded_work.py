"""Reconcile, backfill and replay do bounded work per row: no query per row (N+1), and
reconcile never holds more than one feed's expected state in memory."""

import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feed_outbox.operations.backfill import backfill
from feed_outbox.operations.reconcile import reconcile
from feed_outbox.operations.replay import ReplaySelection, replay
from feed_outbox.tracking import tracking_disabled
from sample_app.models import Follow, Like, Tweet
from tests.factories import LikeFactory, TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def queries_of(action):
    with CaptureQueriesContext(connection) as captured:
        action()
    return len(captured)


@pytest.fixture
def pair():
    """A fan who follows an author; what grows is how many tweets the fan likes, not feeds."""
    author, fan = UserFactory.create_batch(2)
    Follow.objects.follow(fan, author)

    def grow(n, tracked=True):
        if tracked:
            for tweet in TweetFactory.create_batch(n, user=author):
                LikeFactory(user=fan, tweet=tweet)
            return
        with tracking_disabled():
            tweets = TweetFactory.create_batch(n, user=author)
            Like.objects.bulk_create(Like(user=fan, tweet=t) for t in tweets)

    return grow


def test_reconcile_queries_do_not_grow_with_rows(pair, outbox_drain):
    pair(10)
    outbox_drain()
    small = queries_of(lambda: reconcile())
    pair(30)
    outbox_drain()
    large = queries_of(lambda: reconcile())
    # tweets, likes in the fan's feed and in the author's notifications, two news feeds' copies
    assert reconcile().expected == 40 + 40 + 40 + 2 * 40
    assert large == small


def test_backfill_queries_do_not_grow_with_rows(pair):
    pair(10, tracked=False)
    small = queries_of(lambda: backfill(Like, batch_size=1000))
    pair(30, tracked=False)
    large = queries_of(lambda: backfill(Like, batch_size=1000))
    assert Like.objects.count() == 40
    assert large == small


def test_replay_queries_do_not_grow_with_rows(pair, outbox_drain):
    pair(10)
    outbox_drain()
    small = queries_of(lambda: replay(ReplaySelection(model="sample_app.Like")))
    outbox_drain()
    pair(30)
    outbox_drain()
    large = queries_of(lambda: replay(ReplaySelection(model="sample_app.Like")))
    assert large == small


def authors_with_tweets(authors, tweets_each):
    """``authors`` author feeds, each followed by a reader; tweets written behind the outbox
    and published with one add per tweet (drained), so every feed is consistent."""
    from feed_outbox.publishing import publish

    users = UserFactory.create_batch(authors)
    reader = UserFactory()
    for user in users:
        Follow.objects.follow(reader, user)
    with tracking_disabled():
        for user in users:
            Tweet.objects.bulk_create(Tweet(user=user, text="x" * 200) for _ in range(tweets_each))
    publish(Tweet.objects.exclude(user=reader))


def test_reconcile_holds_one_feeds_expected_state_at_a_time(outbox_drain):
    authors_with_tweets(10, 20)
    outbox_drain()
    report = reconcile()
    assert report.consistent and report.expected == 10 * 20 + 2 * 10 * 20
    # the readers' news feeds are the largest: every author's 20 tweets
    assert report.peak_held == 10 * 20

    authors_with_tweets(30, 20)  # 4x the authors and tweets; a second reader follows 30
    outbox_drain()
    report = reconcile()
    assert report.consistent and report.expected == 40 * 20 + 2 * 10 * 20 + 2 * 30 * 20
    assert report.peak_held == 30 * 20  # the largest feed, never the 2,400 expected in all


@pytest.fixture
def emulator_elsewhere():
    """The emulator in a subprocess, so tracemalloc sees reconcile's memory, not Stream's."""
    from django.test import override_settings

    from tests.benchmarks._harness import API_KEY, API_SECRET, emulator

    with (
        emulator() as url,
        override_settings(
            STREAM_API_KEY=API_KEY, STREAM_API_SECRET=API_SECRET, STREAM_BASE_URL=url
        ),
    ):
        yield url


@pytest.mark.slow
def test_reconcile_memory_does_not_grow_with_the_number_of_feeds(emulator_elsewhere, monkeypatch):
    from feed_outbox.operations import reconcile as module
    from feed_outbox.testing import drain_outbox

    # Rows per fetch and per spool write bound what spooling holds (constants, not data
    # sizes); small here, so both runs exceed them.
    monkeypatch.setattr(module, "SPOOL_CHUNK", 50)
    monkeypatch.setattr("feed_outbox.operations.expected_state.FLUSH_ROWS", 50)

    def peak():
        module.reconcile()  # warm: imports, client, compiled queries
        tracemalloc.start()
        try:
            report = module.reconcile()
            return report, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    for _ in range(5):
        authors_with_tweets(4, 25)
    drain_outbox()
    small_report, small = peak()
    for _ in range(15):
        authors_with_tweets(4, 25)
    drain_outbox()
    large_report, large = peak()

    assert small_report.consistent and large_report.consistent
    assert large_report.expected == 4 * small_report.expected
    assert large_report.peak_held == small_report.peak_held == 100
    # 4x the activities in 4x the feeds; what is held is one feed's and one chunk's (measured
    # here: 455 KB and 563 KB, most of the difference bounded caches of query texts).
    assert large < small * 1.5, (small, large)
