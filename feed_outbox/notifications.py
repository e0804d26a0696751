"""Notification feeds: unseen/unread counts and marking groups seen or read, through the feed API.

Each helper has an async twin (``anotification_counts``, ``aread_notifications``, ``amark_seen``,
``amark_read``) reading through the feed's ``aget``; the request each one sends and what it
makes of the answer are built once, below the helpers, for both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from feed_outbox.feed_manager import feed_manager


@dataclass(frozen=True)
class NotificationCounts:
    unseen: int
    unread: int


def notification_counts(user_id: Any) -> NotificationCounts:
    """Unseen and unread group counts of ``user_id``'s notification feed (one read)."""
    return _counts(_feed(user_id).get(**_COUNTS))


async def anotification_counts(user_id: Any) -> NotificationCounts:
    """``notification_counts``, awaited."""
    return _counts(await _feed(user_id).aget(**_COUNTS))


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
    return _feed(user_id).get(**_page(limit, mark_seen, mark_read, params))


async def aread_notifications(
    user_id: Any,
    limit: int = 25,
    mark_seen: bool | Iterable[str] = False,
    mark_read: bool | Iterable[str] = False,
    **params: Any,
) -> dict[str, Any]:
    """``read_notifications``, awaited."""
    return await _feed(user_id).aget(**_page(limit, mark_seen, mark_read, params))


def mark_seen(user_id: Any, group_ids: Iterable[str] | None = None) -> None:
    """Mark every group (or only ``group_ids``) of the notification feed seen."""
    _feed(user_id).get(**_marking("mark_seen", group_ids))


async def amark_seen(user_id: Any, group_ids: Iterable[str] | None = None) -> None:
    """``mark_seen``, awaited."""
    await _feed(user_id).aget(**_marking("mark_seen", group_ids))


def mark_read(user_id: Any, group_ids: Iterable[str] | None = None) -> None:
    """Mark every group (or only ``group_ids``) of the notification feed read (not seen)."""
    _feed(user_id).get(**_marking("mark_read", group_ids))


async def amark_read(user_id: Any, group_ids: Iterable[str] | None = None) -> None:
    """``mark_read``, awaited."""
    await _feed(user_id).aget(**_marking("mark_read", group_ids))


# What each helper sends and makes of the answer: one body for the sync and async helpers.
_COUNTS = {"limit": 1}


def _feed(user_id: Any) -> Any:
    return feed_manager.get_notification_feed(user_id)


def _counts(response: dict[str, Any]) -> NotificationCounts:
    return NotificationCounts(
        unseen=int(response.get("unseen") or 0), unread=int(response.get("unread") or 0)
    )


def _mark_value(group_ids: Iterable[str] | None) -> Any:
    # Stream reads ``true`` as "every group" and a comma list as those groups only.
    return True if group_ids is None else [str(g) for g in group_ids]


def _page(
    limit: int, mark_seen: bool | Iterable[str], mark_read: bool | Iterable[str], params: dict
) -> dict[str, Any]:
    for name, value in (("mark_seen", mark_seen), ("mark_read", mark_read)):
        if value is True:
            params[name] = True
        elif value:
            params[name] = _mark_value(value)
    return {"limit": limit, **params}


def _marking(name: str, group_ids: Iterable[str] | None) -> dict[str, Any]:
    return {"limit": 1, name: _mark_value(group_ids)}
