"""App-level endpoints: add_to_many, follow_many/unfollow_many, activity updates and lookups, stats."""

from __future__ import annotations

from typing import Any

from .activities import normalize, parse_feed_id, parse_time
from .errors import ApiError, input_error, not_found
from .routing import Call

MAX_ADD_TO_MANY_FEEDS = 5000
MAX_BATCH = 100
_PROTECTED = ("id", "foreign_id", "time", "to", "origin")


def _feed(call: Call, value: Any, field: str) -> str:
    slug, _user = parse_feed_id(value, field)
    call.store.group(slug)
    return value


def add_to_many(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    feeds = body.get("feeds")
    if not isinstance(feeds, list) or not feeds:
        raise input_error("feeds", "must be a non-empty list of feed ids")
    if len(feeds) > MAX_ADD_TO_MANY_FEEDS:
        raise input_error("feeds", f"at most {MAX_ADD_TO_MANY_FEEDS} feeds per call")
    feeds = [_feed(call, f, "feeds") for f in dict.fromkeys(feeds)]
    data, to = normalize(body.get("activity"))
    if to:
        raise input_error("to", "add_to_many does not support `to` targets")
    call.store.add_to_many(data, feeds)
    return {}


def follow_many(call: Call) -> dict[str, Any]:
    follows = call.body
    if not isinstance(follows, list):
        raise input_error("follows", "must be a list of {source, target} objects")
    raw_limit = call.params.get("activity_copy_limit")
    limit = None if raw_limit in (None, "") else call.int_param("activity_copy_limit", 100)
    pairs = []
    for item in follows:
        if not isinstance(item, dict):
            raise input_error("follows", "each follow must be an object")
        pairs.append(
            (_feed(call, item.get("source"), "source"), _feed(call, item.get("target"), "target"))
        )
    for source, target in pairs:
        call.store.follow(source, target, limit)
    return {}


def unfollow_many(call: Call) -> dict[str, Any]:
    unfollows = call.body
    if not isinstance(unfollows, list):
        raise input_error("unfollows", "must be a list of {source, target} objects")
    triples = []
    for item in unfollows:
        if not isinstance(item, dict):
            raise input_error("unfollows", "each unfollow must be an object")
        keep = item.get("keep_history", False)
        if not isinstance(keep, bool):
            raise input_error("keep_history", "must be a boolean")
        triples.append(
            (
                _feed(call, item.get("source"), "source"),
                _feed(call, item.get("target"), "target"),
                keep,
            )
        )
    for source, target, keep in triples:
        call.store.unfollow(source, target, keep)
    return {}


def update_activities(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    items = body.get("activities")
    if not isinstance(items, list):
        raise input_error("activities", "must be a list of activities")
    if len(items) > MAX_BATCH:
        raise input_error("activities", f"at most {MAX_BATCH} activities per call")
    prepared = []
    for raw in items:
        if not isinstance(raw, dict) or not raw.get("foreign_id"):
            raise input_error("foreign_id", "This field is required to update an activity.")
        if raw.get("time") in (None, ""):
            raise input_error("time", "This field is required to update an activity.")
        data, _to = normalize(raw)
        prepared.append(data)
    return {"activities": [dict(call.store.update(data)) for data in prepared]}


def get_activities(call: Call) -> dict[str, Any]:
    store = call.store
    ids = [i for i in call.params.get("ids", "").split(",") if i]
    foreign_ids = [f for f in call.params.get("foreign_ids", "").split(",") if f]
    stamps = [t for t in call.params.get("timestamps", "").split(",") if t]
    if ids and foreign_ids:
        raise input_error("ids", "give either ids or foreign_ids+timestamps, not both")
    if len(foreign_ids) != len(stamps):
        raise input_error("timestamps", "foreign_ids and timestamps must have the same length")
    if len(ids) + len(foreign_ids) > MAX_BATCH:
        raise input_error("ids", f"at most {MAX_BATCH} activities per call")
    if not ids and not foreign_ids:
        raise input_error("ids", "give ids or foreign_ids+timestamps")
    if foreign_ids:
        found = [
            store.find(f, parse_time(t, "timestamps"))
            for f, t in zip(foreign_ids, stamps, strict=False)
        ]
        ids = [i for i in found if i is not None]  # an unknown one is left out below anyway
    results = [dict(store.activities[i]) for i in ids if i in store.activities]
    return {"results": results}


def partial_update(call: Call) -> dict[str, Any]:
    body = call.body if isinstance(call.body, dict) else {}
    changes = body.get("changes")
    if not isinstance(changes, list) or not changes:
        raise input_error("changes", "must be a non-empty list")
    if len(changes) > MAX_BATCH:
        raise input_error("changes", f"at most {MAX_BATCH} changes per call")
    store = call.store
    resolved = []
    for change in changes:
        if not isinstance(change, dict):
            raise input_error("changes", "each change must be an object")
        if change.get("id"):
            aid = change["id"]
            if aid not in store.activities:
                raise not_found(f"activity {aid}")
        elif change.get("foreign_id") and change.get("time"):
            time_value = parse_time(change["time"])
            aid = store.find(change["foreign_id"], time_value)
            if aid is None:
                raise not_found(
                    f"activity with foreign_id {change['foreign_id']!r} and time {time_value}"
                )
        else:
            raise input_error("id", "give the activity id or foreign_id and time")
        set_, unset = change.get("set") or {}, change.get("unset") or []
        if not isinstance(set_, dict) or not isinstance(unset, list):
            raise input_error("set", "set must be an object and unset a list")
        for path in [*set_, *unset]:
            if not isinstance(path, str) or path.split(".")[0] in _PROTECTED:
                raise input_error(str(path), "this field cannot be updated")
        resolved.append((aid, set_, unset))
    return {"activities": [store.partial_update(*item) for item in resolved]}


def follow_stats(call: Call) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for side, is_followers in (("followers", True), ("following", False)):
        fid = call.params.get(side)
        if not fid:
            continue
        _feed(call, fid, side)
        slugs = [s for s in call.params.get(f"{side}_slugs", "").split(",") if s]
        results[side] = {"feed": fid, "count": call.store.follow_counts(fid, is_followers, slugs)}
    if not results:
        raise input_error("followers", "give followers and/or following feed ids")
    return {"results": results}


def not_supported(call: Call) -> dict[str, Any]:
    raise ApiError(17, "this endpoint is not supported by the Stream emulator")
