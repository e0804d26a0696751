"""Reading feeds: a page of a flat feed by offset or id bounds, and the groups of aggregated feeds."""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from typing import Any

from .. import aggregation
from ..jsonraw import SEPARATORS, RawList
from .activities import format_epoch, sort_key_for_id
from .store import Feed, Store


def position(store: Store, aid: str) -> tuple[str, str]:
    data = store.activities.get(aid)
    if data is not None:
        return data["time"], aid
    return sort_key_for_id(aid)


def read_flat(store: Store, feed: Feed, limit: int, offset: int, bounds: dict[str, str]) -> RawList:
    """A page newest first, as pre-encoded JSON objects (reads dominate; encode once)."""
    order = feed.order
    low, high = 0, len(order)
    if "id_lt" in bounds:
        high = min(high, bisect_left(order, position(store, bounds["id_lt"])))
    if "id_lte" in bounds:
        high = min(high, bisect_right(order, position(store, bounds["id_lte"])))
    if "id_gt" in bounds:
        low = max(low, bisect_right(order, position(store, bounds["id_gt"])))
    if "id_gte" in bounds:
        low = max(low, bisect_left(order, position(store, bounds["id_gte"])))
    stop = high - offset
    start = max(low, stop - limit)
    results = RawList()
    encoded, entries = store.encoded, feed.entries
    for index in range(stop - 1, start - 1, -1):
        aid = order[index][1]
        head = encoded.get(aid)
        if head is None:
            activity = store.activities[aid]
            head = encoded[aid] = json.dumps(
                activity, default=str, allow_nan=False, separators=SEPARATORS
            )[:-1]
        origin = entries[aid][0]
        # feed ids are [\w-]+:[\w-]+, safe to quote without escaping
        results.append(f'{head},"origin":"{origin}"}}' if origin else head + ',"origin":null}')
        results.last_id = aid
    return results


def read_groups(store: Store, feed: Feed) -> list[dict[str, Any]]:
    activities, entries = store.activities, feed.entries
    rows = ((activities[aid], entries[aid][0], entries[aid][1]) for _t, aid in feed.newest_first())
    groups = aggregation.build_groups(feed.fid, feed.group.aggregation_format, rows, format_epoch)
    return groups
