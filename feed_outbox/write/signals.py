"""Binding Activity models: their saves become atomic and their changes become outbox events.

Receivers are connected by ``connect()``, which FeedOutboxConfig.ready() calls (Django's
convention), never as a side effect of importing this module.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import TYPE_CHECKING, Any, cast

from django.apps import apps as global_apps
from django.db import models, router, transaction
from django.db.models.signals import (
    class_prepared,
    post_delete,
    post_migrate,
    post_save,
    pre_delete,
)

from feed_outbox.activity import Activity
from feed_outbox.write import lifecycle, notify_trigger

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel


def _on_save(sender: type[models.Model], instance: Activity, **kwargs: Any) -> Any:
    return lifecycle.run_automatic("activity_created", sender, instance, kwargs)


def _on_pre_delete(sender: type[models.Model], instance: Activity, **kwargs: Any) -> None:
    lifecycle.open_scope(instance)


def _on_delete(sender: type[models.Model], instance: Activity, **kwargs: Any) -> Any:
    try:
        return lifecycle.run_automatic("activity_delete", sender, instance, kwargs)
    finally:
        # Calls the app makes after this one are written after the remove: no scope needed.
        lifecycle.close_scope(instance)


def _make_save_atomic(model: type[models.Model]) -> None:
    """Wrap ``save_base`` in a transaction so the row and its outbox event commit together.

    Django saves a model without parents in autocommit mode, so post_save would run after the
    row committed. Patching the class (not relying on the mixin's place in the MRO) covers
    ``class Tweet(models.Model, Activity)`` as well as ``class Tweet(Activity, models.Model)``.
    """
    original = model.save_base
    if getattr(original, "_feed_outbox_atomic", False):
        return

    @functools.wraps(original)
    def save_base(self: ActivityModel, *args: Any, **kwargs: Any) -> Any:
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        kwargs["using"] = using
        outer = lifecycle.open_scope(self)  # the app's hook calls during the signals win
        try:
            with transaction.atomic(using=using, savepoint=False):
                return original(self, *args, **kwargs)
        finally:
            lifecycle.close_scope(self, outer)

    save_base._feed_outbox_atomic = True  # type: ignore[attr-defined]  # our mark on the wrapper
    # Patched onto the class: mypy holds a method to its declared signature, not a wrapper.
    model.save_base = save_base  # type: ignore[method-assign,assignment]


def _remember_loaded_state(model: type[ActivityModel]) -> None:
    """Patch ``from_db`` so a loaded instance knows whether its activity is published."""
    original = model.from_db.__func__  # type: ignore[attr-defined]  # a bound classmethod's function
    if getattr(original, "_feed_outbox_loaded", False) or not lifecycle.remembers_state(model):
        return

    # Keyword arguments pass through: Django 6.1 calls from_db(..., fetch_mode=...) when the
    # wrapped method's signature (which functools.wraps exposes) accepts it.
    @functools.wraps(original)
    def from_db(
        cls: type[ActivityModel],
        db: str | None,
        field_names: Collection[str],
        values: Collection[Any],
        **kwargs: Any,
    ) -> ActivityModel:
        instance = original(cls, db, field_names, values, **kwargs)
        if lifecycle.remembers_state(cls):
            lifecycle.loaded(instance, complete=len(values) == len(cls._meta.concrete_fields))
        return instance

    from_db._feed_outbox_loaded = True  # type: ignore[attr-defined]  # our mark on the wrapper
    # functools.wraps' result is no plain function to mypy: classmethod() of it is refused.
    model.from_db = classmethod(from_db)  # type: ignore[method-assign,assignment,arg-type]


def bind_model(model: type[models.Model]) -> bool:
    """Publish changes of ``model`` if it is a concrete (or proxy) Activity of the app registry.

    Historical models built by migrations live in another registry and are never bound, so
    migrations publish nothing and tracking needs no switching off (stream-django left it off).
    """
    if not issubclass(model, Activity) or model._meta.abstract:
        return False
    if model._meta.apps is not global_apps:
        return False
    uid = f"feed_outbox:{model._meta.label}"
    post_save.connect(_on_save, sender=model, dispatch_uid=uid, weak=False)
    pre_delete.connect(_on_pre_delete, sender=model, dispatch_uid=uid, weak=False)
    post_delete.connect(_on_delete, sender=model, dispatch_uid=uid, weak=False)
    _make_save_atomic(model)
    _remember_loaded_state(cast("type[ActivityModel]", model))
    return True


def bind_all_models() -> None:
    for model in global_apps.get_models():
        bind_model(model)


def _on_class_prepared(sender: type[models.Model], **kwargs: Any) -> None:
    # Models defined after start-up (tests, dynamic models); the rest are bound in ready().
    if global_apps.ready:
        bind_model(sender)


def connect() -> None:
    """Bind the registry's Activity models and connect the app's receivers (from ready())."""
    class_prepared.connect(_on_class_prepared, dispatch_uid="feed_outbox:class_prepared")
    post_migrate.connect(notify_trigger.on_post_migrate, dispatch_uid="feed_outbox:notify_trigger")
    bind_all_models()
