"""Comments on activities: add, get, update, delete, query.

Sources: the SDK's ``feeds.add_comment`` (POST ``feeds/comments``, ``AddCommentRequest``:
comment, object_id, object_type, parent_id, user_id, attachments, custom, id),
``get_comment`` (GET ``feeds/comments/{id}``), ``update_comment`` (PATCH, comment,
attachments, custom), ``delete_comment`` (DELETE, ``hard_delete`` in the query; answers
``DeleteCommentResponse``: comment and activity) and ``query_comments`` (POST
``feeds/comments/query``: filter required, sort, limit, next); answers are ``CommentResponse``
(every count it requires, status, user, mentioned_users, own_reactions). Not used by
feed-outbox: served so the SDK's own feed tests run (docs/topics/feeds-v3.md, "Conformance").
Unverified, chosen: only ``object_type`` "activity" is known (its object must exist, 404);
a soft delete keeps the comment with ``deleted_at`` and status "deleted", a hard delete
forgets it; filters name ``id``, ``object_id``, ``object_type``, ``user_id``, ``parent_id``,
``status`` and ``created_at``; a deleted activity takes its comments with it; the activity's
``comment_count`` stays 0. Comments are not persisted with the store
(emulator/v3/persistence.py): a restarted emulator forgets them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import render
from .call import V3Call
from .errors import V3Error, input_error, not_found
from .queries import matches, paginate
from .store import V3Store, now, stamp


@dataclass
class Comment:
    id: str
    object_id: str
    user_id: str
    text: str
    created_at: dt.datetime
    updated_at: dt.datetime
    parent_id: str | None = None
    attachments: list[Any] = field(default_factory=list)
    custom: dict[str, Any] = field(default_factory=dict)
    edited_at: dt.datetime | None = None
    deleted_at: dt.datetime | None = None


class Comments:
    def __init__(self) -> None:
        self.comments: dict[str, Comment] = {}

    def reset(self) -> None:
        self.comments.clear()

    def get(self, store: V3Store, comment_id: str) -> Comment:
        comment = self.comments.get(comment_id)
        if comment is None or comment.object_id not in store.activities:
            raise not_found(f"comment {comment_id}")
        return comment


def answered(store: V3Store, comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "object_id": comment.object_id,
        "object_type": "activity",
        "text": comment.text,
        "parent_id": comment.parent_id,
        "attachments": comment.attachments,
        "custom": comment.custom,
        "user": render.user(store, comment.user_id),
        "status": "deleted" if comment.deleted_at else "active",
        "created_at": stamp(comment.created_at),
        "updated_at": stamp(comment.updated_at),
        "edited_at": stamp(comment.edited_at) if comment.edited_at else None,
        "deleted_at": stamp(comment.deleted_at) if comment.deleted_at else None,
        "bookmark_count": 0, "reaction_count": 0, "reply_count": 0,
        "upvote_count": 0, "downvote_count": 0, "score": 0, "confidence_score": 0.0,
        "mentioned_users": [], "own_reactions": [], "latest_reactions": [],
    }


def add_comment(call: V3Call) -> dict:
    body = call.body
    if (body.get("object_type") or "activity") != "activity":
        raise input_error("object_type", "only activity comments are emulated")
    object_id = str(body.get("object_id") or "")
    if not object_id:
        raise input_error("object_id", "is required")
    call.store.activity(object_id)
    user_id = body.get("user_id")
    if not user_id:
        raise input_error("user_id", "is required for a comment made server-side")
    parent = body.get("parent_id")
    if parent:
        call.comments.get(call.store, str(parent))
    comment_id = str(body.get("id") or uuid.uuid4())
    if comment_id in call.comments.comments:
        raise V3Error(4, f"comment {comment_id} already exists")
    moment = now()
    comment = call.comments.comments[comment_id] = Comment(
        comment_id, object_id, str(user_id), str(body.get("comment") or ""), moment, moment,
        str(parent) if parent else None, list(body.get("attachments") or []),
        dict(body.get("custom") or {}),
    )
    return {"comment": answered(call.store, comment)}


def get_comment(call: V3Call) -> dict:
    return {"comment": answered(call.store, call.comments.get(call.store, call.args[0]))}


def update_comment(call: V3Call) -> dict:
    comment = call.comments.get(call.store, call.args[0])
    body = call.body
    if body.get("comment") is not None:
        comment.text = str(body["comment"])
    if body.get("attachments") is not None:
        comment.attachments = list(body["attachments"])
    if body.get("custom") is not None:
        comment.custom = dict(body["custom"])
    comment.updated_at = comment.edited_at = now()
    return {"comment": answered(call.store, comment)}


def delete_comment(call: V3Call) -> dict:
    comment = call.comments.get(call.store, call.args[0])
    if call.params.get("hard_delete", "").lower() in ("true", "1"):
        del call.comments.comments[comment.id]
    else:
        comment.deleted_at = comment.updated_at = now()
    activity = call.store.activities[comment.object_id]
    return {"comment": answered(call.store, comment), "activity": render.activity(call.store, activity)}


def query_comments(call: V3Call) -> dict:
    query = call.body.get("filter")
    if not isinstance(query, dict):
        raise input_error("filter", "is required")
    rows = []
    for comment in call.comments.comments.values():
        if comment.object_id not in call.store.activities:
            continue
        values = {
            "id": comment.id, "object_id": comment.object_id, "object_type": "activity",
            "user_id": comment.user_id, "parent_id": comment.parent_id,
            "status": "deleted" if comment.deleted_at else "active",
            "created_at": comment.created_at,
        }
        if matches(values, query):
            rows.append((values, comment))
    page, cursors = paginate(call, rows)
    return {"comments": [answered(call.store, c) for c in page], **cursors}
