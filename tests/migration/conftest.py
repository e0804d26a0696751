"""Reading every feed a reader reads, through stream-python, for the stream-django pattern tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def read_feed(stream_emulator):
    """``read_feed("timeline_aggregated:3")`` → the feed's activities, groups flattened."""
    from feed_outbox.client import get_client

    def read(feed: str, **params) -> list[dict]:
        slug, user_id = feed.split(":", 1)
        results = get_client().feed(slug, user_id).get(limit=100, **params)["results"]
        flat = []
        for entry in results:
            flat.extend(entry["activities"] if "activities" in entry else [entry])
        return flat

    return read


@pytest.fixture
def foreign_ids(read_feed):
    """``foreign_ids("notification:2")`` → the sorted foreign ids the feed holds."""

    def ids(feed: str) -> list[str]:
        return sorted(a["foreign_id"] for a in read_feed(feed))

    return ids
