"""One NOTIFY per transaction that wrote events (none for a rollback), from a trigger set by migrate."""

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from feed_outbox.feed_manager import feed_manager
from sample_app.models import Tweet
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MARKER = "end-of-test-marker"


def _connect():
    cfg = connection.settings_dict
    return psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        dbname=cfg["NAME"],
        autocommit=True,
    )


@pytest.fixture
def listen():
    """``listen(channel)`` → ``received()``: payloads notified on channel up to now, in order."""
    opened = []

    def start(channel="feed_outbox"):
        listener = _connect()
        listener.execute(f'LISTEN "{channel}"')
        opened.append(listener)

        def received(timeout=30.0):
            # Notifications arrive in commit order: everything before our marker is what the
            # test's transactions sent, so no sleep is needed to be sure nothing else comes.
            with _connect() as sender:
                sender.execute("SELECT pg_notify(%s, %s)", (channel, MARKER))
            payloads = []
            for notify in listener.notifies(timeout=timeout):
                if notify.payload == MARKER:
                    return payloads
                payloads.append(notify.payload)
            raise AssertionError(f"marker not received on {channel!r} within {timeout}s")

        return received

    yield start
    for listener in opened:
        listener.close()


def test_a_transaction_writing_several_events_notifies_once(listen):
    received = listen()
    author = UserFactory()
    with transaction.atomic():
        for n in range(3):
            Tweet.objects.create(user=author, text=f"tweet {n}")
        feed_manager.follow_user(author.pk, UserFactory().pk)
    assert received() == [""]


def test_each_committed_transaction_notifies(listen):
    received = listen()
    author = UserFactory()
    Tweet.objects.create(user=author, text="one")
    Tweet.objects.create(user=author, text="two")
    assert received() == ["", ""]


def test_a_rolled_back_transaction_notifies_nothing(listen):
    received = listen()
    author = UserFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        Tweet.objects.create(user=author, text="never")
        raise RuntimeError
    assert received() == []


def test_a_transaction_without_events_notifies_nothing(listen):
    received = listen()
    UserFactory()
    assert received() == []


def test_migrate_removes_and_restores_the_trigger_per_setting(listen):
    received = listen()
    author = UserFactory()
    try:
        with override_settings(FEED_OUTBOX_NOTIFY=False):
            call_command("migrate", verbosity=0)
            Tweet.objects.create(user=author, text="quiet")
            assert received() == []
    finally:
        call_command("migrate", verbosity=0)
    Tweet.objects.create(user=author, text="loud")
    assert received() == [""]


def test_the_channel_comes_from_the_setting(listen):
    default, custom = listen(), listen("fo_custom_channel")
    try:
        with override_settings(FEED_OUTBOX_NOTIFY_CHANNEL="fo_custom_channel"):
            call_command("migrate", verbosity=0)
        Tweet.objects.create(user=UserFactory(), text="elsewhere")
        assert custom() == [""]
        assert default() == []
    finally:
        call_command("migrate", verbosity=0)
