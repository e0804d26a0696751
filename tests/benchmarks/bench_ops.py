"""Operations at scale: backfill, status, replay, reconcile and purge over N tweets/events.

Run: /tmp/v/bin/python tests/benchmarks/bench_ops.py [--quick] [--rows 20000] [--json PATH]

Creates its own database and emulator. Stream is filled directly (add_activities, 100 per
call) so reconcile reads full feeds without waiting for a relay drain; the outbox rows are
then marked delivered, as a drained outbox would be.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks import _harness as h

AUTHORS = 200


def run(rows: int) -> dict:
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(h.scratch_database(h.database_url("ops")))
        h.setup_django(url, base_url=stack.enter_context(h.emulator()))
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.utils import timezone

        from feed_outbox.client import get_client
        from feed_outbox.models import EventStatus, OutboxEvent
        from feed_outbox.operations.reconcile import reconcile
        from feed_outbox.operations.status import history, outbox_status
        from feed_outbox.tracking import tracking_disabled
        from feed_outbox.write.outbox import activity_payload
        from sample_app.models import Tweet

        def command(*args: str) -> float:
            return h.timed(lambda: call_command(*args, stdout=io.StringIO()))

        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"ops{i}") for i in range(AUTHORS)
        )
        start = timezone.now() - datetime.timedelta(days=30)
        with tracking_disabled():
            Tweet.objects.bulk_create(
                (
                    Tweet(
                        user=users[i % AUTHORS],
                        text=f"tweet {i}",
                        created_at=start + datetime.timedelta(seconds=i),
                    )
                    for i in range(rows)
                ),
                batch_size=2000,
            )
        figures = {}
        seconds = command("outbox_backfill", "sample_app.Tweet", "--batch-size", "500")
        figures["backfill"] = {"value": rows / seconds, "unit": "rows/s"}
        rerun = command("outbox_backfill", "sample_app.Tweet", "--batch-size", "500")
        figures["backfill again (all rows already queued)"] = {
            "value": rows / rerun,
            "unit": "rows/s",
        }

        client = get_client()
        by_feed: dict[int, list[dict]] = {}
        for tweet in Tweet.objects.order_by("pk").iterator(chunk_size=2000):
            by_feed.setdefault(tweet.user_id, []).append(activity_payload(tweet))
        for user_id, activities in by_feed.items():
            for i in range(0, len(activities), 100):
                client.feed("user", str(user_id)).add_activities(activities[i : i + 100])
        now = timezone.now()
        OutboxEvent.objects.update(status=EventStatus.DELIVERED, delivered_at=now)

        status_ms = [h.timed(outbox_status) * 1000 for _ in range(5)]
        figures[f"outbox_status() over {rows:,} events"] = h.summary(status_ms, "ms")
        history_ms = [h.timed(lambda: history(hours=3)) * 1000 for _ in range(5)]
        figures["history(3 h) for the status page"] = h.summary(history_ms, "ms")

        started = time.perf_counter()
        report = reconcile()
        seconds = time.perf_counter() - started
        assert not report.drift, report.counts()
        figures["reconcile (read Stream + compare)"] = {
            "value": report.found / seconds,
            "unit": "activities/s",
        }

        seconds = command("outbox_replay", "--all")
        figures["replay --all (queue latest state)"] = {"value": rows / seconds, "unit": "keys/s"}

        OutboxEvent.objects.update(
            status=EventStatus.DELIVERED, delivered_at=now - datetime.timedelta(days=30)
        )
        total = OutboxEvent.objects.count()
        seconds = command("outbox_purge", "--batch-size", "1000")
        figures["purge (batches of 1,000)"] = {"value": total / seconds, "unit": "rows/s"}
    return {
        "title": f"Operations over {rows:,} tweets in {AUTHORS} author feeds",
        "figures": figures,
        "notes": [
            "single-threaded commands against a local PostgreSQL and the emulator",
            "drain time is the relay's (see bench_relay); replay and backfill only queue",
        ],
    }


def main() -> None:
    parser = h.parser(__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    h.emit(run(5_000 if args.quick else args.rows), args.json)


if __name__ == "__main__":
    main()
