"""Cursor pages over Stream's id_lt, through real requests: the sample app's pages and its DRF
API (APIClient), against the emulator with a drained outbox."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from feed_outbox.drf import EnrichedActivitySerializer, FeedCursorPagination
from feed_outbox.enrich import Enrich
from feed_outbox.feed_manager import feed_manager
from feed_outbox.pagination import FeedPaginator, InvalidCursor
from sample_app.models import Follow
from tests.factories import TweetFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(databases=["default", "other"])]


@pytest.fixture
def prolific(outbox_drain):
    """A user with 7 tweets, a minute apart (newest first in the feed), and a follower."""
    author, reader = UserFactory(username="prolific"), UserFactory(username="reader")
    Follow.objects.follow(reader, author)
    start = timezone.now() - datetime.timedelta(hours=1)
    for n in range(7):
        TweetFactory(
            user=author, text=f"chirp {n}", created_at=start + datetime.timedelta(minutes=n)
        )
    outbox_drain()
    return author, reader


def texts(results):
    return [activity["object"]["text"] for activity in results]


def test_the_paginator_walks_a_feed_in_pages_with_no_gap_no_overlap(prolific):
    author, _ = prolific
    feed = feed_manager.get_user_feed(author.pk)
    paginator = FeedPaginator(3)
    seen, cursor, pages = [], None, 0
    while True:
        page = paginator.page(feed, cursor)
        seen += [a["id"] for a in page.results]
        pages += 1
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert pages == 3  # 3 + 3 + 1: the last full page knows there is one more
    assert seen == [a["id"] for a in feed.get(limit=100)["results"]]
    with pytest.raises(InvalidCursor):
        paginator.page(feed, "../x&limit=1000")


def test_drf_list_endpoint_pages_by_next_link_and_exposes_only_allowed_fields(
    prolific, monkeypatch
):
    _, reader = prolific
    api = APIClient()
    api.force_authenticate(reader)
    url = reverse("api_timeline")

    first = api.get(url)
    assert first.status_code == 200
    assert len(first.json()["results"]) == 7  # 25 per page: everything at once
    assert first.json()["next"] is None
    monkeypatch.setattr(FeedCursorPagination, "page_size", 3)
    seen, pages, next_url = [], 0, url
    while next_url:
        answer = api.get(next_url)
        assert answer.status_code == 200
        seen += texts(answer.json()["results"])
        next_url = answer.json()["next"]
        pages += 1
    assert pages == 3
    assert seen == [f"chirp {n}" for n in range(6, -1, -1)]
    activity = first.json()["results"][0]
    assert set(activity["actor"]) == {"ref", "model", "pk", "str", "username"}
    assert set(activity["object"]) == {"ref", "model", "pk", "str", "text"}
    assert api.get(url, {"before": "../x"}).status_code == 404


def test_drf_endpoint_needs_a_login_and_profile_feeds_are_public(prolific):
    api = APIClient()
    assert api.get(reverse("api_timeline")).status_code == 403
    answer = api.get(reverse("api_profile", args=["prolific"]))
    assert answer.status_code == 200
    assert texts(answer.json()["results"])[0] == "chirp 6"
    assert api.get(reverse("api_profile", args=["nobody"])).status_code == 404


def test_the_serializer_enriches_a_page_with_one_query_per_model(
    prolific, django_assert_num_queries
):
    author, _ = prolific
    raw = feed_manager.get_user_feed(author.pk).get(limit=25)["results"]

    class Serializer(EnrichedActivitySerializer):
        model_fields = {"sample_app.Tweet": ["text"]}

    with django_assert_num_queries(2):  # the users, the tweets: not one per activity
        data = Serializer(raw, many=True).data
    assert texts(data) == [f"chirp {n}" for n in range(6, -1, -1)]
    assert set(data[0]["actor"]) == {"ref", "model", "pk", "str"}  # no field allowed for users
    # Already enriched activities are used as they are (no second query).
    enriched = Enrich().enrich_activities(raw)
    with django_assert_num_queries(0):
        assert Serializer(enriched, many=True).data == data


def test_html_pages_use_the_same_cursor_and_link_older_pages(prolific, client, monkeypatch):
    _, reader = prolific
    from sample_app import views

    monkeypatch.setattr(views, "paginator", FeedPaginator(3))
    client.force_login(reader)
    first = client.get(reverse("timeline"))
    older = first.context["older"]
    assert older and 'rel="next"' in first.content.decode()
    last = client.get(reverse("timeline"), {"before": older})
    last = client.get(reverse("timeline"), {"before": last.context["older"]})
    assert last.context["older"] is None
    assert "chirp 0" in last.content.decode()
