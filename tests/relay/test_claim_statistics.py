"""A backlog that arrives after the outbox's statistics were taken is not claimed slowly for long."""

import time

import pytest
from django.db import connection

from relay import claim

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TABLE = claim.TABLE


@pytest.fixture(autouse=True)
def forget_last_analyze(monkeypatch):
    monkeypatch.setattr(claim, "_last_analyze", {})


def stats_taken_on_an_empty_table_then_a_backlog(events=3500, feeds=500):
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {TABLE} SET (autovacuum_enabled = false)")
        cursor.execute(f"ANALYZE {TABLE}")
        cursor.execute(
            f"""INSERT INTO {TABLE} (kind, feed, ordering_key, aggregate_type, payload, status,
                attempts, created_at, lease_owner, last_error)
            SELECT 'add', 'user:' || (g %% %s), 'key' || (g %% %s), 'test', '{{}}', 'pending', 0,
                now(), '', ''
            FROM generate_series(1, %s) g""",
            [feeds, events // 2, events],
        )


def analyzed_count():
    with connection.cursor() as cursor:
        cursor.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = %s", [TABLE])
        return cursor.fetchone()[0]


def test_a_slow_claim_refreshes_the_statistics_once_a_minute():
    assert claim._analyze_if_slow("default", 0.5) is True
    assert claim._analyze_if_slow("default", 0.5) is False  # not again within the minute
    assert claim._analyze_if_slow("default", 0.01) is False


def test_a_sudden_backlog_on_stale_statistics_is_claimed_fast_after_at_most_one_slow_claim():
    stats_taken_on_an_empty_table_then_a_backlog()
    try:
        first = time.monotonic()
        assert len(claim.claim_batch("relay-a", 100, 30)) == 100
        first = time.monotonic() - first
        second = time.monotonic()
        assert len(claim.claim_batch("relay-b", 100, 30)) == 100
        second = time.monotonic() - second
        assert second < claim.SLOW_CLAIM_SECONDS, (first, second)
        if first >= claim.SLOW_CLAIM_SECONDS:
            assert claim._last_analyze, "a slow claim must refresh the statistics"
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} RESET (autovacuum_enabled)")
