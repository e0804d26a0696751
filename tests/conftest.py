"""Shared test set-up: PostgreSQL required or loudly skipped, and helpers for real processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    from tests import settings as test_settings

    if test_settings.REQUIRE_POSTGRES and not test_settings.USING_POSTGRES:
        raise pytest.UsageError(
            "FEED_OUTBOX_REQUIRE_POSTGRES=1 but PostgreSQL is not usable: "
            f"{test_settings.POSTGRES_PROBLEM}"
        )


def pytest_collection_modifyitems(config, items):
    from tests import settings as test_settings

    if test_settings.USING_POSTGRES:
        return
    skip = pytest.mark.skip(reason=f"needs PostgreSQL: {test_settings.POSTGRES_PROBLEM}")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    from tests import settings as test_settings

    if test_settings.USING_POSTGRES:
        return
    skipped = [
        r.nodeid
        for r in terminalreporter.stats.get("skipped", [])
        if "PostgreSQL" in str(r.longrepr)
    ]
    bar = "!" * 78
    terminalreporter.write_line(bar, red=True, bold=True)
    terminalreporter.write_line(
        f"PostgreSQL tests SKIPPED ({len(skipped)}): {test_settings.POSTGRES_PROBLEM}",
        red=True,
        bold=True,
    )
    terminalreporter.write_line(
        "Delivery, locking and ordering are only proven on PostgreSQL. Start it or set "
        "DATABASE_URL; FEED_OUTBOX_REQUIRE_POSTGRES=1 turns this into a failure.",
        red=True,
    )
    for nodeid in skipped:
        terminalreporter.write_line(f"  skipped: {nodeid}")
    terminalreporter.write_line(bar, red=True, bold=True)


def database_url(alias: str = "default") -> str:
    """A DATABASE_URL for a subprocess that must use this test run's database."""
    from django.db import connections

    cfg = connections[alias].settings_dict
    if cfg["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{cfg['NAME']}"
    auth = cfg["USER"] or ""
    if cfg.get("PASSWORD"):
        auth += f":{cfg['PASSWORD']}"
    return f"postgres://{auth}@{cfg['HOST'] or '127.0.0.1'}:{cfg['PORT'] or 5432}/{cfg['NAME']}"


@pytest.fixture
def subprocess_env(stream_emulator):
    """Environment for a relay (or writer) subprocess: this test's database and emulator."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=database_url(),
        FEED_OUTBOX_TEST_STREAM_BASE_URL=stream_emulator.url,
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def python():
    return sys.executable


@pytest.fixture
def user_feed_activities(stream_emulator):
    """Read a feed back through stream-python: ``read("user:1")`` → list of activities."""
    from feed_outbox.client import get_client

    def read(feed: str, **params):
        slug, user_id = feed.split(":", 1)
        return get_client().feed(slug, user_id).get(limit=100, **params)["results"]

    return read


__all__ = ["database_url", "settings"]


@pytest.fixture
def stand_in():
    """``stand_in(403, body)`` → a running StandIn (body: a dict sent as JSON, or bytes)."""
    from tests.stand_in import StandIn

    started: list[StandIn] = []

    def start(status: int, body: dict | bytes) -> StandIn:
        server = StandIn(status, body)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
