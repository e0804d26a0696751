"""The claim: FIFO per ordering key, leases that expire, fencing of stale workers, per-feed batches."""

import datetime
import weakref

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.utils import timezone

from feed_outbox.models import EventStatus, OutboxEvent
from relay import queries
from relay.events import Lease
from tests.factories import OutboxEventFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def claimed_ids(limit=100, owner="relay-a", lease_seconds=30.0):
    return [e.id for e in queries.claim_batch(owner, limit, lease_seconds).events]


def test_claim_hands_out_only_the_oldest_pending_event_of_each_key():
    add = OutboxEventFactory(ordering_key="k1")
    update = OutboxEventFactory(ordering_key="k1", kind="update")
    other = OutboxEventFactory(ordering_key="k2")

    assert claimed_ids() == [add.id, other.id]
    assert claimed_ids() == []  # k1's next event waits for its add; the rest is leased

    queries.mark_delivered(claim_lease_of(add), [add.id])
    assert claimed_ids() == [update.id]


def claim_lease_of(event):
    """The lease an event is held under, as its holder knows it."""
    row = OutboxEvent.objects.get(pk=event.pk)
    return Lease(row.lease_owner, row.lease_token, row.lease_expires_at, ())


def test_a_key_waits_while_its_event_is_retried():
    first = OutboxEventFactory(ordering_key="k")
    second = OutboxEventFactory(ordering_key="k")
    lease = queries.claim_batch("relay-a", 10, 30.0)

    queries.mark_retry(lease, [queries.Failed(first.id, "HTTP 500", delay_seconds=60)])

    assert claimed_ids() == []  # neither the event in backoff nor the one behind it
    OutboxEvent.objects.filter(pk=first.pk).update(available_at=timezone.now())
    assert claimed_ids() == [first.id]
    assert OutboxEvent.objects.get(pk=second.pk).lease_token is None


def test_a_dead_letter_lets_later_events_of_its_key_proceed_by_default():
    poison = OutboxEventFactory(ordering_key="k")
    later = OutboxEventFactory(ordering_key="k")
    lease = queries.claim_batch("relay-a", 10, 30.0)
    queries.mark_dead(lease, [queries.Failed(poison.id, "InputException code 4")])

    assert claimed_ids() == [later.id]


@override_settings(FEED_OUTBOX_BLOCK_KEY_ON_DEAD=True)
def test_block_key_on_dead_keeps_the_key_blocked_until_an_operator_acts():
    poison = OutboxEventFactory(ordering_key="k")
    later = OutboxEventFactory(ordering_key="k")
    unrelated = OutboxEventFactory(ordering_key="other")
    lease = queries.claim_batch("relay-a", 1, 30.0)
    queries.mark_dead(lease, [queries.Failed(poison.id, "InputException code 4")])

    assert claimed_ids() == [unrelated.id]
    OutboxEvent.objects.filter(pk=poison.pk).update(status=EventStatus.DELIVERED)  # operator
    assert claimed_ids() == [later.id]


def test_an_expired_lease_is_claimed_again_and_the_stale_holder_cannot_settle():
    event = OutboxEventFactory()
    stale = queries.claim_batch("relay-dead", 10, lease_seconds=30.0)
    OutboxEvent.objects.filter(pk=event.pk).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )

    fresh = queries.claim_batch("relay-b", 10, 30.0)

    assert [e.id for e in fresh.events] == [event.id]
    assert fresh.events[0].attempts == 2
    assert queries.mark_delivered(stale, [event.id]) == 0  # fenced: the token is not its own
    assert queries.mark_dead(stale, [queries.Failed(event.id, "late")]) == []
    assert queries.renew(stale, 30.0) == 0
    row = OutboxEvent.objects.get(pk=event.pk)
    assert (row.status, row.lease_owner) == (EventStatus.PENDING, "relay-b")
    assert queries.mark_delivered(fresh, [event.id]) == 1


def test_release_refunds_the_attempt_and_makes_the_event_claimable_at_once():
    event = OutboxEventFactory()
    lease = queries.claim_batch("relay-a", 10, 30.0)

    assert queries.release(lease, [event.id]) == 1

    row = OutboxEvent.objects.get(pk=event.pk)
    assert (row.attempts, row.lease_token) == (0, None)
    assert claimed_ids() == [event.id]


def test_a_backlog_over_many_feeds_is_claimed_in_whole_feeds():
    # 3 feeds, interleaved the way live traffic arrives.
    events = [OutboxEventFactory(feed=f"user:{i % 3}") for i in range(30)]

    batch = queries.claim_batch("relay-a", 20, 30.0).events

    feeds = [e.feed for e in batch]
    assert len(batch) == 20
    assert feeds.count("user:0") == 10 and feeds.count("user:1") == 10  # oldest feeds first
    assert [e.id for e in batch if e.feed == "user:0"] == [
        e.id for e in events if e.feed == "user:0"
    ]


