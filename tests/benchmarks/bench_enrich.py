"""Enrichment: queries and time to enrich a 25-activity page of tweets, likes and retweets, flat
and aggregated, with feed-outbox's Enrich and with stream-django 1.8's algorithm on the same data.

Run: python -m tests.benchmarks.bench_enrich [--quick] [--json PATH]
The page is read from the emulator after the relay published the sample app's activities.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import itertools
import statistics
import time
from collections import defaultdict
from typing import Any

from tests.benchmarks import _harness as h

PAGE = 25
AUTHORS = 8


class StreamDjangoEnrich:
    """stream-django 1.8's Enrich, rewritten for comparison: any ``a:b`` string is a reference;
    ids are grouped by content type, one ``Model.objects[.select_related].in_bulk`` each."""

    def __init__(self, fields=("actor", "object")) -> None:
        self.fields = fields

    @staticmethod
    def _ref(activity: dict, field: str) -> tuple[str, str] | None:
        value = activity.get(field)
        parts = value.split(":") if value else ()
        return (parts[0], parts[1]) if len(parts) == 2 else None

    def _collect(self, activities: list[dict]) -> dict[str, list[str]]:
        refs: dict[str, list[str]] = defaultdict(list)
        for activity, field in itertools.product(activities, self.fields):
            ref = self._ref(activity, field)
            if ref:
                refs[ref[0]].append(ref[1])
        return refs

    def _fetch(self, refs: dict[str, list[str]]) -> dict[str, dict]:
        from django.apps import apps

        objects = {}
        for content_type, ids in refs.items():
            model = apps.get_model(*content_type.split("."))
            qs = model.objects
            related = getattr(model, "activity_related_models", None)
            if related is not None and related() is not None:
                qs = qs.select_related(*related())
            objects[content_type] = qs.in_bulk(set(ids))
        return objects

    def _inject(self, activities: list[dict], objects: dict[str, dict]) -> None:
        from django.apps import apps

        for activity, field in itertools.product(activities, self.fields):
            ref = self._ref(activity, field)
            if not ref:
                continue
            model = apps.get_model(*ref[0].split("."))
            instance = objects[ref[0]].get(model._meta.pk.to_python(ref[1]))
            if instance is not None:  # stream-django also tracks the miss; not timed here
                activity[field] = instance

    def enrich_activities(self, activities: list[dict]) -> list[dict]:
        self._inject(activities, self._fetch(self._collect(activities)))
        return activities

    def enrich_aggregated_activities(self, groups: list[dict]) -> list[dict]:
        inner = [a for group in groups for a in group["activities"]]
        self._inject(inner, self._fetch(self._collect(inner)))
        return groups


def seed() -> int:
    """Authors who tweet, like and retweet each other over 9 days; a reader following them all.

    Returns the reader's id once the relay (drained in-process) has published everything.
    """
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from feed_outbox.testing import drain_outbox
    from sample_app.models import Follow, Like, Retweet, Tweet

    users = get_user_model().objects
    reader = users.create_user("reader", password="bench")
    authors = [users.create_user(f"author{i}", password="bench") for i in range(AUTHORS)]
    for author in authors:
        Follow.objects.follow(reader, author)
    drain_outbox()
    now = timezone.now()
    for day, author in itertools.product(range(9), authors):
        when = now - dt.timedelta(days=day, minutes=author.pk)
        tweet = Tweet.objects.create(user=author, text=f"day {day}", created_at=when)
        other = authors[(authors.index(author) + 1) % AUTHORS]
        Like.objects.create(user=other, tweet=tweet, created_at=when)
        if day % 2:
            Retweet.objects.create(user=other, tweet=tweet, created_at=when)
    drain_outbox()
    return reader.pk


def pages(reader_id: int) -> dict[str, list[dict]]:
    """The flat page (25 activities) and aggregated groups holding 25 activities in all."""
    from feed_outbox.feed_manager import feed_manager

    feeds = feed_manager.get_news_feeds(reader_id)
    flat = feeds["timeline"].get(limit=PAGE)["results"]
    groups, left = [], PAGE
    for group in feeds["timeline_aggregated"].get(limit=PAGE)["results"]:
        if left <= 0:
            break
        group = {**group, "activities": group["activities"][:left]}
        left -= len(group["activities"])
        groups.append(group)
    if len(flat) != PAGE or left:
        raise RuntimeError(f"seeded feeds hold too little: {len(flat)} flat, {PAGE - left} grouped")
    verbs = {a["verb"] for a in flat}
    if verbs != {"tweet", "like", "retweet"}:
        raise RuntimeError(f"the flat page should mix three model types, has {verbs}")
    return {"flat": flat, "aggregated": groups}


def enrich(impl: Any, kind: str, page: list[dict]) -> Any:
    if kind == "flat":
        return impl.enrich_activities(page)
    return impl.enrich_aggregated_activities(page)


def queries(impl: Any, kind: str, page: list[dict]) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        enrich(impl, kind, copy.deepcopy(page))
    return len(captured.captured_queries)


def run(quick: bool = False) -> dict:
    reps, calls = (3, 50) if quick else (7, 300)
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(h.scratch_database(h.database_url("enrich")))
        h.setup_django(url, base_url=stack.enter_context(h.emulator()))
        from feed_outbox.enrich import Enrich

        impls = {"feed-outbox": Enrich(), "stream-django": StreamDjangoEnrich()}
        figures, ratios = {}, {}
        for kind, page in pages(seed()).items():
            for name, impl in impls.items():
                counts = [queries(impl, kind, page) for _ in range(reps)]
                figures[f"{name} {kind}: queries"] = h.summary(counts, "queries")
            per_rep: dict[str, list[float]] = {name: [] for name in impls}
            for _ in range(reps):
                samples: dict[str, list[float]] = {name: [] for name in impls}
                for i in range(calls):
                    for name in list(impls)[i % 2 :] + list(impls)[: i % 2]:
                        data = copy.deepcopy(page)  # enrichment replaces references in place
                        start = time.perf_counter()
                        enrich(impls[name], kind, data)
                        samples[name].append(time.perf_counter() - start)
                for name in impls:
                    per_rep[name].append(statistics.median(samples[name]))
            for name in impls:
                figures[f"{name} {kind}: time"] = h.summary(
                    [s * 1000 for s in per_rep[name]], "ms/page"
                )
            pairs = zip(per_rep["feed-outbox"], per_rep["stream-django"], strict=True)
            ratios[f"enrich {kind}: feed-outbox / stream-django time"] = h.summary(
                [ours / theirs for ours, theirs in pairs], "×"
            )
    return {
        "title": "6. Enrichment of a 25-activity page (tweets, likes, retweets)",
        "figures": figures,
        "ratios": ratios,
        "notes": [
            f"{reps} runs × {calls} enrichments per implementation, alternating",
            "both load one query per referenced model (actors are users, objects tweets); "
            "feed-outbox also validates each reference against allowed models",
        ],
    }


def main() -> None:
    args = h.parser(__doc__).parse_args()
    h.emit(run(quick=args.quick), args.json)


if __name__ == "__main__":
    main()
