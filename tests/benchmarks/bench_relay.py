"""Relay throughput: events/s relay processes deliver into the emulator, and requests per event.

Run: python -m tests.benchmarks.bench_relay [--quick] [--json PATH] [--events N]
Cases: 20,000 adds over 1,000 feeds, over 20 feeds, and each to its own feed (what batching
cannot help), with no latency and with 20 ms per request. The backlog is written first (one
INSERT), then ``python -m relay --once`` drains it; the time is the relay process's wall time
from start to exit, startup included. Requests per event is the emulator's Stream request count
(``GET /_emulator/stats``) over events delivered: what batching saves.
At 20 ms, also a sweep of --concurrency (1, 8, 32) by --batch-size (10, 100) on 2,000 adds
each to its own feed and 5,000 over 1,000 feeds, and 1, 2 and 4 ``python -m relay --once``
processes started together on the 1,000-feed case (``--once`` runs one process whatever
--workers says). --quick: one pass, two sweep points, 2,000 adds for the process scaling.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

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
    from feed_outbox.write.payload import format_time

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


def run_relay(*args: str, processes: int = 1) -> tuple[float, float]:
    """Seconds from starting ``processes`` ``python -m relay --once`` to the last one's exit, and
    the CPU seconds (user + system) the relay processes themselves used: their own rusage from
    wait4, so neither the emulator nor PostgreSQL, which share the machine's cores, is counted."""
    started = time.perf_counter()
    errors = [tempfile.TemporaryFile("w+") for _ in range(processes)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "relay", "--once", *args],
            env={**os.environ, "PYTHONPATH": str(h.ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
        for err in errors
    ]
    cpu = 0.0
    for proc in procs:
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        cpu += usage.ru_utime + usage.ru_stime
    elapsed = time.perf_counter() - started
    for proc, err in zip(procs, errors, strict=True):
        with err:
            if proc.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"relay failed: {err.read()[-2000:]}")
    return elapsed, cpu


def stream_requests(base_url: str) -> int:
    """Stream API requests the emulator has served (its control pages are not counted)."""
    with urllib.request.urlopen(f"{base_url.rstrip('/')}/_emulator/stats") as response:
        return json.load(response)["total_requests"]


def measure(base_url, events, feeds, tag, runs, concurrency, batch_size, processes=1):
    """Throughput, requests per event and relay CPU seconds per 1,000 events of ``runs`` drains
    of a fresh backlog."""
    from feed_outbox.models import EventStatus, OutboxEvent

    rates, per_event, cpu = [], [], []
    for run in range(runs):
        write_backlog(events, feeds, f"{tag}r{run}x")
        before = stream_requests(base_url)
        seconds, cpu_seconds = run_relay(
            "--concurrency", str(concurrency), "--batch-size", str(batch_size), processes=processes
        )
        left = OutboxEvent.objects.exclude(status=EventStatus.DELIVERED).count()
        if left:
            raise RuntimeError(f"{left} events not delivered")
        rates.append(events / seconds)
        per_event.append((stream_requests(base_url) - before) / events)
        cpu.append(cpu_seconds / events * 1000)
    return rates, per_event, cpu


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--events", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--latencies", default="0,20")
    args = p.parse_args()
    runs = 1 if args.quick else 3
    # Concurrency 1 at 20 ms is ~50 requests/s: the sweep's backlogs are kept small.
    sweep_events = {"own feed each": 2_000, "1,000 feeds": 5_000}
    if args.quick:
        sweep_events = {"own feed each": 300, "1,000 feeds": 2_000}
    # (concurrency, batch size): the full grid, or a couple of points in a smoke run
    sweep = [(c, b) for c in (1, 8, 32) for b in (10, 100)]
    if args.quick:
        sweep = [(8, 10), (32, 100)]
    scale_events = 2_000 if args.quick else args.events
    figures = {}

    def record(label, rates, per_event, cpu, target=None):
        figures[label] = h.summary(rates, "events/s", target)
        figures[f"{label}: relay CPU"] = h.summary(cpu, "s/1,000 events")
        figures[f"{label}: requests/event"] = h.summary(per_event, "req/event")

    with h.scratch_database(h.database_url("relay")) as url:
        for latency in [int(x) for x in args.latencies.split(",")]:
            with h.emulator("--latency-ms", str(latency)) as base_url:
                h.setup_django(url, base_url)
                os.environ["STREAM_BASE_URL"] = base_url
                for name, feeds in CASES.items():
                    rates, per_event, cpu = measure(
                        base_url,
                        args.events,
                        feeds,
                        f"l{latency}",
                        runs,
                        args.concurrency,
                        args.batch_size,
                    )
                    target = {"op": ">=", "value": TARGETS[(latency, name)]}
                    label = f"{args.events:,} adds, {name}, {latency} ms latency"
                    record(label, rates, per_event, cpu, target)
        with h.emulator("--latency-ms", "20") as base_url:
            h.setup_django(url, base_url)
            os.environ["STREAM_BASE_URL"] = base_url
            for name in ("own feed each", "1,000 feeds"):
                for concurrency, batch_size in sweep:
                    rates, per_event, cpu = measure(
                        base_url,
                        sweep_events[name],
                        CASES[name],
                        f"s{name[0]}{concurrency}b{batch_size}",  # o(wn) or 1(,000)
                        runs,
                        concurrency,
                        batch_size,
                    )
                    label = (
                        f"{sweep_events[name]:,} adds, {name}, 20 ms, "
                        f"concurrency {concurrency}, batch {batch_size}"
                    )
                    record(label, rates, per_event, cpu)
            for processes in (1, 2, 4):
                rates, per_event, cpu = measure(
                    base_url,
                    scale_events,
                    CASES["1,000 feeds"],
                    f"p{processes}",
                    runs,
                    args.concurrency,
                    args.batch_size,
                    processes,
                )
                label = f"{scale_events:,} adds, 1,000 feeds, 20 ms, {processes} relay processes"
                record(label, rates, per_event, cpu)
    h.emit(
        {
            "title": "Relay throughput (python -m relay --once)",
            "figures": figures,
            "notes": [
                f"concurrency {args.concurrency}, batch size {args.batch_size} unless stated; "
                "relay start-up (Django setup) is included in the time",
                "requests/event: Stream requests the emulator served / events delivered",
                "relay CPU: user + system seconds of the relay processes themselves (wait4), "
                "per 1,000 events delivered, start-up included; the emulator's and "
                "PostgreSQL's are not in it",
                "N relay processes: N python -m relay --once started together, timed to the "
                "last exit (--once ignores --workers)",
            ],
        },
        args.json,
    )


if __name__ == "__main__":
    main()
