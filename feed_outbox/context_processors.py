"""Template context processors: the notification badge and the relay's lag, both computed lazily."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from feed_outbox.client import stream_client  # noqa: F401  (stream-django's name here)

if TYPE_CHECKING:
    from feed_outbox.notifications import NotificationCounts

logger = logging.getLogger(__name__)


def _counts_for(user: Any) -> NotificationCounts | None:
    from feed_outbox.notifications import notification_counts

    try:
        return notification_counts(user.pk)
    except Exception:
        # A Stream outage must not take every page down with the badge.
        logger.warning("could not read the notification counts of user %s", user.pk, exc_info=True)
        return None


def notifications(request: HttpRequest) -> dict[str, Any]:
    """``notification_counts`` (``.unseen``, ``.unread``, or None when Stream cannot be read)
    for the logged-in user; Stream is only asked when a template uses it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"notification_counts": None}
    return {"notification_counts": SimpleLazyObject(lambda: _counts_for(user))}


def outbox_lag(request: HttpRequest) -> dict[str, Any]:
    """``outbox_lag`` (pending events, ``.seconds`` behind): a page can say the relay is behind."""
    from feed_outbox.operations.status import outbox_lag as read_lag

    return {"outbox_lag": SimpleLazyObject(read_lag)}


def stream(request: HttpRequest) -> dict[str, Any]:
    """stream-django's processor: ``STREAM_API_KEY`` and ``STREAM_APP_ID`` (never the secret)."""
    from feed_outbox import conf

    if not conf.credentials_configured():
        return {}
    from feed_outbox.client import get_client

    client = get_client()
    return {"STREAM_API_KEY": client.api_key, "STREAM_APP_ID": client.app_id}
