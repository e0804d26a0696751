"""Activity models exercising what sample_app's Tweet does not: every hook the write side reads."""
# ruff: noqa: DJ008  (test models, never displayed)

from django.conf import settings
from django.db import models
from django.utils import timezone

from feed_outbox.activity import Activity
from feed_outbox.publishing import ActivityManager


class Post(Activity, models.Model):
    """Soft-deletable, mentions notified: ``to`` targets change with ``mentions``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=280, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    deleted = models.BooleanField(default=False)
    # Comma-separated user ids notified of the post.
    mentions = models.CharField(max_length=200, blank=True, default="")

    objects = ActivityManager()

    @property
    def extra_activity_data(self):
        return {"text": self.text}

    @property
    def activity_notify(self):
        return [f"notification:{uid}" for uid in self.mentions.split(",") if uid]

    def activity_should_publish(self) -> bool:
        return not self.deleted


class PostProxy(Post):
    class Meta:
        proxy = True


class Pin(models.Model, Activity):
    """stream-django's test model: mixin last, actor under another name, auto_now_add time."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def activity_actor_attr(self):
        return self.author


class Note(Activity, models.Model):
    """Extra data set per instance (``note.extra = {...}``) to feed bad input to the outbox."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True
    )
    posted_at = models.DateTimeField(default=timezone.now)

    activity_time_field = "posted_at"
    extra: dict | None = None

    @property
    def extra_activity_data(self):
        return self.extra


class Untimed(Activity, models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)


class Broadcast(Activity, models.Model):
    """Published to its author's user feed and to its topic's feed."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    topic = models.CharField(max_length=50)
    created_at = models.DateTimeField(default=timezone.now)

    def activity_feeds(self):
        return [*super().activity_feeds(), f"topic:{self.topic}"]


SHARED_EXTRA = {"text": "shared"}


class SharedExtraPost(Post):
    """extra_activity_data returns one dict shared by every instance (a class constant)."""

    class Meta:
        proxy = True

    @property
    def extra_activity_data(self):
        return SHARED_EXTRA


class FeedNotifyingPost(Post):
    """activity_notify returns a stream-python Feed and a feed id."""

    class Meta:
        proxy = True

    @property
    def activity_notify(self):
        from feed_outbox.feed_manager import feed_manager

        return [feed_manager.get_notification_feed(7), "notification:8"]


class LikeOfTweet(Post):
    """A like: its object is a tweet, its foreign id its own."""

    class Meta:
        proxy = True

    @property
    def activity_object_attr(self):
        from sample_app.models import Tweet

        return Tweet(pk=9)
