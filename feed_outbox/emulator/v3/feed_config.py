"""Feed groups and feed views of the emulated v3 app: list, create, get, update, delete.

Sources: the SDK's ``CreateFeedGroupRequest`` (id; aggregation, notification, ranking,
activity_processors, activity_selectors, default_visibility, custom, ...), ``FeedGroupResponse``
(id, created_at, updated_at and the same settings) and the ``*FeedView*`` models (id,
activity_selectors, aggregation, ranking; GetOrCreateFeedView answers ``was_created``); the
paths are the SDK's (``feeds/feed_groups[/{id}]``, ``feeds/feed_views[/{id}]``). A group with
``notification`` settings is a notification group, one with ``aggregation`` an aggregated
group, any other a flat one (Stream's "Notification feeds" and "Aggregation" pages create
them that way; docs/topics/feeds-v3.md, "Feed groups", has the table).

* An update replaces every setting: one it does not give is cleared (Stream's v3 "Feed groups"
  page: "feed group updates use full-replacement semantics. Omitting activity_filter on an
  UpdateFeedGroup call clears the stored value").
* A group created without ``default_visibility`` has "visible" (``CreateFeedGroupRequest``:
  "Defaults to 'visible' if not provided").
* GetOrCreateFeedGroup of an existing group answers it as it is, ``was_created`` false, and
  changes nothing (``GetOrCreateFeedGroupResponse.was_created``: "created (true) or already
  existed (false)").
* An unknown group is 404 code 16 "feed group 'x' does not exist", the answer the relay meets
  writing to one (docs/topics/feeds-v3.md, "Errors and rate limits").

Unverified, chosen: creating an existing group or view is 400 code 4 "... already exists"
(apps written against the service treat createFeedGroup's failure as ``code === 4`` or a
message with "already exists"; no Stream page gives it); a delete, soft or hard, removes the
group (no soft-deleted state, no restore); views are stored and answered only (a read's
``view`` does not change the read); the real service takes up to 30 s to propagate a group
write to every API node ("Feed groups" page), the emulator none. Every reset of the emulator
restores the configured groups and forgets views, and so does a restart with ``--data`` (groups
and views are not persisted; feeds of a group made here are skipped on load,
emulator/v3/persistence.py).
"""

from __future__ import annotations

from typing import Any

from ..feed_groups import AGGREGATED, FLAT, NOTIFICATION, FeedGroup
from .call import V3Call
from .errors import V3Error, input_error, not_found
from .store import now, stamp

GROUP_SETTINGS = (
    "default_follower_role",
    "default_visibility",
    "activity_processors",
    "activity_selectors",
    "activity_filter",
    "activity_marks",
    "activity_processing",
    "aggregation",
    "custom",
    "notification",
    "push_notification",
    "ranking",
    "stories",
)
VIEW_SETTINGS = ("activity_selectors", "aggregation", "ranking")


class V3Config:
    """Settings the SDK can set on groups beyond their kind, and the app's feed views."""

    def __init__(self, groups: dict[str, FeedGroup]) -> None:
        self._configured = dict(groups)
        self.started = now()  # when the configured groups were "created"
        self.settings: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}

    def reset(self, groups: dict[str, FeedGroup]) -> None:
        """Back to the groups the emulator was started with (``groups`` is the store's)."""
        groups.clear()
        groups.update(self._configured)
        self.settings.clear()
        self.views.clear()

    def group_body(self, group: FeedGroup) -> dict[str, Any]:
        """FeedGroupResponse: a group made or changed through the API answers exactly its
        settings; a configured one the settings of its kind."""
        settings = self.settings.get(group.name)
        if settings is not None:
            body = {k: v for k, v in settings.items() if not k.startswith("_")}
            created = settings["_created_at"]
            updated = settings.get("_updated_at") or created
        else:
            body = {"default_visibility": "public"}
            if group.kind in (AGGREGATED, NOTIFICATION):
                body["aggregation"] = {"format": group.aggregation_format}
            if group.kind == NOTIFICATION:
                body["notification"] = {"track_seen": True, "track_read": True}
            created = updated = self.started
        return {
            "id": group.name,
            "custom": {},
            **body,
            "created_at": stamp(created),
            "updated_at": stamp(updated),
        }


def _settings(body: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: body[k] for k in names if body.get(k) is not None}


def _group_of(name: str, settings: dict[str, Any]) -> FeedGroup:
    aggregation = settings.get("aggregation") or {}
    fmt = aggregation.get("format") if isinstance(aggregation, dict) else None
    kind = NOTIFICATION if settings.get("notification") else (AGGREGATED if fmt else FLAT)
    # A notification group without a format groups nothing: "every new activity will increase
    # unread/unseen count" ("Notification feeds" page); the store makes each its own group.
    return FeedGroup(name, kind, fmt or "")


