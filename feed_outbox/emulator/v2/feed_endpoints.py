"""Endpoints under `feed/{slug}/{user_id}/`: add, remove, read, follow, unfollow, follow lists."""

from __future__ import annotations

from typing import Any

from ..feed_groups import FLAT, NOTIFICATION
from .activities import MAX_TO_TARGETS, normalize, parse_feed_id, parse_time
from .errors import ApiError, input_error
from .feed_reads import read_flat, read_groups
from .routing import Call

MAX_LIMIT = 100  # Stream's documented page size cap for feed reads
_ID_BOUNDS = ("id_lt", "id_lte", "id_gt", "id_gte")


def feed_id_of(call: Call) -> str:
    slug, user_id = call.args[0], call.args[1]
    fid = f"{slug}:{user_id}"
    parse_feed_id(fid, "feed")
    call.store.group(slug)
    return fid


def resolve_targets(call: Call, entries: list[str], field: str = "to") -> list[str]:
    """`to` entries are `slug:id <token>`; check each feed id, group and token."""
    targets: list[str] = []
    for entry in entries:
        target, _sep, token = entry.partition(" ")
        slug, _user = parse_feed_id(target, field)
        call.store.group(slug)
        if token:
            call.auth.check_feed_token(target, token.strip(), field)
        if target not in targets:
            targets.append(target)
    return targets


def add_activity(call: Call) -> dict[str, Any]:
    fid = feed_id_of(call)
    body = call.body
    if isinstance(body, dict) and "activities" in body:
        items = body["activities"]
        if not isinstance(items, list):
            raise input_error("activities", "must be a list of activities")
        prepared = [_prepare(call, raw) for raw in items]
        stored = [call.store.add(fid, data, to) for data, to in prepared]
        return {"activities": [dict(a) for a in stored]}
    data, to = _prepare(call, body)
    return dict(call.store.add(fid, data, to))


def _prepare(call: Call, raw: Any) -> tuple[dict[str, Any], list[str]]:
    data, to = normalize(raw)
    return data, resolve_targets(call, to)


def remove_activity(call: Call) -> dict[str, Any]:
    fid = feed_id_of(call)
    identifier = call.args[2]
    if call.flag("foreign_id"):
        call.store.remove_by_foreign_id(fid, identifier)
    else:
        call.store.remove(fid, identifier)
    return {"removed": identifier}


def get_feed(call: Call) -> dict[str, Any]:
    fid = feed_id_of(call)
    store = call.store
    limit = call.int_param("limit", 25, 0, None)
    limit = min(limit, MAX_LIMIT)
    offset = call.int_param("offset", 0)
    bounds = {k: call.params[k] for k in _ID_BOUNDS if call.params.get(k)}
    feed = store.feeds.get(fid)
    group = store.group(call.args[0])
    if group.kind == FLAT:
        if feed is None:
            return {"results": [], "next": ""}
        results = read_flat(store, feed, limit, offset, bounds)
        last = results.last_id if len(results) == limit else None
        return {"results": results, "next": _next_url(call, fid, last)}
    groups = read_groups(store, feed) if feed else []
    page = _page_groups(groups, limit, offset, bounds)
    last = page[-1]["id"] if page and len(page) == limit else None
    response: dict[str, Any] = {"results": page, "next": _next_url(call, fid, last)}
    if group.kind == NOTIFICATION:
        seen, read = (feed.seen, feed.read) if feed else (set(), set())
        page[:] = [
            {**g, "is_seen": g["group"] in seen, "is_read": g["group"] in read} for g in page
        ]
        response["results"] = page
        response["unseen"] = sum(1 for g in groups if g["group"] not in seen)
        response["unread"] = sum(1 for g in groups if g["group"] not in read)
        # the answer shows the state before marking, as Stream's does
        if feed is not None:
            for which in ("seen", "read"):
                spec = call.params.get(f"mark_{which}")
                if spec and spec.lower() not in ("false", "0"):
                    store.mark(feed, groups, which, spec)
    return response


