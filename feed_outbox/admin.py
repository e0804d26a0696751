"""The outbox in the Django admin: a read-only list of events, guarded actions and a status page."""

from __future__ import annotations

import json
import math
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from feed_outbox import conf
from feed_outbox.models import EventKind, EventStatus, OutboxEvent
from feed_outbox.operations.status import history, outbox_status
from feed_outbox.operations.status_chart import history_svg


def _newer_of_key() -> QuerySet[OutboxEvent]:
    return OutboxEvent.objects.filter(ordering_key=OuterRef("ordering_key"), id__gt=OuterRef("id"))


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "kind",
        "feed",
        "ordering_key",
        "attempts",
        "short_error",
        "age",
    )
    list_filter = ("status", "kind", "aggregate_type")
    search_fields = ("=id", "ordering_key", "feed", "last_error")
    list_per_page = 100
    # Counting a large outbox on every page load is what makes admin lists slow.
    show_full_result_count = False
    fields = (
        ("status", "kind", "attempts"),
        ("feed", "ordering_key", "aggregate_type"),
        ("created_at", "available_at", "delivered_at"),
        ("lease_owner", "lease_expires_at"),
        "last_error",
        "formatted_payload",
    )
    readonly_fields = tuple(
        name for item in fields for name in (item if isinstance(item, tuple) else (item,))
    )
    actions = ("retry_now", "requeue_dead_letters", "mark_dead")
    change_list_template = "admin/feed_outbox/outboxevent/change_list.html"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # PostgreSQL text cannot hold NUL: a search or filter value with one was a 500.
        if any("\x00" in value for _name, values in request.GET.lists() for value in values):
            return HttpResponseBadRequest("A query parameter holds a NUL character.")
        return super().changelist_view(request, extra_context)

    # Events are written by the app and settled by the relay; the admin only looks and nudges.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("feed_outbox.retry_outboxevent")

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("feed_outbox.requeue_outboxevent")

    def has_kill_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("feed_outbox.kill_outboxevent")

    @admin.display(description="last error")
    def short_error(self, obj: OutboxEvent) -> str:
        first = (obj.last_error or "").splitlines()[0] if obj.last_error else ""
        return first[:80] + ("…" if len(first) > 80 else "")

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: OutboxEvent) -> str:
        return timesince(obj.created_at, timezone.now())

    @admin.display(description="payload")
    def formatted_payload(self, obj: OutboxEvent) -> str:
        text = json.dumps(obj.payload, indent=2, sort_keys=True, ensure_ascii=False, default=str)
        return format_html("<pre style='white-space: pre-wrap'>{}</pre>", text)

    @admin.action(description="Retry now (skip the backoff wait)", permissions=["retry"])
    def retry_now(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        now = timezone.now()
        free = Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lte=now)
        count = queryset.filter(free, status=EventStatus.PENDING).update(available_at=None)
        self.message_user(request, f"{count} pending events can be claimed now.")

    @admin.action(description="Requeue dead letters", permissions=["requeue"])
    def requeue_dead_letters(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        dead = queryset.filter(status=EventStatus.DEAD)
        # Requeuing a dead add after a later remove of its key would resurrect the activity.
        superseded = dead.filter(Exists(_newer_of_key())).count()
        count = dead.exclude(Exists(_newer_of_key())).update(
            status=EventStatus.PENDING,
            attempts=0,
            available_at=None,
            lease_owner="",
            lease_token=None,
            lease_expires_at=None,
            parked_behind=None,
        )
        self.message_user(request, f"{count} dead letters requeued.")
        if superseded:
            self.message_user(
                request,
                f"{superseded} dead letters were left dead: a later event of their key "
                "exists. Use `manage.py outbox_replay --dead` to publish their latest state.",
                messages.WARNING,
            )

    @admin.action(description="Mark dead (stop delivering)", permissions=["kill"])
    def mark_dead(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        # Clearing the lease token fences a relay that holds the event: its mark is refused.
        pending = queryset.filter(status=EventStatus.PENDING)
        ids = list(pending.values_list("pk", flat=True))
        with transaction.atomic(using=queryset.db):
            count = pending.filter(pk__in=ids).update(
                status=EventStatus.DEAD,
                last_error=f"marked dead in the admin by {request.user.get_username()}",
                lease_owner="",
                lease_token=None,
                lease_expires_at=None,
                parked_behind=None,
            )
            # Events parked behind these wait for them no more (relay.queries.park).
            OutboxEvent.objects.using(queryset.db).filter(
                parked_behind__in=ids, status=EventStatus.PENDING
            ).update(parked_behind=None)
        self.message_user(request, f"{count} pending events marked dead.")

    def get_urls(self) -> list[URLPattern]:
        status = self.admin_site.admin_view(self.status_view)
        return [
            path("status/", status, name="feed_outbox_outboxevent_status"),
            *super().get_urls(),
        ]

    def status_view(self, request: HttpRequest) -> TemplateResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        hours = _hours(request.GET.get("hours"))
        status = outbox_status()
        kinds = list(EventKind.values)
        # (label, status to filter the list by, counts by kind, total)
        rows: list[tuple[str, str | None, list[int], int]] = [
            (
                state,
                state,
                [status.counts.get(state, {}).get(k, 0) for k in kinds],
                status.total(state),
            )
            for state in EventStatus.values
        ]
        in_flight = [status.in_flight_by_kind.get(k, 0) for k in kinds]
        rows.insert(1, ("in flight (of pending)", None, in_flight, status.in_flight))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Outbox status",
            "status": status,
            "pending": status.total(EventStatus.PENDING),
            "kinds": kinds,
            "rows": rows,
            "chart": history_svg(history(hours=hours)),
            "hours": hours,
            "stream_api_key": conf.get("STREAM_API_KEY") or "",
            "stream_location": conf.get("STREAM_LOCATION") or "",
            "stream_base_url": conf.get("STREAM_BASE_URL") or "Stream (getstream.io)",
            "changelist_url": reverse("admin:feed_outbox_outboxevent_changelist"),
        }
        return TemplateResponse(request, "admin/feed_outbox/outboxevent/status.html", context)


def _hours(value: str | None) -> float:
    """?hours= clamped to 0.25..48; anything that is not a finite number reads the default 3."""
    try:
        hours = float(value) if value else 3.0
    except ValueError:
        return 3.0
    # float() accepts "nan" and "inf": timedelta(hours=nan) raised, a 500.
    return min(max(hours, 0.25), 48.0) if math.isfinite(hours) else 3.0
