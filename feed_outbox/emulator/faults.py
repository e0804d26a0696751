"""Fault injection: latency, 5xx errors, lost responses, Stream's v2 rate limits, a suspended app."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# per app and endpoint class: requests per minute, per 15 minutes, per hour (Stream v2)
RATE_LIMITS: dict[str, tuple[int, int, int]] = {
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
        for name in (
            "latency_ms",
            "latency_jitter_ms",
            "error_rate",
            "lost_response_rate",
            "rate_limit_scale",
        ):
            try:
                merged[name] = float(merged[name])
            except (TypeError, ValueError):
                raise ValueError(f"{name} must be a number, got {merged[name]!r}") from None
            if merged[name] < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("error_rate", "lost_response_rate"):
            if merged[name] > 1:
                raise ValueError(f"{name} is a probability between 0 and 1")
        if merged["rate_limits"] not in ("off", "stream"):
            raise ValueError("rate_limits must be 'off' or 'stream'")
        if merged["rate_limit_scale"] <= 0:
            raise ValueError("rate_limit_scale must be positive")
        counts = merged["rate_limit_counts"]
        if not isinstance(counts, dict) or not all(
            name in RATE_LIMITS and isinstance(n, int) and n > 0 for name, n in counts.items()
        ):
            raise ValueError(
                "rate_limit_counts maps rate-limit classes (" + ", ".join(RATE_LIMITS)
                + ") to positive request counts"
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
