"""Chirp end to end: pages read feeds from Stream (the emulator) after the outbox is drained."""

import json

import pytest
from django.urls import reverse

from feed_outbox.client import get_client
from sample_app.management.commands.seed_demo import seed_staff
from sample_app.models import Follow, Like, Retweet, Tweet
from tests.factories import TweetFactory, UserFactory

# Requests are atomic on every database (ATOMIC_REQUESTS), the second one included.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases=["default", "other"])]


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def foreign_ids(read, feed):
    return [a["foreign_id"] for a in read(feed)]


def test_a_followed_users_tweet_reaches_the_followers_timeline_page(as_user, outbox_drain):
    reader, writer = UserFactory(username="reader"), UserFactory(username="writer")
    c = as_user(reader)
    assert c.post(reverse("follow", args=["writer"])).status_code == 302
    assert Follow.objects.filter(user=reader, target=writer).exists()
    TweetFactory(user=writer, text="fresh from the writer")

    assert "fresh from the writer" not in c.get(reverse("timeline")).content.decode()
    outbox_drain()
    page = c.get(reverse("timeline")).content.decode()
    assert "fresh from the writer" in page
    assert "{#" not in page and "{%" not in page  # no template syntax leaks into the page
    assert "fresh from the writer" in c.get(reverse("timeline_aggregated")).content.decode()


def test_posting_a_tweet_puts_it_in_the_authors_feed(as_user, outbox_drain, user_feed_activities):
    author = UserFactory(username="author")
    c = as_user(author)
    response = c.post(reverse("timeline"), {"text": "my first chirp"})
    assert response.status_code == 302
    tweet = Tweet.objects.get(user=author)
    outbox_drain()
    assert foreign_ids(user_feed_activities, f"user:{author.pk}") == [
        f"sample_app.Tweet:{tweet.pk}"
    ]
    assert "my first chirp" in c.get(reverse("profile", args=["author"])).content.decode()


@pytest.mark.parametrize("api", ["v2", "v3"])
def test_likes_are_aggregated_in_the_authors_notifications_with_a_badge(
    as_user, outbox_drain, api, settings
):
    # On v3 the page reads through V3Feed and its visit marks seen through MarkActivity.
    settings.FEED_OUTBOX_STREAM_API = settings.FEED_OUTBOX_READ_API = api
    author = UserFactory(username="author")
    tweet = TweetFactory(user=author, text="likeable")
    for name in ("ann", "ben", "cid"):
        as_user(UserFactory(username=name)).post(reverse("like", args=[tweet.pk]))
    assert Like.objects.filter(tweet=tweet).count() == 3
    outbox_drain()

    c = as_user(author)
    timeline = c.get(reverse("timeline")).content.decode()
    assert 'id="notification-badge"' in timeline
    assert 'aria-label="1 unseen"' in timeline  # one group: the day's likes

    page = c.get(reverse("notifications")).content.decode()
    assert "liked your tweet" in page
    assert all(name in page for name in ("ann", "ben", "cid"))
    assert "3 people" in page
    assert page.count('data-verb="like"') == 1
    assert "new</span>" in page  # shown as new on the visit that marks it seen

    again = c.get(reverse("notifications")).content.decode()
    assert 'id="notification-badge"' not in again
    assert "new</span>" not in again


def test_a_like_of_ones_own_tweet_notifies_nobody(as_user, outbox_drain, user_feed_activities):
    author = UserFactory()
    tweet = TweetFactory(user=author)
    as_user(author).post(reverse("like", args=[tweet.pk]))
    outbox_drain()
    assert user_feed_activities(f"notification:{author.pk}") == []
    assert len(user_feed_activities(f"user:{author.pk}")) == 2  # the tweet and the like


def test_a_retweet_notifies_the_original_author_and_reaches_followers(
    as_user, outbox_drain, user_feed_activities
):
    author, fan, fan_follower = UserFactory(), UserFactory(username="fan"), UserFactory()
    Follow.objects.follow(fan_follower, fan)
    tweet = TweetFactory(user=author, text="worth sharing")
    as_user(fan).post(reverse("retweet", args=[tweet.pk]))
    retweet = Retweet.objects.get()
    outbox_drain()

    (group,) = user_feed_activities(f"notification:{author.pk}")
    assert group["verb"] == "retweet"
    assert [a["foreign_id"] for a in group["activities"]] == [f"sample_app.Retweet:{retweet.pk}"]
    page = as_user(fan_follower).get(reverse("timeline")).content.decode()
    assert "retweeted" in page and "worth sharing" in page
    notes = as_user(author).get(reverse("notifications")).content.decode()
    assert "retweeted your tweet" in notes and "fan" in notes


def test_deleting_a_tweet_removes_it_from_every_timeline(
    as_user, outbox_drain, user_feed_activities
):
    author, follower, fan = UserFactory(), UserFactory(), UserFactory()
    Follow.objects.follow(follower, author)
    Follow.objects.follow(follower, fan)
    tweet = TweetFactory(user=author, text="regrettable")
    Like.objects.create(user=fan, tweet=tweet)
    Retweet.objects.create(user=fan, tweet=tweet)
    outbox_drain()
    feeds = [
        f"user:{author.pk}",
        f"user:{fan.pk}",
        f"timeline:{follower.pk}",
        f"notification:{author.pk}",
    ]
    assert all(user_feed_activities(feed) for feed in feeds)

    assert as_user(author).post(reverse("delete_tweet", args=[tweet.pk])).status_code == 302
    outbox_drain()

    for feed in feeds:
        assert user_feed_activities(feed) == [], feed
    groups = user_feed_activities(f"timeline_aggregated:{follower.pk}")
    assert all(not g["activities"] for g in groups)
    assert "regrettable" not in as_user(follower).get(reverse("timeline")).content.decode()


