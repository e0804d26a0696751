"""The Activity mixin (stream-django's hooks and defaults) and the rows its relation hooks load;
model references are feed_outbox.write.references' (re-exported here under stream-django's names)."""

from __future__ import annotations

import datetime
import inspect
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from django.db import models
from django.template.defaultfilters import slugify

# stream-django exported these here: re-exported explicitly (`as`), for type checkers too.
from django.utils.timezone import is_aware as is_aware
from django.utils.timezone import make_naive as make_naive

from feed_outbox import conf
from feed_outbox.exceptions import ActivityDataError
from feed_outbox.write.payload import to_utc
from feed_outbox.write.references import create_model_reference as create_model_reference
from feed_outbox.write.references import create_reference as create_reference
from feed_outbox.write.references import model_content_type as model_content_type

if TYPE_CHECKING:
    from django.db.models.base import ModelState
    from django.db.models.options import Options

_C = TypeVar("_C", bound=type)
_T = TypeVar("_T")


def _per_class(function: Callable[[_C], _T]) -> Callable[[_C], _T]:
    """functools.cache for a function of a class, typed as the function it wraps: mypy
    takes ``type[Model]`` for unhashable (python/mypy#11470) when cache's own signature
    (Hashable arguments) is checked at each call."""
    return cache(function)


CORE_FIELDS = frozenset({"actor", "verb", "object", "foreign_id", "time"})


# Stream's feed ids: a group slug and a user id, both of word characters and dashes.
_FEED_ID = re.compile(r"[\w-]+:[\w-]+")


def feed_id(feed: Any) -> str:
    """``slug:user_id`` for a stream-python Feed or a feed id string."""
    value = feed if isinstance(feed, str) else getattr(feed, "id", None)
    if isinstance(value, str) and _FEED_ID.fullmatch(value):
        return value
    raise ActivityDataError(f"{feed!r} is neither a feed nor a feed id like 'notification:42'")


def _label(obj: Any) -> str:
    return model_content_type(type(obj)) if isinstance(obj, models.Model) else type(obj).__name__


@_per_class
def _verb_of(cls: type) -> str:
    # slugify is regex work: done once per class, not per save.
    meta = getattr(cls, "_meta", None)
    concrete = (meta.concrete_model if meta is not None else None) or cls
    return slugify(concrete.__name__)


@_per_class
def _actor_foreign_key(cls: type[Activity]) -> tuple[str, str] | None:
    """``(attname, "app.Model")`` when the default actor is a foreign key to a primary key.

    Lets the actor id and reference be read from ``user_id`` without loading the user
    (stream-django fetched it on every update and delete).
    """
    if cls.activity_actor_attr is not Activity.activity_actor_attr or not hasattr(cls, "_meta"):
        return None
    for name in ("user", "actor"):
        try:
            field = cls._meta.get_field(name)
        except Exception:  # FieldDoesNotExist: a plain attribute, or the next name
            if hasattr(cls, name):
                return None
            continue
        if not ((field.many_to_one or field.one_to_one) and field.concrete):
            return None
        # A concrete to-one relation is a ForeignKey (a ForeignObject's has no column).
        if not isinstance(field, models.ForeignKey):
            return None
        if field.target_field != field.related_model._meta.pk:
            return None
        return field.attname, model_content_type(field.related_model)
    return None


# stream-django's hooks are properties; a subclass that writes one as a plain method
# (GrowHome's Follow and Like did) hands a bound method to the activity.
PROPERTY_HOOKS = (
    "activity_author_feed",
    "extra_activity_data",
    "activity_actor_attr",
    "activity_object_attr",
    "activity_actor_id",
    "activity_actor",
    "activity_verb",
    "activity_object",
    "activity_foreign_id",
    "activity_time",
    "activity_notify",
)


@_per_class
def _hooks_written_as_methods(cls: type) -> tuple[str, ...]:
    return tuple(
        name
        for name in PROPERTY_HOOKS
        if inspect.isfunction(inspect.getattr_static(cls, name, None))
    )


