"""Chirp's models: tweets, retweets and likes are activities; follows wire timelines to user feeds.

Every activity's behaviour is spelled out here, because the chaos suite uses these models as
its workload and must know exactly what each write puts in which feed.
"""

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from feed_outbox.activity import Activity
from feed_outbox.feed_manager import feed_manager


class Tweet(Activity, models.Model):
    """In its author's user feed (so in followers' timelines); deleting it removes it everywhere."""

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


class _TweetReaction(Activity, models.Model):
    """An activity about a tweet: in the reactor's user feed, copied to the author's
    notification feed (never to one's own), removed when the tweet is deleted (cascade)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    tweet = models.ForeignKey(Tweet, on_delete=models.CASCADE, related_name="%(class)ss")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        abstract = True

    @classmethod
    def activity_related_models(cls):
        # activity_notify reads the tweet's author: loaded with the row, not once per row.
        return ["tweet"]

    @property
    def activity_object(self) -> str:
        # The tweet's reference from its id: a remove must not need the tweet row.
        return f"sample_app.Tweet:{self.tweet_id}"

    @property
    def activity_notify(self):
        author_id = self.tweet.user_id
        if author_id == self.user_id:
            return None
        return [f"{feed_manager.notification_feed}:{author_id}"]


class Retweet(_TweetReaction):
    """verb ``retweet``: followers see it; the original author is notified."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tweet"], name="unique_retweet")]

    def __str__(self) -> str:
        return f"{self.user_id} retweeted {self.tweet_id}"


class Like(_TweetReaction):
    """verb ``like``: the notification feed aggregates a day's likes ("3 people liked …")."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "tweet"], name="unique_like")]

    def __str__(self) -> str:
        return f"{self.user_id} likes {self.tweet_id}"


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
