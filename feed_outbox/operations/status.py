"""How far behind the relay is: counts, lag, throughput and per-minute history of the outbox.

One place for the figures that ``outbox_status``, the admin status page and the relay's
metrics show, so the three never disagree.
"""

from __future__ import annotations

import datetime
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import router
from django.db.models import Count, F, Max, Min, Q
from django.db.models.functions import Coalesce, TruncMinute
from django.utils import timezone

from feed_outbox.models import EventStatus, OutboxEvent
from feed_outbox.operations.failure_causes import error_cause

# Dead letters are grouped by the start of their error: the tail is usually an id or a time.
ERROR_PREFIX = 120


@dataclass(frozen=True)
class OutboxLag:
    pending: int
    oldest_pending_at: datetime.datetime | None

    @property
    def seconds(self) -> float:
        """Age of the oldest undelivered event (0 when the relay has caught up)."""
        if self.oldest_pending_at is None:
            return 0.0
        return max(0.0, (timezone.now() - self.oldest_pending_at).total_seconds())

    @property
    def caught_up(self) -> bool:
        return self.pending == 0


def _alias(using: str | None) -> str:
    return using or router.db_for_read(OutboxEvent)


def outbox_lag(using: str | None = None) -> OutboxLag:
    """Pending events and the commit time of the oldest one; uses the pending partial index."""
    using = _alias(using)
    agg = (
        OutboxEvent.objects.using(using)
        .filter(status=EventStatus.PENDING)
        .aggregate(oldest=Min("created_at"), pending=Min("id"))
    )
    if agg["pending"] is None:
        return OutboxLag(pending=0, oldest_pending_at=None)
    pending = OutboxEvent.objects.using(using).filter(status=EventStatus.PENDING).count()
    return OutboxLag(pending=pending, oldest_pending_at=agg["oldest"])


@dataclass(frozen=True)
class OutboxStatus:
    """A snapshot of the outbox; ``to_dict()`` is what ``outbox_status --json`` prints."""

    at: datetime.datetime
    # {status: {kind: count}}; in flight = pending events under a live lease (also pending).
    counts: dict[str, dict[str, int]]
    in_flight_by_kind: dict[str, int]
    in_flight: int
    waiting_retry: int
    oldest_pending_at: datetime.datetime | None
    lag_seconds: float
    window_minutes: int
    delivered_in_window: int
    dead_by_error: list[tuple[str, int]] = field(default_factory=list)
    # Pending events that failed before, by the cause of their last failure (why they wait).
    waiting_by_cause: list[tuple[str, int]] = field(default_factory=list)

    def total(self, status: str) -> int:
        return sum(self.counts.get(status, {}).values())

    @property
    def throughput_per_minute(self) -> float:
        return self.delivered_in_window / self.window_minutes if self.window_minutes else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["oldest_pending_at"] = (
            self.oldest_pending_at.isoformat() if self.oldest_pending_at else None
        )
        data["totals"] = {status: self.total(status) for status in EventStatus.values}
        data["throughput_per_minute"] = round(self.throughput_per_minute, 2)
        data["dead_by_error"] = [{"error": e, "count": n} for e, n in self.dead_by_error]
        data["waiting_by_cause"] = [{"cause": c, "count": n} for c, n in self.waiting_by_cause]
        return data


def outbox_status(
    using: str | None = None, window_minutes: int = 5, top_errors: int = 10
) -> OutboxStatus:
    """Counts by status and kind, lag, throughput over the last minutes, dead letters by error."""
    using = _alias(using)
    rows = OutboxEvent.objects.using(using)
    now = timezone.now()
    counts: dict[str, dict[str, int]] = {status: {} for status in EventStatus.values}
    for row in rows.values("status", "kind").annotate(n=Count("id")).order_by():
        counts.setdefault(row["status"], {})[row["kind"]] = row["n"]
    pending = rows.filter(status=EventStatus.PENDING)
    leased = pending.filter(lease_expires_at__gt=now).values("kind").annotate(n=Count("id"))
    in_flight_by_kind = {row["kind"]: row["n"] for row in leased.order_by()}
    agg = pending.aggregate(
        oldest=Min("created_at"),
        in_flight=Count("id", filter=Q(lease_expires_at__gt=now)),
        waiting=Count("id", filter=Q(available_at__gt=now)),
    )
    since = now - datetime.timedelta(minutes=window_minutes)
    delivered = rows.filter(status=EventStatus.DELIVERED, delivered_at__gte=since).count()
    errors: dict[str, int] = {}
    dead = rows.filter(status=EventStatus.DEAD).values_list("last_error", flat=True)
    for error in dead.iterator():
        key = (error or "(no error recorded)").splitlines()[0][:ERROR_PREFIX]
        errors[key] = errors.get(key, 0) + 1
    oldest = agg["oldest"]
    return OutboxStatus(
        at=now,
        counts=counts,
        in_flight_by_kind=in_flight_by_kind,
        in_flight=agg["in_flight"],
        waiting_retry=agg["waiting"],
        oldest_pending_at=oldest,
        lag_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        window_minutes=window_minutes,
        delivered_in_window=delivered,
        dead_by_error=sorted(errors.items(), key=lambda item: (-item[1], item[0]))[:top_errors],
        waiting_by_cause=waiting_causes(using)[:top_errors],
    )


