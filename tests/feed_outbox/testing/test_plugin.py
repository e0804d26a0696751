"""The drain helper works in an ordinary django_db test: same connection, rows not committed."""

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from tests.factories import TweetFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_drain_inside_the_test_transaction(outbox_drain, user_feed_activities):
    tweet = TweetFactory()
    assert outbox_drain().delivered == 1
    assert OutboxEvent.objects.get().status == EventStatus.DELIVERED
    assert [a["foreign_id"] for a in user_feed_activities(f"user:{tweet.user_id}")] == [
        f"sample_app.Tweet:{tweet.pk}"
    ]
