"""The context processor of the issue: the package-level manager of stream-django."""

from stream_django import feed_manager  # marker: W103


def unseen(request):
    return {"feed": feed_manager.get_notification_feed(request.user.pk)}
