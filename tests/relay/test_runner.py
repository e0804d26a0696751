"""The sidecar's run (relay.runner.Relay.run) as a process: SIGKILL loses nothing, leases are
renewed while requests run, SIGTERM drains, a killed database connection is survived. How it
is woken (LISTEN/NOTIFY, polling) is test_wakeup's."""

import signal
import time

import pytest
from django.db import connection

from feed_outbox.models import EventStatus, OutboxEvent
from tests.factories import OutboxEventFactory, TweetFactory, UserFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def pending():
    return OutboxEvent.objects.filter(status=EventStatus.PENDING).count()


def leased():
    return OutboxEvent.objects.filter(lease_token__isnull=False).count()


def test_sigkill_loses_nothing_leases_expire_and_another_relay_delivers(
    start_relay, stream_emulator, user_feed_activities
):
    stream_emulator.set_faults(latency_ms=400)  # requests are in flight when the kill lands
    user = UserFactory()
    tweets = TweetFactory.create_batch(30, user=user)
    doomed = start_relay("--lease-seconds", "3", "--concurrency", "2", "--batch-size", "10")
    wait_for(leased, timeout=30)

    doomed.kill()
    assert leased() > 0  # stranded: only their lease's expiry gives them back
    stream_emulator.set_faults(latency_ms=0)
    started = time.monotonic()
    rescuer = start_relay("--poll-interval", "0.2")
    wait_for(lambda: pending() == 0, timeout=60, interval=0.2)

    assert time.monotonic() - started < 30
    ids = [a["foreign_id"] for a in user_feed_activities(f"user:{user.pk}")]
    assert sorted(ids) == sorted(f"sample_app.Tweet:{t.pk}" for t in tweets)  # each once
    assert leased() == 0
    rescuer.signal(signal.SIGTERM)
    assert rescuer.wait() == 0


def test_a_lease_is_renewed_while_its_requests_run_so_no_other_relay_sends_them_again(
    start_relay, stream_emulator
):
    # Each request takes longer than the lease: without renewal the second relay would take
    # the batch over and send it a second time.
    stream_emulator.set_faults(latency_ms=2500)
    events = OutboxEventFactory.create_batch(4)
    args = ("--lease-seconds", "2", "--poll-interval", "0.1", "--concurrency", "4")
    start_relay(*args)
    wait_for(leased, timeout=30)
    start_relay(*args)

    wait_for(lambda: pending() == 0, timeout=60, interval=0.2)

    writes = [r["foreign_id"] for r in stream_emulator.request_log()]
    assert sorted(writes) == sorted(e.ordering_key for e in events)  # each sent exactly once
    assert set(OutboxEvent.objects.values_list("attempts", flat=True)) == {1}


def test_sigterm_stops_claiming_finishes_in_flight_requests_and_exits_zero(
    start_relay, stream_emulator
):
    stream_emulator.set_faults(latency_ms=300)
    TweetFactory.create_batch(40)
    relay = start_relay("--concurrency", "2", "--batch-size", "5", "--grace-period", "5")
    wait_for(leased, timeout=30)

    relay.signal(signal.SIGTERM)
    started = time.monotonic()
    assert relay.wait(timeout=20) == 0
    assert time.monotonic() - started < 5 + 2  # within the grace period (and some slack)

    assert leased() == 0  # every claimed event settled or released, none left to expire
    assert pending() > 0  # it stopped claiming: the rest waits for the next relay
    released = OutboxEvent.objects.filter(status=EventStatus.PENDING)
    assert set(released.values_list("attempts", flat=True)) == {0}  # refunded
    assert "received SIGTERM" in relay.output()


def test_a_terminated_database_connection_is_reconnected_without_a_crash(
    start_relay, stream_emulator, user_feed_activities
):
    user = UserFactory()
    TweetFactory(user=user)
    relay = start_relay("--poll-interval", "0.2", "--metrics-port", "0")
    wait_for(lambda: pending() == 0)

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    TweetFactory.create_batch(3, user=user)

    wait_for(lambda: pending() == 0, timeout=30, interval=0.2)
    assert relay.proc.poll() is None
    assert len(user_feed_activities(f"user:{user.pk}")) == 4
    assert "database error" in relay.output()
    assert relay.get("/readyz")[0] == 200
