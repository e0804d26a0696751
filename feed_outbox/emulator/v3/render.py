"""v3 response objects as the SDK's models decode them (getstream/models: ActivityResponse,
FeedResponse, FollowResponse, UserResponse, AggregatedActivityResponse)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .store import Activity, Feed, Follow, V3Store, now, stamp


def moment(value: Any) -> dt.datetime | None:
    """A time as a request gives it: RFC 3339 (the SDK encodes datetimes with isoformat(); its
    own feed tests send ``expires_at`` as ``"%Y-%m-%dT%H:%M:%SZ"``) or nanoseconds since the
    epoch (how v3 answers times). None for no time; ValueError for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return dt.datetime.fromtimestamp(int(value) / 1e9, dt.UTC)
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def _stamp_of(value: Any) -> int | None:
    try:
        parsed = moment(value)
    except ValueError:
        return None  # refused on write (service.check_times); never in a stored activity
    return None if parsed is None else stamp(parsed)


def user(store: V3Store, user_id: str) -> dict[str, Any]:
    stored = store.users.get(user_id) or {"id": user_id}
    moment = stamp(stored.get("created_at") or now())
    return {
        "id": user_id,
        "name": stored.get("name") or user_id,
        "role": stored.get("role") or "user",
        "banned": False,
        "online": False,
        "invisible": False,
        "shadow_banned": False,
        "language": stored.get("language") or "",
        "created_at": moment,
        "updated_at": stamp(stored.get("updated_at") or now()),
        "blocked_user_ids": [],
        "teams": [],
        "custom": dict(stored.get("custom") or {}),
    }


def full_user(store: V3Store, user_id: str) -> dict[str, Any]:
    """UpdateUsers' FullUserResponse: a UserResponse and the chat fields it requires."""
    return {
        **user(store, user_id),
        "channel_mutes": [], "devices": [], "mutes": [], "total_unread_count": 0,
        "unread_channels": 0, "unread_count": 0, "unread_threads": 0,
    }


def feed(store: V3Store, stored: Feed) -> dict[str, Any]:
    fid = stored.fid
    return {
        "feed": fid,
        "group_id": stored.group,
        "id": stored.id,
        "name": stored.name,
        "description": stored.description,
        "custom": stored.custom,
        "activity_count": sum(
            1 for a in store.entries.get(fid, {}).values() if a is None
        ),
        "follower_count": sum(1 for (_s, t) in store.follows if t == fid),
        "following_count": sum(1 for (s, _t) in store.follows if s == fid),
        "member_count": 0,
        "pin_count": 0,
        "created_at": stamp(stored.created_at),
        "updated_at": stamp(stored.created_at),
        "created_by": user(store, stored.created_by),
    }


def activity(
    store: V3Store,
    stored: Activity,
    current: str | None = None,
    users: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``users``: the users one answer rendered so far, shared by its activities (a page or a
    batch by a few authors rendered each author anew for every activity)."""
    fields = stored.fields
    author = users.get(stored.user_id) if users is not None else None
    if author is None:
        author = user(store, stored.user_id)
        if users is not None:
            users[stored.user_id] = author
    body = {
        "id": stored.id,
        "type": stored.type,
        "feeds": list(stored.feeds),
        "text": fields.get("text"),
        "custom": dict(fields.get("custom") or {}),
        "attachments": list(fields.get("attachments") or []),
        "filter_tags": list(fields.get("filter_tags") or []),
        "interest_tags": list(fields.get("interest_tags") or []),
        "search_data": dict(fields.get("search_data") or {}),
        "visibility": fields.get("visibility") or "public",
        "restrict_replies": fields.get("restrict_replies") or "everyone",
        # Every time in a v3 answer is nanoseconds (the SDK decodes them all with
        # datetime_from_unix_ns, which fails on an RFC 3339 string: a real fault found by the
        # SDK's own test_02d_create_story_activity_with_expiration).
        "expires_at": _stamp_of(fields.get("expires_at")),
        "parent_id": fields.get("parent_id"),
        "created_at": stamp(stored.created_at),
        "updated_at": stamp(stored.updated_at),
        "user": author,
        "bookmark_count": 0,
        "comment_count": 0,
        "reaction_count": 0,
        "share_count": 0,
        "popularity": 0,
        "score": 0.0,
        "hidden": False,
        "preview": False,
        "comments": [],
        "latest_reactions": [],
        "mentioned_users": [],
        "own_bookmarks": [],
        "own_reactions": [],
        "collections": {},
        "reaction_groups": {},
    }
    if current is not None:
        # Where this copy came from: the followed feed, or None where it was added directly
        # (the v2 `origin` field; not a v3 field: the read adapter uses it, the SDK ignores it).
        body["origin"] = store.origin(current, stored.id)
    return body


def follow(store: V3Store, stored: Follow) -> dict[str, Any]:
    return {
        "source_feed": feed(store, store.feeds[stored.source]),
        "target_feed": feed(store, store.feeds[stored.target]),
        "created_at": stamp(stored.created_at),
        "updated_at": stamp(stored.created_at),
        "status": "accepted",
        "follower_role": "feed_follower",
        "push_preference": "none",
        "custom": stored.custom,
    }