def test_the_claim_reads_pending_rows_through_partial_indexes():
    later = timezone.now() + datetime.timedelta(hours=1)
    OutboxEventFactory.create_batch(300)
    OutboxEventFactory.create_batch(100, available_at=later)  # backing off
    OutboxEventFactory.create_batch(100, lease_expires_at=later, lease_owner="other")
    with connection.cursor() as cursor:
        # Current statistics: the plan is otherwise whatever an earlier test's table implied.
        cursor.execute("ANALYZE feed_outbox_outboxevent")
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan, cost = queries.explain_claim(100, analyze=False)

    assert "feed_outbox_fresh_id" in plan, plan  # never leased, no backoff, not parked
    assert "feed_outbox_timed" in plan, plan  # leased or backing off, by the time they are due
    assert "feed_outbox_pending_key" in plan
    assert cost > 0


def test_pending_stats_report_count_and_lag():
    OutboxEventFactory(created_at=timezone.now() - datetime.timedelta(seconds=90))
    OutboxEventFactory(status=EventStatus.DELIVERED)

    stats = queries.pending_stats()

    assert stats.pending == 1
    assert 89 < stats.lag_seconds() < 200


def test_the_claim_is_prepared_once_per_connection_and_survives_a_database_that_forgets_it(
    monkeypatch,
):
    monkeypatch.setattr(queries, "_unprepared_aliases", set())
    monkeypatch.setattr(queries, "_prepared_on", weakref.WeakKeyDictionary())
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # what earlier tests on this connection prepared
    first = OutboxEventFactory(ordering_key="k1")
    assert claimed_ids() == [first.id]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'feed_outbox_claim%'"
        )
        assert cursor.fetchone() == (1,)
        # What a transaction pooler does to the next transaction: another server session.
        cursor.execute("DEALLOCATE ALL")

    second = OutboxEventFactory(ordering_key="k2")
    assert claimed_ids() == [second.id]
    assert queries._unprepared_aliases == {"default"}  # unprepared from now on
    third = OutboxEventFactory(ordering_key="k3")
    assert claimed_ids() == [third.id]


def test_a_claim_prepared_by_another_client_of_the_server_session_turns_prepared_claims_off(
    monkeypatch,
):
    monkeypatch.setattr(queries, "_unprepared_aliases", set())
    monkeypatch.setattr(queries, "_prepared_on", weakref.WeakKeyDictionary())
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    event = OutboxEventFactory(ordering_key="k1")
    assert claimed_ids() == [event.id]
    # Another client of a transaction pooler's server session: it finds the name taken.
    monkeypatch.setattr(queries, "_prepared_on", weakref.WeakKeyDictionary())

    later = OutboxEventFactory(ordering_key="k2")
    assert claimed_ids() == [later.id]
    assert queries._unprepared_aliases == {"default"}


@pytest.mark.parametrize("in_transaction", [False, True], ids=["own", "in_callers"])
def test_a_transaction_script_gives_each_statement_its_rows_or_none(in_transaction):
    events = OutboxEventFactory.create_batch(2)
    ids = [event.id for event in events]
    statements = [
        "SET LOCAL jit = off",
        f"UPDATE {queries.TABLE} SET attempts = attempts + 1 WHERE id = ANY(%(ids)s)",
        f"SELECT id FROM {queries.TABLE} WHERE id = ANY(%(ids)s) ORDER BY id",
        f"SELECT id FROM {queries.TABLE} WHERE false",
        f"UPDATE {queries.TABLE} SET attempts = attempts + 1 WHERE id = ANY(%(ids)s) RETURNING id",
    ]

    if in_transaction:
        with transaction.atomic():
            results = queries.transaction_script("default", statements, {"ids": ids})
    else:
        results = queries.transaction_script("default", statements, {"ids": ids})

    # A statement that returns rows gives a list, empty or not; one that returns none, None.
    assert [rows for _, rows in results] == [
        None,
        None,
        [(ids[0],), (ids[1],)],
        [],
        [(ids[0],), (ids[1],)],
    ]
    assert [count for count, _ in results][1:] == [2, 2, 0, 2]


def test_each_claim_limit_and_api_is_a_prepared_statement_of_its_own(monkeypatch):
    monkeypatch.setattr(queries, "_prepared_on", weakref.WeakKeyDictionary())
    v2 = OutboxEventFactory(ordering_key="k1")
    v3 = OutboxEventFactory(ordering_key="k2", api="v3")

    v3_lease = queries.claim_batch("relay-a", 10, 30, api="v3")
    v2_lease = queries.claim_batch("relay-a", 5, 30, api="v2")
    again = queries.claim_batch("relay-a", 10, 30, api="v3")

    assert [e.id for e in v3_lease.events] == [v3.id]
    assert [e.id for e in v2_lease.events] == [v2.id]
    assert again.events == ()
    names = {
        queries._prepared_statement(queries.claim_sql(), limit, queries.PER_FEED, api)[1]
        for limit, api in ((10, "v3"), (5, "v2"))
    }
    assert len(names) == 2
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM pg_prepared_statements WHERE name LIKE 'feed_outbox_claim%%'"
        )
        assert names <= {name for (name,) in cursor.fetchall()}
