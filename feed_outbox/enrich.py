"""Enrich: replace model references in activities read from Stream with model instances."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models

from feed_outbox import conf

DEFAULT_FIELDS = ("actor", "object")

# app_label.ModelName:pk — nothing looser: feed data is not trusted.
REFERENCE = re.compile(r"^(?P<app>[A-Za-z_][\w]*)\.(?P<model>[A-Za-z_]\w*):(?P<pk>[^:\s]{1,255})$")


def combine_dicts(a: dict, b: dict) -> dict:
    """stream-django's helper: merge two {key: list} dicts, concatenating shared keys."""
    out = dict(a)
    for key, value in b.items():
        out[key] = out[key] + value if key in out else value
    return out


def allowed_model(label: str) -> type[models.Model] | None:
    """The model for ``app.Model`` if feed data may load it: Activity models or the setting's."""
    from feed_outbox.activity import Activity

    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    allowed = {m.lower() for m in conf.get("FEED_OUTBOX_ENRICH_MODELS")}
    if issubclass(model, Activity) or model._meta.label_lower in allowed:
        return model._meta.concrete_model or model
    return None


def parse_reference(value: Any) -> tuple[type[models.Model], Any] | None:
    """``(model, pk)`` for a strict, allowed reference; None for anything else."""
    if not isinstance(value, str):
        return None
    match = REFERENCE.match(value)
    if not match:
        return None
    model = allowed_model(f"{match['app']}.{match['model']}")
    if model is None:
        return None
    try:
        pk = model._meta.pk.to_python(match["pk"])
    except (ValidationError, ValueError, TypeError):
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
            f"EnrichedActivity(activity_data={self.activity_data}, "
            f"not_enriched_data={self.not_enriched_data})"
        )

    def track_not_enriched_field(self, field: str, value: Any) -> None:
        self.not_enriched_data[field] = value

    @property
    def enriched(self) -> bool:
        return not self.not_enriched_data


class Enrich:
    """Loads every referenced object of a page with one query per model class."""

    def __init__(self, fields: Iterable[str] = DEFAULT_FIELDS) -> None:
        self.fields = tuple(fields)

    def wrap_activities(self, activities: Iterable[dict]) -> list[EnrichedActivity]:
        return [a if isinstance(a, EnrichedActivity) else EnrichedActivity(a) for a in activities]

    def enrich_activities(self, activities: Iterable[dict]) -> list[EnrichedActivity]:
        wrapped = self.wrap_activities(activities)
        self._enrich(wrapped)
        return wrapped

    def enrich_aggregated_activities(self, groups: Iterable[dict]) -> list[dict]:
        groups = list(groups)
        everything = []
        for group in groups:
            group["activities"] = self.wrap_activities(group.get("activities", []))
            everything.extend(group["activities"])
        self._enrich(everything)
        return groups

    def is_ref(self, activity: MutableMapping, field: str) -> bool:
        return parse_reference(activity.get(field)) is not None

    def _collect_references(self, activities, fields) -> dict[type[models.Model], set]:
        references: dict[type[models.Model], set] = defaultdict(set)
        for activity in activities:
            for field in fields:
                parsed = parse_reference(activity.get(field))
                if parsed:
                    references[parsed[0]].add(parsed[1])
        return references

    def fetch_model_instances(self, modelClass: type[models.Model], pks: Iterable[Any]) -> dict:
        """``{pk: instance}``; a ``fetch_<app>_<model>_instances`` (or stream-django's
        ``fetch_<model>_instances``) method on a subclass takes over for that model."""
        meta = modelClass._meta
        for hook in (
            f"fetch_{meta.app_label}_{meta.model_name}_instances",
            f"fetch_{meta.model_name}_instances",
        ):
            if hasattr(self, hook):
                return getattr(self, hook)(pks)
        qs = modelClass._default_manager.all()
        related = getattr(modelClass, "activity_related_models", None)
        if callable(related) and related():
            qs = qs.select_related(*related())
        prefetch = getattr(modelClass, "activity_prefetch_related", None)
        if callable(prefetch) and prefetch():
            qs = qs.prefetch_related(*prefetch())
        return qs.in_bulk(list(pks))

    def _fetch_objects(self, references) -> dict[type[models.Model], dict]:
        return {model: self.fetch_model_instances(model, pks) for model, pks in references.items()}

    def _enrich(self, activities: list[EnrichedActivity]) -> None:
        objects = self._fetch_objects(self._collect_references(activities, self.fields))
        for activity in activities:
            for field in self.fields:
                parsed = parse_reference(activity.get(field))
                if not parsed:
                    continue
                model, pk = parsed
                instance = objects.get(model, {}).get(pk)
                if instance is None:
                    activity.track_not_enriched_field(field, activity[field])
                else:
                    activity[field] = self.enrich_instance(instance)

    def enrich_instance(self, instance: models.Model) -> Any:
        return instance
