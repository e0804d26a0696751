"""Pinterest-like models as a stream-django app wrote them, imports switched to feed_outbox."""
# ruff: noqa: DJ008  (test models, never displayed)

from django.conf import settings
from django.db import models
from django.utils import timezone

from feed_outbox.activity import Activity


class Pin(Activity, models.Model):
    """Soft-deleted by its own receiver, without activity_should_publish()."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    deleted_at = models.DateTimeField(null=True, blank=True)  # marker: soft delete
    tags = models.ManyToManyField("Board", blank=True)


class PinProxy(Pin):  # marker: W113
    class Meta:
        proxy = True


class Group(models.Model):
    """Not an Activity, and named like auth.Group."""

    name = models.CharField(max_length=50)


class Board(Activity, models.Model):
    """A soft delete done right (activity_should_publish), but a verb read from the row, and
    extra data referring to a model Enrich does not load unless told."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    kind = models.CharField(max_length=20, default="board")
    created_at = models.DateTimeField(default=timezone.now)
    is_removed = models.BooleanField(default=False)

    def activity_should_publish(self) -> bool:
        return not self.is_removed

    @property
    def activity_verb(self):  # marker: row-dependent verb
        return f"{self.kind}-created"

    @property
    def extra_activity_data(self):  # marker: W115
        return {"group": self.group, "owner": self.user}


class Repin(Activity, models.Model):
    """stream-django's foreign id was the pin's reference, shared by every repin of it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    pin = models.ForeignKey(Pin, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    @property
    def activity_object_attr(self):  # marker: object is another row
        return self.pin


class Comment(Activity, models.Model):
    """Its time is read from posted_at; stream-django sent created_at."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)
    posted_at = models.DateTimeField(default=timezone.now)

    activity_time_field = "posted_at"  # marker: W111


class Like(Activity, models.Model):
    """Nothing to change: no finding names it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    pin = models.ForeignKey(Pin, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)
    is_active = models.BooleanField(default=True)

    def activity_should_publish(self) -> bool:
        return self.is_active

    @property
    def activity_author_feed(self):
        return "user"

    @property
    def activity_object_attr(self):
        """The like itself, as by default: the foreign id is the same in both libraries."""
        return self


class Follow(models.Model):
    """Not an Activity: its receivers' follow_user calls go through the outbox unchanged."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")


class Vote(Activity, models.Model):
    """Its actor hook lacks @property (stream-django's post_save failed on it after the save)."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    pin = models.ForeignKey(Pin, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    def activity_actor_attr(self):  # marker: W114
        return self.author

    @property
    def activity_object_attr(self):  # marker: object is the voted pin
        return self.pin
