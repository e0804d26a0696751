"""Backlog after an outage: 60,000 pending adds over 600 feeds, under Stream's rate limits.

Run: python -m tests.benchmarks.bench_relay_backlog [--quick] [--json PATH] [--scale F]
The emulator enforces Stream's real limits (1,000 add requests per minute, 12,000 per 15 min,
48,000 per hour) with windows shortened F times. Batched per feed, the backlog is 600
requests: 36 s of Stream time at 1,000/min, i.e. 36/F s here; the target is 1.5x that. One
``python -m relay --once`` drains it; 429s surfaced as failures and dead letters must be 0.
"""

from __future__ import annotations

import json
import time
import urllib.request

from tests.benchmarks import _harness as h
from tests.benchmarks.bench_relay import run_relay, write_backlog

EVENTS, FEEDS, PER_MINUTE = 60_000, 600, 1_000


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args()
    events = EVENTS // 10 if args.quick else EVENTS
    limit_s = (events / 100) / PER_MINUTE * 60 / args.scale  # batched requests at the limit
    emulator_args = ("--rate-limits", "stream", "--rate-limit-scale", str(args.scale))
    with h.scratch_database(h.database_url("backlog")) as url, h.emulator(*emulator_args) as base:
        h.setup_django(url, base)
        from feed_outbox.models import EventStatus, OutboxEvent

        write_backlog(events, FEEDS, "b")
        started = time.perf_counter()
        seconds, cpu_seconds = run_relay("--concurrency", str(args.concurrency))
        drain = time.perf_counter() - started
        with urllib.request.urlopen(f"{base}/_emulator/stats", timeout=30) as response:
            stats = json.loads(response.read())
        dead = OutboxEvent.objects.filter(status=EventStatus.DEAD).count()
        failed = OutboxEvent.objects.exclude(last_error="").count()
        left = OutboxEvent.objects.filter(status=EventStatus.PENDING).count()
    h.emit(
        {
            "title": f"Backlog drain: {events:,} adds over {FEEDS} feeds, limits scaled x{args.scale:g}",
            "figures": {
                "drain time (relay process, start to exit)": {
                    "value": seconds,
                    "unit": "s",
                    "target": {"op": "<=", "value": 1.5 * limit_s},
                },
                "physical limit (batched requests at 1,000/min)": {"value": limit_s, "unit": "s"},
                "relay CPU": {"value": cpu_seconds / events * 1000, "unit": "s/1,000 events"},
                "add requests made": {
                    "value": stats["requests"].get("add_activity", 0),
                    "unit": "",
                },
                "429 answers (waited out, not failures)": {
                    "value": stats["rate_limited"],
                    "unit": "",
                },
                "events with an error recorded": {"value": failed, "unit": ""},
                "dead letters": {"value": dead, "unit": ""},
                "left pending": {"value": left, "unit": ""},
            },
            "notes": [f"wall time including the emulator stats call: {drain:.1f} s"],
        },
        args.json,
    )


if __name__ == "__main__":
    main()