def _method_hook_error(instance: Any) -> ActivityDataError:
    return ActivityDataError(
        f"{_label(instance)}.{_hooks_written_as_methods(type(instance))[0]} is a method; "
        "Activity hooks are properties: add @property above it"
    )


def related_queryset(model: type[models.Model], using: str | None = None) -> models.QuerySet:
    """``model``'s ``_default_manager`` (on ``using``) with the relations its hooks name loaded.

    ``activity_related_models`` (select_related) and ``activity_prefetch_related_models``
    (prefetch_related), on any model (Enrich reads the user model's too): building or enriching
    the activities of a page of rows then costs the same few queries whatever its size (no N+1).
    """
    manager = model._default_manager
    rows = manager.all() if using is None else manager.using(using)
    related = getattr(model, "activity_related_models", None)
    related = related() if callable(related) else None
    if related:
        rows = rows.select_related(*related)
    prefetch = getattr(model, "activity_prefetch_related_models", None)
    prefetch = prefetch() if callable(prefetch) else None
    if prefetch:
        rows = rows.prefetch_related(*prefetch)
    return rows


def lock_for_update(rows: models.QuerySet) -> models.QuerySet:
    """``select_for_update`` of the model's own rows only: PostgreSQL refuses FOR UPDATE on the
    nullable side of the outer joins select_related may add, and the relations need no lock."""
    if rows.query.select_related:
        return rows.select_for_update(of=("self",))
    return rows.select_for_update()


