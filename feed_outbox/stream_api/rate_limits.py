"""Stream's request limits (per-endpoint rates, the batch size), and how long a queue of events
takes to drain under them. The relay reads its batch limit from here (relay.queries, .publisher)."""

from __future__ import annotations

import bisect
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

# Requests per minute, per 15 minutes, per hour (Stream Feeds v2, per app and endpoint).
# Follows are not in Stream's published table; assume the strictest write limit.
LIMITS: dict[str, tuple[int, int, int]] = {
    "add_activities": (1_000, 12_000, 48_000),
    "remove": (300, 3_600, 14_400),
    "follow": (250, 3_000, 12_000),
    "unfollow": (250, 3_000, 12_000),
    # Reads, from the same table (https://getstream.io/activity-feeds/docs/node/rate_limit/):
    # "Reading Feeds" and "Reading Followed Feeds". Commands that read every feed pace to them.
    "read_feed": (2_000, 24_000, 96_000),
    "read_following": (500, 6_000, 24_000),
}
# Stream's largest add_activities, follow_many and unfollow_many (activities or follows).
MAX_BATCH = 100
# The relay's request for each kind batched like adds (relay.publisher.plan_calls); a remove is
# a request of its own. tests/relay/test_publisher.py holds requests_for equal to plan_calls.
_BATCHED = {"follow": "follow", "unfollow": "unfollow"}


def requests_for(events: Iterable[tuple[str, str]], batch_size: int = 100) -> Counter:
    """Requests per endpoint for ``(kind, feed)`` pairs in queue order, batched like the relay:
    adds and updates of one feed within a claimed batch share a request, and so do its follows
    and its unfollows (each up to MAX_BATCH)."""
    calls: Counter = Counter()
    batch: list[tuple[str, str]] = []

    def flush() -> None:
        per_feed = Counter(feed for kind, feed in batch if kind in ("add", "update"))
        adds = sum(math.ceil(n / MAX_BATCH) for n in per_feed.values())
        if adds:
            calls["add_activities"] += adds
        per_kind = Counter(kind for kind, _feed in batch if kind in _BATCHED)
        for kind, n in per_kind.items():
            calls[_BATCHED[kind]] += math.ceil(n / MAX_BATCH)
        for kind, _feed in batch:
            if kind not in ("add", "update") and kind not in _BATCHED:
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


class RequestPacer:
    """Keeps a command's own requests of ``endpoint`` within Stream's three windows: ``wait()``
    before each request sleeps until one more fits (the relay paces by response headers
    instead; a command reading through stream-python cannot see them)."""

    def __init__(
        self,
        endpoint: str,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._windows = list(zip((60.0, 900.0, 3600.0), LIMITS[endpoint], strict=True))
        self._sent: list[float] = []  # send times, ascending
        self._clock = clock
        self._sleep = sleep
        self.waited = 0.0

    def wait(self) -> None:
        while True:
            now = self._clock()
            sent = self._sent
            if sent and now - sent[0] >= 3600.0:
                del sent[: bisect.bisect_right(sent, now - 3600.0)]
            delay = 0.0
            for span, limit in self._windows:
                if len(sent) - bisect.bisect_right(sent, now - span) >= limit:
                    # the request that must leave the window before one more fits
                    delay = max(delay, sent[len(sent) - limit] + span - now)
            if delay <= 0:
                self._sent.append(now)
                return
            self.waited += delay
            self._sleep(delay)
