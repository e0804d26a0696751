"""Writers that interact are serialised, so outbox ids are in commit order across keys.

Two real connections (one per thread): the first opens a transaction that writes an event and
holds it open; the second writes an event that must follow it. The second waits for the first
commit and gets the later id; writers that commute never wait for each other.
"""

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from feed_outbox.feed_manager import feed_manager
from feed_outbox.models import OutboxEvent
from feed_outbox.write.outbox import INLINE_LOCKS, enqueue, new_event
from sample_app.models import Tweet
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

HOLD = 0.6  # seconds the first transaction stays open after its write


def race(first, second):
    """Run ``first`` in a transaction held open for HOLD s and ``second`` meanwhile, each on
    its own connection; returns (first's events, second's events, seconds second waited)."""
    results = {}
    written = threading.Event()

    def run_first():
        try:
            with transaction.atomic():
                results["first"] = first()
                written.set()
                time.sleep(HOLD)
                # taken before COMMIT is sent: after it, the second may finish first
                results["first_committing"] = time.monotonic()
        finally:
            connection.close()

    def run_second():
        try:
            written.wait(10)
            started = time.monotonic()
            with transaction.atomic():
                results["second"] = second()
            results["second_done"] = time.monotonic()
            results["waited"] = results["second_done"] - started
        finally:
            connection.close()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    close_old_connections()
    return results


def ids(events):
    return [e.pk for e in (events if isinstance(events, list) else [events])]


def tweet(author, text):
    """Create a tweet; the ids of the outbox events its save wrote."""
    created = Tweet.objects.create(user=author, text=text)
    key = f"sample_app.Tweet:{created.pk}"
    return list(OutboxEvent.objects.filter(ordering_key=key).values_list("pk", flat=True))


def test_a_follow_waits_for_an_open_transaction_that_adds_to_the_followed_feed():
    author, reader = UserFactory(), UserFactory()
    results = race(
        lambda: tweet(author, "first"),
        lambda: ids(feed_manager.follow_user(reader.pk, author.pk)),
    )

    assert results["waited"] >= HOLD * 0.8
    assert results["second_done"] >= results["first_committing"]
    assert min(results["second"]) > max(results["first"])


def test_an_activity_waits_for_an_open_follow_of_its_feed():
    author, reader = UserFactory(), UserFactory()
    results = race(
        lambda: ids(feed_manager.follow_user(reader.pk, author.pk)),
        lambda: tweet(author, "after"),
    )

    assert results["waited"] >= HOLD * 0.8
    assert min(results["second"]) > max(results["first"])


def test_follow_and_unfollow_of_one_pair_are_serialised():
    author, reader = UserFactory(), UserFactory()
    results = race(
        lambda: ids(feed_manager.follow_user(reader.pk, author.pk)),
        lambda: ids(feed_manager.unfollow_user(reader.pk, author.pk)),
    )

    assert results["waited"] >= HOLD * 0.8
    assert min(results["second"]) > max(results["first"])
    kinds = list(OutboxEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["follow", "follow", "unfollow", "unfollow"]


def test_activities_of_one_feed_do_not_wait_for_each_other():
    author = UserFactory()
    results = race(
        lambda: tweet(author, "a"),
        lambda: tweet(author, "b"),
    )

    assert results["waited"] < HOLD / 2


def bulk_adds(author, count):
    """Add events to ``count`` feeds, the author's first, in one INSERT; their ids."""
    events = [
        new_event("add", f"user:{author.pk}" if i == 0 else f"other:{author.pk}-{i}",
                  f"bench.Item:{author.pk}-{i}", "bench.Item", {})
        for i in range(count)
    ]
    return ids(enqueue(events))


@pytest.mark.parametrize("count", [1, INLINE_LOCKS + 1], ids=["locks-inline", "locks-arrays"])
def test_both_lock_forms_order_a_write_against_an_open_follow(count):
    author, reader = UserFactory(), UserFactory()
    results = race(
        lambda: ids(feed_manager.follow_user(reader.pk, author.pk)),
        lambda: bulk_adds(author, count),
    )

    assert results["waited"] >= HOLD * 0.8
    assert min(results["second"]) > max(results["first"])


@pytest.mark.parametrize("count", [1, INLINE_LOCKS + 1], ids=["locks-inline", "locks-arrays"])
def test_both_lock_forms_make_a_follow_wait(count):
    author, reader = UserFactory(), UserFactory()
    results = race(
        lambda: bulk_adds(author, count),
        lambda: ids(feed_manager.follow_user(reader.pk, author.pk)),
    )

    assert results["waited"] >= HOLD * 0.8
    assert min(results["second"]) > max(results["first"])
    assert len(results["first"]) == count


def test_rows_keep_the_values_of_columns_only_some_rows_set():
    """A write leaves out the nullable columns no row sets and writes defaults every row has as
    constants; one row setting such a column keeps its value, the others theirs."""
    author = UserFactory()
    plain = new_event("add", f"user:{author.pk}", "bench.Item:1", "bench.Item", {"n": 1})
    traced = new_event("add", f"user:{author.pk}", "bench.Item:2", "bench.Item", {"n": 2})
    traced.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    traced.attempts = 3
    enqueue([plain, traced])
    enqueue([new_event("add", f"user:{author.pk}", "bench.Item:3", "bench.Item", {"n": 3})])

    rows = OutboxEvent.objects.order_by("id").values_list(
        "payload", "traceparent", "attempts", "status", "api", "lease_owner", "aggregate_type"
    )
    assert list(rows) == [
        ({"n": 1}, None, 0, "pending", "v2", "", "bench.Item"),
        ({"n": 2}, traced.traceparent, 3, "pending", "v2", "", "bench.Item"),
        ({"n": 3}, None, 0, "pending", "v2", "", "bench.Item"),
    ]