def waiting_causes(using: str | None = None, api: str | None = None) -> list[tuple[str, int]]:
    """Pending events that failed before, grouped by the cause of their last failure
    (feed_outbox.operations.failure_causes), most frequent first."""
    rows = OutboxEvent.objects.using(_alias(using)).filter(status=EventStatus.PENDING)
    if api is not None:
        rows = rows.filter(api=api)
    causes: dict[str, int] = {}
    # Grouped by the full text first: events of one outage mostly share it.
    texts = rows.exclude(last_error="").values("last_error").annotate(n=Count("id")).order_by()
    for row in texts.iterator():
        cause = error_cause(row["last_error"])
        causes[cause] = causes.get(cause, 0) + row["n"]
    return sorted(causes.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True)
class Undelivered:
    pending: int
    failed: int  # of the pending, those that failed before
    causes: list[tuple[str, int]]


def undelivered(using: str | None = None, api: str | None = None) -> Undelivered:
    """What a drain left behind: pending events and why those that failed are waiting."""
    rows = OutboxEvent.objects.using(_alias(using)).filter(status=EventStatus.PENDING)
    if api is not None:
        rows = rows.filter(api=api)
    causes = waiting_causes(using, api)
    return Undelivered(rows.count(), sum(n for _, n in causes), causes)


@dataclass(frozen=True)
class MinuteFigures:
    minute: datetime.datetime
    delivered: int = 0
    failed: int = 0
    # Longest commit-to-delivery time among the events delivered in this minute.
    lag_seconds: float = 0.0


def history(using: str | None = None, hours: float = 3.0) -> list[MinuteFigures]:
    """Delivered and failed events per minute and delivery lag, oldest minute first.

    Computed from ``created_at``/``delivered_at``. Dead letters carry no time of death, so
    they are counted in the minute of their last scheduled attempt (``available_at``).
    """
    using = _alias(using)
    now = timezone.now()
    start = (now - datetime.timedelta(hours=hours)).replace(second=0, microsecond=0)
    rows = OutboxEvent.objects.using(using)
    minutes: dict[datetime.datetime, dict[str, Any]] = {}
    delivered = (
        rows.filter(status=EventStatus.DELIVERED, delivered_at__gte=start)
        .annotate(minute=TruncMinute("delivered_at"))
        .values("minute")
        .annotate(n=Count("id"), lag=Max(F("delivered_at") - F("created_at")))
        .order_by()
    )
    for row in delivered:
        lag = row["lag"]
        minutes.setdefault(row["minute"], {})
        minutes[row["minute"]].update(
            delivered=row["n"], lag_seconds=max(0.0, lag.total_seconds()) if lag else 0.0
        )
    failed = (
        rows.filter(status=EventStatus.DEAD)
        # Never retried (dead at its first attempt): its last attempt was around its creation.
        .annotate(attempted_at=Coalesce("available_at", "created_at"))
        .filter(attempted_at__gte=start, attempted_at__lte=now)
        .annotate(minute=TruncMinute("attempted_at"))
        .values("minute")
        .annotate(n=Count("id"))
        .order_by()
    )
    for dead in failed:
        minutes.setdefault(dead["minute"], {})["failed"] = dead["n"]
    result = []
    minute = start
    while minute <= now:
        result.append(MinuteFigures(minute=minute, **minutes.get(minute, {})))
        minute += datetime.timedelta(minutes=1)
    return result
