"""Relay throughput: events/s one relay process delivers into the emulator.

Run: python -m tests.benchmarks.bench_relay [--quick] [--json PATH] [--events N]
Cases: 20,000 adds over 1,000 feeds, over 20 feeds, and each to its own feed (what batching
cannot help), with no latency and with 20 ms per request. The backlog is written first (one
INSERT), then ``python -m relay --once`` drains it; the time is the relay process's wall time
from start to exit, startup included.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import time

from tests.benchmarks import _harness as h

CASES = {
    "1,000 feeds": 1_000,
    "20 feeds": 20,
    "own feed each": None,
}
TARGETS = {
    (0, "1,000 feeds"): 2000,
    (0, "20 feeds"): 2000,
    (0, "own feed each"): 800,
    (20, "1,000 feeds"): 1000,
    (20, "20 feeds"): 1000,
    (20, "own feed each"): 400,
}


def add_event(feed: str, foreign_id: str, i: int):
    """An unsaved pending add of a small activity (what the write side stores)."""
    from feed_outbox.models import OutboxEvent
    from feed_outbox.payload import format_time

    payload = {
        "actor": f"auth.User:{i % 997}",
        "verb": "tweet",
        "object": foreign_id,
        "foreign_id": foreign_id,
        "time": format_time(datetime.datetime.now(datetime.UTC)),
    }
    return OutboxEvent(kind="add", feed=feed, ordering_key=foreign_id, payload=payload)


def write_backlog(events: int, feeds: int | None, tag: str) -> None:
    """``events`` pending adds, interleaved over ``feeds`` feeds (None: each its own feed)."""
    from feed_outbox.models import OutboxEvent

    OutboxEvent.objects.all().delete()
    rows = [
        add_event(f"user:{tag}{i if feeds is None else i % feeds}", f"bench.Item:{tag}{i}", i)
        for i in range(events)
    ]
    OutboxEvent.objects.bulk_create(rows, batch_size=5000)
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum does to a real table soon enough
        cursor.execute(f"ANALYZE {OutboxEvent._meta.db_table}")


def run_relay(*args: str) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "relay", "--once", *args],
        env={**os.environ, "PYTHONPATH": str(h.ROOT)},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"relay failed: {result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--latencies", default="0,20")
    args = p.parse_args()
    runs = 1 if args.quick else 3
    figures = {}
    with h.scratch_database(h.database_url("relay")) as url:
        for latency in [int(x) for x in args.latencies.split(",")]:
            with h.emulator("--latency-ms", str(latency)) as base_url:
                h.setup_django(url, base_url)
                os.environ["STREAM_BASE_URL"] = base_url
                from feed_outbox.models import EventStatus, OutboxEvent

                for name, feeds in CASES.items():
                    rates = []
                    for run in range(runs):
                        write_backlog(args.events, feeds, f"l{latency}r{run}x")
                        seconds = run_relay(
                            "--concurrency",
                            str(args.concurrency),
                            "--batch-size",
                            str(args.batch_size),
                        )
                        left = OutboxEvent.objects.exclude(status=EventStatus.DELIVERED).count()
                        if left:
                            raise RuntimeError(f"{left} events not delivered")
                        rates.append(args.events / seconds)
                    target = {"op": ">=", "value": TARGETS[(latency, name)]}
                    label = f"{args.events:,} adds, {name}, {latency} ms latency"
                    figures[label] = h.summary(rates, "events/s", target)
    h.emit(
        {
            "title": "Relay throughput (one process, python -m relay --once)",
            "figures": figures,
            "notes": [
                f"concurrency {args.concurrency}, batch size {args.batch_size}; "
                "relay start-up (Django setup) is included in the time"
            ],
        },
        args.json,
    )


if __name__ == "__main__":
    main()
