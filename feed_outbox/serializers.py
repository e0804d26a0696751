"""JSON-ready dicts of enriched activities (for APIs and front ends), without DRF.

Model instances become ``{"ref", "model", "pk", "str"}`` plus only the fields listed for their
model: nothing of a model (a password hash, an e-mail) is exposed unless someone chose it.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from django.utils.encoding import force_str
from django.utils.functional import Promise

from feed_outbox.activity import create_model_reference


class ActivitySerializer:
    """``serialize(activity)`` → a dict ``json.dumps`` accepts.

    ``fields`` maps a model label (``"auth.User"``) to the attributes to include; a model may
    instead define ``activity_json(self) -> dict``. Aggregated groups serialize their
    ``activities``; an activity that could not be enriched carries ``not_enriched``.
    """

    def __init__(self, fields: Mapping[str, Iterable[str]] | None = None) -> None:
        self.fields = {label.lower(): tuple(names) for label, names in (fields or {}).items()}

    def serialize(self, activity: Mapping[str, Any]) -> dict[str, Any]:
        out = {str(key): self.value(value) for key, value in activity.items()}
        missing = getattr(activity, "not_enriched_data", None)
        if missing:
            out["not_enriched"] = self.value(missing)
        return out

    def serialize_many(self, activities: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [self.serialize(a) for a in activities]

    def instance(self, instance: models.Model) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ref": create_model_reference(instance),
            "model": instance._meta.label_lower,
            "pk": self.value(instance.pk),
            "str": str(instance),
        }
        custom = getattr(instance, "activity_json", None)
        if callable(custom):
            data.update(self.value(custom()))
        for name in self.fields.get(instance._meta.label_lower, ()):
            data[name] = self.value(getattr(instance, name, None))
        return data

    def value(self, value: Any) -> Any:
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, models.Model):
            return self.instance(value)
        if isinstance(value, Mapping):
            if hasattr(value, "not_enriched_data"):  # an EnrichedActivity nested in a group
                return self.serialize(value)
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, datetime.datetime | datetime.date | datetime.time):
            return value.isoformat()
        if isinstance(value, uuid.UUID | decimal.Decimal | Promise):
            return force_str(value)
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(v) for v in value]
        return force_str(value)


def serialize_activities(
    activities: Iterable[Mapping[str, Any]], fields: Mapping[str, Iterable[str]] | None = None
) -> list[dict[str, Any]]:
    """Shortcut: ``ActivitySerializer(fields).serialize_many(activities)``."""
    return ActivitySerializer(fields).serialize_many(activities)
