"""The delivery loop (relay.loop) driven directly: it settles every batch, runs the maintenance
that is due each turn, ends when idle, and survives (or, for a drain, reports) database errors."""

import logging
import threading

import pytest
from django.db import OperationalError

from feed_outbox.client import build_client
from feed_outbox.models import EventStatus, OutboxEvent
from relay.delivery import delivery_for
from relay.loop import Loop
from relay.metrics import DATABASE_UP, Metrics
from relay.options import RelayOptions
from relay.pause import Pause
from relay.producer import Producer
from relay.settle import Settler
from relay.wakeup import PollWakeup
from tests.factories import OutboxEventFactory

pytestmark = [pytest.mark.postgres]


class Jobs:
    """Stands in for relay.maintenance.Maintenance: counts the loop's turns."""

    def __init__(self):
        self.turns = 0

    def run_due(self, now=None):
        self.turns += 1
        return []


@pytest.fixture
def make_loop(stream_emulator):
    producers = []

    def make(**loop_options):
        options = RelayOptions(owner="loop-test", batch_size=2, concurrency=2, poll_interval=0.05)
        metrics, pause = Metrics(), Pause()
        producer = Producer(options, delivery_for(options.api, build_client), metrics, pause)
        producers.append(producer)
        settler = Settler(options, metrics, pause)
        loop_options.setdefault("until_idle", True)
        stop = threading.Event()
        return Loop(producer, settler, Jobs(), pause, metrics, PollWakeup(), stop, **loop_options)

    yield make
    for producer in producers:
        producer.close()


def pending():
    return OutboxEvent.objects.filter(status=EventStatus.PENDING).count()


@pytest.mark.django_db
def test_until_idle_it_settles_every_batch_runs_the_maintenance_each_turn_and_returns(make_loop):
    OutboxEventFactory.create_batch(5)
    settled = []
    loop = make_loop(on_settled=settled.append)

    loop.run()

    assert pending() == 0
    assert sum(result.delivered for result in settled) == 5
    assert len(settled) == 3  # batches of two
    assert loop.maintenance.turns >= 3
    assert not loop.producer.inflight


@pytest.mark.django_db(transaction=True)
def test_a_database_error_is_survived_said_and_cleared_when_the_database_is_back(
    make_loop, monkeypatch, caplog
):
    OutboxEventFactory.create_batch(3)
    loop = make_loop()
    claim, failures = loop.producer.claim, iter([OperationalError("server closed the connection")])

    def flaky_claim():
        for error in failures:
            assert loop.metrics.counter(DATABASE_UP) == 1
            raise error
        return claim()

    monkeypatch.setattr(loop.producer, "claim", flaky_claim)
    with caplog.at_level(logging.INFO, logger="relay"):
        loop.run()

    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("database error (server closed the connection)") for m in said)
    assert "database reachable again" in said
    assert loop.database_error is None and loop.metrics.counter(DATABASE_UP) == 1
    assert pending() == 0


@pytest.mark.django_db
def test_a_drain_raises_the_first_database_error_leaving_the_connection_to_its_owner(
    make_loop, monkeypatch
):
    OutboxEventFactory()
    loop = make_loop(gives_up_after=0)

    def down():
        raise OperationalError("the database is down")

    monkeypatch.setattr(loop.producer, "claim", down)
    with pytest.raises(OperationalError):
        loop.run()
    assert OutboxEvent.objects.count() == 1  # the test's connection (and transaction) is fine


@pytest.mark.django_db
def test_the_idle_wait_is_short_while_requests_run_or_a_probe_is_due(make_loop):
    loop = make_loop()
    options = loop.producer.options
    assert loop.idle_timeout() == options.poll_interval == 0.05

    options.poll_interval = 30.0
    loop.producer.inflight.append(object())  # a batch in flight: its lease needs renewing
    assert loop.idle_timeout() == options.lease_seconds / 4
    loop.producer.inflight.clear()

    loop.pause.trip("suspended")
    assert 0.05 <= loop.idle_timeout() <= loop.pause.seconds_to_probe() + 0.05


class Recorded:
    """Records the order of a loop's claims and settlements (the real ones run)."""

    def __init__(self, loop, monkeypatch):
        self.steps = []
        for owner, name in ((loop.producer, "claim"), (loop.settler, "settle")):
            monkeypatch.setattr(owner, name, self.recording(name, getattr(owner, name)))

    def recording(self, name, method):
        def record(*args, **kwargs):
            result = method(*args, **kwargs)
            if name == "settle" or result is not None:
                self.steps.append(name)
            return result

        return record


def finish(loop):
    for batch in loop.producer.inflight:
        for future in batch.futures:
            future.result(timeout=30)


@pytest.mark.django_db
def test_a_turn_woken_by_a_commit_claims_before_it_settles_and_claims_what_it_freed(
    make_loop, monkeypatch
):
    first = OutboxEventFactory(ordering_key="k")
    loop = make_loop()
    recorded = Recorded(loop, monkeypatch)
    with monkeypatch.context() as during:
        # Its request may end before the turn looks (a loaded CI did): it is then settled
        # in the same turn, which asks for another. Here it is the next turn's to settle.
        during.setattr(loop.producer, "finished", list)
        assert loop.turn(notified=True) is False  # one event of two asked for: nothing more
    assert [e.id for e in loop.producer.inflight[0].lease.events] == [first.id]
    finish(loop)
    second = OutboxEventFactory(ordering_key="k")  # waits for the first
    other = OutboxEventFactory(ordering_key="other")

    assert loop.turn(notified=True) is True  # the commit's event first, then the settlement
    assert recorded.steps == ["claim", "claim", "settle"]
    assert [e.id for e in loop.producer.inflight[-1].lease.events] == [other.id]
    assert loop.turn(notified=False) is False  # what the settlement freed
    assert [e.id for e in loop.producer.inflight[-1].lease.events] == [second.id]
    assert recorded.steps[-1] == "claim"
    finish(loop)
    loop.run()
    assert pending() == 0


@pytest.mark.django_db
def test_a_full_claim_is_followed_by_another_and_a_partial_one_by_a_wait(make_loop):
    OutboxEventFactory.create_batch(3)
    loop = make_loop()
    assert loop.turn(notified=True) is True  # two of two: there may be more
    assert loop.turn(notified=False) is False  # the third, alone
    finish(loop)
    loop.run()
    assert pending() == 0
