"""Switch-check findings about Activity models: the app's own receivers, soft deletes, identities
(verb, feeds, foreign id, time) that stream-django computed differently."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

from django.apps import AppConfig
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

from feed_outbox import conf
from feed_outbox.activity import Activity
from feed_outbox.switch_check.findings import Finding, display_path
from feed_outbox.switch_check.project import setting_line
from feed_outbox.switch_check.source import (
    calls_in,
    class_attribute_line,
    class_file,
    class_line,
    defining_class,
    function_source,
    is_project_file,
    returns_only,
    self_attributes,
    underlying_function,
)

if TYPE_CHECKING:
    from feed_outbox.activity import ActivityModel

SIGNALS = {
    "pre_save": pre_save,
    "post_save": post_save,
    "pre_delete": pre_delete,
    "post_delete": post_delete,
}
ADOPT = (
    'Deploy, then run `python manage.py outbox_adopt_stream_django` (docs: "Migrating from '
    'stream-django", step 4): it re-keys what stream-django published.'
)
# Names of soft-delete and draft flags: "hiding" ones are set when the row is not to be shown,
# "showing" ones when it is.
_HIDING_BOOLEANS = {"deleted", "is_deleted", "removed", "is_removed", "hidden", "is_hidden"}
_HIDING_BOOLEANS |= {"archived", "is_archived", "draft", "is_draft", "trashed", "is_trashed"}
_SHOWING_BOOLEANS = {"is_active", "active", "published", "is_published", "visible", "is_visible"}
_HIDING_TIMES = {"deleted_at", "deleted_on", "removed_at", "hidden_at", "archived_at", "trashed_at"}
_HIDING_TIMES |= {"date_deleted", "date_removed", "date_archived"}
_IDENTITY_HOOKS = ("activity_verb", "activity_author_feed", "activity_feeds")


def activity_models(configs: Iterable[AppConfig]) -> list[type[ActivityModel]]:
    return [
        cast("type[ActivityModel]", m)
        for c in configs
        for m in c.get_models()
        if issubclass(m, Activity)
    ]


def project_definition(model: type, name: str) -> Any:
    """The project's definition of ``name`` on ``model`` (None when it is a library's)."""
    owner = defining_class(model, name)
    if owner is None or not is_project_file(class_file(owner)):
        return None
    return vars(owner)[name]


def _connected(signal: Any, sender: Any) -> Iterator[tuple[Any, bool]]:
    """``(receiver, for every sender)`` of ``signal`` for ``sender`` (Django keys by id())."""
    for entry in list(signal.receivers):
        try:
            (_receiver_key, sender_key), ref = entry[0], entry[1]
        except (TypeError, ValueError, IndexError):
            continue
        if sender_key not in (id(None), id(sender)):
            continue
        receiver = ref() if isinstance(ref, weakref.ReferenceType) else ref
        if receiver is not None:
            yield receiver, sender_key == id(None)


def _receivers_of(model: type[ActivityModel]) -> Iterator[tuple[Any, str, str]]:
    """``(receiver, signal name, what it is connected to)`` for a model's save/delete/m2m."""
    for name, signal in SIGNALS.items():
        for receiver, every in _connected(signal, model):
            yield receiver, name, "every model" if every else model._meta.label
    for field in model._meta.local_many_to_many:
        for receiver, every in _connected(m2m_changed, field.remote_field.through):
            yield (
                receiver,
                "m2m_changed",
                "every model" if every else f"{model._meta.label}.{field.name}",
            )


def receivers_calling_feed_manager(models_: list[type[ActivityModel]]) -> list[Finding]:
    """Receivers the app connected to its Activity models that call the feed manager or Stream."""
    connected: dict[Any, dict[str, set]] = {}
    for model in models_:
        for receiver, signal, sender in _receivers_of(model):
            func = underlying_function(receiver)
            if func is not None:
                where = connected.setdefault(func, {"signals": set(), "senders": set()})
                where["signals"].add(signal)
                where["senders"].add((sender, model))
    findings = []
    for func, where in connected.items():
        source = function_source(func)  # None for feed_outbox's own receivers and libraries'
        if source is None:
            continue
        manager, stream = calls_in(source.node, source.file, source.offset)
        sent_by = {model for _, model in where["senders"]}
        if not stream and _same_after_the_switch(sent_by, {c.name for c in manager}):
            continue
        senders = ", ".join(sorted({sender for sender, _ in where["senders"]}))
        called = ", ".join(sorted({c.text for c in manager + stream}))
        message = (
            f"{func.__qualname__} receives {'/'.join(sorted(where['signals']))} of {senders} "
            f"and calls {called}. stream-django published only creates (managers.py:79-81); "
            "feed-outbox also publishes every save of an existing row as an update. The app's "
            "own call for the instance during its save decides what the save publishes (made "
            "before feed-outbox's receiver, that receiver publishes nothing for the save; made "
            "after it, it is applied after feed-outbox's events), so the receiver keeps "
            "working for saves through save(), but a call made outside the save is followed "
            "by the save's own update."
        )
        if stream:
            message += (
                f" {', '.join(sorted({c.text for c in stream}))} writes to Stream directly, "
                "outside the outbox: not transactional, lost when Stream fails, not undone by "
                "a rollback."
            )
        findings.append(
            Finding(
                "feed_outbox.W101",
                f"{func.__module__}.{func.__qualname__}",
                display_path(source.file),
                source.line,
                message,
                _receiver_change(sent_by, manager),
            )
        )
    return findings


