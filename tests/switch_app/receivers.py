"""The app's own receivers, as stream-django apps connect them."""

from django.db.models.signals import m2m_changed, post_save
from django.dispatch import receiver

from feed_outbox.feed_manager import feed_manager
from tests.switch_app.models import Board, Follow, Like, Pin


@receiver(post_save, sender=Pin)
def pin_saved(sender, instance, created, **kwargs):  # marker: W101 pin_saved
    if instance.deleted_at is not None:
        feed_manager.activity_delete(sender, instance)


@receiver(post_save, sender=Pin)
def pin_counted(sender, instance, created, **kwargs):
    """Calls neither the feed manager nor Stream: no finding."""
    instance.user.last_login = instance.created_at


def board_saved(sender, instance, created, **kwargs):  # marker: W101 board_saved
    feed = feed_manager.get_user_feed(instance.user_id)
    feed.add_activity(instance.create_activity())


post_save.connect(board_saved, sender=Board)


@receiver(m2m_changed, sender=Pin.tags.through)
def pin_tagged(sender, instance, action, **kwargs):  # marker: W101 pin_tagged
    feed_manager.update_activity_in_feed(instance)


@receiver(post_save, sender=Follow)
def follow_saved(sender, instance, created, **kwargs):
    """Follows are not activities: follow_user writes an outbox event, as it should."""
    if created:
        feed_manager.follow_user(instance.user_id, instance.target_id)


@receiver(post_save, sender=Like)
def like_saved(sender, instance, created, **kwargs):
    """Like unpublishes by activity_should_publish(): the remove is redundant, the follow is an
    outbox event. Nothing behaves differently: no finding."""
    if not instance.is_active:
        feed_manager.activity_delete(sender, instance)
    if created:
        feed_manager.follow_user(instance.user_id, instance.pin.user_id)
