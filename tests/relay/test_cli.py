"""``python -m relay`` and ``manage.py relay`` as real processes against the emulator."""

import signal
import subprocess

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.testing.plugin import EMULATOR_KEY, EMULATOR_SECRET
from tests.conftest import ROOT
from tests.factories import OutboxEventFactory, TweetFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run(args, env, timeout=60):
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_python_m_relay_once_drains_and_exits_zero(subprocess_env, python, user_feed_activities):
    tweets = TweetFactory.create_batch(3)
    result = run([python, "-m", "relay", "--once"], subprocess_env)
    assert result.returncode == 0, result.stderr
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {EventStatus.DELIVERED}
    for tweet in tweets:
        assert len(user_feed_activities(f"user:{tweet.user_id}")) == 1


def test_manage_py_relay_once_drains(subprocess_env, python):
    TweetFactory()
    result = run([python, "manage.py", "relay", "--once"], subprocess_env)
    assert result.returncode == 0, result.stderr
    assert OutboxEvent.objects.get().status == EventStatus.DELIVERED


def test_wrong_secret_is_reported_as_a_configuration_error_naming_no_secret(subprocess_env, python):
    TweetFactory()
    wrong = "wrong-secret-3f9c2a"
    env = {**subprocess_env, "FEED_OUTBOX_TEST_STREAM_API_SECRET": wrong}
    result = run([python, "-m", "relay", "--once"], env)

    assert result.returncode == 2
    output = result.stdout + result.stderr
    assert "configuration error" in output
    assert "STREAM_API_SECRET" in output
    assert wrong not in output
    assert EMULATOR_SECRET not in output
    event = OutboxEvent.objects.get()
    assert event.status == EventStatus.PENDING
    assert event.attempts == 0  # refunded: a bad secret never uses up an event's tries
    assert wrong not in event.last_error


def test_debug_logging_shows_no_secret_and_no_feed_token(subprocess_env, python):
    # A `to` target makes stream-python sign it with a feed token (a JWT) into the body,
    # which its own DEBUG log line would print.
    OutboxEventFactory(payload={**OutboxEventFactory.build().payload, "to": ["notification:2"]})
    result = run([python, "-m", "relay", "--once", "-v", "2"], subprocess_env)

    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "DEBUG" in output  # verbose indeed
    assert EMULATOR_SECRET not in output
    assert "eyJ" not in output  # no JWT (Authorization header or feed token)


def test_workers_runs_several_relay_processes_and_forwards_sigterm(start_relay):
    TweetFactory.create_batch(5)
    parent = start_relay("--workers", "2", "--poll-interval", "0.2")

    wait_for(lambda: parent.output().count("started (batch size") == 2)
    wait_for(
        lambda: not OutboxEvent.objects.filter(status=EventStatus.PENDING).exists(), timeout=30
    )
    parent.signal(signal.SIGTERM)

    assert parent.wait(timeout=30) == 0
    assert parent.output().count("relay stopped") == 2


def test_sqlite_one_relay_polls_and_delivers_with_the_same_semantics(
    subprocess_env, python, tmp_path, stream_emulator, user_feed_activities
):
    env = {
        **subprocess_env,
        "DJANGO_SETTINGS_MODULE": "sample_app.settings",  # honours a sqlite DATABASE_URL
        "DATABASE_URL": f"sqlite:///{tmp_path / 'outbox.sqlite3'}",
        "STREAM_API_KEY": EMULATOR_KEY,
        "STREAM_API_SECRET": EMULATOR_SECRET,
        "STREAM_BASE_URL": stream_emulator.url,
    }
    activity = "{'actor': 'a', 'verb': 'v', 'object': 'o', 'foreign_id': %r, 'time': %r}"
    setup = "; ".join(
        [
            "import django",
            "django.setup()",
            "from django.core.management import call_command",
            "call_command('migrate', verbosity=0)",
            "from feed_outbox.models import OutboxEvent as E",
            "t = '2026-01-01T00:00:00.000000'",
            f"E.objects.create(kind='add', feed='user:1', ordering_key='k', payload={activity % ('k', '')})",
            "E.objects.create(kind='remove', feed='user:1', ordering_key='k', payload={'foreign_id': 'k'})",
            f"E.objects.create(kind='add', feed='user:1', ordering_key='j', payload={activity % ('j', '')})",
        ]
    ).replace("''", "t")
    assert run([python, "-c", setup], env).returncode == 0

    result = run([python, "-m", "relay", "--once"], env)

    assert result.returncode == 0, result.stderr
    assert "drained: 3 delivered" in result.stderr
    assert [a["foreign_id"] for a in user_feed_activities("user:1")] == ["j"]  # k: added, removed
