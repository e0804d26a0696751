"""Fault injection: latency, 5xx errors, lost responses, Stream's v2 rate limits, a suspended app."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# per app and endpoint class: requests per minute, per 15 minutes, per hour (Stream v2)
RATE_LIMITS: dict[str, tuple[int, ...]] = {
    "add_activity": (1000, 12000, 48000),
    "remove_activity": (300, 3600, 14400),
    "update_activities": (250, 3000, 12000),
    # Feeds v3: per endpoint, one-minute windows only (emulator/v3/service.py has the sources).
    "v3:AddActivity": (1000,),
    "v3:UpsertActivities": (300,),
    "v3:DeleteActivities": (300,),
    "v3:DeleteActivity": (1000,),
    "v3:CreateFeedsBatch": (300,),
    "v3:GetOrCreateFeed": (1000,),
    "v3:MarkActivity": (1000,),  # not in the excerpts found: like the single-item endpoints
    "v3:Follow": (1000,),
    "v3:FollowBatch": (300,),
    "v3:UnfollowBatch": (300,),
}
_WINDOWS = (60.0, 900.0, 3600.0)

# Accepted ranges of the numeric settings. Latency stops at ten minutes, longer than any client
# waits (an unbounded one, or Infinity, would hang every later request); a scale past a million
# makes a "minute" shorter than the clock's resolution matters.
_NUMBER_RANGES: dict[str, tuple[float, float]] = {
    "latency_ms": (0.0, 600_000.0),
    "latency_jitter_ms": (0.0, 600_000.0),
    "error_rate": (0.0, 1.0),
    "lost_response_rate": (0.0, 1.0),
    "rate_limit_scale": (0.0, 1_000_000.0),
}
MAX_COUNT = 1_000_000_000


def _number(name: str, value: Any, low: float, high: float) -> float:
    """A finite int or float within [low, high]; a bool or a string is not a number here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a double
        raise ValueError(f"{name} must be between {low:g} and {high:g}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    if name in ("error_rate", "lost_response_rate") and number > high:
        raise ValueError(f"{name} is a probability between 0 and 1")
    if number < low or number > high:
        raise ValueError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return number


def _is_count(value: Any) -> bool:
    # True is an int to Python, not a count to anyone writing JSON
    return type(value) is int and 1 <= value <= MAX_COUNT


@dataclass
class FaultConfig:
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    lost_response_rate: float = 0.0
    rate_limits: str = "off"
    rate_limit_scale: float = 1.0
    # Per-class request counts replacing Stream's (every window of the class), for tests that
    # need a real 429 with few requests: {"v3:UpsertActivities": 3}.
    rate_limit_counts: dict[str, int] = field(default_factory=dict)
    suspended: bool = False  # the app is suspended: every API call is answered 401/7

    def update(self, **changes: Any) -> None:
        """Apply changes after validating them all, so a bad value changes nothing."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        merged = {**asdict(self), **{k: v for k, v in changes.items() if v is not None}}
        for name, (low, high) in _NUMBER_RANGES.items():
            merged[name] = _number(name, merged[name], low, high)
        if merged["rate_limit_scale"] <= 0:
            raise ValueError("rate_limit_scale must be positive")
        if merged["rate_limits"] not in ("off", "stream"):
            raise ValueError("rate_limits must be 'off' or 'stream'")
        counts = merged["rate_limit_counts"]
        if not isinstance(counts, dict) or not all(
            name in RATE_LIMITS and _is_count(n) for name, n in counts.items()
        ):
            raise ValueError(
                "rate_limit_counts maps rate-limit classes (" + ", ".join(RATE_LIMITS)
                + f") to request counts between 1 and {MAX_COUNT} (integers)"
            )
        merged["rate_limit_counts"] = dict(counts)
        if not isinstance(merged["suspended"], bool):
            raise ValueError("suspended must be true or false")
        for name, value in merged.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RateLimiter:
    """Fixed windows per endpoint class; `scale` shortens windows while keeping the counts."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], tuple[float, int]] = {}

    def reset(self) -> None:
        self._counts.clear()

    def take(
        self, category: str, scale: float, now: float, count: int | None = None
    ) -> tuple[bool, dict[str, str]]:
        """Count one request if every window allows it; return (allowed, X-Ratelimit headers).

        ``count``: the class's requests per window instead of Stream's (a test's override)."""
        limits = RATE_LIMITS[category]
        if count is not None:
            limits = tuple(count for _limit in limits)
        state = []
        for index, (limit, window) in enumerate(zip(limits, _WINDOWS, strict=False)):
            length = window / scale
            start = math.floor(now / length) * length
            began, count = self._counts.get((category, index), (start, 0))
            if began != start:
                count = 0
            state.append((index, limit, start, start + length, count))
        allowed = all(count < limit for _i, limit, _s, _e, count in state)
        if allowed:
            state = [(i, lim, s, e, c + 1) for i, lim, s, e, c in state]
            for index, _limit, start, _end, count in state:
                self._counts[(category, index)] = (start, count)
        # report the window closest to exhaustion, as the tightest constraint
        _i, limit, _s, end, count = min(state, key=lambda s: s[1] - s[4])
        headers = {
            "X-Ratelimit-Limit": str(limit),
            "X-Ratelimit-Remaining": str(max(0, limit - count)),
            "X-Ratelimit-Reset": str(math.ceil(end)),
        }
        return allowed, headers


class FaultInjector:
    """Decides, per request, which configured fault happens."""

    def __init__(self, config: FaultConfig | None = None, seed: int | None = None) -> None:
        self.config = config or FaultConfig()
        self.rate_limiter = RateLimiter()
        self._random = random.Random(seed)

    def reset(self) -> None:
        self.config = FaultConfig()
        self.rate_limiter.reset()

    def latency(self) -> float:
        """Seconds to delay this request (0 when latency is off)."""
        cfg = self.config
        if cfg.latency_ms <= 0 and cfg.latency_jitter_ms <= 0:
            return 0.0
        jitter = self._random.uniform(-cfg.latency_jitter_ms, cfg.latency_jitter_ms)
        return max(0.0, cfg.latency_ms + jitter) / 1000.0

    def error(self) -> bool:
        rate = self.config.error_rate
        return rate > 0 and self._random.random() < rate

    def lost_response(self) -> bool:
        rate = self.config.lost_response_rate
        return rate > 0 and self._random.random() < rate

    def rate_limit(self, category: str | None, now: float) -> tuple[bool, dict[str, str]]:
        if category is None or self.config.rate_limits != "stream":
            return True, {}
        return self.rate_limiter.take(
            category,
            self.config.rate_limit_scale,
            now,
            self.config.rate_limit_counts.get(category),
        )
