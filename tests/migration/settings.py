"""Settings of the chirp project, before (stream-django) and after (feed-outbox) the switch.

One project, two deployments: ``CHIRP_LIBRARY`` picks the app module whose imports name the
library, on the same database (``CHIRP_DATABASE_URL``) and the same migrations.
``CHIRP_USE_TZ=0`` with ``CHIRP_TIME_ZONE`` runs it the way projects with naive times do.
"""

import os

import environ

LIBRARY = os.environ.get("CHIRP_LIBRARY", "feed_outbox")
SECRET_KEY = "chirp-migration-test"
USE_TZ = os.environ.get("CHIRP_USE_TZ", "1") == "1"
TIME_ZONE = os.environ.get("CHIRP_TIME_ZONE", "UTC")
DATABASES = {"default": environ.Env.db_url_config(os.environ["CHIRP_DATABASE_URL"])}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
MIGRATION_MODULES = {"chirp": "tests.migration.migrations"}

INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes"]
if LIBRARY == "stream_django":
    INSTALLED_APPS += ["stream_django", "tests.migration.chirp_before.apps.ChirpConfig"]
else:
    INSTALLED_APPS += ["feed_outbox", "relay", "tests.migration.chirp_after.apps.ChirpConfig"]

STREAM_API_KEY = os.environ["CHIRP_STREAM_API_KEY"]
STREAM_API_SECRET = os.environ["CHIRP_STREAM_API_SECRET"]
STREAM_BASE_URL = os.environ["CHIRP_STREAM_BASE_URL"]  # read by feed-outbox only
STREAM_TIMEOUT = 10.0
