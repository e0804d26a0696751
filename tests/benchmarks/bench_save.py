"""Cost of tracking: median ``Tweet.objects.create()`` in its own transaction, tracked vs untracked.

Run on PostgreSQL (``DATABASE_URL``, default postgres://postgres@127.0.0.1:5432/feed_outbox):

    /tmp/v/bin/python tests/benchmarks/bench_save.py [--saves 3000]

It creates its own database (``<name>_bench_save``, with the NOTIFY trigger ``migrate``
installs), interleaves the modes save by save so drift in machine load hits all modes alike,
prints medians and the ratio, and drops the database. The reference mode adds a plain ORM
insert of a JSON row: what an outbox costs without any care (the issue measured ×1.33).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("FEED_OUTBOX_REQUIRE_POSTGRES", "1")


def _trigger_installed(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'feed_outbox_notify'")
        return cursor.fetchone()[0] == 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=3000, help="saves per mode")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 100 (make bench)")
    parser.add_argument(
        "--json", metavar="PATH", help="also write the medians as JSON (make bench)"
    )
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.per_round = 3, 100

    import django

    django.setup()
    from django.db import connection, transaction

    from tests import settings as test_settings

    if not test_settings.USING_POSTGRES:
        print(f"needs PostgreSQL: {test_settings.POSTGRES_PROBLEM}", file=sys.stderr)
        return 2
    db = connection.settings_dict
    db["ATOMIC_REQUESTS"] = False
    db["TEST"]["NAME"] = f"{db['NAME']}_bench_save"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from django.contrib.auth import get_user_model

        from feed_outbox.feed_manager import feed_manager
        from feed_outbox.models import OutboxEvent
        from feed_outbox.tracking import tracking_disabled
        from sample_app.models import Tweet

        user = get_user_model().objects.create(username="bench")
        Tweet.objects.filter(user=user).exists()  # warm the connection and the caches

        def tracked():
            with transaction.atomic():
                Tweet.objects.create(user=user, text="benchmark tweet")

        def untracked():
            with tracking_disabled(), transaction.atomic():
                Tweet.objects.create(user=user, text="benchmark tweet")

        def untracked_plus_orm_json_row():
            with tracking_disabled(), transaction.atomic():
                tweet = Tweet.objects.create(user=user, text="benchmark tweet")
                OutboxEvent.objects.create(
                    kind="add",
                    feed=f"user:{user.pk}",
                    ordering_key=f"sample_app.Tweet:{tweet.pk}",
                    payload={"actor": f"auth.User:{user.pk}", "text": tweet.text},
                )

        modes = {
            "untracked": untracked,
            "tracked": tracked,
            "untracked + ORM JSON row (reference)": untracked_plus_orm_json_row,
        }
        samples: dict[str, list[float]] = {name: [] for name in modes}
        for fn in modes.values():  # warm-up
            for _ in range(50):
                fn()
        # One save of each mode in turn: load from other processes hits every mode alike.
        for _ in range(args.saves):
            for name, fn in modes.items():
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
        notify_installed = _trigger_installed(connection)
        assert feed_manager.should_track(Tweet)

        medians = {name: statistics.median(values) * 1000 for name, values in samples.items()}
        print(
            f"Tweet.objects.create() in its own transaction, PostgreSQL, {args.saves} saves "
            f"per mode, interleaved; NOTIFY trigger installed: {notify_installed}"
        )
        for name, value in medians.items():
            print(f"  {name:40s} median {value:.3f} ms  x{value / medians['untracked']:.3f}")
        ratio = medians["tracked"] / medians["untracked"]
        reference = medians["untracked + ORM JSON row (reference)"] / medians["untracked"]
        print(f"  ratio tracked/untracked: x{ratio:.3f} (target x1.30; reference x{reference:.3f})")
        if args.json:
            import json

            result = {
                "title": "Write side: cost of tracking per save (bench_save)",
                "figures": {f"{k}": {"value": v, "unit": "ms/save"} for k, v in medians.items()},
                "ratios": {
                    "tracked / untracked": {
                        "value": ratio,
                        "unit": "×",
                        "target": {"op": "<=", "value": 1.30},
                    },
                    "reference ORM JSON row / untracked": {"value": reference, "unit": "×"},
                },
            }
            Path(args.json).write_text(json.dumps(result))
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
