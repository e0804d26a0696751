"""Bookmarks of activities (add, update, delete, query) and the folders they are kept in.

Sources: the SDK's ``feeds.add_bookmark`` (POST ``feeds/activities/{id}/bookmarks``,
``AddBookmarkRequest``: folder_id or new_folder {name, custom}, custom, user_id),
``update_bookmark`` (PATCH, ``folder_id`` the bookmark is in, ``new_folder_id`` or
``new_folder`` to move it), ``delete_bookmark`` (DELETE, ``folder_id`` and ``user_id`` in
the query) and ``query_bookmarks`` (POST ``feeds/bookmarks/query``: filter, sort, limit,
next); answers are ``BookmarkResponse`` (activity, user, object_id, object_type, folder,
custom, created_at, updated_at) and ``BookmarkFolderResponse``. Not used by feed-outbox: served
so the SDK's own feed tests run (docs/topics/feeds-v3.md, "Conformance"). Unverified, chosen: a user
bookmarks an activity once per folder (again: 400); filters name ``user_id``, ``activity_id``,
``folder_id`` and ``created_at``; an activity's ``bookmark_count`` stays 0. Bookmarks are not
persisted with the store (emulator/v3/persistence.py): a restarted emulator forgets them.
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
class Folder:
    id: str
    name: str
    user_id: str
    created_at: dt.datetime
    custom: dict[str, Any] = field(default_factory=dict)


@dataclass
class Bookmark:
    activity_id: str
    user_id: str
    folder_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    custom: dict[str, Any] = field(default_factory=dict)


class Bookmarks:
    def __init__(self) -> None:
        self.folders: dict[str, Folder] = {}
        self.marks: dict[tuple[str, str, str | None], Bookmark] = {}

    def reset(self) -> None:
        self.folders.clear()
        self.marks.clear()

    def folder(self, call: V3Call, user_id: str, folder_id: Any, new: Any) -> str | None:
        if isinstance(new, dict) and new.get("name"):
            made = Folder(str(uuid.uuid4()), str(new["name"]), user_id, now(),
                          dict(new.get("custom") or {}))
            self.folders[made.id] = made
            return made.id
        if folder_id:
            if folder_id not in self.folders:
                raise not_found(f"bookmark folder {folder_id}")
            return str(folder_id)
        return None

    def answered(self, store: V3Store, mark: Bookmark) -> dict[str, Any]:
        body = {
            "activity": render.activity(store, store.activities[mark.activity_id]),
            "activity_id": mark.activity_id,
            "object_id": mark.activity_id,
            "object_type": "activity",
            "user": render.user(store, mark.user_id),
            "custom": mark.custom,
            "created_at": stamp(mark.created_at),
            "updated_at": stamp(mark.updated_at),
        }
        folder = self.folders.get(mark.folder_id or "")
        if folder is not None:
            body["folder"] = {
                "id": folder.id, "name": folder.name, "custom": folder.custom,
                "user": render.user(store, folder.user_id),
                "created_at": stamp(folder.created_at), "updated_at": stamp(folder.created_at),
            }
        return body


def _user(call: V3Call, value: Any) -> str:
    if not value:
        raise input_error("user_id", "is required for a bookmark made server-side")
    return str(value)


def add_bookmark(call: V3Call) -> dict:
    activity_id = call.store.activity(call.args[0]).id
    user_id = _user(call, call.body.get("user_id"))
    books = call.bookmarks
    folder_id = books.folder(call, user_id, call.body.get("folder_id"),
                             call.body.get("new_folder"))
    key = (user_id, activity_id, folder_id)
    if key in books.marks:
        raise V3Error(4, f"activity {activity_id} is already bookmarked in that folder")
    moment = now()
    mark = books.marks[key] = Bookmark(activity_id, user_id, folder_id, moment, moment,
                                       dict(call.body.get("custom") or {}))
    return {"bookmark": books.answered(call.store, mark)}


def _existing(call: V3Call, folder_id: Any, user_id: str) -> Bookmark:
    key = (user_id, call.store.activity(call.args[0]).id, folder_id or None)
    mark = call.bookmarks.marks.get(key)
    if mark is None:
        raise not_found(f"bookmark of activity {call.args[0]}")
    return mark


def update_bookmark(call: V3Call) -> dict:
    user_id = _user(call, call.body.get("user_id"))
    books = call.bookmarks
    mark = _existing(call, call.body.get("folder_id"), user_id)
    target = books.folder(call, user_id, call.body.get("new_folder_id"),
                          call.body.get("new_folder"))
    if target is not None and target != mark.folder_id:
        del books.marks[(user_id, mark.activity_id, mark.folder_id)]
        mark.folder_id = target
        books.marks[(user_id, mark.activity_id, target)] = mark
    if call.body.get("custom") is not None:
        mark.custom = dict(call.body["custom"])
    mark.updated_at = now()
    return {"bookmark": books.answered(call.store, mark)}


def delete_bookmark(call: V3Call) -> dict:
    user_id = _user(call, call.params.get("user_id"))
    mark = _existing(call, call.params.get("folder_id"), user_id)
    answer = call.bookmarks.answered(call.store, mark)
    del call.bookmarks.marks[(user_id, mark.activity_id, mark.folder_id)]
    return {"bookmark": answer}


def query_bookmarks(call: V3Call) -> dict:
    store, books = call.store, call.bookmarks
    query = call.body.get("filter") or {}
    rows = []
    for mark in books.marks.values():
        if mark.activity_id not in store.activities:
            continue
        values = {"user_id": mark.user_id, "activity_id": mark.activity_id,
                  "folder_id": mark.folder_id, "created_at": mark.created_at}
        if matches(values, query):
            rows.append((values, mark))
    page, cursors = paginate(call, rows)
    return {"bookmarks": [books.answered(store, m) for m in page], **cursors}
