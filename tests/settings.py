"""Test settings: the sample app's, on PostgreSQL when reachable (SQLite fallback, loudly)."""

import os

import environ

from feed_outbox.testing import EMULATOR_KEY, EMULATOR_SECRET
from sample_app.settings import *  # noqa: F403

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/feed_outbox"
REQUIRE_POSTGRES = os.environ.get("FEED_OUTBOX_REQUIRE_POSTGRES") == "1"


def _postgres_problem(url: str) -> str | None:
    """Why PostgreSQL at ``url`` cannot be used, or None if it can."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        return f"psycopg is not installed ({exc})"
    config = environ.Env.db_url_config(url)
    try:
        with psycopg.connect(
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=3,
        ):
            return None
    except Exception as exc:
        return f"cannot connect to PostgreSQL at {config.get('HOST')}:{config.get('PORT')}: {exc}"


_url = os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL
if _url.startswith(("postgres", "pgsql")):
    POSTGRES_PROBLEM = _postgres_problem(_url)
else:
    POSTGRES_PROBLEM = f"DATABASE_URL is {_url.split(':', 1)[0]}, not PostgreSQL"

if POSTGRES_PROBLEM is None:
    _default = environ.Env.db_url_config(_url)
else:
    _default = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
_default["ATOMIC_REQUESTS"] = True
_default.setdefault("TEST", {})
# A second database for multi-database routing tests.
_other = {**_default, "TEST": {}}
if POSTGRES_PROBLEM is None:
    # A server subprocess is told the test run's name (pytest-xdist's is test_X_other_gw0).
    _other["NAME"] = (
        os.environ.get("FEED_OUTBOX_TEST_OTHER_DATABASE") or f"{_default['NAME']}_other"
    )

DATABASES = {"default": _default, "other": _other}
# Test-only Activity models: the write side's (soft deletes, proxies, extra feeds, bad data), a
# stream-django-era app's (soft deletes through its own receivers, tests/migration/pinboard) and
# the patterns the survey found in public stream-django apps (tests/migration/patterns).
INSTALLED_APPS = [
    *INSTALLED_APPS,  # noqa: F405
    "tests.write_app",
    "tests.migration.pinboard",
    "tests.migration.patterns",
]
USING_POSTGRES = POSTGRES_PROBLEM is None

# Subprocesses of a test (relays, writers) get the test's emulator and, to test bad
# credentials, a secret of the test's choosing.
# By default the pytest plugin's emulator credentials (feed_outbox/testing/).
STREAM_API_KEY = os.environ.get("FEED_OUTBOX_TEST_STREAM_API_KEY", EMULATOR_KEY)
STREAM_API_SECRET = os.environ.get("FEED_OUTBOX_TEST_STREAM_API_SECRET", EMULATOR_SECRET)
STREAM_BASE_URL = os.environ.get("FEED_OUTBOX_TEST_STREAM_BASE_URL") or None
# Which Stream API(s) a test's subprocesses deliver to (the v3 and v2+v3 tests set it).
FEED_OUTBOX_STREAM_API = os.environ.get("FEED_OUTBOX_TEST_STREAM_API", "v2")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
