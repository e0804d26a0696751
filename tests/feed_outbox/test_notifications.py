"""Notification counts and marking seen/read go through the feed API (the emulator here), on
Feeds v2 (stream-python) and on Feeds v3 (getstream SDK, feed_manager's V3Feed reads)."""

import pytest
from django.template import Context, Template
from django.test import RequestFactory, override_settings

from feed_outbox.context_processors import notifications as notifications_processor
from feed_outbox.feed_manager import feed_manager
from feed_outbox.notifications import mark_read, mark_seen, notification_counts, read_notifications
from sample_app.models import Like, Retweet
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True, params=["v2", "v3"])
def api(request):
    """Write and read one API: feed_manager returns stream-python feeds or V3Feeds."""
    with override_settings(FEED_OUTBOX_STREAM_API=request.param,
                           FEED_OUTBOX_READ_API=request.param):
        yield request.param


@pytest.fixture
def author_with_two_groups(outbox_drain):
    """An author whose notification feed has a like group and a retweet group."""
    author = UserFactory()
    tweet = TweetFactory(user=author)
    for _ in range(3):
        Like.objects.create(user=UserFactory(), tweet=tweet)
    Retweet.objects.create(user=UserFactory(), tweet=tweet)
    outbox_drain()
    return author


def test_counts_are_per_group_and_marking_seen_does_not_mark_read(author_with_two_groups):
    author = author_with_two_groups
    counts = notification_counts(author.pk)
    assert (counts.unseen, counts.unread) == (2, 2)

    mark_seen(author.pk)
    counts = notification_counts(author.pk)
    assert (counts.unseen, counts.unread) == (0, 2)


def test_marking_read_by_group_id_marks_only_that_group(author_with_two_groups):
    author = author_with_two_groups
    groups = read_notifications(author.pk)["results"]
    like_group = next(g for g in groups if g["verb"] == "like")
    mark_read(author.pk, [like_group["id"]])
    after = {g["verb"]: g["is_read"] for g in read_notifications(author.pk)["results"]}
    assert after == {"like": True, "retweet": False}
    assert notification_counts(author.pk).unread == 1


def test_reading_with_mark_seen_answers_with_the_state_before(author_with_two_groups):
    author = author_with_two_groups
    first = read_notifications(author.pk, mark_seen=True)
    assert [g["is_seen"] for g in first["results"]] == [False, False]
    assert notification_counts(author.pk).unseen == 0


def test_a_new_notification_after_marking_makes_its_group_unseen_again(
    author_with_two_groups, outbox_drain
):
    author = author_with_two_groups
    read_notifications(author.pk, mark_seen=True, mark_read=True)
    tweet = author.tweets.get()
    Like.objects.create(user=UserFactory(), tweet=tweet)
    outbox_drain()
    page = read_notifications(author.pk)
    assert (page["unseen"], page["unread"]) == (1, 1)
    fresh = [g for g in page["results"] if not g["is_seen"]]
    assert [g["verb"] for g in fresh] == ["like"] and fresh[0]["activity_count"] == 4


def test_the_feeds_get_takes_v2s_mark_strings_every_group_or_a_comma_list(
    author_with_two_groups, api
):
    feed = feed_manager.get_notification_feed(author_with_two_groups.pk)
    assert type(feed).__name__ == {"v2": "V2Feed", "v3": "V3Feed"}[api]
    groups = feed.get()["results"]
    feed.get(mark_read=",".join(g["id"] for g in groups))
    feed.get(mark_seen="true")
    after = feed.get()
    assert (after["unseen"], after["unread"]) == (0, 0)


def test_the_context_processor_asks_stream_only_when_a_template_uses_it(monkeypatch):
    import feed_outbox.notifications

    def fail(user_id):
        raise AssertionError("Stream was asked")

    monkeypatch.setattr(feed_outbox.notifications, "notification_counts", fail)
    request = RequestFactory().get("/")
    request.user = UserFactory()
    assert Template("page").render(Context(notifications_processor(request))) == "page"


def test_the_context_processor_gives_the_badge_count(author_with_two_groups):
    request = RequestFactory().get("/")
    request.user = author_with_two_groups
    context = notifications_processor(request)
    out = Template("{{ notification_counts.unseen }}").render(Context(context))
    assert out == "2"

    request.user = UserFactory()
    assert (
        Template("[{{ notification_counts.unseen }}]").render(
            Context(notifications_processor(request))
        )
        == "[0]"
    )


def test_the_badge_never_breaks_a_page_when_stream_is_down(settings):
    settings.STREAM_API_KEY, settings.STREAM_API_SECRET = "k", "s"
    settings.STREAM_BASE_URL = "http://localhost:9"  # nothing listens there
    request = RequestFactory().get("/")
    request.user = UserFactory()
    out = Template("[{% if notification_counts %}x{% endif %}]").render(
        Context(notifications_processor(request))
    )
    assert out == "[]"


def test_anonymous_users_get_no_counts():
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert notifications_processor(request) == {"notification_counts": None}
