"""A newcomer's setup mistakes stop ``python -m relay`` at start with one line naming the
setting and the fix (exit 2), never with a traceback or a relay that retries forever."""

import socket
import subprocess

import psycopg
import pytest
from django.db import connection

from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.testing import EMULATOR_SECRET
from tests.conftest import ROOT
from tests.factories import OutboxEventFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_relay(python, env, *args, cwd=ROOT):
    return subprocess.run(
        [python, "-m", "relay", "--once", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=90,
    )  # fmt: skip


def one_clear_line(result, *expected):
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if any(e in line for e in expected)]
    assert len(lines) == 1, output
    for text in expected:
        assert text in lines[0], output


def test_an_ip_base_url_stops_the_relay_naming_the_setting_and_localhost(subprocess_env, python):
    event = OutboxEventFactory()
    env = {**subprocess_env, "FEED_OUTBOX_TEST_STREAM_BASE_URL": "http://127.0.0.1:8711"}

    result = run_relay(python, env)

    assert result.returncode == 2
    one_clear_line(result, "STREAM_BASE_URL", "'api.127.0.0.1'", "http://localhost:8711")
    event.refresh_from_db()
    assert (event.status, event.attempts, event.last_error) == (EventStatus.PENDING, 0, "")


def test_missing_credentials_stop_the_relay_naming_the_settings(subprocess_env, python):
    env = {**subprocess_env, "FEED_OUTBOX_TEST_STREAM_API_KEY": ""}
    env.pop("STREAM_URL", None)

    result = run_relay(python, env)

    assert result.returncode == 2
    one_clear_line(result, "credentials are not set", "STREAM_API_KEY")
    assert EMULATOR_SECRET not in result.stdout + result.stderr


@pytest.fixture
def empty_database():
    """A database ``migrate`` never ran on (dropped afterwards)."""
    name = f"{connection.settings_dict['NAME']}_unmigrated"
    params = connection.get_connection_params()
    admin = {k: params[k] for k in ("host", "port", "user", "password") if params.get(k)}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_forgotten_migrate_stops_the_relay_saying_to_run_it(
    subprocess_env, python, empty_database
):
    url = subprocess_env["DATABASE_URL"].rsplit("/", 1)[0] + f"/{empty_database}"

    result = run_relay(python, {**subprocess_env, "DATABASE_URL": url})

    assert result.returncode == 2
    one_clear_line(result, "feed_outbox_outboxevent does not exist", "python manage.py migrate")


def test_a_settings_module_not_importable_from_here_is_one_line_naming_it(
    subprocess_env, python, tmp_path
):
    env = {**subprocess_env, "DJANGO_SETTINGS_MODULE": "mysite.settings"}

    result = run_relay(python, env, cwd=tmp_path)  # a directory without the project

    assert result.returncode == 2
    one_clear_line(result, "DJANGO_SETTINGS_MODULE", "'mysite.settings'", "--settings")
    assert len((result.stdout + result.stderr).strip().splitlines()) == 1


def test_settings_given_with_dash_dash_settings_are_used(subprocess_env, python):
    OutboxEventFactory()
    env = {k: v for k, v in subprocess_env.items() if k != "DJANGO_SETTINGS_MODULE"}

    result = run_relay(python, env, "--settings", "tests.settings")

    assert result.returncode == 0, result.stderr
    assert OutboxEvent.objects.get().status == EventStatus.DELIVERED


def refused_url() -> str:
    """A localhost URL nothing listens on: every request is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://localhost:{port}"


def test_retries_log_their_cause_once_and_strict_once_exits_1_naming_it(subprocess_env, python):
    OutboxEventFactory.create_batch(4, feed="user:1")  # four keys, four requests
    url = refused_url()
    env = {**subprocess_env, "FEED_OUTBOX_TEST_STREAM_BASE_URL": url}
    cause = f"ConnectionError: {url[7:]}: Failed to establish a new connection"

    lenient = run_relay(python, env)
    strict = run_relay(python, env, "--strict")

    assert lenient.returncode == 0, lenient.stderr  # without --strict, as before
    assert lenient.stderr.count("events wait for a retry: " + cause) == 1
    assert strict.returncode == 1, strict.stderr
    (line,) = [line for line in strict.stderr.splitlines() if "--strict" in line]
    assert "4 events left pending" in line and f"4 x {cause}" in line
