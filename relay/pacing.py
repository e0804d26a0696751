"""Stream's rate limits as the relay sees them: X-Ratelimit-* of every response, shared by threads.

Each bucket (add, remove, follow, ...) remembers the latest window's reset time and how many
requests it still allows; a sender takes one before each request and waits for the reset when
none is left, so a backlog runs at the highest rate Stream allows without meeting a 429.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from relay.exceptions import RateLimited

# Clocks of Stream and the relay differ a little, and resets are whole seconds.
RESET_MARGIN = 0.05
# A 429 without a usable reset header: wait this long before trying again.
DEFAULT_WAIT = 1.0
# Waits are sliced so a sender notices its lease is gone (or the relay is stopping).
WAIT_SLICE = 0.5


@dataclass
class _Window:
    reset: float  # Unix time the window ends
    remaining: int  # requests it still allows, counting ours in flight


class RateLimitPacer:
    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[str, float], None] | None = None,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}

    def observe(self, bucket: str, headers: Mapping[str, str]) -> None:
        """Record a response's X-Ratelimit-Remaining/Reset (responses may arrive out of order)."""
        try:
            remaining = int(headers["X-Ratelimit-Remaining"])
            reset = float(headers["X-Ratelimit-Reset"])
        except (KeyError, TypeError, ValueError):
            return
        with self._lock:
            window = self._windows.get(bucket)
            if window is None or reset > window.reset:
                self._windows[bucket] = _Window(reset, remaining)
            elif reset == window.reset:
                window.remaining = min(window.remaining, remaining)

    def exhausted(self, bucket: str, headers: Mapping[str, str]) -> None:
        """A 429: nothing is left until the reset the response names (or a short default).

        The reset is X-Ratelimit-Reset (Unix seconds), else Retry-After (seconds from now):
        Stream sends the X-Ratelimit-* headers on v2 and v3 (the getstream SDK reads them on
        every answer, getstream/rate_limit.py) and the SDK also reads a 429's Retry-After
        (StreamRateLimitException.retry_after); an HTTP-date Retry-After falls to the default.
        """
        try:
            reset = float(headers["X-Ratelimit-Reset"])
        except (KeyError, TypeError, ValueError):
            try:
                reset = self._clock() + max(0.0, float(headers["Retry-After"]))
            except (KeyError, TypeError, ValueError):
                reset = self._clock() + DEFAULT_WAIT
        with self._lock:
            self._windows[bucket] = _Window(max(reset, self._clock()), 0)

    def acquire(self, bucket: str, keep_waiting: Callable[[], bool] | None = None) -> float:
        """Take one request of ``bucket``'s window, waiting for the reset if none is left.

        Waits in short slices and gives up (RateLimited) as soon as ``keep_waiting()`` says
        so: the caller's lease is renewed meanwhile, so a long wait is fine while it holds.
        Returns the seconds waited.
        """
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                window = self._windows.get(bucket)
                if window is None or now >= window.reset + RESET_MARGIN:
                    # A new window: its budget is unknown until the first response says it.
                    self._windows.pop(bucket, None)
                    return waited
                if window.remaining > 0:
                    window.remaining -= 1
                    return waited
                wait = window.reset + RESET_MARGIN - now
            if keep_waiting is not None and not keep_waiting():
                raise RateLimited(f"Stream's {bucket} rate limit resets in {wait:.1f}s")
            if waited == 0.0 and self._on_wait is not None:
                self._on_wait(bucket, wait)
            step = min(wait, WAIT_SLICE)
            self._sleep(step)
            waited += step
