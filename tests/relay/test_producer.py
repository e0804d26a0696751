"""The producer (relay.producer) driven directly: it claims a batch and hands its requests to the
Stream threads, keeps it in flight until settled, stops claiming when the threads are busy or a
probe is out, renews the leases of long requests and lets go of leases another relay took."""

import time
from concurrent.futures import Future

import pytest
from django.utils import timezone

from feed_outbox.client import build_client
from feed_outbox.models import OutboxEvent
from relay import queries
from relay.calls import Call
from relay.delivery import delivery_for
from relay.metrics import Metrics
from relay.options import RelayOptions
from relay.pause import Pause
from relay.producer import CALLS_PER_THREAD, Batch, Producer
from tests.factories import OutboxEventFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def producer(stream_emulator):
    options = RelayOptions(owner="producer-test", batch_size=10, concurrency=2, lease_seconds=30)
    made = Producer(options, delivery_for(options.api, build_client), Metrics(), Pause())
    yield made
    made.close()


def waiting_batch(lease=None, calls=1, deadline=None):
    """A batch in flight whose requests have not finished."""
    lease = lease or queries.claim_batch("producer-test", 10, 30.0)
    futures = {Future(): Call("add_activities", lease.events, "add") for _ in range(calls)}
    return Batch(lease, deadline if deadline is not None else time.monotonic() + 30, futures)


def test_a_claimed_batch_is_sent_and_stays_in_flight_until_it_is_forgotten(producer):
    OutboxEventFactory.create_batch(3, feed="user:1")

    batch = producer.claim()

    assert len(batch.lease) == 3 and len(batch.futures) == 1  # one add_activities for the feed
    assert producer.inflight == [batch]
    wait_for(batch.done, timeout=10)
    assert producer.finished() == [batch]
    assert all(o.ok for future in batch.futures for o in future.result())
    producer.forget(batch)
    assert producer.inflight == [] and producer.finished() == []


def test_nothing_claimable_is_no_batch(producer):
    assert producer.claim() is None
    assert producer.inflight == []


def test_it_stops_claiming_while_its_stream_threads_are_busy(producer):
    busy = producer.options.concurrency * CALLS_PER_THREAD
    producer.inflight.append(waiting_batch(calls=busy - 1))
    assert producer.may_claim()
    producer.inflight.append(waiting_batch(calls=1))
    assert not producer.may_claim()


def test_a_paused_relay_sends_one_probe_at_a_time_and_only_when_it_is_due(producer):
    OutboxEventFactory.create_batch(3)
    clock = [0.0]
    producer.pause = Pause(clock=lambda: clock[0])
    producer.pause.trip("suspended")
    assert not producer.may_claim()  # the probe's backoff is not over

    clock[0] = producer.pause.until
    assert producer.may_claim()
    probe = producer.claim()
    assert probe.probe and len(probe.lease) == 1
    assert not producer.may_claim()  # its answer decides whether more may follow


def test_a_lease_near_its_end_is_renewed_and_one_another_relay_took_is_let_go(producer):
    OutboxEventFactory.create_batch(2)
    lease = queries.claim_batch("producer-test", 1, 30.0)
    taken_lease = queries.claim_batch("producer-test", 1, 30.0)
    near_end = time.monotonic() + 5  # under half of the 30 s lease is left
    ours, taken = (
        waiting_batch(lease, deadline=near_end),
        waiting_batch(taken_lease, deadline=near_end),
    )
    producer.inflight += [ours, taken]
    before = OutboxEvent.objects.get(pk=lease.events[0].id).lease_expires_at
    OutboxEvent.objects.filter(pk=taken_lease.events[0].id).update(lease_token=None)

    producer.renew_leases()

    assert ours.deadline > near_end + 20
    assert OutboxEvent.objects.get(pk=lease.events[0].id).lease_expires_at > before
    assert taken.deadline == 0.0  # nothing more of it is sent


def test_stop_cancels_the_requests_not_started_and_abandon_forgets_what_is_in_flight(producer):
    OutboxEventFactory()
    batch = waiting_batch()
    producer.inflight.append(batch)

    producer.stop()

    assert all(future.cancelled() for future in batch.futures)
    assert producer.abandon() == 1 and producer.inflight == []
    row = OutboxEvent.objects.get()
    assert row.lease_token == batch.lease.token and row.lease_expires_at > timezone.now()
