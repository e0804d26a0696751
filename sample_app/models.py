"""Tweets (activities in their author's user feed) and follows (timeline follows user feed)."""

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from feed_outbox.activity import Activity
from feed_outbox.feed_manager import feed_manager


class Tweet(Activity, models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tweets"
    )
    text = models.CharField(max_length=280)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return f"{self.user}: {self.text[:40]}"

    @classmethod
    def activity_related_models(cls):
        return ["user"]

    @property
    def extra_activity_data(self):
        return {"text": self.text}


class FollowQuerySet(models.QuerySet):
    def follow(self, user, target) -> "Follow":
        """``user``'s news feeds follow ``target``'s user feed (once; in one transaction)."""
        with transaction.atomic(using=self.db):
            follow, created = self.get_or_create(user=user, target=target)
            if created:
                feed_manager.follow_user(user.pk, target.pk, using=self.db)
        return follow

    def unfollow(self, user, target) -> bool:
        with transaction.atomic(using=self.db):
            deleted, _ = self.filter(user=user, target=target).delete()
            if deleted:
                feed_manager.unfollow_user(user.pk, target.pk, using=self.db)
        return bool(deleted)


class Follow(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followers"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = FollowQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "target"], name="unique_follow")]

    def __str__(self) -> str:
        return f"{self.user} → {self.target}"
