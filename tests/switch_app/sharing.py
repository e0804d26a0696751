"""Writes beside the mixin, as stream-django apps made them, and calls that only look alike."""

from feed_outbox.client import stream_client
from feed_outbox.feed_manager import feed_manager


def share(user_id, activity):
    stream_client.feed("user", user_id).add_activity(activity)  # marker: W109 add_activity


def follow_board(user_id, board_id):
    timeline = feed_manager.get_news_feeds(user_id)["timeline"]
    timeline.follow("board", board_id)  # marker: W109 follow


def not_stream(queryset, user, target):
    """A manager method named follow, and a read: no finding."""
    queryset.follow(user, target)
    return feed_manager.get_user_feed(user.pk).get(limit=5)
