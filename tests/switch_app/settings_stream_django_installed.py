"""The switched project with "stream_django" still installed and its feed manager class still
named (stream_django imports STREAM_FEED_MANAGER_CLASS while apps load)."""

from tests.switch_app.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "stream_django"]  # noqa: F405  # marker: W104 installed
STREAM_FEED_MANAGER_CLASS = "stream_django.managers.FeedManager"  # marker: W104 manager
