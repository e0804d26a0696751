"""Model references: how an activity names a model instance (``app_label.Model:pk``), and how
a string is read back as one. Writers (activity, payload) and readers (enrich, reconcile) meet here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django.db import models

if TYPE_CHECKING:
    from django.db.models.options import Options

# app_label.ModelName:pk — nothing looser: a string that merely contains a colon is text.
REFERENCE = re.compile(r"(?P<app>[A-Za-z_]\w*)\.(?P<model>[A-Za-z_]\w*):(?P<pk>[^:\s]{1,255})")


class _HasMeta(Protocol):
    """A model class, or the Activity mixin (which declares what its models bring)."""

    _meta: ClassVar[Options[Any]]


def model_content_type(cls: type[_HasMeta]) -> str:
    """``app_label.ModelName`` of the concrete model, so a proxy never splits an object's history."""
    concrete = cls._meta.concrete_model or cls
    return f"{concrete._meta.app_label}.{concrete._meta.object_name}"


def create_model_reference(model_instance: models.Model) -> str:
    """A reference to a model instance that can be stored in activities: ``app.Model:pk``."""
    return f"{model_content_type(model_instance.__class__)}:{model_instance.pk}"


def create_reference(reference: Any) -> Any:
    """A model instance becomes a model reference; anything else is returned as is."""
    if isinstance(reference, models.Model):
        return create_model_reference(reference)
    return reference


def split_foreign_id(foreign_id: str) -> tuple[str, str] | None:
    """``("app.Model", "pk")`` for a model reference ``app.Model:pk``, else None.

    Looser than REFERENCE on purpose: it splits the foreign ids the outbox wrote (whose pk may
    hold any character) for reconcile and replay, which then look the model up themselves."""
    label, sep, pk = str(foreign_id).rpartition(":")
    if not sep or "." not in label or not pk:
        return None
    return label, pk
