"""Enrich on real pages read back from Stream (the emulator): one query per model class for a
flat, an aggregated and a notification page alike, whatever the number of activities."""

import pytest

from feed_outbox.enrich import Enrich
from sample_app.models import Follow, Like, Retweet
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def busy_author(outbox_drain):
    """An author and a fan followed by a reader; eight tweets, liked and retweeted by several people."""
    author, reader = UserFactory(), UserFactory()
    Follow.objects.follow(reader, author)
    fans = UserFactory.create_batch(4)
    Follow.objects.follow(reader, fans[0])  # the reader's feeds get likes and retweets too
    for tweet in TweetFactory.create_batch(8, user=author):
        for fan in fans:
            Like.objects.create(user=fan, tweet=tweet)
        Retweet.objects.create(user=fans[0], tweet=tweet)
    outbox_drain()
    return author, reader


@pytest.mark.parametrize(
    ("feed", "aggregated"),
    [
        ("timeline:{reader}", False),
        ("timeline_aggregated:{reader}", True),
        ("notification:{author}", True),
    ],
)
def test_a_page_costs_one_query_per_model_class(
    busy_author, user_feed_activities, django_assert_num_queries, feed, aggregated
):
    author, reader = busy_author
    page = user_feed_activities(feed.format(author=author.pk, reader=reader.pk))
    assert page

    enrich = Enrich()
    with django_assert_num_queries(2):  # auth.User and sample_app.Tweet (with its user)
        if aggregated:
            enriched = enrich.enrich_aggregated_activities(page)
            activities = [a for group in enriched for a in group["activities"]]
        else:
            enriched = activities = enrich.enrich_activities(page)
        assert all(a.enriched for a in activities)
        # Templates reach tweet.user: selected in the same query.
        assert {a["object"].user for a in activities} == {author}

    assert len(activities) > 8
