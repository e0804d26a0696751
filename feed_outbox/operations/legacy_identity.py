"""stream-django 1.8's identity of an activity: the foreign id, verb and time it published.

feed-outbox keys activities differently (``feed_outbox.activity``), so adopting a project that
ran stream-django must recognise what stream-django wrote. The rules, from
``stream_django/activity.py`` of release 1.8.0 (GetStream/stream-django, tag 1.8.0):

* ``model_content_type`` is ``app_label.object_name`` of the instance's own class (lines 8-9),
  so a proxy instance got the proxy's label; ``create_model_reference`` appends ``:pk``
  (lines 18-30);
* ``activity_foreign_id`` returns ``activity_object`` (lines 95-97), the reference of
  ``activity_object_attr`` (lines 91-93): a Like of Tweet 19 went out as ``app.Tweet:19``;
* ``activity_verb`` is ``slugify(self.__class__.__name__)`` (lines 86-89): the instance's own
  class, proxies included;
* ``activity_time`` is ``self.created_at``, made naive in UTC when aware (lines 99-104). A naive
  value (``USE_TZ=False``) went out as it was, a local time read by Stream as UTC.

A model that overrides one of these hooks overrode it under stream-django too (the hook names
are the same), so its own value is its stream-django value.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.apps import apps
from django.db import models
from django.template.defaultfilters import slugify

from feed_outbox.activity import Activity
from feed_outbox.write.payload import TIME_FORMAT


def _overrides(instance: Any, name: str) -> bool:
    return getattr(type(instance), name) is not getattr(Activity, name)


def _reference(value: Any) -> Any:
    # stream_django/activity.py:8-30: the label of the instance's class, not the concrete model.
    if isinstance(value, models.Model):
        return f"{value._meta.app_label}.{value._meta.object_name}:{value.pk}"
    return value


def legacy_foreign_id(instance: Activity) -> Any:
    if _overrides(instance, "activity_foreign_id"):
        return instance.activity_foreign_id
    if _overrides(instance, "activity_object"):
        return instance.activity_object
    return _reference(instance.activity_object_attr)


def legacy_time(instance: Activity) -> datetime.datetime:
    """The time stream-django sent: naive values as they are, aware ones in UTC, made naive."""
    value = instance.activity_time if _overrides(instance, "activity_time") else None
    if value is None:
        value = instance.created_at  # type: ignore[attr-defined]  # hard-coded in 1.8
    if value.tzinfo is not None and value.utcoffset() is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


def legacy_identity(instance: Activity) -> tuple[Any, str]:
    """``(foreign_id, time)`` as Stream stored them for stream-django's add of ``instance``."""
    return legacy_foreign_id(instance), legacy_time(instance).strftime(TIME_FORMAT)


def legacy_verbs(model: type[models.Model]) -> set[str]:
    """Every verb stream-django gave ``model``'s rows: its class and each proxy of it."""
    concrete = model._meta.concrete_model or model
    classes = [concrete] + [
        m for m in apps.get_models() if m._meta.proxy and m._meta.concrete_model is concrete
    ]
    verbs: set[str] = {slugify(cls.__name__) for cls in classes}
    for cls in classes:  # Activity models, typed as the models.Model they are
        if cls.activity_verb is not Activity.activity_verb:  # type: ignore[attr-defined]
            # An overridden verb is a property of the instance: ask an unsaved one.
            try:
                verbs.add(cls().activity_verb)  # type: ignore[attr-defined]
            except Exception:  # a verb that needs saved data: not knowable here
                pass
    return verbs


def stream_time(value: Any) -> str | None:
    """An activity ``time`` as Stream returned it (a string, or a datetime the client decoded),
    in the outbox's format, so that a frozen time and a read one compare as strings."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, datetime.datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.strftime(TIME_FORMAT)
