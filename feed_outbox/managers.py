"""FeedManager: stream-django's feed manager, publishing through the outbox instead of inline."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import post_delete, post_save  # noqa: F401  (stream-django's names)

from feed_outbox import conf, tracking
from feed_outbox.activity import Activity
from feed_outbox.client import get_client, stream_client  # noqa: F401  (stream-django's name)
from feed_outbox.models import EventKind, OutboxEvent
from feed_outbox.stream_api.v2_reads import V2Feed
from feed_outbox.write import lifecycle, outbox

EVERY_MODEL = tracking.EVERY_MODEL


class FeedManager:
    """Reads feeds from Stream; writes (activities, follows) become outbox events."""

    def __init__(self) -> None:
        self._disabled_model_tracking: dict[Any, bool] = {}

    # Settings are properties so they are read when used (override_settings works).
    @property
    def user_feed(self) -> str:
        return conf.get("STREAM_USER_FEED")

    @property
    def news_feeds(self) -> dict[str, str]:
        return conf.news_feed_slugs()

    @property
    def notification_feed(self) -> str:
        return conf.get("STREAM_NOTIFICATION_FEED")

    # Tracking switches.
    def disable_model_tracking(self, model: Any = EVERY_MODEL) -> None:
        self._disabled_model_tracking[model] = True

    def enable_model_tracking(self, model: Any = EVERY_MODEL) -> None:
        self._disabled_model_tracking[model] = False

    def should_track(self, model: type[models.Model]) -> bool:
        disabled = self._disabled_model_tracking
        concrete = model._meta.concrete_model
        return not (
            tracking.disabled_by_setting()
            or disabled.get(EVERY_MODEL)
            or disabled.get(model)
            or disabled.get(concrete)
            or tracking.is_disabled_here(model)
        )

    # Reads: feeds of the clients of the current settings.
    def get_feed(self, feed: str, user_id: Any) -> Any:
        """The ``feed`` group's feed of ``user_id``: ``.get(limit=…, id_lt=…)`` reads it,
        ``await .aget(…)`` too (docs/topics/async.md).

        On v2 a feed_outbox.stream_api.v2_reads.V2Feed (stream-python's ``Feed``); on v3 reads
        (FEED_OUTBOX_READ_API) a feed_outbox.stream_api.v3_reads.V3Feed: the same reads,
        v2-shaped, through the getstream SDK."""
        if conf.read_api() == "v3":
            from feed_outbox.client import get_v3_client
            from feed_outbox.stream_api.v3_reads import V3Feed

            return V3Feed(get_v3_client(), feed, user_id)
        return V2Feed.of(get_client(), feed, user_id)

    def get_user_feed(self, user_id: Any, feed_type: str | None = None) -> Any:
        """The author's feed (STREAM_USER_FEED, or ``feed_type``)."""
        return self.get_feed(feed_type or self.user_feed, user_id)

    def get_notification_feed(self, user_id: Any) -> Any:
        """The STREAM_NOTIFICATION_FEED feed (feed_outbox.notifications reads its counts)."""
        return self.get_feed(self.notification_feed, user_id)

    def get_news_feeds(self, user_id: Any) -> dict[str, Any]:
        """``{name: Feed}`` for STREAM_NEWS_FEEDS, with the configured slugs."""
        return {name: self.get_feed(slug, user_id) for name, slug in self.news_feeds.items()}

    def get_actor_feed(self, instance: Activity | None = None) -> str:
        """The slug of the feed ``instance``'s activity is written to."""
        if instance is not None and instance.activity_author_feed is not None:
            return instance.activity_author_feed
        return self.user_feed

    # Writes: each one an outbox event in the caller's transaction.
    def _news_slugs(self, feed_type: str | None) -> list[str]:
        if feed_type is None:
            return list(self.news_feeds.values())
        if feed_type in self.news_feeds:
            return [self.news_feeds[feed_type]]
        return [feed_type]

    def follow_user(
        self,
        user_id: Any,
        target_user_id: Any,
        feed_type: str | None = None,
        activity_copy_limit: int | None = None,
        using: str | None = None,
    ) -> list[OutboxEvent]:
        """The user's news feeds (or only ``feed_type``) follow the target's user feed."""
        target = f"{self.user_feed}:{target_user_id}"
        return outbox.enqueue(
            [
                self._follow_event(f"{slug}:{user_id}", target, activity_copy_limit)
                for slug in self._news_slugs(feed_type)
            ],
            using,
        )

    def unfollow_user(
        self,
        user_id: Any,
        target_user_id: Any,
        feed_type: str | None = None,
        keep_history: bool = False,
        using: str | None = None,
    ) -> list[OutboxEvent]:
        target = f"{self.user_feed}:{target_user_id}"
        return outbox.enqueue(
            [
                outbox.follow_event(
                    f"{slug}:{user_id}", target, EventKind.UNFOLLOW, keep_history=keep_history
                )
                for slug in self._news_slugs(feed_type)
            ],
            using,
        )

    def follow_feed(
        self,
        source: str,
        target: str,
        activity_copy_limit: int | None = None,
        using: str | None = None,
    ) -> OutboxEvent:
        """Feed ``source`` (``slug:id``) follows feed ``target``."""
        return outbox.enqueue([self._follow_event(source, target, activity_copy_limit)], using)[0]

    def unfollow_feed(
        self, source: str, target: str, keep_history: bool = False, using: str | None = None
    ) -> OutboxEvent:
        event = outbox.follow_event(source, target, EventKind.UNFOLLOW, keep_history=keep_history)
        return outbox.enqueue([event], using)[0]

    @staticmethod
    def _follow_event(source: str, target: str, activity_copy_limit: int | None) -> OutboxEvent:
        options = (
            {} if activity_copy_limit is None else {"activity_copy_limit": activity_copy_limit}
        )
        return outbox.follow_event(source, target, EventKind.FOLLOW, **options)

    # stream-django's hooks: the signal receivers below call them, so a subclass that
    # overrides them (STREAM_FEED_MANAGER_CLASS) still decides what a save publishes.
    def add_activity_to_feed(
        self, instance: Activity, using: str | None = None
    ) -> list[OutboxEvent]:
        """Publish ``instance``'s activity (an add event per feed), whatever its state."""
        return self._write(instance, EventKind.ADD, using)

    def update_activity_in_feed(
        self,
        instance: Activity,
        using: str | None = None,
        previous_to: list[str] | None = None,
    ) -> list[OutboxEvent]:
        """Publish the new state of ``instance``'s activity (same foreign_id and time)."""
        return self._write(instance, EventKind.UPDATE, using, previous_to)

    def remove_activity_from_feed(
        self, instance: Activity, using: str | None = None
    ) -> list[OutboxEvent]:
        """Remove ``instance``'s activity by foreign id from every feed it is published to."""
        return self._write(instance, EventKind.REMOVE, using)

    @staticmethod
    def _write(
        instance: Activity,
        kind: EventKind,
        using: str | None,
        previous_to: list[str] | None = None,
    ) -> list[OutboxEvent]:
        using = outbox.db_alias_for(instance, using)
        events = outbox.enqueue(outbox.activity_events(instance, kind, previous_to), using)
        if lifecycle.hook_called(instance):  # the app's call: remember what it published
            lifecycle.saved(instance, kind, events, using)
        return events

    def bind_model(self, sender: type[models.Model], **kwargs: Any) -> bool:
        """Publish ``sender``'s changes (Activity models are bound automatically)."""
        from feed_outbox.write.signals import bind_model

        return bind_model(sender)

    # Signal receivers (bound per Activity model by feed_outbox.write.signals).
    def activity_created(
        self,
        sender: type[models.Model],
        instance: Activity,
        created: bool,
        raw: bool = False,
        using: str | None = None,
        **kwargs: Any,
    ) -> list[OutboxEvent] | None:
        """post_save: add, update or remove, depending on what was published before."""
        lifecycle.hook_called(instance)
        if raw or not self.should_track(sender):
            return None
        kind, previous_to = lifecycle.save_kind(instance, created)
        where = _where(instance, using)
        if kind == EventKind.ADD:
            events = self.add_activity_to_feed(instance, **where)
        elif kind == EventKind.UPDATE:
            events = self.update_activity_in_feed(instance, previous_to=previous_to, **where)
        elif kind == EventKind.REMOVE:
            events = self.remove_activity_from_feed(instance, **where)
        else:
            events = []
        lifecycle.saved(instance, kind, events, outbox.db_alias_for(instance, using))
        return events

    def activity_delete(
        self,
        sender: type[models.Model],
        instance: Activity,
        using: str | None = None,
        **kwargs: Any,
    ) -> list[OutboxEvent] | None:
        """post_delete: remove the activity if it was published."""
        lifecycle.hook_called(instance)
        if not self.should_track(sender) or not lifecycle.is_published(instance):
            return None
        return self.remove_activity_from_feed(instance, **_where(instance, using))


def _where(instance: Activity, using: str | None) -> dict[str, str]:
    """Hooks get the instance alone, as stream-django's did, unless it was written elsewhere
    than ``instance._state.db`` (``delete(using=...)`` of an instance read from another)."""
    if using is None or using == instance._state.db:
        return {}
    return {"using": using}
