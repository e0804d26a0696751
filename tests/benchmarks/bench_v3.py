"""Feeds v2 and v3 side by side: relay throughput and commit-to-feed latency, one run.

Run: python -m tests.benchmarks.bench_v3 [--quick] [--json PATH]
Throughput: a backlog of N adds over 200 feeds (one INSERT per API, then ANALYZE), drained by
``python -m relay --once --api v2`` and then ``--api v3`` (each a process, startup included).
v3 also creates each feed once (CreateFeedsBatch) before its first activity. Latency: tweets
saved one at a time with a sidecar relay per API running (``python -m relay``, LISTEN/NOTIFY),
from the commit to the moment a read of the author feed through each API's SDK shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tests.benchmarks import _harness as h


def _backlog(n: int, api: str) -> None:
    from django.db import connection

    from feed_outbox.models import EventKind, OutboxEvent
    from feed_outbox.write.outbox import enqueue, new_event

    events = [
        new_event(
            EventKind.ADD,
            f"user:b{i % 200}",
            f"bench.Item:{api}{i}",
            "bench",
            {
                "actor": f"auth.User:{i % 200}",
                "verb": "tweet",
                "object": f"bench.Item:{i}",
                "foreign_id": f"bench.Item:{api}{i}",
                "time": "2026-01-01T00:00:00.000000",
            },
        )
        for i in range(n)
    ]
    enqueue(events, apis=(api,))
    # What autovacuum does to a real table soon enough (as bench_relay does): otherwise the
    # first API drained meets a never-analyzed outbox and the second the statistics the
    # first one's slow claim refreshed (relay.queries._analyze_if_slow).
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboxEvent._meta.db_table}")


def _drain(api: str, env: dict) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "relay", "--once", "--api", api, "--batch-size", "100"],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def _visible(api: str, feed: str, foreign_id: str) -> bool:
    from django.test import override_settings

    from feed_outbox.feed_manager import feed_manager

    slug, user_id = feed.split(":")
    with override_settings(FEED_OUTBOX_READ_API=api):
        rows = feed_manager.get_feed(slug, user_id).get(limit=5)["results"]
    return any(r.get("foreign_id") == foreign_id for r in rows)


def main() -> int:
    args = h.parser(__doc__).parse_args()
    events = 2_000 if args.quick else 10_000
    samples = 10 if args.quick else 50
    result: dict = {
        "bench": "bench_v3",
        "title": f"Feeds v2 vs v3 ({events} adds, {samples} latency samples)",
        "figures": {},
    }
    with h.emulator() as url, h.scratch_database(h.database_url("v3")) as db:
        os.environ["FEED_OUTBOX_STREAM_API"] = "v2+v3"
        h.setup_django(db, url)
        from django.conf import settings

        settings.FEED_OUTBOX_STREAM_API = "v2+v3"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sample_app.settings"}
        for api in ("v2", "v3"):
            _backlog(events, api)
            seconds = _drain(api, env)
            result["figures"][f"throughput {api}"] = h.summary([events / seconds], "events/s")
        from django.contrib.auth import get_user_model

        from sample_app.models import Tweet

        author = get_user_model().objects.create(username="bench-author")
        relays = [
            subprocess.Popen(
                [sys.executable, "-m", "relay", "--api", api, "--poll-interval", "0.5"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for api in ("v2", "v3")
        ]
        try:
            time.sleep(3)  # both relays listening
            lat: dict[str, list[float]] = {"v2": [], "v3": []}
            for i in range(samples):
                tweet = Tweet.objects.create(user=author, text=f"latency {i}")
                committed = time.monotonic()
                key = f"sample_app.Tweet:{tweet.pk}"
                pending = {"v2", "v3"}
                while pending and time.monotonic() - committed < 10:
                    for api in list(pending):
                        if _visible(api, f"user:{author.pk}", key):
                            lat[api].append((time.monotonic() - committed) * 1000)
                            pending.discard(api)
            for api, values in lat.items():
                result["figures"][f"commit-to-feed {api}"] = h.summary(values, "ms")
        finally:
            for relay in relays:
                relay.terminate()
                relay.wait(timeout=15)
    h.emit(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
