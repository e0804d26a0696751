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


class _Numbers(threading.local):
    """A thread's last request number per bucket (each thread starts with none)."""

    def __init__(self) -> None:
        self.taken: dict[str, int] = {}


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
        # Requests taken per bucket, ever: a request's number is the count when it was taken.
        self._taken: dict[str, int] = {}
        self._thread = _Numbers()

    def observe(self, bucket: str, headers: Mapping[str, str], taken: int | None = None) -> None:
        """Record a response's X-Ratelimit-Remaining/Reset (responses may arrive out of order).

        ``taken``: the number ``acquire`` gave the answered request (default: this thread's
        last request of ``bucket``, as the client's response hook runs on the sending thread).
        Remaining is what Stream allowed after that request, so the requests taken after it
        are taken off it: Stream had not counted them. Without that, a window learnt from an
        answer (the first of a window, whose budget was unknown while the threads sent; or a
        Remaining below ours) forgot the requests already on their way, and as many could meet
        a 429 at its end (tests/relay/test_pool.py's compressed limits, once under CI load).
        Requests taken before it are assumed counted: a later one of them overtaking it on the
        way to Stream is the one case left that can still meet a 429. That Remaining counts
        the answered request itself: stream-chat-python's tests read a limit of 300 with 299
        remaining (stream_chat/tests/test_stream_response.py, GetStream/stream-chat-python
        #126), and the emulator answers so (feed_outbox/emulator/faults.py); no Feeds source
        we found says it outright. A value that is not one number (that PR's "299, 299") is
        not read: the pacer then learns the window from the 429.
        """
        try:
            remaining = int(headers["X-Ratelimit-Remaining"])
            reset = float(headers["X-Ratelimit-Reset"])
        except (KeyError, TypeError, ValueError):
            return
        if taken is None:
            taken = self._thread.taken.get(bucket)
        with self._lock:
            if taken is not None:
                remaining = max(0, remaining - (self._taken.get(bucket, 0) - taken))
            window = self._windows.get(bucket)
            if window is None or reset > window.reset:
                self._windows[bucket] = _Window(reset, remaining)
            elif reset == window.reset:
                window.remaining = min(window.remaining, remaining)

    def taken(self, bucket: str) -> int:
        """Requests of ``bucket`` taken so far: the last one's number."""
        with self._lock:
            return self._taken.get(bucket, 0)

    def _take(self, bucket: str) -> None:
        # Under the lock: number this request, and remember it as this thread's last.
        number = self._taken[bucket] = self._taken.get(bucket, 0) + 1
        self._thread.taken[bucket] = number

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
        """Take one request of ``bucket``'s window, waiting for the reset if none is left;
        the request is numbered (``taken``) for ``observe``.

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
                    self._take(bucket)
                    return waited
                if window.remaining > 0:
                    window.remaining -= 1
                    self._take(bucket)
                    return waited
                wait = window.reset + RESET_MARGIN - now
            if keep_waiting is not None and not keep_waiting():
                raise RateLimited(f"Stream's {bucket} rate limit resets in {wait:.1f}s")
            if waited == 0.0 and self._on_wait is not None:
                self._on_wait(bucket, wait)
            step = min(wait, WAIT_SLICE)
            self._sleep(step)
            waited += step
