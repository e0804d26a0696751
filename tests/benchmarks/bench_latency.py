"""Commit-to-feed latency: from COMMIT returning to the activity applied in the emulator.

Run: python -m tests.benchmarks.bench_latency [--quick] [--json PATH] [--transactions N]
One relay process runs as a sidecar; this process commits N single-event transactions, spaced
like live traffic (5-15 ms apart). Each activity's latency is the emulator's write-log time
minus the commit time (one machine, one clock). Two modes: LISTEN/NOTIFY (the write side's
trigger) with the default 1 s polling floor, and --poll-only at --poll-interval.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request

from tests.benchmarks import _harness as h


def start_relay(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "relay", *args],
        env={**os.environ, "PYTHONPATH": str(h.ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def emulator_log(base_url: str) -> list[dict]:
    with urllib.request.urlopen(f"{base_url}/_emulator/log", timeout=30) as response:
        return json.loads(response.read())["log"]


def measure(base_url: str, transactions: int, tag: str, relay_args: list[str]) -> list[float]:
    from django.db import transaction

    from feed_outbox.models import EventStatus, OutboxEvent
    from tests.benchmarks.bench_relay import add_event

    relay = start_relay(*relay_args)
    try:
        time.sleep(3.0)  # Django setup, LISTEN, first empty claim
        committed: dict[str, float] = {}
        for i in range(transactions):
            key = f"bench.Item:{tag}{i}"
            with transaction.atomic():
                add_event(f"user:{tag}{i % 50}", key, i).save()
            committed[key] = time.time()
            time.sleep(random.uniform(0.005, 0.015))
        deadline = time.monotonic() + 60
        while OutboxEvent.objects.filter(status=EventStatus.PENDING).exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the relay did not deliver everything within 60 s")
            time.sleep(0.1)
    finally:
        relay.send_signal(signal.SIGTERM)
        relay.wait(timeout=30)
    applied = {row["foreign_id"]: row["at"] for row in emulator_log(base_url)}
    return [(applied[key] - at) * 1000 for key, at in committed.items()]


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--transactions", type=int, default=1000)
    p.add_argument("--poll-interval", type=float, default=1.0)
    args = p.parse_args()
    n = 200 if args.quick else args.transactions
    figures = {}
    with h.scratch_database(h.database_url("latency")) as url, h.emulator() as base_url:
        h.setup_django(url, base_url)
        listen = measure(base_url, n, "l", [])
        poll = measure(
            base_url, n, "p", ["--poll-only", "--poll-interval", str(args.poll_interval)]
        )
    for name, values, p50, p99 in (
        ("LISTEN/NOTIFY", listen, 15, 60),
        (f"poll only, every {args.poll_interval:g} s", poll, None, args.poll_interval * 1000 + 100),
    ):
        figures[f"{name}: p50"] = {
            "value": h.percentile(values, 50),
            "unit": "ms",
            **({"target": {"op": "<=", "value": p50}} if p50 else {}),
        }
        figures[f"{name}: p99"] = {
            "value": h.percentile(values, 99),
            "unit": "ms",
            "target": {"op": "<=", "value": p99},
        }
        figures[f"{name}: max"] = {"value": max(values), "unit": "ms"}
    h.emit(
        {
            "title": f"Commit-to-feed latency over {n:,} single-event transactions",
            "figures": figures,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