def _same_after_the_switch(models_: set[type[ActivityModel]], called: set[str]) -> bool:
    """Calls that change nothing after the switch: follows (outbox events, and never what a
    save publishes), or removes on models whose activity_should_publish() already unpublishes."""
    called = called - {"follow_user", "unfollow_user"}
    removes = {"activity_delete", "remove_activity_from_feed"}
    if not called:
        return True
    return called <= removes and all(
        project_definition(m, "activity_should_publish") for m in models_
    )


def _receiver_change(models_: set[type[ActivityModel]], manager: list) -> str:
    labels = ", ".join(sorted(m._meta.label for m in models_))
    if {"activity_delete", "remove_activity_from_feed"} & {c.name for c in manager}:
        expressions = [
            f"`return {e}`"
            for m in sorted(models_, key=lambda m: m._meta.label)
            for e in filter(None, map(_hiding_expression, m._meta.concrete_fields))
        ]
        example = expressions[0] if expressions else "e.g. `return self.deleted_at is None`"
        return (
            f"Override activity_should_publish() on {labels} ({example}) and drop the "
            "receiver: turning false removes the activity, turning true adds it back, on "
            "every path (bulk writes through ActivityManager included)."
        )
    return (
        f"Drop the receiver: feed-outbox publishes the creates, updates and deletes of "
        f"{labels} itself. More feeds belong in activity_feeds(), notified feeds in "
        "activity_notify, drafts and soft deletes in activity_should_publish(); "
        "feed_manager.follow_user / unfollow_user calls keep working (outbox events)."
    )


def _hiding_expression(field: models.Field) -> str | None:
    """How activity_should_publish() would read ``field`` if it is a soft delete or draft flag."""
    name = field.name
    if isinstance(field, models.BooleanField):
        if name in _HIDING_BOOLEANS:
            return f"not self.{name}"
        if name in _SHOWING_BOOLEANS:
            return f"self.{name}"
    elif isinstance(field, (models.DateTimeField, models.DateField)) and field.null:
        if name in _HIDING_TIMES:
            return f"self.{name} is None"
    return None


def soft_delete_fields(models_: list[type[ActivityModel]]) -> list[Finding]:
    """Soft-delete fields on Activity models that keep the default activity_should_publish()."""
    findings = []
    for model in models_:
        if model._meta.proxy or project_definition(model, "activity_should_publish"):
            continue
        for field in model._meta.concrete_fields:
            expression = _hiding_expression(field)
            location = class_attribute_line(model, field.name) if expression else None
            if location is None:
                continue
            label = model._meta.label
            findings.append(
                Finding(
                    "feed_outbox.W102",
                    f"{label}.{field.name}",
                    display_path(location[0]),
                    location[1],
                    f"{label}.{field.name} looks like a soft delete, but {label} keeps the "
                    "default activity_should_publish() (always True): feed-outbox publishes "
                    "every save of an existing row as an update (stream-django published only "
                    "creates, managers.py:79-81), so a row marked this way stays in every feed "
                    "unless the app removes it itself.",
                    f"Override activity_should_publish() on {label}: `return {expression}`. "
                    "Turning false removes the activity; turning true again adds it back.",
                )
            )
    return findings


