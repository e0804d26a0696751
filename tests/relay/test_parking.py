"""Parking (relay.queries.park): events that wait behind older pending events leave the claim's
indexes until those settle. It never changes what is claimable, only what the claim reads."""

import datetime
import random
import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.write.outbox import follow_event
from relay import queries
from tests.factories import OutboxEventFactory

pytestmark = [pytest.mark.postgres]


def follow(source, target, kind="follow", **fields):
    event = follow_event(source, target, kind)
    for name, value in fields.items():
        setattr(event, name, value)
    event.save()
    return event


def add(feed, key=None, to=(), **fields):
    event = OutboxEventFactory(feed=feed, **({"ordering_key": key} if key else {}), **fields)
    if to:
        event.payload["to"] = list(to)
        event.save()
    return event


def parked():
    return dict(
        OutboxEvent.objects.filter(parked_behind__isnull=False).values_list("id", "parked_behind")
    )


def claimed_ids(limit=100):
    return sorted(e.id for e in queries.claim_batch("relay-a", limit, 30.0).events)


def claimable_now(limit=100):
    """What a claim would take now, rolled back."""
    with transaction.atomic():
        ids = claimed_ids(limit)
        transaction.set_rollback(True)
    return ids


def deliver(ids):
    lease = queries.claim_batch("relay-a", 100, 30.0)
    assert {e.id for e in lease.events} >= set(ids)
    queries.mark_delivered(lease, ids)
    queries.release(lease, [e.id for e in lease.events if e.id not in ids])


@pytest.mark.django_db
def test_a_key_chain_is_parked_link_by_link_and_released_by_each_delivery():
    first, second, third = (add("user:1", key="k") for _ in range(3))

    assert queries.park() == 2
    assert parked() == {second.id: first.id, third.id: second.id}
    assert claimable_now() == [first.id]

    deliver([first.id])
    assert parked() == {third.id: second.id}
    assert claimable_now() == [second.id]


@pytest.mark.django_db
def test_activities_behind_a_held_follow_wait_parked_and_go_when_it_is_delivered():
    later = timezone.now() + datetime.timedelta(hours=1)
    held = follow("timeline:9", "user:2", lease_owner="dead", lease_expires_at=later)
    tweets = [add("user:2") for _ in range(3)]
    notified = add("user:3", to=["user:2"])  # a `to` copy into the followed feed waits too

    assert queries.park() == 4
    assert set(parked().values()) == {held.id}
    assert claimable_now() == []

    OutboxEvent.objects.filter(pk=held.pk).update(lease_expires_at=timezone.now())
    assert claimable_now() == [held.id]  # an expired lease is due: the timed index finds it
    deliver([held.id])
    assert parked() == {}
    assert claimable_now() == sorted([t.id for t in tweets] + [notified.id])


@pytest.mark.django_db
def test_a_follow_parks_behind_the_newest_older_activity_of_the_feed_it_follows():
    tweets = [add("user:2") for _ in range(2)]
    followed = follow("timeline:1", "user:2")

    assert queries.park() == 1
    assert parked() == {followed.id: tweets[-1].id}


@pytest.mark.django_db
def test_a_park_left_behind_by_a_settlement_outside_the_relay_is_swept():
    first, second = add("user:1", key="k"), add("user:1", key="k")
    queries.park()
    # A blocker settled by hand (raw SQL, a restore): nothing cleared its parks.
    OutboxEvent.objects.filter(pk=first.pk).update(status=EventStatus.DELIVERED)
    assert claimable_now() == []

    assert queries.unpark_orphans() == 1
    assert claimable_now() == [second.id]


@pytest.mark.django_db
def test_dead_lettering_a_blocker_releases_what_was_parked_behind_it():
    first, second = add("user:1", key="k"), add("user:1", key="k")
    queries.park()
    lease = queries.claim_batch("relay-a", 10, 30.0)
    queries.mark_dead(lease, [queries.Failed(first.id, "rejected")])

    assert parked() == {}
    assert claimable_now() == [second.id]


@pytest.mark.django_db
@pytest.mark.parametrize("seed", range(6))
def test_parking_never_changes_what_is_claimable(seed):
    rng = random.Random(seed)
    now = timezone.now()
    feeds = [f"user:{i}" for i in range(6)]
    for _ in range(160):
        roll = rng.random()
        fields = {}
        if rng.random() < 0.15:
            fields = {"available_at": now + datetime.timedelta(hours=rng.choice([-1, 1]))}
        elif rng.random() < 0.1:
            fields = {
                "lease_owner": "other",
                "lease_expires_at": now + datetime.timedelta(hours=rng.choice([-1, 1])),
            }
        if roll < 0.15:
            kind = rng.choice(["follow", "unfollow"])
            follow(f"timeline:{rng.randrange(4)}", rng.choice(feeds), kind, **fields)
        else:
            to = [rng.choice(feeds)] if rng.random() < 0.2 else ()
            add(rng.choice(feeds), key=f"k{rng.randrange(40)}", to=to, **fields)
    delivered = OutboxEvent.objects.order_by("?")[:20]
    OutboxEvent.objects.filter(pk__in=[e.pk for e in delivered]).update(
        status=EventStatus.DELIVERED
    )

    for limit in (5, 100):
        before = claimable_now(limit)
        queries.park(scan=rng.choice([10, 2000]))
        assert claimable_now(limit) == before, f"seed {seed}, limit {limit}"
    assert parked(), "the workload parked nothing: the test would prove nothing"


@pytest.mark.django_db(transaction=True)
def test_a_blocker_settled_while_a_park_pass_holds_it_leaves_nothing_parked():
    """The park pass locks the blockers it parks behind: a relay settling one waits for the
    park to commit and then clears it, so nothing stays parked behind a delivered event."""
    first, second = add("user:1", key="k"), add("user:1", key="k")
    lease = queries.claim_batch("relay-a", 10, 30.0)
    assert [e.id for e in lease.events] == [first.id]
    parking, settled = threading.Event(), {}

    def park_and_hold():
        try:
            with transaction.atomic():
                assert queries.park() == 1
                parking.set()
                time.sleep(0.5)
        finally:
            connection.close()

    def settle():
        try:
            parking.wait(10)
            started = time.monotonic()
            queries.mark_delivered(lease, [first.id])
            settled["waited"] = time.monotonic() - started
        finally:
            connection.close()

    threads = [threading.Thread(target=park_and_hold), threading.Thread(target=settle)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    close_old_connections()

    assert settled["waited"] >= 0.3  # it waited for the park to commit
    assert parked() == {}
    assert claimable_now() == [second.id]
