"""Claim plan and cost as history grows: the claim statement over 0, 100k and 1M delivered rows.

Run: python -m tests.benchmarks.bench_claim [--quick] [--json PATH] [--delivered N,N...]
Prints the EXPLAIN (ANALYZE, BUFFERS) plan of one claim of 100 events with 10,000 pending
rows, then the claim's time with no history and with each number of delivered rows (rolled
back each time, so every run claims the same rows; --quick: 10k and 100k). The partial indexes
over pending rows keep it flat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from tests.benchmarks import _harness as h

INSERT = """
INSERT INTO feed_outbox_outboxevent
    (kind, feed, ordering_key, aggregate_type, payload, status, attempts, created_at,
     available_at, lease_owner, delivered_at, last_error)
SELECT 'add', 'user:' || (g %% 1000), 'bench.Item:' || %(prefix)s || g, '',
       jsonb_build_object('foreign_id', 'bench.Item:' || g, 'verb', 'tweet'),
       %(status)s, 1, now(), now(), '', CASE WHEN %(status)s = 'delivered' THEN now() END, ''
FROM generate_series(1, %(rows)s) AS g
"""


def insert(rows: int, status: str, prefix: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(INSERT, {"rows": rows, "status": status, "prefix": prefix})
        # What autovacuum does to a steady-state table (and not while we measure).
        cursor.execute("VACUUM ANALYZE feed_outbox_outboxevent")


def claim_times(runs: int, check: Callable[[Any], None] | None = None) -> list[float]:
    """Milliseconds of each of ``runs`` claims of 100 (rolled back); ``check(lease)`` after each."""
    from django.db import transaction

    from relay import queries

    times = []
    for _ in range(runs):
        with transaction.atomic():
            started = time.perf_counter()
            lease = queries.claim_batch("bench", 100, 30.0)
            times.append((time.perf_counter() - started) * 1000)
            assert len(lease) == 100
            if check is not None:
                check(lease)
            transaction.set_rollback(True)
    return times


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--delivered", help="delivered rows, comma separated (default 100000,1000000)")
    args = p.parse_args()
    runs = 5 if args.quick else 30
    default = "10000,100000" if args.quick else "100000,1000000"
    levels = sorted(int(x) for x in (args.delivered or default).split(","))
    figures = {}
    with h.scratch_database(h.database_url("claim")) as url:
        h.setup_django(url)
        insert(10_000, "pending", "p")
        empty = claim_times(runs)
        figures["claim, no history (ms)"] = h.summary(empty, "ms")
        have = 0
        for level in levels:  # history grows: insert only what the previous level lacks
            insert(level - have, "delivered", f"d{level}_")
            have = level
            full = claim_times(runs)
            figures[f"claim, {level:,} delivered rows (ms)"] = h.summary(full, "ms")
        from relay import queries

        plan, cost = queries.explain_claim(100)
    print(plan)
    figures["planner cost of the claim statement"] = {"value": cost, "unit": ""}
    h.emit(
        {
            "title": f"Claim of 100 events, 10,000 pending, up to {levels[-1]:,} delivered rows",
            "figures": figures,
            "ratios": {
                f"{levels[-1]:,} delivered rows / no history": h.summary(
                    [f / e for f, e in zip(sorted(full), sorted(empty), strict=True)],
                    "x",
                    {"op": "<=", "value": 1.5},
                )
            },
        },
        args.json,
    )


if __name__ == "__main__":
    main()
