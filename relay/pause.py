"""The relay's pause after a configuration error: a small circuit breaker (River's is the model).

Open while Stream refuses the app's credentials or configuration: claims wait out a growing
backoff, then a single event probes whether it was fixed; an answer about the event closes it.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from relay.retry import BOUNDED, Action, Decision, backoff_seconds


class Probe(enum.Enum):
    """What a paused relay's probe learnt from the answer its one event met. It is the relay's
    question, not the event's try: whatever the verdict, the event keeps its attempts and its
    backoff (relay.settle)."""

    FIXED = "fixed"  # Stream judged the event (delivered it, or rejected its data): resume
    STILL_BROKEN = "still broken"  # a configuration error again: stay paused
    # No answer about the app (a 5xx, a timeout, a refused connection, a rate-limit wait that
    # outlasted the lease): stay paused, probe again after a longer wait.
    INCONCLUSIVE = "inconclusive"

    @classmethod
    def of(cls, decision: Decision) -> Probe:
        """The verdict of a failed probe, from the retry policy's decision on its answer."""
        if decision.action is Action.PAUSE:
            return cls.STILL_BROKEN
        # Stream validates an activity only once it accepted the token and the app: an
        # input error (or another answer bounded as the event's own) means the credentials
        # work now. Staying paused on it would probe the same poison event forever.
        if decision.action is not Action.RELEASE and decision.failure in BOUNDED:
            return cls.FIXED
        return cls.INCONCLUSIVE


class Pause:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.reason: str | None = None
        self.key: tuple | None = None  # the answer that paused the relay
        self.until = 0.0  # monotonic time of the next probe
        self._trips = 0

    @property
    def paused(self) -> bool:
        return self.reason is not None

    def trip(self, message: str, key: tuple | None = None) -> bool:
        """Pause (again) for ``message``; True when the relay was not paused before."""
        self._trips += 1
        self.key = key
        self.until = self._clock() + backoff_seconds(self._trips, base=1.0, cap=60.0) + 1.0
        first = self.reason is None
        self.reason = message
        return first

    def postpone(self) -> None:
        """The probe learnt nothing: probe again after a longer wait, for the same reason."""
        if self.reason is not None:
            self.trip(self.reason, self.key)

    def close(self) -> bool:
        """Resume (Stream accepted an event); True when the relay was paused."""
        was_paused = self.reason is not None
        self.reason, self.key, self._trips = None, None, 0
        return was_paused

    def probe_now(self) -> None:
        """Let the next claim probe without waiting out the backoff (a drain called again)."""
        self.until = 0.0

    def claim_limit(self, batch_size: int) -> int:
        # While paused, one event probes whether the configuration was fixed.
        return 1 if self.paused else batch_size

    def may_claim(self) -> bool:
        return not self.paused or self._clock() >= self.until

    def seconds_to_probe(self) -> float:
        return max(0.0, self.until - self._clock())

    def is_for(self, key: tuple) -> bool:
        """Whether the relay is paused for this very answer (the probe met it again)."""
        return self.paused and key == self.key
