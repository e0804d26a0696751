"""Publishing what sends no signals: ``bulk_create``, ``bulk_update``, ``QuerySet.update``.

``publish(instances, kind)`` writes the events of many instances with one INSERT in the
caller's transaction; ``ActivityQuerySet`` makes the bulk methods of a model's manager do it.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, Literal, TypeVar

from django.db import models, transaction

from feed_outbox.models import OutboxEvent
from feed_outbox.write import lifecycle, outbox

Kind = Literal["add", "update", "remove"]
_M = TypeVar("_M", bound=models.Model)

#: Rows re-read per query after ``update()`` (keeps ``pk__in`` lists and memory bounded).
CHUNK_SIZE = 2000


def _tracked(instances: list[Any]) -> list[Any]:
    from feed_outbox.feed_manager import feed_manager

    return [i for i in instances if feed_manager.should_track(type(i))]


def publish(
    instances: Iterable[models.Model], kind: Kind = "add", using: str | None = None
) -> list[OutboxEvent]:
    """Write ``kind`` events for ``instances`` in one INSERT, in the caller's transaction.

    ``add``/``update`` publish each instance's current activity, or remove it when
    ``activity_should_publish()`` is false; ``remove`` removes them all. Tracking switches
    apply (a disabled model publishes nothing). ``using`` defaults to each instance's database.
    """
    by_alias: dict[str, list[Any]] = {}
    for instance in _tracked(list(instances)):
        by_alias.setdefault(outbox.db_alias_for(instance, using), []).append(instance)
    written: list[OutboxEvent] = []
    for alias, group in by_alias.items():
        written += outbox.enqueue(lifecycle.explicit_events(group, kind), alias)
    return written


class ActivityQuerySet(models.QuerySet[_M]):
    """A QuerySet whose bulk writes publish, each in one transaction with its outbox rows.

    ``objects = ActivityQuerySet.as_manager()`` (or ``ActivityManager()``) on an Activity model.
    ``bulk_create`` publishes adds; ``update`` (and ``bulk_update``, which Django builds on it)
    re-reads the updated rows and publishes their new state; ``delete`` batches its removes
    into one INSERT.
    """

    def bulk_create(self, objs: Iterable[_M], *args: Any, **kwargs: Any) -> list[_M]:
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            if any(obj.pk is None for obj in created):
                # ignore_conflicts (or a backend without RETURNING) does not say which rows
                # were inserted: refuse rather than silently publish nothing.
                raise ValueError(
                    f"bulk_create of {self.model._meta.label} did not set primary keys, so "
                    "the rows cannot be published: read them back and call "
                    "feed_outbox.publishing.publish(rows)"
                )
            publish(created, "add", using=self.db)
        return created

    def update(self, **kwargs: Any) -> int:
        """Update the rows, then publish each updated row's new activity (one extra SELECT)."""
        if self.query.is_sliced:
            raise TypeError("Cannot update a query once a slice has been taken.")
        with transaction.atomic(using=self.db, savepoint=False):
            pks = list(self.values_list("pk", flat=True))
            if not pks:
                return 0
            base = self.model._base_manager.using(self.db)
            count = 0
            for start in range(0, len(pks), CHUNK_SIZE):
                chunk = pks[start : start + CHUNK_SIZE]
                count += models.QuerySet.update(base.filter(pk__in=chunk), **kwargs)
                publish(base.filter(pk__in=chunk), "update", using=self.db)
        return count

    update.alters_data = True  # type: ignore[attr-defined]  # Django's flag on a method

    def delete(self) -> tuple[int, dict[str, int]]:
        with outbox.batch(using=self.db):
            return super().delete()

    # Django's flags on a method (templates never call it; managers do not copy it).
    delete.alters_data = True  # type: ignore[attr-defined]
    delete.queryset_only = True  # type: ignore[attr-defined]

    def publish(self, kind: Kind = "update") -> list[OutboxEvent]:
        """Publish every matched row as ``kind`` (e.g. backfill existing rows with "add")."""
        written: list[OutboxEvent] = []
        chunk: list[_M] = []
        with transaction.atomic(using=self.db, savepoint=False):
            for instance in self.order_by("pk").iterator(chunk_size=CHUNK_SIZE):
                chunk.append(instance)
                if len(chunk) == CHUNK_SIZE:
                    written += publish(chunk, kind, using=self.db)
                    chunk = []
            written += publish(chunk, kind, using=self.db)
        return written


# from_queryset() builds the base class at run time, which mypy cannot subclass statically.
class ActivityManager(models.Manager.from_queryset(ActivityQuerySet)):  # type: ignore[misc]
    """The default manager of an Activity model whose bulk writes publish."""


def batch(using: str | None = None) -> AbstractContextManager[None]:
    """A transaction whose outbox events are written together at its end (one INSERT).

    ``with batch(): for t in tweets: t.save()`` costs one outbox INSERT instead of one per save.
    """
    return outbox.batch(using)
