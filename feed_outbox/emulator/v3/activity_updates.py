"""UpdateActivity (PUT) and UpdateActivityPartial (PATCH) of one activity by id.

Sources: the SDK's ``UpdateActivityRequest`` (text, custom, attachments, feeds, expires_at,
visibility, filter_tags, ... and ``user_id``, which its feed tests pass as "Required for
server-side auth") and ``UpdateActivityPartialRequest`` (``set``, ``unset``); the fields
``set`` takes are listed by Stream's generated models (getstream-ruby
``UpdateActivityPartialRequest#set``: "text, attachments, custom, visibility,
visibility_tag, restrict_replies, location, expires_at, filter_tags, interest_tags, poll_id,
feeds, mentioned_user_ids. For custom fields, use dot-notation (e.g. 'custom.field_name')").

Unverified, chosen: a PUT changes the fields it gives and keeps the others (the SDK's own
test updates only ``text`` and ``custom`` of an activity and expects it to stay in its feed);
``user_id`` names who acts, not a new owner; ``type`` cannot change; a changed ``feeds``
moves the activity as an upsert does (emulator/v3/store.py). Both answer
``{"activity": ...}`` (UpdateActivityResponse, UpdateActivityPartialResponse).
"""

from __future__ import annotations

import copy
from typing import Any

from ..fieldpaths import set_path
from . import render
from .call import V3Call
from .errors import input_error

UPDATABLE = (
    "text", "attachments", "custom", "visibility", "visibility_tag", "restrict_replies",
    "location", "expires_at", "filter_tags", "interest_tags", "poll_id", "feeds",
    "mentioned_user_ids", "search_data", "collection_refs",
)


def check_times(request: dict[str, Any]) -> None:
    """Refuse a time v3 could not read (400), so no stored activity holds one."""
    try:
        render.moment(request.get("expires_at"))
    except ValueError:
        raise input_error("expires_at", "must be an RFC 3339 time") from None


def _current(call: V3Call) -> dict[str, Any]:
    stored = call.store.activity(call.args[0])
    return {
        **copy.deepcopy(stored.fields),
        "id": stored.id,
        "type": stored.type,
        "feeds": list(stored.feeds),
        "user_id": stored.user_id,
    }


def _apply(call: V3Call, request: dict[str, Any]) -> dict:
    check_times(request)
    stored = call.store.upsert(request)
    return {"activity": render.activity(call.store, stored)}


def update_activity(call: V3Call) -> dict:
    request = _current(call)
    for name in UPDATABLE:
        if call.body.get(name) is not None:
            request[name] = call.body[name]
    return _apply(call, request)


def update_activity_partial(call: V3Call) -> dict:
    request = _current(call)
    changes = call.body.get("set") or {}
    removed = call.body.get("unset") or []
    if not isinstance(changes, dict) or not isinstance(removed, list):
        raise input_error("set", "set is an object of fields, unset a list of field names")
    for path in [*changes, *removed]:
        head, _, rest = str(path).partition(".")
        if head not in UPDATABLE or (rest and head != "custom"):
            raise input_error(str(path), "is not a field a partial update can change")
    for path, value in changes.items():
        set_path(request, path, value)
    for path in removed:
        _unset(request, path)
    return _apply(call, request)


def _unset(request: dict[str, Any], path: str) -> None:
    if path == "feeds":
        raise input_error("feeds", "an activity must stay in at least one feed")
    *parents, leaf = path.split(".")
    node: Any = request
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node.pop(leaf, None)