def test_only_the_author_can_delete_a_tweet(as_user):
    tweet = TweetFactory()
    response = as_user(UserFactory()).post(reverse("delete_tweet", args=[tweet.pk]))
    assert response.status_code == 404
    assert Tweet.objects.filter(pk=tweet.pk).exists()


def test_unfollow_from_the_profile_page(as_user, outbox_drain):
    reader, writer = UserFactory(), UserFactory(username="gone")
    TweetFactory(user=writer, text="soon hidden")
    c = as_user(reader)
    c.post(reverse("follow", args=["gone"]))
    outbox_drain()
    assert "Unfollow" in c.get(reverse("profile", args=["gone"])).content.decode()
    assert "soon hidden" in c.get(reverse("timeline")).content.decode()

    c.post(reverse("unfollow", args=["gone"]))
    outbox_drain()
    assert "soon hidden" not in c.get(reverse("timeline")).content.decode()


def test_the_json_api_serializes_the_enriched_timeline(as_user, outbox_drain):
    reader, writer = UserFactory(), UserFactory(username="jw")
    Follow.objects.follow(reader, writer)
    TweetFactory(user=writer, text="as json")
    outbox_drain()
    data = json.loads(as_user(reader).get(reverse("api_timeline")).content)
    (activity,) = data["results"]
    assert activity["actor"]["username"] == "jw"
    assert activity["object"]["text"] == "as json"
    assert "password" not in json.dumps(data)


def test_hostile_feed_data_does_not_break_a_page(as_user, stream_emulator):
    owner = UserFactory(username="victim")
    feed = get_client().feed("user", owner.pk)
    for verb, actor in [
        ("../../registration/login", "auth.User:1"),
        ("tweet", "auth.Permission:1"),
        ("tweet", "sample_app.Tweet:99999999999999999999999"),
        ("nosuchtemplate", f"auth.User:{owner.pk}"),
    ]:
        feed.add_activity({"actor": actor, "verb": verb, "object": "x:y"})
    response = as_user(owner).get(reverse("profile", args=["victim"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="password"' not in page  # the login template was not reached through the verb
    assert "Permission" not in page


def test_signup_creates_an_account_and_logs_in(client, stream_emulator):
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "password1": "s3cret-pass!", "password2": "s3cret-pass!"},
    )
    assert response.status_code == 302
    assert "_auth_user_id" in client.session
    assert client.get(reverse("timeline")).status_code == 200


def test_pages_need_a_login(client):
    for name in ("timeline", "timeline_aggregated", "notifications"):
        assert client.get(reverse(name)).status_code == 302


def test_pages_say_when_the_relay_is_behind(as_user, outbox_drain):
    reader = UserFactory()
    TweetFactory()  # one event the relay has not published yet
    c = as_user(reader)
    assert "The relay is publishing 1 update" in c.get(reverse("timeline")).content.decode()
    outbox_drain()
    assert "The relay is publishing" not in c.get(reverse("timeline")).content.decode()


def test_feed_pages_link_to_older_activities(as_user, outbox_drain):
    import datetime

    from django.utils import timezone

    from sample_app.views import PAGE_SIZE

    author = UserFactory(username="prolific")
    start = timezone.now() - datetime.timedelta(days=1)
    for n in range(PAGE_SIZE + 1):
        TweetFactory(
            user=author,
            text=f"chirp number {n:02d}",
            created_at=start + datetime.timedelta(minutes=n),
        )
    outbox_drain()
    c = as_user(author)

    first = c.get(reverse("profile", args=["prolific"]))
    assert first.content.decode().count('data-verb="tweet"') == PAGE_SIZE
    assert "chirp number 00" not in first.content.decode()
    older = first.context["older"]
    assert older

    second = c.get(reverse("profile", args=["prolific"]), {"before": older}).content.decode()
    assert second.count('data-verb="tweet"') == 1
    assert "chirp number 00" in second
    assert 'rel="next"' not in second

    # A ``before`` that is not an id is ignored, not sent to Stream.
    odd = c.get(reverse("profile", args=["prolific"]), {"before": "../x&limit=1000"})
    assert odd.status_code == 200
    assert odd.content.decode().count('data-verb="tweet"') == PAGE_SIZE


def test_staff_see_the_outbox_status_link_and_the_stream_switch_only_under_the_demo(
    client, tmp_path, monkeypatch
):
    staff, _ = seed_staff()  # the demo's: an outbox operator, not a superuser
    client.force_login(staff)
    page = client.get(reverse("profile", args=[staff.username])).content.decode()
    assert reverse("admin:feed_outbox_outboxevent_status") in page
    assert client.get(reverse("admin:feed_outbox_outboxevent_status")).status_code == 200
    assert "stream-state" not in page  # not under make demo: no switch
    assert client.post(reverse("demo_stream"), {"action": "stop"}).status_code == 404

    monkeypatch.setenv("DEMO_CONTROL_DIR", str(tmp_path))
    (tmp_path / "stream.state").write_text("running")
    profile = reverse("profile", args=[staff.username])
    assert 'id="stop-stream"' in client.get(profile).content.decode()

    client.force_login(UserFactory(username="plain"))
    page = client.get(reverse("profile", args=["plain"])).content.decode()
    assert "nav-outbox-status" not in page and "stream-state" not in page
    assert client.post(reverse("demo_stream"), {"action": "stop"}).status_code == 302  # to login