def _page_groups(groups: list[dict], limit: int, offset: int, bounds: dict[str, str]) -> list[dict]:
    ids = [g["id"] for g in groups]
    start, stop = 0, len(groups)
    # group ids carry no time: pagination by id is by position in the current ordering
    for name, value in bounds.items():
        if value not in ids:
            continue
        pos = ids.index(value)
        if name == "id_lt":
            start = max(start, pos + 1)
        elif name == "id_lte":
            start = max(start, pos)
        elif name == "id_gt":
            stop = min(stop, pos)
        else:
            stop = min(stop, pos + 1)
    return groups[start:stop][offset : offset + limit]


def _next_url(call: Call, fid: str, last_id: str | None) -> str:
    if not last_id:
        return ""
    slug, _sep, user_id = fid.partition(":")
    key, limit = call.params.get("api_key", ""), call.params.get("limit", "25")
    return f"/api/v1.0/feed/{slug}/{user_id}/?api_key={key}&id_lt={last_id}&limit={limit}"


def follow(call: Call) -> dict[str, Any]:
    fid = feed_id_of(call)
    body = call.body if isinstance(call.body, dict) else {}
    target = body.get("target")
    parse_feed_id(target, "target")
    assert isinstance(target, str)  # parse_feed_id raised unless it is a feed id
    token = body.get("target_token")
    if token:
        call.auth.check_feed_token(target, token, "target_token")
    call.store.follow(fid, target, body.get("activity_copy_limit"))
    return {}


def unfollow(call: Call) -> dict[str, Any]:
    fid = feed_id_of(call)
    target = call.args[2]
    parse_feed_id(target, "target")
    call.store.unfollow(fid, target, call.flag("keep_history"))
    return {}


def _follow_list(call: Call, followers: bool) -> dict[str, Any]:
    fid = feed_id_of(call)
    limit = call.int_param("limit", 25, 0, 500)
    offset = call.int_param("offset", 0, 0, 400)
    filter_ = [f for f in call.params.get("filter", "").split(",") if f]
    results = call.store.follow_list(fid, followers, offset, limit, filter_)
    return {"results": results}


def followers(call: Call) -> dict[str, Any]:
    return _follow_list(call, followers=True)


def following(call: Call) -> dict[str, Any]:
    return _follow_list(call, followers=False)


def update_to_targets(call: Call) -> dict[str, Any]:
    fid = feed_id_of(call)
    body = call.body if isinstance(call.body, dict) else {}
    foreign_id = body.get("foreign_id")
    if not foreign_id or not isinstance(foreign_id, str):
        raise input_error("foreign_id", "This field is required.")
    if body.get("time") in (None, ""):
        raise input_error("time", "This field is required.")
    time_value = parse_time(body["time"])
    new, added, removed = (body.get(k) for k in ("new_targets", "added_targets", "removed_targets"))
    if new is not None and (added or removed):
        raise input_error("new_targets", "cannot be combined with added_targets/removed_targets")
    if new is None and not added and not removed:
        raise input_error("new_targets", "give new_targets or added_targets/removed_targets")
    lists = {}
    for name, value in (
        ("new_targets", new),
        ("added_targets", added),
        ("removed_targets", removed),
    ):
        if value is not None and not isinstance(value, list):
            raise input_error(name, "must be a list of feed ids")
        lists[name] = resolve_targets(call, value or [], name)
    aid = call.store.find(foreign_id, time_value)
    if aid is None:
        raise ApiError(
            16, f"activity with foreign_id {foreign_id!r} and time {time_value} does not exist"
        )
    current = call.store.activities[aid].get("to", [])
    if new is not None:
        added_list = [t for t in lists["new_targets"] if t not in current]
        removed_list = [t for t in current if t not in lists["new_targets"]]
    else:
        added_list, removed_list = lists["added_targets"], lists["removed_targets"]
        if set(added_list) & set(removed_list):
            raise input_error("added_targets", "a feed cannot be both added and removed")
    final = [t for t in current if t not in removed_list] + [
        t for t in added_list if t not in current
    ]
    if len(final) > MAX_TO_TARGETS:
        raise input_error("to", f"at most {MAX_TO_TARGETS} targets are allowed")
    return call.store.update_targets(fid, aid, added_list, removed_list)