def _checked(body: dict[str, Any]) -> dict[str, Any]:
    """The settings of a create or update request, refused (400) where v3 could not use them."""
    settings = _settings(body, GROUP_SETTINGS)
    aggregation = settings.get("aggregation")
    if aggregation is not None:
        if not isinstance(aggregation, dict):
            raise input_error("aggregation", "must be an object")
        fmt = aggregation.get("format")
        if fmt is not None and (not isinstance(fmt, str) or not fmt.strip()):
            raise input_error("aggregation.format", "must be a non-empty string")
    notification = settings.get("notification")
    if notification is not None:
        if not isinstance(notification, dict):
            raise input_error("notification", "must be an object")
        for flag in ("track_seen", "track_read"):
            if notification.get(flag) is not None and not isinstance(notification[flag], bool):
                raise input_error(f"notification.{flag}", "must be a boolean")
    return settings


def _new_group(call: V3Call, name: str) -> FeedGroup:
    if not name:
        raise input_error("id", "is required")
    settings = {"default_visibility": "visible", **_checked(call.body)}
    group = call.store.groups[name] = _group_of(name, settings)
    call.config.settings[name] = {**settings, "_created_at": now()}
    return group


def list_feed_groups(call: V3Call) -> dict:
    groups = call.store.groups
    return {"groups": {name: call.config.group_body(g) for name, g in groups.items()}}


def get_feed_group(call: V3Call) -> dict:
    return {"feed_group": call.config.group_body(call.store.group(call.args[0]))}


def create_feed_group(call: V3Call) -> dict:
    name = str(call.body.get("id") or "")
    if name in call.store.groups:
        raise V3Error(4, f"feed group '{name}' already exists")
    return {"feed_group": call.config.group_body(_new_group(call, name))}


def get_or_create_feed_group(call: V3Call) -> dict:
    name = call.args[0]
    created = name not in call.store.groups
    group = _new_group(call, name) if created else call.store.groups[name]
    return {"feed_group": call.config.group_body(group), "was_created": created}


def update_feed_group(call: V3Call) -> dict:
    name = call.args[0]
    call.store.group(name)
    settings = _checked(call.body)  # full replacement: what the request lacks is cleared
    created = call.config.settings.get(name, {}).get("_created_at") or call.config.started
    call.config.settings[name] = {**settings, "_created_at": created, "_updated_at": now()}
    group = call.store.groups[name] = _group_of(name, settings)
    return {"feed_group": call.config.group_body(group)}


def delete_feed_group(call: V3Call) -> dict:
    name = call.args[0]
    call.store.group(name)
    del call.store.groups[name]
    call.config.settings.pop(name, None)
    return {"task_id": ""}


def _view_body(view: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in view.items() if not k.startswith("_")}
    body["last_used_at"] = None
    return body


def _view(call: V3Call, view_id: str) -> dict[str, Any]:
    view = call.config.views.get(view_id)
    if view is None:
        raise not_found(f"feed view '{view_id}'")
    return view


def list_feed_views(call: V3Call) -> dict:
    return {"views": {vid: _view_body(v) for vid, v in call.config.views.items()}}


def create_feed_view(call: V3Call) -> dict:
    view_id = str(call.body.get("id") or "")
    if not view_id:
        raise input_error("id", "is required")
    if view_id in call.config.views:
        raise V3Error(4, f"feed view '{view_id}' already exists")
    view = call.config.views[view_id] = {"id": view_id, **_settings(call.body, VIEW_SETTINGS)}
    return {"feed_view": _view_body(view)}


def get_feed_view(call: V3Call) -> dict:
    return {"feed_view": _view_body(_view(call, call.args[0]))}


def get_or_create_feed_view(call: V3Call) -> dict:
    view_id = call.args[0]
    created = view_id not in call.config.views
    if created:
        call.config.views[view_id] = {"id": view_id, **_settings(call.body, VIEW_SETTINGS)}
    return {"feed_view": _view_body(call.config.views[view_id]), "was_created": created}


def update_feed_view(call: V3Call) -> dict:
    view = _view(call, call.args[0])
    view.update(_settings(call.body, VIEW_SETTINGS))
    return {"feed_view": _view_body(view)}


def delete_feed_view(call: V3Call) -> dict:
    _view(call, call.args[0])
    del call.config.views[call.args[0]]
    return {}
