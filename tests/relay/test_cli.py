"""``python -m relay`` and ``manage.py relay`` as real processes against the emulator."""

import subprocess

import pytest

from feed_outbox.models import EventStatus, OutboxEvent
from tests.conftest import ROOT
from tests.factories import TweetFactory

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
    assert "feed-outbox-test-secret" not in output
    event = OutboxEvent.objects.get()
    assert event.status == EventStatus.PENDING
    assert event.attempts == 0  # refunded: a bad secret never uses up an event's tries
    assert wrong not in event.last_error
