"""Claim cost when much of the backlog is held back by causal order across keys: 100,000 pending events, half of
them blocked — behind an older event of their key, behind a pending follow of their feed,
leased to another relay, or backing off — against the claim with no backlog.

Run: python -m tests.benchmarks.bench_claim_blocked [--quick] [--json PATH]
Layouts: "interleaved" mixes blocked and claimable events in id order (a busy outbox);
"blocked first" puts all 50,000 blocked events before the claimable ones (the worst case for
a claim that scans pending events in id order: an outage whose backlog is all held). Before
the claims, park passes run until nothing more parks (what the relay's loop does between
claims; their cost is printed). Each claim is rolled back, so every run claims the same rows.
Prints the plan of one claim per layout.
"""

from __future__ import annotations

import time

from tests.benchmarks import _harness as h
from tests.benchmarks import bench_claim

TABLE = "feed_outbox_outboxevent"
FOLLOWED_FEEDS = 500

# Pending follows of feeds "user:fN", leased to a relay that holds them: what sits behind them
# waits. They come first (oldest ids).
FOLLOWS = f"""
INSERT INTO {TABLE} (kind, feed, ordering_key, aggregate_type, payload, status, attempts,
                     created_at, lease_owner, lease_token, lease_expires_at, last_error)
SELECT 'follow', 'timeline:' || g, 'follow:timeline:' || g || '>user:f' || g, 'follow',
       jsonb_build_object('target', 'user:f' || g), 'pending', 1, now(),
       'holder', gen_random_uuid(), now() + interval '1 hour', ''
FROM generate_series(1, {FOLLOWED_FEEDS}) AS g
"""

# One row per g: class c = g % 8 for "interleaved" (0-3 claimable, 4 behind its key, 5 behind
# a follow, 6 leased, 7 backing off); for "blocked first", rows 1..n/2 are blocked (c = 4 + g % 4)
# and the rest claimable. A class-4 row shares its key with an older row: g - 4 (claimable)
# interleaved, g - 1 (backing off) blocked first.
EVENTS = f"""
INSERT INTO {TABLE} (kind, feed, ordering_key, aggregate_type, payload, status, attempts,
                     created_at, available_at, lease_owner, lease_token, lease_expires_at,
                     last_error)
SELECT 'add',
       CASE WHEN c = 5 THEN 'user:f' || (1 + g %% {FOLLOWED_FEEDS}) ELSE 'user:' || (g %% 1000) END,
       'bench.Item:' || CASE WHEN c = 4 THEN k - %(partner)s ELSE k END, 'bench.Item',
       jsonb_build_object('foreign_id', 'bench.Item:' || g, 'verb', 'tweet',
                          'time', '2026-01-01T00:00:00.000000'),
       'pending', CASE WHEN c IN (6, 7) THEN 1 ELSE 0 END, now(),
       CASE WHEN c = 7 THEN now() + interval '1 hour' END,
       CASE WHEN c = 6 THEN 'holder' ELSE '' END,
       CASE WHEN c = 6 THEN gen_random_uuid() END,
       CASE WHEN c = 6 THEN now() + interval '1 hour' END, ''
FROM (
    SELECT g, g AS k,
           CASE WHEN %(layout)s = 'interleaved' THEN g %% 8
                WHEN g <= %(rows)s / 2 THEN 4 + g %% 4
                ELSE g %% 4 END AS c
    FROM generate_series(1, %(rows)s) AS g
) s
ORDER BY g
"""


def reset(rows: int, layout: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")
        if rows:
            cursor.execute(FOLLOWS)
            partner = 4 if layout == "interleaved" else 1
            cursor.execute(EVENTS, {"rows": rows, "layout": layout, "partner": partner})
        cursor.execute(f"VACUUM ANALYZE {TABLE}")


def nothing_behind_a_held_follow(lease) -> None:
    blocked = [e for e in lease.events if e.feed.startswith("user:f")]
    assert not blocked, "a claim handed out an event behind a held follow"


def claim_times(runs: int) -> list[float]:
    return bench_claim.claim_times(runs, check=nothing_behind_a_held_follow)


def baseline(runs: int) -> list[float]:
    """No backlog: 100 claimable events of 100 feeds, nothing else pending."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {TABLE}")
        cursor.execute(
            f"""INSERT INTO {TABLE} (kind, feed, ordering_key, aggregate_type, payload, status,
                    attempts, created_at, lease_owner, last_error)
                SELECT 'add', 'user:' || g, 'bench.Item:' || g, 'bench.Item',
                       jsonb_build_object('foreign_id', 'bench.Item:' || g), 'pending', 0,
                       now(), '', ''
                FROM generate_series(1, 100) AS g"""
        )
        cursor.execute(f"VACUUM ANALYZE {TABLE}")
    return claim_times(runs)


def main() -> None:
    p = h.parser(__doc__)
    p.add_argument("--rows", type=int, default=100_000, help="pending events (half blocked)")
    args = p.parse_args()
    runs = 5 if args.quick else 30
    rows = 20_000 if args.quick else args.rows
    figures, ratios, plans = {}, {}, []
    with h.scratch_database(h.database_url("claim_blocked")) as url:
        h.setup_django(url)
        from django.db import connection

        from relay import queries

        empty = baseline(runs)
        figures["claim, no backlog (ms)"] = h.summary(empty, "ms")
        for layout in ("interleaved", "blocked first"):
            reset(rows, layout)
            # What a running relay's loop does between claims (relay.maintenance.Maintenance.park).
            passes, parked, started = 0, 0, time.perf_counter()
            while (done := queries.park()) and passes < 1000:
                passes, parked = passes + 1, parked + done
            park_ms = (time.perf_counter() - started) * 1000
            figures[f"park, {layout}: {parked:,} events in {passes} passes (ms per pass)"] = (
                h.summary([park_ms / max(passes, 1)], "ms")
            )
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {TABLE}")
            times = claim_times(runs)
            figures[f"claim, {rows:,} pending, half blocked, {layout} (ms)"] = h.summary(
                times, "ms"
            )
            target = {"op": "<=", "value": 2.0}
            ratios[f"{layout} / no backlog"] = h.summary(
                [t / e for t, e in zip(sorted(times), sorted(empty), strict=True)], "x", target
            )
            plans.append(f"-- {layout}\n" + queries.explain_claim(100)[0])
    print("\n\n".join(plans))
    h.emit(
        {
            "title": f"Claim of 100 events with {rows:,} pending, half of them blocked",
            "figures": figures,
            "ratios": ratios,
        },
        args.json,
    )


if __name__ == "__main__":
    main()
