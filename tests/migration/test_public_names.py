"""Every public name of stream-django 1.8's modules resolves in the feed_outbox module of the same
name to an object of the same kind, whichever import of the manager a project runs first."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.test import RequestFactory, override_settings

from feed_outbox.managers import FeedManager
from tests.conftest import ROOT
from tests.migration.public_names import ORDERS
from tests.migration.test_switch_from_stream_django import pytestmark as _needs_stream_django

pytestmark = [m for m in _needs_stream_django if m.name == "skip"]

ORDER_IDS = [*ORDERS, *(f"{order}_before_setup" for order in ORDERS)]


@pytest.mark.parametrize("order", ORDER_IDS)
def test_every_stream_django_name_resolves_to_the_same_kind(order):
    result = subprocess.run(
        [sys.executable, "-m", "tests.migration.public_names", order],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONWARNINGS": "ignore"},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


def test_package_feed_manager_is_the_manager_object_of_the_current_setting():
    import feed_outbox
    from feed_outbox import feed_manager

    assert feed_manager is feed_outbox.feed_manager
    assert isinstance(feed_manager, FeedManager)
    with override_settings(STREAM_FEED_MANAGER_CLASS=f"{__name__}.CountingManager"):
        assert isinstance(feed_manager, CountingManager)
        assert feed_manager.get_feed("user", 7).id == "user:7"
    assert not isinstance(feed_manager, CountingManager)


class CountingManager(FeedManager):
    pass


def feed_context(request):
    """A project's context processor, as stream-django's users wrote it (package-level import)."""
    from feed_outbox import feed_manager

    feeds = feed_manager.get_news_feeds(request.user_id)
    return {"timeline_id": feeds["timeline"].id, "user_feed": feed_manager.get_user_feed(1).id}


def test_context_processor_importing_the_package_name_reads_feeds():
    request = RequestFactory().get("/")
    request.user_id = 3
    assert feed_context(request) == {"timeline_id": "timeline:3", "user_feed": "user:1"}
