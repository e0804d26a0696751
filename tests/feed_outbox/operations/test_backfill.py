"""outbox_backfill queues one add per existing row, in committed chunks: interrupt it, run it
again, and every row has exactly one event; the drained feeds match the database."""

import datetime
import os
import signal
import subprocess

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.operations.reconcile import reconcile
from feed_outbox.tracking import tracking_disabled
from sample_app.models import Tweet
from tests.factories import TweetFactory, UserFactory
from tests.polling import wait_for

pytestmark = [pytest.mark.postgres]

ROWS, AUTHORS, CHUNK = 10_000, 50, 100


def existing_tweets(n, authors, since=None):
    """Rows written before feed-outbox was installed: no outbox events."""
    start = since or timezone.now() - datetime.timedelta(days=30)
    with tracking_disabled():
        Tweet.objects.bulk_create(
            Tweet(
                user=authors[i % len(authors)],
                text=f"old tweet {i}",
                created_at=start + datetime.timedelta(seconds=i),
            )
            for i in range(n)
        )


def waiting_on_a_lock():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_backfill_of_10000_rows_survives_a_kill_and_queues_each_row_once(
    subprocess_env, python, run_command
):
    authors = UserFactory.create_batch(AUTHORS)
    existing_tweets(ROWS, authors)
    assert not OutboxEvent.objects.exists()
    command = [python, "-m", "django", "outbox_backfill", "sample_app.Tweet"]

    # A row locked halfway through chunk 51 stops the run there, deterministically: the kill
    # lands while that chunk's transaction is open, after 50 chunks committed.
    pks = list(Tweet.objects.order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        Tweet.objects.select_for_update().get(pk=pks[50 * CHUNK + CHUNK // 2])
        worker = subprocess.Popen(
            [*command, "--batch-size", str(CHUNK)],
            env=subprocess_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_for(
                lambda: OutboxEvent.objects.count() == 50 * CHUNK and waiting_on_a_lock(),
                timeout=120,
                interval=0.02,
                what="the backfill to block on the locked row",
            )
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
    interrupted_at = OutboxEvent.objects.count()
    assert interrupted_at == 50 * CHUNK  # the open chunk left nothing behind

    again = run_command("outbox_backfill", "sample_app.Tweet", "--batch-size", "700")
    assert again.code == 0, again.err
    assert f"queued {ROWS - interrupted_at:,} add events" in again.out
    assert f"{interrupted_at:,} already in the outbox" in again.out
    assert "estimated drain: ~" in again.out

    per_key = OutboxEvent.objects.values("ordering_key").annotate(n=Count("id"))
    assert per_key.count() == ROWS and {row["n"] for row in per_key} == {1}
    assert set(OutboxEvent.objects.values_list("kind", flat=True)) == {EventKind.ADD}
    third = run_command("outbox_backfill", "sample_app.Tweet")
    assert "queued 0 add events" in third.out and OutboxEvent.objects.count() == ROWS
    # Draining 10,000 events takes minutes here; delivery of backfilled rows is proven below.


@pytest.mark.django_db
def test_backfill_since_skips_older_rows_and_rows_already_published(run_command, outbox_drain):
    author = UserFactory()
    cutoff = timezone.now() - datetime.timedelta(days=1)
    existing_tweets(3, [author], since=cutoff - datetime.timedelta(days=10))
    existing_tweets(4, [author], since=cutoff + datetime.timedelta(hours=1))
    published = TweetFactory(user=author)  # written with the app installed: has its add

    result = run_command("outbox_backfill", "sample_app.Tweet", "--since", cutoff.isoformat())

    assert result.code == 0, result.err
    assert "scanned 5 rows; queued 4 add events; 1 already in the outbox" in result.out
    keys = set(OutboxEvent.objects.values_list("ordering_key", flat=True))
    assert len(keys) == 5 and f"sample_app.Tweet:{published.pk}" in keys
    outbox_drain()
    report = reconcile(feed=f"user:{author.pk}")
    assert (report.expected, report.found) == (8, 5)
    assert sorted(d.kind for d in report.drift) == ["missing"] * 3  # the rows before --since


@pytest.mark.django_db
def test_backfill_dry_run_queues_nothing_and_a_non_activity_model_is_a_usage_error(run_command):
    existing_tweets(3, [UserFactory()])
    dry = run_command("outbox_backfill", "sample_app.Tweet", "--dry-run")
    assert "would queue 3 add events" in dry.out
    assert not OutboxEvent.objects.exists()
    assert run_command("outbox_backfill", "auth.User").code == 2
    assert run_command("outbox_backfill", "nope.Nothing").code == 2
