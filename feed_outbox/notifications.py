"""Notification feeds: unseen/unread counts and marking groups seen or read, through the feed API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from feed_outbox.feed_manager import feed_manager


@dataclass(frozen=True)
class NotificationCounts:
    unseen: int
    unread: int


def _mark_value(group_ids: Iterable[str] | None) -> Any:
    # Stream reads ``true`` as "every group" and a comma list as those groups only.
    return True if group_ids is None else [str(g) for g in group_ids]


def notification_counts(user_id: Any) -> NotificationCounts:
    """Unseen and unread group counts of ``user_id``'s notification feed (one read)."""
    response = feed_manager.get_notification_feed(user_id).get(limit=1)
    return NotificationCounts(
        unseen=int(response.get("unseen") or 0), unread=int(response.get("unread") or 0)
    )


def read_notifications(
    user_id: Any,
    limit: int = 25,
    mark_seen: bool | Iterable[str] = False,
    mark_read: bool | Iterable[str] = False,
    **params: Any,
) -> dict[str, Any]:
    """A page of the notification feed; ``mark_seen``/``mark_read``: True (all) or group ids.

    Stream answers with the state before marking, so a page can still highlight what is new.
    """
    for name, value in (("mark_seen", mark_seen), ("mark_read", mark_read)):
        if value is True:
            params[name] = True
        elif value:
            params[name] = _mark_value(value)
    return feed_manager.get_notification_feed(user_id).get(limit=limit, **params)


def mark_seen(user_id: Any, group_ids: Iterable[str] | None = None) -> None:
    """Mark every group (or only ``group_ids``) of the notification feed seen."""
    feed_manager.get_notification_feed(user_id).get(limit=1, mark_seen=_mark_value(group_ids))


def mark_read(user_id: Any, group_ids: Iterable[str] | None = None) -> None:
    """Mark every group (or only ``group_ids``) of the notification feed read (not seen)."""
    feed_manager.get_notification_feed(user_id).get(limit=1, mark_read=_mark_value(group_ids))
