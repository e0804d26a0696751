"""The wake-ups (relay.wakeup): a poke or a notification ends the wait early, a timeout ends it
otherwise; a lost LISTEN connection falls back to polling. Then a relay process as a whole:
NOTIFY wakes it long before its polling floor, --poll-only never listens."""

import time

import pytest
from django.db import connection, transaction

from feed_outbox.models import EventStatus, OutboxEvent
from relay.wakeup import ListenWakeup, PollWakeup
from tests.factories import TweetFactory
from tests.polling import wait_for

CHANNEL = "wakeup_test"


def waited(wakeup, timeout):
    """(woken early, seconds waited)."""
    started = time.monotonic()
    woken = wakeup.wait(timeout)
    return woken, time.monotonic() - started


def test_a_poll_wakeup_ends_at_its_timeout_or_at_once_when_poked():
    wakeup = PollWakeup()

    woken, seconds = waited(wakeup, 0.1)
    assert not woken and seconds >= 0.1
    wakeup.poke()
    woken, seconds = waited(wakeup, 10)
    assert woken and seconds < 1
    assert not wakeup.wait(0)  # a poke wakes one wait, not every later one


@pytest.fixture
def listen_wakeup():
    wakeup = ListenWakeup(CHANNEL)
    yield wakeup
    wakeup.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_listen_wakeup_is_woken_by_a_notification_on_its_channel_only(listen_wakeup):
    assert listen_wakeup.listening
    notify("another_channel")
    woken, seconds = waited(listen_wakeup, 0.3)
    assert not woken and seconds >= 0.3

    notify(CHANNEL)
    woken, seconds = waited(listen_wakeup, 10)
    assert woken and seconds < 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_listen_wakeup_is_woken_by_a_poke_while_it_watches_its_connection(listen_wakeup):
    listen_wakeup.poke()
    listen_wakeup.poke()  # twice before a wait: still one wake-up
    woken, seconds = waited(listen_wakeup, 10)
    assert woken and seconds < 1
    assert not listen_wakeup.wait(0.05)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lost_listen_connection_wakes_the_loop_then_polls_until_it_is_back(listen_wakeup):
    wait_for(listening)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query ILIKE 'LISTEN%%'"
        )

    def lost():
        # The wait that notices the loss says "woken": a notification may have been lost, so
        # the loop looks for work now. psycopg reports the loss at its second read of the
        # closed socket (the first consumes the server's FATAL message): one turn, no waiting.
        return listen_wakeup.wait(1) and not listen_wakeup.listening

    wait_for(lost, timeout=10)

    def back():
        listen_wakeup.wait(0.1)  # a wait reconnects once its retry delay is over
        return listen_wakeup.listening

    wait_for(back, timeout=10)


# -- a relay process ---------------------------------------------------------------------------


def pending():
    return OutboxEvent.objects.filter(status=EventStatus.PENDING).count()


def notify(channel="feed_outbox"):
    with connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {channel}")


def listening():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query ILIKE 'LISTEN%%'"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_notify_wakes_an_idle_relay_long_before_its_polling_floor(start_relay, stream_emulator):
    relay = start_relay("--poll-interval", "30")
    wait_for(listening)
    time.sleep(0.3)  # let it finish its first (empty) claim and go to sleep
    TweetFactory()
    notify()  # what the write side's trigger sends on insert

    started = time.monotonic()
    wait_for(lambda: pending() == 0, timeout=10)
    assert time.monotonic() - started < 5
    assert relay.proc.poll() is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_commit_alone_wakes_the_relay_through_the_write_sides_trigger(
    start_relay, stream_emulator
):
    relay = start_relay("--poll-interval", "30")
    wait_for(listening)
    time.sleep(0.3)

    TweetFactory()  # no explicit NOTIFY: the statement trigger sends it at commit
    started = time.monotonic()
    wait_for(lambda: pending() == 0, timeout=10)

    assert time.monotonic() - started < 5
    assert relay.proc.poll() is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_poll_only_mode_never_listens_and_delivers_by_polling(start_relay, stream_emulator):
    relay = start_relay("--poll-only", "--poll-interval", "0.3")
    relay.wait_for_log("poll only")
    TweetFactory()

    wait_for(lambda: pending() == 0, timeout=10)
    assert listening() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_wakeup_says_whether_its_wait_ended_for_new_work_or_only_for_a_poke(listen_wakeup):
    listen_wakeup.poke()
    assert listen_wakeup.wait(10) and not listen_wakeup.notified  # a request finished

    # Two notifications that reach the socket together (one transaction: PostgreSQL sends a
    # listener everything queued for it in one flush), so the wait that wakes has both to read.
    # Two separate commits would race: the second may arrive after the first wait, and then
    # waking again is right, for it is new work.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"NOTIFY {CHANNEL}, 'first'")
        cursor.execute(f"NOTIFY {CHANNEL}, 'second'")
    assert listen_wakeup.wait(10) and listen_wakeup.notified  # both read: none left to wake
    assert not listen_wakeup.wait(0.2)
    assert listen_wakeup.notified  # the polling floor: look for work

    poll = PollWakeup()
    poll.poke()
    assert poll.wait(10) and not poll.notified
    assert not poll.wait(0.01) and poll.notified
