"""Stream's per-endpoint rate limits, and how long a queue of events takes to drain under them."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# Requests per minute, per 15 minutes, per hour (Stream Feeds v2, per app and endpoint).
# Follows are not in Stream's published table; assume the strictest write limit.
LIMITS: dict[str, tuple[int, int, int]] = {
    "add_activities": (1_000, 12_000, 48_000),
    "remove": (300, 3_600, 14_400),
    "follow": (250, 3_000, 12_000),
    "unfollow": (250, 3_000, 12_000),
}
MAX_BATCH_ADD = 100


def requests_for(events: Iterable[tuple[str, str]], batch_size: int = 100) -> Counter:
    """Requests per endpoint for ``(kind, feed)`` pairs in queue order, batched like the relay:
    adds and updates of one feed within a claimed batch share a request (up to 100)."""
    calls: Counter = Counter()
    batch: list[tuple[str, str]] = []

    def flush() -> None:
        per_feed = Counter(feed for kind, feed in batch if kind in ("add", "update"))
        adds = sum(math.ceil(n / MAX_BATCH_ADD) for n in per_feed.values())
        if adds:
            calls["add_activities"] += adds
        for kind, _feed in batch:
            if kind not in ("add", "update"):
                calls[kind] += 1
        batch.clear()

    for pair in events:
        batch.append(pair)
        if len(batch) >= batch_size:
            flush()
    flush()
    return calls


def seconds_for(endpoint: str, requests: int) -> float:
    """Earliest time the last of ``requests`` calls can be made under every window."""
    if requests <= 0:
        return 0.0
    per_minute, per_15, per_hour = LIMITS[endpoint]
    return max(
        60.0 * requests / per_minute,
        900.0 * ((requests - 1) // per_15),
        3600.0 * ((requests - 1) // per_hour),
    )


@dataclass(frozen=True)
class DrainEstimate:
    requests: dict[str, int]
    seconds: float

    def describe(self) -> str:
        calls = ", ".join(f"{n:,} {name}" for name, n in sorted(self.requests.items()) if n)
        return f"~{_duration(self.seconds)} under Stream's rate limits ({calls or 'no requests'})"


def estimate_drain(events: Iterable[tuple[str, str]], batch_size: int = 100) -> DrainEstimate:
    """Endpoints are limited separately, so the slowest one sets the drain time."""
    calls = requests_for(events, batch_size)
    seconds = max((seconds_for(name, n) for name, n in calls.items()), default=0.0)
    return DrainEstimate(requests=dict(calls), seconds=seconds)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
