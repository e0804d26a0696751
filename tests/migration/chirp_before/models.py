"""Tweets, likes (notifying the tweet's author), soft-deleted photos and follows, published by
stream-django 1.8."""

from django.conf import settings
from django.db import models
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from stream_django import feed_manager  # the package re-exports the manager
from stream_django.activity import Activity


class Tweet(Activity, models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=280)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.text

    @property
    def extra_activity_data(self):
        return {"text": self.text}


class Like(Activity, models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tweet = models.ForeignKey(Tweet, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.user_id} likes {self.tweet_id}"

    @property
    def activity_object_attr(self):
        return self.tweet

    @property
    def activity_notify(self):
        return [feed_manager.get_notification_feed(self.tweet.user_id)]


class Photo(Activity, models.Model):
    """Soft-deleted through ``deleted_at``; the app's own receiver unpublishes it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    caption = models.CharField(max_length=280, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(blank=True, null=True)

    def __str__(self):
        return self.caption

    @property
    def extra_activity_data(self):
        return {"caption": self.caption}


class Follow(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followers"
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.user_id} follows {self.target_id}"


@receiver(post_save, sender=Follow)
def follow_saved(sender, instance, created, **kwargs):
    if created:
        feed_manager.follow_user(instance.user_id, instance.target_id)


@receiver(post_delete, sender=Follow)
def follow_deleted(sender, instance, **kwargs):
    feed_manager.unfollow_user(instance.user_id, instance.target_id)


@receiver(post_save, sender=Photo)
def photo_saved(sender, instance, **kwargs):
    if instance.deleted_at is not None:
        feed_manager.activity_delete(sender, instance, **kwargs)