def row_dependent_identity(models_: list[type[ActivityModel]]) -> list[Finding]:
    """activity_verb / activity_author_feed / activity_feeds overrides that read row fields."""
    findings = []
    for model in models_:
        fields = {n for f in model._meta.get_fields() for n in (f.name, getattr(f, "attname", ""))}
        for hook in _IDENTITY_HOOKS:
            definition = project_definition(model, hook)
            source = function_source(definition) if definition is not None else None
            if source is None:
                continue
            read = sorted(fields.intersection(self_attributes(source.node)) - {""})
            if not read:
                continue
            label, names = model._meta.label, ", ".join(read)
            change = "changes" if len(read) == 1 else "change"
            findings.append(
                Finding(
                    "feed_outbox.W107",
                    f"{label}.{hook}",
                    display_path(source.file),
                    source.line,
                    f"{label}.{hook} reads {names}. stream-django computed it at each call; "
                    "feed-outbox freezes it in each event, and an activity's verb and feeds are "
                    f"its identity: if {names} {change} over the object's life, its later "
                    "updates and its remove go to another verb or feed than its add. "
                    "outbox_adopt_stream_django asks an unsaved instance for the verb.",
                    "Derive it from the class or from fields that never change; targets that "
                    "do change belong in activity_notify (reconciled on every update).",
                )
            )
    return findings


def _object_is_instance(model: type[ActivityModel]) -> tuple[str, Any] | None:
    """The hook making ``model``'s activity_object something else than the instance, if any."""
    accepted = {
        "activity_object_attr": {"self"},
        "activity_object": {"create_reference(self)", "create_model_reference(self)"},
    }
    for hook, returns in accepted.items():
        definition = project_definition(model, hook)
        source = function_source(definition) if definition is not None else None
        if source is not None and not returns_only(source.node, returns):
            return hook, source
    return None


def foreign_id_changes(models_: list[type[ActivityModel]]) -> list[Finding]:
    """Models whose stream-django foreign id (activity_object's reference) is not the instance's."""
    findings = []
    for model in models_:
        if project_definition(model, "activity_foreign_id"):
            continue  # the same override gave stream-django's foreign id
        found = _object_is_instance(model)
        if found is None:
            continue
        hook, source = found
        label = model._meta.label
        findings.append(
            Finding(
                "feed_outbox.W110",
                f"{label}.{hook}",
                display_path(source.file),
                source.line,
                f"{label}.{hook} is not the instance itself: stream-django used the object's "
                "reference as the foreign_id (activity.py:95-97), so every activity about one "
                f"object shared it; feed-outbox uses the instance's own ({label}:<pk>). The "
                "activities stream-django published are not updated or removed by feed-outbox "
                "until they are re-keyed.",
                ADOPT,
            )
        )
    return findings


def proxy_identity_changes(models_: list[type[ActivityModel]]) -> list[Finding]:
    """Proxy Activity models: stream-django gave their rows the proxy's verb and label."""
    findings = []
    for model in models_:
        if model._meta.proxy and is_project_file(class_file(model)):
            file, line = class_line(model)
            label = model._meta.label
            concrete = (model._meta.concrete_model or model)._meta.label
            findings.append(
                Finding(
                    "feed_outbox.W113",
                    label,
                    display_path(file),
                    line,
                    f"{label} is a proxy of {concrete}: stream-django published rows saved "
                    "through it with the proxy's verb and label (activity.py:8-9, 86-89); "
                    f"feed-outbox uses {concrete}'s, so one object keeps one identity.",
                    ADOPT,
                )
            )
    return findings


def time_changes(models_: list[type[ActivityModel]]) -> list[Finding]:
    """Models whose activity time is read from another field than stream-django's created_at."""
    findings = []
    for model in models_:
        if project_definition(model, "activity_time") or model._meta.proxy:
            continue
        field = model.activity_time_field or conf.get("FEED_OUTBOX_TIME_FIELD")
        names = {f.name for f in model._meta.concrete_fields}
        # Without created_at stream-django failed every add, so nothing old is keyed by it.
        if field == "created_at" or "created_at" not in names:
            continue
        label = model._meta.label
        if model.activity_time_field:
            file, line = class_attribute_line(model, "activity_time_field") or class_line(model)
            source = f"activity_time_field = {field!r}"
        else:
            file, line = setting_line("FEED_OUTBOX_TIME_FIELD")
            source = f"FEED_OUTBOX_TIME_FIELD = {field!r}"
        findings.append(
            Finding(
                "feed_outbox.W111",
                label,
                display_path(file),
                line,
                f"{label}'s activity time is read from {field} ({source}); stream-django always "
                "sent created_at (activity.py:99-104). Stream keys an activity by foreign_id "
                "and time, so the old activities of this model are other activities to Stream.",
                ADOPT,
            )
        )
    return findings