class Activity:
    """Mixin for models whose instances are activities in Stream feeds.

    Use it like stream-django's: ``class Tweet(Activity, models.Model)`` (either base order).
    Saving writes an outbox event in the save's transaction; the relay publishes it.
    """

    #: Field holding the activity time; defaults to the FEED_OUTBOX_TIME_FIELD setting.
    activity_time_field: str | None = None

    if TYPE_CHECKING:  # what the models.Model it is mixed into brings
        _meta: ClassVar[Options[Any]]
        _state: ModelState
        pk: Any

    @property
    def activity_author_feed(self) -> str | None:
        """Feed slug the activity is stored in; None means the STREAM_USER_FEED setting."""
        return None

    @classmethod
    def activity_related_models(cls) -> list[str] | None:
        """Relations to ``select_related`` when enriching (None: none)."""
        return None

    @property
    def extra_activity_data(self) -> dict[str, Any] | None:
        """Extra fields stored in the activity; model instances become references."""
        return None

    @property
    def activity_actor_attr(self) -> Any:
        """The actor: the ``user`` attribute, falling back to ``actor``."""
        for name in ("user", "actor"):
            try:
                return getattr(self, name)
            except AttributeError:
                continue
        raise ActivityDataError(
            f"{_label(self)} has no actor: give it a 'user' or 'actor' field "
            "or override activity_actor_attr"
        )

    @property
    def activity_object_attr(self) -> Any:
        """The object of the activity: the instance itself by default."""
        return self

    @property
    def activity_actor_id(self) -> Any:
        fk = _actor_foreign_key(type(self))
        if fk is not None:
            return getattr(self, fk[0])
        actor = self.activity_actor_attr
        return actor.pk if isinstance(actor, models.Model) else actor

    @property
    def activity_actor(self) -> Any:
        fk = _actor_foreign_key(type(self))
        if fk is not None:
            actor_id = getattr(self, fk[0])
            return None if actor_id is None else f"{fk[1]}:{actor_id}"
        return create_reference(self.activity_actor_attr)

    @property
    def activity_verb(self) -> str:
        return _verb_of(type(self))

    @property
    def activity_object(self) -> Any:
        return create_reference(self.activity_object_attr)

    @property
    def activity_foreign_id(self) -> str:
        # The instance's own reference, not activity_object: a Like whose object is a Tweet
        # must not share the Tweet activity's foreign id (removing one would remove both).
        return create_model_reference(self)  # type: ignore[arg-type]  # a model with the mixin

    @property
    def activity_time(self) -> datetime.datetime:
        """The activity time as naive UTC (stream-django's convention), read from the time field.

        Naive field values are read in TIME_ZONE (USE_TZ=False projects store local times).
        """
        field = self.activity_time_field or conf.get("FEED_OUTBOX_TIME_FIELD")
        try:
            value = getattr(self, field)
        except AttributeError:
            raise ActivityDataError(
                f"{_label(self)} has no field {field!r} for the activity time: add it, set "
                "activity_time_field, or override activity_time"
            ) from None
        if not isinstance(value, datetime.datetime):
            raise ActivityDataError(
                f"{_label(self)}.{field} is {value!r}; the activity time must be a datetime"
            )
        return to_utc(value).replace(tzinfo=None)

    @property
    def activity_notify(self) -> list[Any] | None:
        """Feeds (stream-python Feed objects or 'slug:id' strings) to copy the activity to.

        On an update the targets are reconciled: feeds no longer listed lose the copy.
        """
        return None

    def activity_should_publish(self) -> bool:
        """Whether the instance is in the feeds; when it turns False its activity is removed.

        Override it for drafts and soft deletes (``return not self.deleted``); turning True
        again adds the activity back with its original time.
        """
        return True

    def activity_feeds(self) -> list[Any]:
        """Feeds (Feed objects or 'slug:id') the activity is added to; default: the author feed.

        Override it to publish to more than the author feed. The list must not change over
        the object's life (like the time field); use ``activity_notify`` for targets that do.
        """
        from feed_outbox.feed_manager import feed_manager

        if _hooks_written_as_methods(type(self)):  # cached per class: a dict look-up a save
            raise _method_hook_error(self)
        return [f"{feed_manager.get_actor_feed(self)}:{self.activity_actor_id}"]

    def _extra_data(self) -> dict[str, Any]:
        """A copy of ``extra_activity_data``: None is no data, anything but a mapping is
        refused naming the model (``dict()`` of a list says neither)."""
        data = self.extra_activity_data
        if data is None:
            return {}
        if type(data) is dict:  # the usual case, without an ABC check on every save
            return data.copy()
        if not isinstance(data, Mapping):
            raise ActivityDataError(
                f"{_label(self)}.extra_activity_data returned a {type(data).__name__}, not a "
                "dict: return a dict of extra activity fields (or None)"
            )
        return dict(data)

    def _keys_error(self, extra: dict[Any, Any]) -> ActivityDataError:
        odd = sorted(repr(k) for k in extra if not isinstance(k, str))
        return ActivityDataError(
            f"{_label(self)}.extra_activity_data has keys that are not strings: "
            f"{', '.join(odd[:5])}"
        )

    def create_activity(self) -> dict[str, Any]:
        """The activity dict sent to Stream. The dict ``extra_activity_data`` returned is not mutated."""
        if _hooks_written_as_methods(type(self)):
            raise _method_hook_error(self)
        extra = self._extra_data()
        clash = CORE_FIELDS & extra.keys()
        if clash:
            raise ActivityDataError(
                f"{_label(self)}.extra_activity_data sets {sorted(clash)}, which are core "
                "activity fields: override the activity_* hooks instead"
            )
        to = self.activity_notify
        if to:
            try:
                extra["to"] = [feed_id(f) for f in to]
            except ActivityDataError as exc:
                raise ActivityDataError(f"{_label(self)}.activity_notify: {exc}") from None
        actor = self.activity_actor
        if actor is None or actor == "":
            raise ActivityDataError(f"{_label(self)} has an empty actor")
        try:
            return dict(
                actor=actor,
                verb=self.activity_verb,
                object=self.activity_object,
                foreign_id=self.activity_foreign_id,
                time=self.activity_time,
                **extra,
            )
        except TypeError:  # "keywords must be strings": checked only when it fails
            if all(isinstance(key, str) for key in extra):
                raise
            raise self._keys_error(extra) from None


if TYPE_CHECKING:

    class ActivityModel(Activity, models.Model):
        """For annotations only: a model with the Activity mixin (Python has no intersection
        types; activity_model() and activity_models() return these)."""

        class Meta:
            abstract = True
