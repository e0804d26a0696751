"""stream-django's remaining module-level names exist under feed_outbox with their meaning."""

import importlib

from django.test import RequestFactory, override_settings

from feed_outbox import context_processors
from feed_outbox.feed_manager import feed_manager
from feed_outbox.managers import FeedManager
from sample_app.models import Tweet

# The module: the package's ``feed_manager`` is the manager object, as stream-django's was.
feed_manager_module = importlib.import_module("feed_outbox.feed_manager")


class CustomManager(FeedManager):
    pass


def test_feed_manager_class_follows_the_setting():
    assert feed_manager_module.feed_manager_class is FeedManager
    with override_settings(STREAM_FEED_MANAGER_CLASS=f"{__name__}.CustomManager"):
        assert feed_manager_module.feed_manager_class is CustomManager


def test_disable_model_tracking_receiver_switches_tracking_off():
    try:
        feed_manager_module.disable_model_tracking(sender=None)
        assert not feed_manager.should_track(Tweet)
    finally:
        feed_manager.enable_model_tracking()
    assert feed_manager.should_track(Tweet)


@override_settings(STREAM_API_KEY="the-key", STREAM_API_SECRET="the-secret-never-shown")
def test_stream_context_processor_gives_the_key_and_never_the_secret():
    context = context_processors.stream(RequestFactory().get("/"))
    assert context["STREAM_API_KEY"] == "the-key"
    assert "STREAM_APP_ID" in context
    assert "the-secret-never-shown" not in repr(context)


@override_settings(STREAM_API_KEY=None, STREAM_API_SECRET=None)
def test_stream_context_processor_without_credentials_is_empty(monkeypatch):
    monkeypatch.delenv("STREAM_URL", raising=False)
    assert context_processors.stream(RequestFactory().get("/")) == {}
