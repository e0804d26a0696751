"""Stream's request limits (per-endpoint rates, the batch size), and how long a queue of events
takes to drain under them. The relay reads its batch limit and its v2 requests from here
(relay.queries, relay.delivery.v2)."""

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
# The v2 request each outbox kind goes out in, which the relay plans by (relay.delivery.v2)
# and the drain estimate counts by: its LIMITS row, and which events of a claimed batch
# share one request (up to MAX_BATCH): "feed" those of one feed, "kind" all of the kind,
# None none. An update is an add of the same foreign_id and time (it overwrites in place).
V2_REQUESTS: dict[str, tuple[str, str | None]] = {
    "add": ("add_activities", "feed"),
    "update": ("add_activities", "feed"),
    "remove": ("remove", None),
    "follow": ("follow", "kind"),
    "unfollow": ("unfollow", "kind"),
}


def requests_for(events: Iterable[tuple[str, str]], batch_size: int = 100) -> Counter:
    """Requests per endpoint for ``(kind, feed)`` pairs in queue order, batched as V2_REQUESTS
    says within each claimed batch of ``batch_size``. An estimate: the relay also sends an
    update whose `to` changed alone, and follows of another activity_copy_limit apart."""
    calls: Counter = Counter()
    batch: list[tuple[str, str]] = []

    def flush() -> None:
        shared: Counter = Counter()
        for kind, feed in batch:
            row, shared_by = V2_REQUESTS.get(kind, (kind, None))
            if shared_by is None:
                calls[row] += 1
            else:
                shared[row, feed if shared_by == "feed" else ""] += 1
        for (row, _feed), n in shared.items():
            calls[row] += math.ceil(n / MAX_BATCH)
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
