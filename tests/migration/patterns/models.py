"""Models written the way the surveyed stream-django apps wrote theirs, imports switched.

Each class names the pattern it reproduces and the public app it was seen in (repository and
file, at the HEAD the survey read); the code is this project's own.
"""
# ruff: noqa: DJ008  (test models, never displayed)

from django.conf import settings
from django.db import models
from django.db.models import signals
from django.template.defaultfilters import slugify
from django.utils import timezone

from feed_outbox.activity import Activity, create_model_reference, create_reference
from feed_outbox.feed_manager import feed_manager


class Item(models.Model):
    """Not an Activity: what activities point at (Stream-Example-Py's Item, GrowHome's and
    upkoding's Project)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    title = models.CharField(max_length=100)


class Chirp(Activity, models.Model):
    """GetStream/django_twitter's Tweet (stream_twitter/models.py:63-70), markui/django-getstream's
    (models.py:38-49): copies to the author's own timeline, to hashtag feeds, to the mentioned
    users' timelines and notification feeds."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=160)
    created_at = models.DateTimeField(auto_now_add=True)

    def hashtags(self) -> list[str]:
        return [slugify(word) for word in self.text.split() if word.startswith("#")]

    def mentions(self) -> list[str]:
        return [word[1:] for word in self.text.split() if word.startswith("@")]

    @property
    def activity_notify(self):
        targets = [feed_manager.get_news_feeds(self.user_id)["timeline"]]
        for tag in self.hashtags():
            targets.append(feed_manager.get_feed("user", f"hash_{tag}"))
        mentioned = type(self.user)._default_manager.filter(username__in=self.mentions())
        for user in mentioned.order_by("pk"):
            targets.append(feed_manager.get_news_feeds(user.pk)["timeline"])
            targets.append(feed_manager.get_notification_feed(user.pk))
        return targets


class Subscription(models.Model):
    """A follow that is not an Activity, kept in Stream by the app's own receivers
    (django_twitter stream_twitter/models.py:95-101, BoardStream users/models.py:41-45)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscribers"
    )
    created_at = models.DateTimeField(auto_now_add=True)


def unfollow_feed(sender, instance, **kwargs):
    feed_manager.unfollow_user(instance.user_id, instance.target_id)


def follow_feed(sender, instance, created, **kwargs):
    if created:
        feed_manager.follow_user(instance.user_id, instance.target_id)


signals.post_delete.connect(unfollow_feed, sender=Subscription)
signals.post_save.connect(follow_feed, sender=Subscription)


class Keep(Activity, models.Model):
    """Stream-Example-Py's Pin (core/models.py:23-41): related models selected when enriching,
    extra data with the item's id; its Enrich subclass has a ``fetch_keep_instances`` hook."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    item = models.ForeignKey(Item, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    @classmethod
    def activity_related_models(cls):
        return ["user", "item"]

    @property
    def activity_object_attr(self):
        return self

    @property
    def extra_activity_data(self):
        return {"item_id": self.item_id}


class Follow(Activity, models.Model):
    """Stream-Example-Py's Follow (core/models.py:52-74): an Activity notifying the target.

    Its name is shared with sample_app.Follow, as a project's Follow often is with another
    installed app's (django-activity-stream's, in zakanda)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pattern_follows"
    )
    target = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="pattern_followers"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def activity_notify(self):
        return [feed_manager.get_notification_feed(self.target_id)]


class ProjectPost(models.Model, Activity):
    """GrowHome's Post (feed/models.py:9-25): the actor is a project, stored in a feed group of
    its own that readers' news feeds follow directly (feed/signals.py:16-23)."""

    project = models.ForeignKey(Item, on_delete=models.CASCADE)
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def activity_actor_attr(self):
        return self.project

    @property
    def activity_author_feed(self):
        return "topic"


class Milestone(Activity, models.Model):
    """upkoding's UserProjectEvent (projects/models.py:560-600): the object is a project, a
    ``target`` reference in the extra data, the verb from the row, the time from ``created``."""

    STARTED, COMPLETED = "s", "c"
    KINDS = [(STARTED, "Project started"), (COMPLETED, "Project completed")]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    item = models.ForeignKey(Item, on_delete=models.CASCADE)
    kind = models.CharField(max_length=1, choices=KINDS)
    created = models.DateTimeField(default=timezone.now)

    @property
    def activity_object_attr(self):
        return self.item

    @property
    def activity_verb(self):
        return slugify(self.get_kind_display())

    @property
    def activity_time(self):
        return self.created

    @property
    def activity_foreign_id(self):
        return create_model_reference(self)

    @property
    def extra_activity_data(self):
        return {"target": create_model_reference(self.item), "kind": self.kind}


class FollowActivity(models.Model, Activity):
    """zakanda's FollowActivity (feeds/models.py:123-184) and stream-twitter-video's Follow
    (models.py:97-118): a constant verb, the followed user as the object and, in the second,
    stored in the target's notification feed as its author feed."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_activities"
    )
    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_activities"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    @property
    def activity_verb(self):
        return "follow"

    @property
    def activity_object_attr(self):
        return self.target_user

    @property
    def activity_foreign_id(self):
        return create_reference(self)

    @property
    def activity_author_feed(self):
        return "notification"

    @property
    def activity_actor_id(self):
        return self.target_user_id


class Unpropertied(models.Model, Activity):
    """GrowHome's Follow and Like (feed/models.py:53,70): ``activity_actor_attr`` written as a
    method, without ``@property``."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    def activity_actor_attr(self):
        return self.actor
