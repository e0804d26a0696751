"""Pins and follows soft-deleted through ``deleted_at``, without ``activity_should_publish()``:
what the app meant is said by its own receivers, as in apps written for stream-django."""
# ruff: noqa: DJ008  (test models, never displayed)

from django.conf import settings
from django.db import models

from feed_outbox.activity import Activity
from feed_outbox.feed_manager import feed_manager


class SoftDeleted(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(blank=True, null=True)

    class Meta:
        abstract = True


class PinFields(SoftDeleted):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    influencer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message = models.TextField(blank=True, default="")

    class Meta:
        abstract = True

    @property
    def extra_activity_data(self):
        return {"message": self.message}


class Pin(PinFields, Activity):
    """Published to its author's feed only: feed-outbox keeps no memory of what it published."""


class Repin(PinFields, Activity):
    """Notifies the influencer: its ``to`` targets make feed-outbox remember what it published."""

    @property
    def activity_notify(self):
        return [feed_manager.get_notification_feed(self.influencer_id)]


class Follow(Activity, SoftDeleted):
    """A follow activity notifying its target; the app's receivers follow and unfollow feeds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    @property
    def activity_notify(self):
        return [feed_manager.get_notification_feed(self.target_id)]
