"""The completer (relay.settle): a finished batch is settled with one statement per outcome
kind, each row as its outcome says; its log says why events wait for a retry, once per cause."""

import datetime
import logging
import time
import uuid
from collections import Counter
from concurrent.futures import Future

import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from feed_outbox.models import EventStatus, OutboxEvent
from relay import queries
from relay.calls import Call, Outcome
from relay.metrics import EVENTS, Metrics
from relay.options import RelayOptions
from relay.pause import Pause
from relay.producer import Batch
from relay.settle import RetryCauses, Settler
from tests.factories import OutboxEventFactory


def test_each_cause_is_logged_once_then_summed_up_after_the_reminder_interval(caplog, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("relay.settle.time.monotonic", lambda: clock[0])
    causes = RetryCauses(remind_every=300)

    with caplog.at_level(logging.WARNING, logger="relay"):
        for _ in range(50):
            causes.met("ReadTimeout: HTTPConnectionPool(host='h', port=1): Read timed out.")
        causes.met("NotAllowedException code 17 HTTP 403: no")
        clock[0] += 301
        causes.met("ReadTimeout: HTTPConnectionPool(host='h', port=1): Read timed out.")

    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "events wait for a retry: ReadTimeout: h:1: Read timed out.",
        "events wait for a retry: NotAllowedException code 17 HTTP 403: no",
        "events still wait for a retry: ReadTimeout: h:1: Read timed out.",
    ]
    assert "50 more since it was last logged" in caplog.records[-1].getMessage()


def test_causes_remembered_are_bounded():
    causes = RetryCauses(remember=3)
    for n in range(10):
        causes.met(f"ValueError: distinct detail {n}")
    assert len(causes._seen) == 3


# -- the Settler itself, on a real database ------------------------------------------------


def settler(max_attempts=1):
    # max_attempts=1: an event's own data error is dead-lettered at its first try.
    options = RelayOptions(max_attempts=max_attempts, landing_seconds=0.0, owner="settle-test")
    return Settler(options, Metrics(), Pause())


def finished_batch(delivered=(), retried=(), dead=(), unsent=()):
    """A claimed batch whose requests ended as told: ``retried`` met a connect timeout (tried
    again later), ``dead`` an error of their own data, ``unsent`` never started."""
    lease = queries.claim_batch("settle-test", 100, 30.0)
    events = {e.id: e for e in lease.events}
    futures = {}
    outcomes = [Outcome(events[row.id]) for row in delivered]
    outcomes += [Outcome(events[r.id], requests.ConnectTimeout(f"t{r.id}")) for r in retried]
    outcomes += [Outcome(events[r.id], ValueError(f"bad payload {r.id}")) for r in dead]
    for outcome in outcomes:
        future = Future()
        future.set_result([outcome])
        futures[future] = Call("add_activities", (outcome.event,), "add")
    if unsent:
        futures[Future()] = Call("add_activities", tuple(events[r.id] for r in unsent), "add")
    return Batch(lease, time.monotonic() + 30, futures)


def rows(events):
    return [OutboxEvent.objects.get(pk=e.pk) for e in events]


@pytest.mark.django_db
def test_a_batch_settles_each_event_as_its_outcome_says():
    delivered, retried, dead, unsent = (OutboxEventFactory.create_batch(n) for n in (3, 3, 3, 2))
    completer = settler()
    started = timezone.now()

    result = completer.settle(finished_batch(delivered, retried, dead, unsent))

    assert (result.claimed, result.delivered, result.retried, result.dead, result.released) == (
        11,
        3,
        3,
        3,
        2,
    )
    for row in rows(delivered):
        assert row.status == EventStatus.DELIVERED and row.delivered_at is not None
    for row in rows(retried):
        assert row.status == EventStatus.PENDING and row.attempts == 1
        assert row.last_error == f"ConnectTimeout: t{row.id}"  # each row its own error
        assert started <= row.available_at <= timezone.now() + datetime.timedelta(seconds=1)
    for row in rows(dead):
        assert row.status == EventStatus.DEAD
        assert row.last_error == f"ValueError: bad payload {row.id}"
    for row in rows(unsent):
        assert row.status == EventStatus.PENDING and row.attempts == 0  # refunded
    assert not OutboxEvent.objects.filter(lease_token__isnull=False).exists()
    assert completer.metrics.events_by_outcome() == {"delivered": 3, "retried": 3, "dead": 3}


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_batch_settles_with_one_statement_per_outcome_kind_whatever_its_size():
    kinds = (OutboxEventFactory.create_batch(n) for n in (20, 20, 20, 20))
    batch = finished_batch(*kinds)

    with CaptureQueriesContext(connection) as captured:
        settler().settle(batch)

    # A transaction's statements may go in one execute (relay.queries.transaction_script).
    statements = [sql.strip() for q in captured for sql in q["sql"].split(";\n")]
    updates = Counter(statement_kind(sql) for sql in statements if sql.startswith("UPDATE"))
    # The delivered and the dead each clear the parks behind them in their transaction.
    assert updates == {"delivered": 1, "retried": 1, "dead": 1, "released": 1, "unpark": 2}


def statement_kind(sql):
    if '"parked_behind" = NULL' in sql or "SET parked_behind = NULL" in sql:
        return "unpark"
    if "'delivered'" in sql:
        return "delivered"
    if "status = 'dead'" in sql:
        return "dead"
    if "available_at = statement_timestamp()" in sql:
        return "retried"
    if '"attempts" - 1' in sql:
        return "released"
    return sql


@pytest.mark.postgres
@pytest.mark.django_db
def test_events_another_relay_took_over_are_left_to_it_and_counted_as_fenced(caplog):
    retried, dead = OutboxEventFactory.create_batch(2), OutboxEventFactory.create_batch(2)
    batch = finished_batch(retried=retried, dead=dead)
    taken = [retried[0].pk, dead[1].pk]
    OutboxEvent.objects.filter(pk__in=taken).update(lease_token=uuid.uuid4())  # lease expired
    completer = settler()

    with caplog.at_level(logging.WARNING, logger="relay"):
        result = completer.settle(batch)

    assert (result.retried, result.dead) == (1, 1)
    assert completer.metrics.counter(EVENTS, kind="any", outcome="fenced") == 2
    for row in rows(OutboxEvent.objects.filter(pk__in=taken)):
        assert (row.status, row.last_error) == (EventStatus.PENDING, "")  # the other's now
    assert OutboxEvent.objects.get(pk=retried[1].pk).last_error.startswith("ConnectTimeout")
    assert OutboxEvent.objects.get(pk=dead[0].pk).status == EventStatus.DEAD
    # The retry cause is logged for the event that was settled, not for the fenced one.
    assert any("events wait for a retry" in r.getMessage() for r in caplog.records)
