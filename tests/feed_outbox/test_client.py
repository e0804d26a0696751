"""The stream client and feed_manager reads: built lazily from settings, stream-django's names."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from feed_outbox import client as client_module
from feed_outbox.client import get_client, init_client, stream_client
from feed_outbox.feed_manager import feed_manager, get_feed_manager
from feed_outbox.managers import FeedManager


def test_importing_without_credentials_does_not_fail_and_using_the_client_explains(monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    with override_settings(STREAM_API_KEY=None, STREAM_API_SECRET=None):
        assert init_client() is None
        with pytest.raises(ImproperlyConfigured, match="STREAM_API_KEY"):
            stream_client.feed("user", "1")


def test_a_read_through_an_ip_base_url_names_the_setting_instead_of_api_127_0_0_1():
    with override_settings(
        STREAM_API_KEY="k", STREAM_API_SECRET="s", STREAM_BASE_URL="http://127.0.0.1:8711"
    ):
        with pytest.raises(ImproperlyConfigured, match="STREAM_BASE_URL.*localhost:8711"):
            feed_manager.get_user_feed(1).get()


def test_the_client_follows_the_current_settings():
    with override_settings(
        STREAM_API_KEY="k1", STREAM_API_SECRET="s1", STREAM_BASE_URL="http://localhost:1234"
    ):
        first = get_client()
        assert first.api_key == "k1"
        assert first.get_full_url("api", "feed/").startswith("http://localhost:1234/")
        assert get_client() is first  # one client (one HTTP session) per settings
    with override_settings(STREAM_API_KEY="k2", STREAM_API_SECRET="s2", STREAM_TIMEOUT=2.5):
        second = get_client()
        assert second.api_key == "k2" and second.timeout == 2.5
        assert stream_client.api_key == "k2"  # the lazy module-level client resolves it too


def test_location_is_passed_to_the_client():
    with override_settings(
        STREAM_API_KEY="k", STREAM_API_SECRET="s", STREAM_LOCATION="eu-west", STREAM_BASE_URL=None
    ):
        assert "eu-west" in get_client().get_full_url("api", "feed/")


class CustomManager(FeedManager):
    pass


def test_the_feed_manager_class_is_configurable():
    with override_settings(STREAM_FEED_MANAGER_CLASS="tests.feed_outbox.test_client.CustomManager"):
        assert isinstance(get_feed_manager(), CustomManager)
        assert "CustomManager" in repr(feed_manager)
    assert type(get_feed_manager()) is FeedManager


@override_settings(
    STREAM_API_KEY="k",
    STREAM_API_SECRET="s",
    STREAM_USER_FEED="person",
    STREAM_NOTIFICATION_FEED="alerts",
    STREAM_NEWS_FEEDS={"flat": "home", "aggregated": "home_grouped"},
)
def test_reads_honour_the_configured_feed_slugs():
    assert feed_manager.get_user_feed(7).id == "person:7"
    assert feed_manager.get_user_feed(7, feed_type="other").id == "other:7"
    assert feed_manager.get_notification_feed(7).id == "alerts:7"
    feeds = feed_manager.get_news_feeds(7)
    assert {name: f.id for name, f in feeds.items()} == {
        "flat": "home:7",
        "aggregated": "home_grouped:7",
    }
    assert feed_manager.get_feed("topic", 3).id == "topic:3"
    assert feed_manager.get_actor_feed() == "person"


def test_no_client_is_built_at_import():
    assert not hasattr(client_module, "client")
