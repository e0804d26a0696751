"""Save path: one Tweet created in its own transaction with tracking off, through the outbox, and
published synchronously from post_save the way stream-django 1.8 does, at 0 and 20 ms latency.

Run: python -m tests.benchmarks.bench_save_path [--quick] [--json PATH]
The three variants alternate save by save, so each ratio compares saves taken side by side.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
import time
from collections.abc import Iterator
from typing import Any

from tests.benchmarks import _harness as h

VARIANTS = ("off", "outbox", "sync")
LABELS = {
    "off": "(a) tracking off",
    "outbox": "(b) outbox",
    "sync": "(c) stream-django sync publish",
}
LATENCIES_MS = (0, 20)


class SyncPublish:
    """stream-django 1.8's post_save path, rewritten: ``FeedManager.activity_created`` →
    ``add_activity_to_feed`` → ``stream_client.feed(...).add_activity(...)``, inside the save's
    transaction. ``client`` None means switched off."""

    def __init__(self) -> None:
        self.client: Any = None

    def activity_created(self, sender, instance, created, raw=False, **kwargs) -> Any:
        if self.client is not None and created and not raw:
            return self.add_activity_to_feed(instance)
        return None

    def add_activity_to_feed(self, instance) -> Any:
        activity = instance.create_activity()
        feed_type = instance.activity_author_feed or "user"  # get_actor_feed()
        feed = self.client.feed(feed_type, instance.activity_actor_id)
        return feed.add_activity(activity)


@contextlib.contextmanager
def variant(name: str, publisher: SyncPublish, client: Any) -> Iterator[None]:
    from feed_outbox.tracking import tracking_disabled

    if name == "outbox":
        yield
        return
    with tracking_disabled():
        publisher.client = client if name == "sync" else None
        try:
            yield
        finally:
            publisher.client = None


def save_once(user, text: str) -> float:
    from django.db import transaction

    from sample_app.models import Tweet

    start = time.perf_counter()
    with transaction.atomic():
        Tweet.objects.create(user=user, text=text)
    return time.perf_counter() - start


def measure(publisher: SyncPublish, client: Any, user, saves: int, reps: int) -> dict:
    """Per repetition: the median save time of each variant, interleaved save by save."""
    per_rep: dict[str, list[float]] = {v: [] for v in VARIANTS}
    counter = itertools.count()
    for name in VARIANTS:  # warm up: connections, the emulator's feed, statement caches
        for _ in range(5):
            with variant(name, publisher, client):
                save_once(user, f"warm-up {next(counter)}")
    for _ in range(reps):
        samples: dict[str, list[float]] = {v: [] for v in VARIANTS}
        for i in range(saves):
            # rotate the order so no variant always runs right after another
            shift = i % len(VARIANTS)
            for name in VARIANTS[shift:] + VARIANTS[:shift]:
                with variant(name, publisher, client):
                    samples[name].append(save_once(user, f"tweet {next(counter)}"))
        for name in VARIANTS:
            per_rep[name].append(statistics.median(samples[name]))
    return per_rep


def run(quick: bool = False) -> dict:
    saves, reps = (30, 3) if quick else (200, 7)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(h.scratch_database(h.database_url("save")))
        urls = {ms: stack.enter_context(h.emulator("--latency-ms", str(ms))) for ms in LATENCIES_MS}
        h.setup_django(url, base_url=urls[0])
        import stream
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from sample_app.models import Tweet

        publisher = SyncPublish()
        post_save.connect(publisher.activity_created, sender=Tweet, weak=False)
        user = get_user_model().objects.create_user("bench", password="bench")
        figures, ratios = {}, {}
        for ms in LATENCIES_MS:
            client = stream.connect(h.API_KEY, h.API_SECRET, base_url=urls[ms])
            per_rep = measure(publisher, client, user, saves, reps)
            for name in VARIANTS:
                ms_values = [s * 1000 for s in per_rep[name]]
                figures[f"{LABELS[name]} @ {ms} ms"] = h.summary(ms_values, "ms/save")
            pairs = zip(per_rep["outbox"], per_rep["off"], strict=True)
            ratios[f"(b)/(a) outbox vs tracking off @ {ms} ms"] = h.summary(
                [b / a for b, a in pairs], "×", {"op": "<=", "value": 1.30}
            )
            pairs = zip(per_rep["sync"], per_rep["outbox"], strict=True)
            ratios[f"(c)/(b) sync publish vs outbox @ {ms} ms"] = h.summary(
                [c / b for c, b in pairs], "×"
            )
    return {
        "title": "1. Save path: one Tweet per transaction (median of per-run medians)",
        "figures": figures,
        "ratios": ratios,
        "notes": [
            f"{reps} runs × {saves} saves per variant, variants interleaved save by save",
            "the write-side work's reference for (c)/(b) with a plain outbox insert: ≈ 2.3× at 0 ms, "
            "≈ 22× at 20 ms",
            "no relay runs during the measurement: (b) is the request path only",
        ],
    }


def main() -> None:
    args = h.parser(__doc__).parse_args()
    h.emit(run(quick=args.quick), args.json)


if __name__ == "__main__":
    main()
