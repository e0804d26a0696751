"""A project that published with the real stream-django 1.8 switches its imports to feed_outbox,
follows the steps of docs/topics/migrating.md, and goes on living: every feed then
holds exactly what the database says, with no stream-django activity left behind.

Each step is its own process on one PostgreSQL database, as deployments are; the Stream
emulator is reached over HTTP by stream-django's client, the relay's and the readers'.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import stream

from feed_outbox.testing import start_emulator
from tests import settings as test_settings
from tests.conftest import ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KEY, SECRET = "chirp-key", "chirp-secret"


def _stream_django_installed() -> bool:
    try:
        import stream_django  # noqa: F401  (importing it needs settings; finding it is enough)
    except ImportError:
        return False
    except Exception:
        return True
    return True


if not _stream_django_installed():
    reason = "stream-django 1.8 is not installed: `make install` installs it (--no-deps)"
    if test_settings.REQUIRE_POSTGRES:
        raise RuntimeError(reason)
    pytestmark.append(pytest.mark.skip(reason=reason))


@contextlib.contextmanager
def scratch_database(suffix: str):
    base = os.environ.get("DATABASE_URL") or test_settings.DEFAULT_POSTGRES_URL
    parts = urlsplit(base)
    name = f"{parts.path.lstrip('/')}_{suffix}"
    admin = dict(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
        autocommit=True,
    )
    with psycopg.connect(**admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with contextlib.suppress(Exception), psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Project:
    """The chirp project's processes: ``run("stream_django", ...)`` before the switch."""

    def __init__(self, database_url: str, base_url: str, use_tz: bool, time_zone: str):
        self.database_url = database_url
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.migration.settings",
            "CHIRP_DATABASE_URL": database_url,
            "CHIRP_STREAM_API_KEY": KEY,
            "CHIRP_STREAM_API_SECRET": SECRET,
            "CHIRP_STREAM_BASE_URL": base_url,
            "CHIRP_USE_TZ": "1" if use_tz else "0",
            "CHIRP_TIME_ZONE": time_zone,
        }
        self.env.pop("LOCAL", None)  # stream-python would talk to localhost:8000 instead

    def run(self, library: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, *args],
            env={**self.env, "CHIRP_LIBRARY": library},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            pytest.fail(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def manage(self, library: str, *args: str, check: bool = True):
        return self.run(library, "-m", "django", *args, check=check)

    def outbox_events(self) -> int:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute("SELECT count(*) FROM feed_outbox_outboxevent").fetchone()[0]


def queued(output: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"queued ([\d,]+)", output)]


@pytest.mark.parametrize(
    "use_tz,time_zone", [(True, "UTC"), (False, "Europe/Berlin")], ids=["use_tz", "naive_berlin"]
)
def test_switched_project_keeps_every_feed_equal_to_the_database(use_tz, time_zone):
    emulator = start_emulator(KEY, SECRET)
    suffix = "migration_" + ("tz" if use_tz else "naive")
    try:
        with scratch_database(suffix) as url:
            project = Project(url, emulator.url, use_tz, time_zone)
            # Before: a stream-django 1.8 project (migrate in its own process: stream-django
            # switches tracking off for the rest of a process that migrates).
            project.manage("stream_django", "migrate", "-v0")
            project.run("stream_django", "-m", "tests.migration.scenario", "publish")
            client = stream.connect(KEY, SECRET, base_url=emulator.url)
            bobs = client.feed("user", "2").get()["results"]
            # stream-django's identity, really written: bob's like of tweet 1 went out under
            # the tweet's reference (activity.py:95-97), as did carol's.
            likes = [a["foreign_id"] for a in bobs if a["verb"] == "like"]
            assert likes == ["chirp.Tweet:1"]
            # The app's own receiver removed bob's soft-deleted photo through stream-django.
            assert [a for a in bobs if a["verb"] == "photo"] == []
            alice_photos = client.feed("user", "1").get()["results"]
            assert sum(a["verb"] == "photo" for a in alice_photos) == 2
            alices = client.feed("notification", "1").get()["results"]
            assert sum(group["activity_count"] for group in alices) == 2

            # The switch: the same database, the models' imports now name feed_outbox.
            project.manage("feed_outbox", "migrate", "-v0")
            dry = project.manage("feed_outbox", "outbox_adopt_stream_django", "--dry-run")
            assert project.outbox_events() == 0, dry.stdout
            adopted = project.manage("feed_outbox", "outbox_adopt_stream_django")
            assert queued(adopted.stdout) == queued(dry.stdout.replace("would queue", "queued"))
            follows, rekeyed, adds = queued(adopted.stdout)
            assert follows == 8  # 4 follows x 2 news feeds
            assert rekeyed > 0 and adds == 10  # 4 tweets, 4 likes, 2 photos not hidden
            events = project.outbox_events()
            # Restartable: a second run before the relay drained queues nothing.
            again = project.manage("feed_outbox", "outbox_adopt_stream_django")
            assert queued(again.stdout) == [0, 0, 0], again.stdout
            assert project.outbox_events() == events
            project.run("feed_outbox", "-m", "relay", "--once")
            # ... and after it drained: Stream holds only feed-outbox's identities now.
            again = project.manage("feed_outbox", "outbox_adopt_stream_django")
            assert queued(again.stdout) == [0, 0, 0], again.stdout
            assert "0 orphaned" in again.stdout
            reconciled = project.manage("feed_outbox", "outbox_reconcile", check=False)
            assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr

            # Life goes on under feed-outbox.
            project.run("feed_outbox", "-m", "tests.migration.scenario", "edit")
            project.run("feed_outbox", "-m", "relay", "--once")
            report = json.loads(
                project.run("feed_outbox", "-m", "tests.migration.scenario", "check").stdout
            )
            assert report["activities"] > 10
            drift = {k: report[k] for k in ("lost", "phantom", "duplicated", "stale")}
            assert drift == {"lost": [], "phantom": [], "duplicated": [], "stale": []}
            reconciled = project.manage("feed_outbox", "outbox_reconcile", check=False)
            assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    finally:
        emulator.stop()
