"""Endpoints beyond feeds (enrichment, users, reactions, collections): only what is cheap."""

from __future__ import annotations

from typing import Any

from . import app_endpoints as app
from . import feed_endpoints as feed
from .routing import Call, Route


def enriched_feed(call: Call) -> dict[str, Any]:
    # without users/collections/reactions there is nothing to enrich: same data as a plain read
    return feed.get_feed(call)


def enriched_activities(call: Call) -> dict[str, Any]:
    return app.get_activities(call)


ROUTES = [
    Route("GET", ("enrich", "feed", "*", "*"), "get_enriched_feed", enriched_feed, "feed", True),
    Route(
        "GET",
        ("enrich", "activities"),
        "get_enriched_activities",
        enriched_activities,
        "activities",
    ),
]
