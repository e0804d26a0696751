"""Django REST framework (the optional ``drf`` extra): a serializer over enriched activities
and a cursor paginator over Stream's ``id_lt``.

    class TimelineView(ListAPIView):
        pagination_class = FeedCursorPagination
        serializer_class = TweetActivitySerializer   # a subclass naming its model_fields

        def get_queryset(self):
            return feed_manager.get_news_feeds(self.request.user.pk)["timeline"]

The "queryset" is the feed: the paginator reads one page of it, and the list serializer
enriches the whole page at once (one query per model, as ``Enrich`` does) before each
activity becomes JSON with only the fields its model's allow-list names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, cast

from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from feed_outbox.enrich import Enrich, EnrichedActivity
from feed_outbox.exceptions import InvalidCursor
from feed_outbox.pagination import FeedPage, FeedPaginator
from feed_outbox.serializers import ActivitySerializer


class EnrichedActivityListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[dict[str, Any]]:  # a page of activities
        # Meta.list_serializer_class makes this the list of an EnrichedActivitySerializer.
        child = cast(EnrichedActivitySerializer, self.child)
        activities = child.enrich(list(data))
        return [child.to_representation(activity) for activity in activities]


class EnrichedActivitySerializer(serializers.BaseSerializer):
    """Read-only: activities (or aggregated groups) read from Stream → JSON.

    ``model_fields`` is the allow-list, ``{"auth.User": ["username"]}``: a model instance shows
    its ``ref``, ``model``, ``pk`` and ``str`` and only the attributes listed for its model.
    Raw activities are enriched first (with ``enrich_class``); enriched ones are used as they are.
    """

    model_fields: Mapping[str, Iterable[str]] = {}
    enrich_class: ClassVar[type[Enrich]] = Enrich

    class Meta:
        list_serializer_class = EnrichedActivityListSerializer

    def __init__(self, *args: Any, model_fields: Mapping | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if model_fields is not None:
            self.model_fields = model_fields
        self._json = ActivitySerializer(self.model_fields)

    def enrich(self, activities: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        raw: list[Any] = [a for a in activities if not isinstance(a, EnrichedActivity)]  # dicts
        if not raw:
            return activities
        enricher = self.enrich_class()
        enriched: Iterator[EnrichedActivity]
        if all("activities" in a for a in raw):
            enriched = iter(enricher.enrich_aggregated_activities(raw))
        else:
            enriched = iter(enricher.enrich_activities(raw))
        return [a if isinstance(a, EnrichedActivity) else next(enriched) for a in activities]

    def to_representation(self, instance: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(instance, EnrichedActivity):
            (instance,) = self.enrich([instance])
        return self._json.serialize(instance)


class FeedCursorPagination(BasePagination):
    """``?before=<id>`` pages of a feed (the view's ``get_queryset()`` returns the feed, or a
    ``read(**params)`` callable); the answer is ``{"next": url | null, "results": [...]}``."""

    page_size = 25
    cursor_query_param = "before"
    invalid_cursor_message = "Invalid cursor: 'before' must be an activity or group id."

    def paginate_queryset(self, queryset: Any, request: Any, view: Any = None) -> list:
        self.request = request
        cursor = request.query_params.get(self.cursor_query_param)
        try:
            self.page: FeedPage = FeedPaginator(self.page_size).page(queryset, cursor)
        except InvalidCursor:
            raise NotFound(self.invalid_cursor_message) from None
        return self.page.results

    def get_next_link(self) -> str | None:
        if not self.page.has_next:
            return None
        url = self.request.build_absolute_uri()
        return replace_query_param(url, self.cursor_query_param, self.page.next_cursor)

    def get_paginated_response(self, data: list) -> Response:
        return Response({"next": self.get_next_link(), "results": data})

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }
