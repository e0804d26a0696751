"""Enrich: replace model references in activities read from Stream with model instances.

Feed data is not trusted: only strict ``app_label.Model:pk`` references to allowed models load.
``aenrich_activities``/``aenrich_aggregated_activities`` load them with Django's async ORM
(``ain_bulk``); finding the references and putting the instances in is one body for both.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

from asgiref.sync import sync_to_async
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models, router

from feed_outbox import conf
from feed_outbox.activity import Activity, related_queryset
from feed_outbox.write.references import REFERENCE

logger = logging.getLogger(__name__)

DEFAULT_FIELDS = ("actor", "object")

#: stream-django's name for ``apps.get_model``.
get_model = apps.get_model


def combine_dicts(a: dict, b: dict) -> dict:
    """stream-django's helper: merge two {key: list} dicts, concatenating shared keys."""
    out = dict(a)
    for key, value in b.items():
        out[key] = out[key] + value if key in out else value
    return out


def allowed_model(label: str) -> type[models.Model] | None:
    """The concrete model for ``app.Model`` if feed data may load it, else None.

    Allowed: Activity models, the user model (every Activity's default actor) and the
    models listed in FEED_OUTBOX_ENRICH_MODELS.
    """
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    concrete = model._meta.concrete_model or model
    allowed = {m.lower() for m in conf.get("FEED_OUTBOX_ENRICH_MODELS")}
    allowed.add(settings.AUTH_USER_MODEL.lower())
    if issubclass(model, Activity) or concrete._meta.label_lower in allowed:
        return concrete
    return None


def _pk_in_range(model: type[models.Model], pk: Any) -> bool:
    """False for integers the database column cannot hold (they would raise, not miss)."""
    field = model._meta.pk
    if not isinstance(pk, int) or not isinstance(field, models.IntegerField):
        return True
    connection = connections[router.db_for_read(model)]
    low, high = connection.ops.integer_field_range(field.get_internal_type())
    return (low is None or pk >= low) and (high is None or pk <= high)


def parse_reference(
    value: Any, models_seen: dict | None = None
) -> tuple[type[models.Model], Any] | None:
    """``(model, pk)`` for a strict reference to an allowed model; None for anything else.

    ``models_seen`` memoises label → allowed model across the references of one page.
    """
    if not isinstance(value, str):
        return None
    match = REFERENCE.fullmatch(value)
    if not match:
        return None
    label = f"{match['app']}.{match['model']}"
    if models_seen is None:
        model = allowed_model(label)
    elif label in models_seen:
        model = models_seen[label]
    else:
        model = models_seen[label] = allowed_model(label)
    if model is None:
        return None
    try:
        pk = model._meta.pk.to_python(match["pk"])
    except (ValidationError, ValueError, TypeError):
        return None
    # Only the spelling create_model_reference writes: '01', '+1', '1_000' or '١' are not it.
    if pk is None or str(pk) != match["pk"] or not _pk_in_range(model, pk):
        return None
    return model, pk


class EnrichedActivity(MutableMapping):
    """An activity dict whose references were replaced; ``not_enriched_data`` lists misses."""

    def __init__(self, activity_data: dict[str, Any]) -> None:
        self.activity_data = activity_data
        self.not_enriched_data: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        return self.activity_data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.activity_data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.activity_data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.activity_data)

    def __len__(self) -> int:
        return len(self.activity_data)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(activity_data={self.activity_data}, "
            f"not_enriched_data={self.not_enriched_data})"
        )

    def track_not_enriched_field(self, field: str, value: Any) -> None:
        self.not_enriched_data[field] = value

    @property
    def enriched(self) -> bool:
        return not self.not_enriched_data


class EnrichedAggregatedActivity(EnrichedActivity):
    """An aggregated (or notification) group; its ``activities`` are EnrichedActivity.

    ``not_enriched_data`` maps each activity id with misses to that activity's misses; a group
    is ``enriched`` when all its activities are. ``enriched_activities`` are the complete ones.
    """

    @property
    def activities(self) -> list[EnrichedActivity]:
        return self.activity_data.get("activities", [])

    @property
    def enriched_activities(self) -> list[EnrichedActivity]:
        return [a for a in self.activities if a.enriched]

    def collect_not_enriched(self) -> None:
        self.not_enriched_data = {
            a.get("id", index): dict(a.not_enriched_data)
            for index, a in enumerate(self.activities)
            if not a.enriched
        }


class Enrich:
    """Loads every referenced object of a page with one query per model class.

    Extension points: ``get_queryset(model)``, ``fetch_<app_label>__<model_name>_instances(pks)``
    (or stream-django's ``fetch_<model_name>_instances``, used when no other installed app has a
    model of that name) and ``enrich_instance(instance)``.
    """

    def __init__(self, fields: Iterable[str] = DEFAULT_FIELDS) -> None:
        self.fields = tuple(fields)

    # stream-django's public API.
    def wrap_activities(self, activities: Iterable[dict]) -> list[EnrichedActivity]:
        return [a if isinstance(a, EnrichedActivity) else EnrichedActivity(a) for a in activities]

    def enrich_activities(self, activities: Iterable[dict]) -> list[EnrichedActivity]:
        wrapped = self.wrap_activities(activities)
        found, by_model = self._plan(wrapped)
        self._fill(wrapped, found, self._fetch_objects(by_model))
        return wrapped

    async def aenrich_activities(self, activities: Iterable[dict]) -> list[EnrichedActivity]:
        """``enrich_activities``, awaited: one ``ain_bulk`` per model class."""
        wrapped = self.wrap_activities(activities)
        found, by_model = self._plan(wrapped)
        self._fill(wrapped, found, await self._afetch_objects(by_model))
        return wrapped

    def enrich_aggregated_activities(
        self, groups: Iterable[dict]
    ) -> list[EnrichedAggregatedActivity]:
        """Groups of an aggregated or notification feed, all their activities in one pass."""
        wrapped = self._wrap_groups(groups)
        inner = [a for group in wrapped for a in group.activities]
        found, by_model = self._plan(inner)
        self._fill(inner, found, self._fetch_objects(by_model))
        return self._collected(wrapped)

    async def aenrich_aggregated_activities(
        self, groups: Iterable[dict]
    ) -> list[EnrichedAggregatedActivity]:
        """``enrich_aggregated_activities``, awaited: one ``ain_bulk`` per model class."""
        wrapped = self._wrap_groups(groups)
        inner = [a for group in wrapped for a in group.activities]
        found, by_model = self._plan(inner)
        self._fill(inner, found, await self._afetch_objects(by_model))
        return self._collected(wrapped)

    def is_ref(self, activity: MutableMapping, field: str) -> bool:
        return parse_reference(activity.get(field)) is not None

    def fetch_model_instances(self, modelClass: type[models.Model], pks: Iterable[Any]) -> dict:
        """``{pk: instance}`` for ``pks``, one query (or the model's fetch hook)."""
        hook = self._fetch_hook(modelClass)
        if hook is not None:
            return hook(pks)
        return self.get_queryset(modelClass).in_bulk(list(pks))

    async def afetch_model_instances(
        self, modelClass: type[models.Model], pks: Iterable[Any]
    ) -> dict:
        """``fetch_model_instances``, awaited: ``afetch_<app_label>__<model_name>_instances``
        (async) if defined, else a sync fetch hook run as Django runs sync code under ASGI
        (``sync_to_async``, on its thread for database work), else one ``ain_bulk``."""
        meta = modelClass._meta
        hook = getattr(self, f"afetch_{meta.app_label}__{meta.model_name}_instances", None)
        if hook is not None:
            return await hook(pks)
        sync_hook = self._fetch_hook(modelClass)
        if sync_hook is not None:
            return await sync_to_async(sync_hook)(pks)
        return await self.get_queryset(modelClass).ain_bulk(list(pks))

    def get_queryset(self, model: type[models.Model]) -> models.QuerySet:
        """``_default_manager`` plus the model's ``activity_related_models`` (select_related)
        and ``activity_prefetch_related_models`` (prefetch_related)."""
        return related_queryset(model)

    def enrich_instance(self, instance: models.Model) -> Any:
        return instance

    # Internals.
    def _fetch_hook(self, model: type[models.Model]) -> Callable[[Iterable[Any]], dict] | None:
        meta = model._meta
        qualified = getattr(self, f"fetch_{meta.app_label}__{meta.model_name}_instances", None)
        if qualified is not None:
            return qualified
        legacy = getattr(self, f"fetch_{meta.model_name}_instances", None)
        if legacy is None:
            return None
        namesakes = [m for m in apps.get_models() if m._meta.model_name == meta.model_name]
        if len(namesakes) > 1:
            logger.warning(
                "%s.fetch_%s_instances is ambiguous (%s): name it fetch_%s__%s_instances",
                type(self).__name__,
                meta.model_name,
                ", ".join(sorted(m._meta.label for m in namesakes)),
                meta.app_label,
                meta.model_name,
            )
            return None
        return legacy

    def _references(self, activities: list, fields: Iterable[str] | None = None) -> dict:
        """``{(activity index, field): (model, pk)}`` for every allowed reference."""
        found = {}
        fields = self.fields if fields is None else tuple(fields)
        models_seen: dict = {}
        for index, activity in enumerate(activities):
            for field in fields:
                parsed = parse_reference(activity.get(field), models_seen)
                if parsed is not None:
                    found[index, field] = parsed
        return found

    def _collect_references(
        self, activities: Iterable[MutableMapping], fields: Iterable[str] | None = None
    ) -> dict[type[models.Model], set]:
        by_model: dict[type[models.Model], set] = defaultdict(set)
        for model, pk in self._references(list(activities), fields).values():
            by_model[model].add(pk)
        return by_model

    def _fetch_objects(self, references: dict[type[models.Model], set]) -> dict:
        return {model: self.fetch_model_instances(model, pks) for model, pks in references.items()}

    async def _afetch_objects(self, references: dict[type[models.Model], set]) -> dict:
        return {
            model: await self.afetch_model_instances(model, pks)
            for model, pks in references.items()
        }

    # One body for the sync and async enrichment: what to load, and putting it in.
    def _wrap_groups(self, groups: Iterable[dict]) -> list[EnrichedAggregatedActivity]:
        wrapped: list[EnrichedAggregatedActivity] = []
        for given in groups:
            group = (
                given
                if isinstance(given, EnrichedAggregatedActivity)
                else EnrichedAggregatedActivity(dict(given))
            )
            group["activities"] = self.wrap_activities(group.get("activities") or [])
            wrapped.append(group)
        return wrapped

    @staticmethod
    def _collected(groups: list[EnrichedAggregatedActivity]) -> list[EnrichedAggregatedActivity]:
        for group in groups:
            group.collect_not_enriched()
        return groups

    def _plan(self, activities: list[EnrichedActivity]) -> tuple[dict, dict]:
        """The references found (``_references``) and their pks by model: what to load."""
        found = self._references(activities)
        by_model: dict[type[models.Model], set] = defaultdict(set)
        for model, pk in found.values():
            by_model[model].add(pk)
        return found, by_model

    def _fill(self, activities: list[EnrichedActivity], found: dict, objects: dict) -> None:
        """Put the loaded instances in; a reference that loaded nothing is tracked as missing."""
        for (index, field), (model, pk) in found.items():
            activity = activities[index]
            instance = objects.get(model, {}).get(pk)
            if instance is None:
                activity.track_not_enriched_field(field, activity[field])
            else:
                activity[field] = self.enrich_instance(instance)
