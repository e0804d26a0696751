"""A STREAM_FEED_MANAGER_CLASS the way CapitolZen (capitolzen/meta/stream.py) and upkoding
(upkoding/activity_feed.py) wrote theirs: extra feed getters on stream-django's manager, a
helper that adds ``to`` targets, and a wrapped ``remove_activity_from_feed``."""

from __future__ import annotations

from typing import Any

from feed_outbox.managers import FeedManager as DefaultFeedManager


class FeedManager(DefaultFeedManager):
    #: Instances whose removal went through the override (the test reads it).
    removed: list[Any] = []

    def get_group_feed(self, group_id: Any) -> Any:
        return self.get_feed("topic", group_id)

    def add_notify_to_activity(self, activity: dict, notify: Any) -> dict:
        if not isinstance(notify, list):
            notify = [notify]
        activity["to"] = sorted(set(activity.get("to", []) + [feed.id for feed in notify]))
        return activity

    def remove_activity_from_feed(self, instance: Any, *args: Any, **kwargs: Any) -> Any:
        type(self).removed.append(instance)
        return super().remove_activity_from_feed(instance, *args, **kwargs)
