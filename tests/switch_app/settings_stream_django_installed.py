"""The switched project with "stream_django" still installed (it then needs stream-django's own
feed manager class: stream_django imports STREAM_FEED_MANAGER_CLASS while apps load)."""

from tests.switch_app.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "stream_django"]  # noqa: F405  # marker: W104 installed
del STREAM_FEED_MANAGER_CLASS  # noqa: F821
